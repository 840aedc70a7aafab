"""The outcome cache: single flight, what is cached and for how long, a failing shared store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sealgate.cache import MemoryStore, VerdictStore
from sealgate.errors import CheckFailed
from sealgate.policy.matching import AuthorityResult, RequirementOutcome
from sealgate.webhook.verdicts import OutcomeCache, SingleFlight, decode_outcome, encode_outcome


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _passed(**kwargs: object) -> RequirementOutcome:
    return RequirementOutcome(
        "authority release",
        True,
        "vouched by release",
        authorities=(AuthorityResult("release", True, "vouched for signature 1"),),
        evidence={"signatures": [{"id": "sha256:aa", "subject": "key", "issuer": ""}]},
        **kwargs,  # type: ignore[arg-type]
    )


def counted(calls: list[int], outcome: RequirementOutcome) -> Callable[[], RequirementOutcome]:
    """A verification that records each call and returns ``outcome``."""

    def verify() -> RequirementOutcome:
        calls.append(1)
        return outcome

    return verify


def _cache(clock: Clock, shared: VerdictStore | None = None, **kwargs: Any) -> OutcomeCache:
    return OutcomeCache(
        MemoryStore(clock=clock),
        shared,
        ttl_s=300,
        clock=clock,
        **kwargs,
    )


def test_concurrent_lookups_of_one_key_verify_once() -> None:
    clock = Clock()
    cache = _cache(clock)
    release = threading.Event()
    calls: list[int] = []

    def verify() -> RequirementOutcome:
        calls.append(1)
        release.wait(10)
        return _passed()

    results: list[RequirementOutcome] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                cache.outcome("k", "authority release", verify, timeout=10)
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    while cache.flights.in_flight() == 0:
        threading.Event().wait(0.001)
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1
    assert len(results) == 8 and all(r.passed for r in results)


def test_single_flight_followers_get_the_leaders_exception() -> None:
    flight: SingleFlight[int] = SingleFlight()
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def boom() -> int:
        started.set()
        release.wait(10)
        raise CheckFailed("registry down")

    def call() -> None:
        try:
            flight.run("k", boom, timeout=10)
        except CheckFailed as err:
            errors.append(err)

    leader = threading.Thread(target=call)
    leader.start()
    started.wait(10)
    follower = threading.Thread(target=call)
    follower.start()
    release.set()
    leader.join(10)
    follower.join(10)
    assert len(errors) == 2


def test_failures_are_not_cached_unless_asked_and_could_not_check_never() -> None:
    clock = Clock()
    failed = RequirementOutcome("authority release", False, "no signatures", "unsigned")
    unsure = RequirementOutcome("authority release", False, "timeout", "timeout", True)
    for cache_failures, outcome, cached in (
        (False, failed, False),
        (True, failed, True),
        (True, unsure, False),
    ):
        cache = _cache(clock, cache_failures=cache_failures)
        calls: list[int] = []
        for _ in range(2):
            cache.outcome("k", "authority release", counted(calls, outcome), timeout=1)
        assert len(calls) == (1 if cached else 2)


def test_entries_never_outlive_the_certificate_relied_on() -> None:
    clock = Clock()
    cache = _cache(clock)
    calls: list[int] = []
    expires = clock.now + timedelta(seconds=30)

    def verify() -> RequirementOutcome:
        calls.append(1)
        return _passed(not_after=expires)

    cache.outcome("k", "authority release", verify, timeout=1)
    clock.now += timedelta(seconds=29)
    cache.outcome("k", "authority release", verify, timeout=1)
    assert len(calls) == 1
    clock.now += timedelta(seconds=2)  # past the certificate, well within the TTL
    cache.outcome("k", "authority release", verify, timeout=1)
    assert len(calls) == 2

    expired = _cache(clock)
    gone: list[int] = []
    for _ in range(2):
        expired.outcome(
            "k",
            "authority release",
            counted(gone, _passed(not_after=clock.now)),
            timeout=1,
        )
    assert len(gone) == 2


class FailingStore:
    def __init__(self) -> None:
        self.calls = 0

    def get(self, key: str) -> bytes | None:
        self.calls += 1
        raise CheckFailed("redis get failed (ConnectionError)")

    def put(self, key: str, value: bytes, *, not_after: datetime) -> None:
        self.calls += 1
        raise CheckFailed("redis set failed (ConnectionError)")

    def delete(self, key: str) -> None:
        raise CheckFailed("redis delete failed (ConnectionError)")


def test_a_failing_shared_store_is_skipped_for_a_while_and_memory_carries_on() -> None:
    clock = Clock()
    now = [0.0]
    shared = FailingStore()
    cache = _cache(clock, shared, breaker_s=10.0, monotonic=lambda: now[0])
    calls: list[int] = []
    for key in ("a", "b", "c"):
        cache.outcome(key, "authority release", counted(calls, _passed()), timeout=1)
    assert shared.calls == 1  # the breaker opened on the first failure
    assert not cache.shared_healthy()
    cache.outcome("a", "authority release", counted(calls, _passed()), timeout=1)
    assert len(calls) == 3  # "a" came from memory
    now[0] = 11.0
    assert cache.shared_healthy()


def test_cached_values_round_trip_and_garbage_is_refused() -> None:
    expiry = datetime(2026, 1, 1, tzinfo=UTC)
    outcome, not_after = decode_outcome(encode_outcome(_passed(), expiry), "authority release")
    assert outcome.passed and not_after == expiry
    assert outcome.authorities == _passed().authorities
    for raw in (b"{}", b"[", b'{"v": 1, "passed": "yes"}', b"[" * 10_000):
        try:
            decode_outcome(raw, "x")
        except ValueError:
            continue
        raise AssertionError(raw)

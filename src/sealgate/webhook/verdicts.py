"""Verification results per (image digest, requirement fingerprint): cached, shared, single-flight.

A requirement's outcome for one digest is what the one pipeline said about its signatures and
attestations; it does not depend on the pod (namespace, labels and scripts are applied by
:func:`sealgate.policy.decide` on every review). So the key is
``(registry/repository, digest, requirement fingerprint)``: the repository because cosign keeps
signatures per repository, the fingerprint (:func:`sealgate.policy.policy_fingerprint` plus
where attachments live and the names reports show) because rotating a key or tightening a rule
must miss.

Two layers: the process's :class:`~sealgate.cache.MemoryStore`, then optionally a shared
store (:class:`~sealgate.cache.redis_store.RedisStore`) so replicas verify an image once. A
shared store that fails is skipped for a while (a breaker), so an outage costs one timeout,
not one per review, and the webhook carries on with its own memory: never an allow. Entries
live until the earlier of the TTL and the outcome's ``not_after``. Failures are not cached
unless asked, and "could not check" never is. Concurrent reviews of one key wait for the one
verification in flight (:class:`SingleFlight`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sealgate.cache import Clock, MemoryStore, VerdictStore, utc_now
from sealgate.errors import CheckFailed, DeadlineExceeded
from sealgate.policy import policy_fingerprint
from sealgate.policy.matching import AuthorityResult, Requirement, RequirementOutcome

__all__ = ["CacheEvents", "OutcomeCache", "SingleFlight", "decode_outcome", "encode_outcome"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_SCHEMA = 1
_FAILURE_TTL = timedelta(seconds=60)


class CacheEvents(Protocol):
    """Where cache hits, misses and shared-store errors are counted (metrics)."""

    def cache(self, layer: str, result: str) -> None:
        """Count one lookup: layer ``memory``/``shared``, result ``hit``/``miss``/``error``."""
        ...

    def verified(self, seconds: float, passed: bool) -> None:
        """Record one verification's latency."""
        ...


class _NoEvents:
    def cache(self, layer: str, result: str) -> None:
        del layer, result

    def verified(self, seconds: float, passed: bool) -> None:
        del seconds, passed


class SingleFlight(Generic[T]):
    """Run one computation per key at a time; concurrent callers of that key share its result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, Future[T]] = {}

    def run(self, key: str, compute: Callable[[], T], *, timeout: float | None) -> T:
        """``compute()`` for ``key``, or the result of the call already in flight.

        Args:
            key: What is being computed.
            compute: The computation (runs in the caller's thread when it leads).
            timeout: Longest wait for another caller's computation (None: no limit).

        Returns:
            The result.

        Raises:
            DeadlineExceeded: The computation in flight did not finish within ``timeout``.
            Exception: Whatever ``compute`` raised (followers get the same exception).
        """
        with self._lock:
            future = self._calls.get(key)
            leader = future is None
            if future is None:
                future = Future()
                self._calls[key] = future
        if not leader:
            try:
                return future.result(timeout)
            except TimeoutError:
                raise DeadlineExceeded("waiting for a verification in flight") from None
        try:
            result = compute()
        except BaseException as err:
            future.set_exception(err)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            with self._lock:
                del self._calls[key]

    def in_flight(self) -> int:
        """Computations running now."""
        with self._lock:
            return len(self._calls)


def encode_outcome(outcome: RequirementOutcome, not_after: datetime) -> bytes:
    """The cache value for one outcome (JSON; raises TypeError for non-JSON evidence)."""
    return json.dumps(
        {
            "v": _SCHEMA,
            "passed": outcome.passed,
            "detail": outcome.detail,
            "reason": outcome.reason,
            "authorities": [[a.name, a.passed, a.detail] for a in outcome.authorities],
            "evidence": dict(outcome.evidence),
            "notAfter": not_after.isoformat(),
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")


def decode_outcome(raw: bytes, label: str) -> tuple[RequirementOutcome, datetime]:
    """Read a cache value back (the bytes may be anything).

    Raises:
        ValueError: Not a value :func:`encode_outcome` wrote.
    """
    try:
        doc: Any = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("v") != _SCHEMA:
        raise ValueError("not a cached outcome")
    passed, detail, reason = doc.get("passed"), doc.get("detail"), doc.get("reason")
    authorities, evidence = doc.get("authorities"), doc.get("evidence")
    if not isinstance(passed, bool) or not isinstance(detail, str) or not isinstance(reason, str):
        raise ValueError("mistyped outcome")
    if not isinstance(authorities, list) or not isinstance(evidence, dict):
        raise ValueError("mistyped outcome")
    parsed = []
    for item in authorities:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], bool)
            and isinstance(item[2], str)
        ):
            raise ValueError("mistyped authority")
        parsed.append(AuthorityResult(item[0], item[1], item[2]))
    not_after = datetime.fromisoformat(str(doc.get("notAfter")))
    if not_after.utcoffset() is None:
        raise ValueError("naive expiry")
    outcome = RequirementOutcome(
        label, passed, detail, reason, False, tuple(parsed), evidence, not_after
    )
    return outcome, not_after


class OutcomeCache:
    """Requirement outcomes by (repository@digest, requirement), in memory and shared."""

    def __init__(
        self,
        memory: MemoryStore,
        shared: VerdictStore | None = None,
        *,
        ttl_s: float = 300.0,
        cache_failures: bool = False,
        breaker_s: float = 10.0,
        clock: Clock = utc_now,
        events: CacheEvents | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.memory = memory
        self.shared = shared
        self.ttl = timedelta(seconds=ttl_s)
        self.cache_failures = cache_failures
        self._breaker_s = breaker_s
        self._clock = clock
        self._events: CacheEvents = events or _NoEvents()
        self._monotonic = monotonic or time.monotonic
        self._shared_down_until = 0.0
        self._fingerprints: dict[int, tuple[Requirement, str]] = {}
        self._lock = threading.Lock()
        self.flights: SingleFlight[RequirementOutcome] = SingleFlight()

    def fingerprint(self, requirement: Requirement, repository: str) -> str:
        """What makes ``requirement`` what it is, for the key (memoised per object)."""
        with self._lock:
            known = self._fingerprints.get(id(requirement))
        if known is not None and known[0] is requirement:
            base = known[1]
        else:
            policy = requirement.policy
            document = {
                "policy": policy_fingerprint(policy),
                "signatures": requirement.signatures,
                "label": requirement.label,
                "names": sorted(a.name for a in policy.authorities),
            }
            canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
            base = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
            with self._lock:
                self._fingerprints[id(requirement)] = (requirement, base)
        where = requirement.repository or repository
        return hashlib.sha256(f"{base}\0{where}".encode()).hexdigest()[:32]

    def shared_healthy(self) -> bool:
        """False while the breaker keeps the shared store out after a failure."""
        return self._monotonic() >= self._shared_down_until

    def _shared_failed(self, err: CheckFailed) -> None:
        if self.shared_healthy():
            logger.warning("shared cache unavailable, using memory only: %s", err.message)
        self._shared_down_until = self._monotonic() + self._breaker_s
        self._events.cache("shared", "error")

    def _lookup(self, key: str, label: str) -> RequirementOutcome | None:
        raw = self.memory.get(key)
        if raw is not None:
            try:
                outcome, _ = decode_outcome(raw, label)
            except (ValueError, ArithmeticError):
                self.memory.delete(key)
            else:
                self._events.cache("memory", "hit")
                return outcome
        self._events.cache("memory", "miss")
        if self.shared is None or not self.shared_healthy():
            return None
        try:
            raw = self.shared.get(key)
        except CheckFailed as err:  # unreachable, corrupt or unauthentic: a miss
            self._shared_failed(err)
            return None
        if raw is None:
            self._events.cache("shared", "miss")
            return None
        try:
            outcome, not_after = decode_outcome(raw, label)
        except (ValueError, ArithmeticError):
            self._events.cache("shared", "error")
            return None
        self._events.cache("shared", "hit")
        self.memory.put(key, raw, not_after=not_after)
        return outcome

    def _store(self, key: str, outcome: RequirementOutcome) -> None:
        if outcome.could_not_check or not (outcome.passed or self.cache_failures):
            return
        now = self._clock()
        not_after = now + (self.ttl if outcome.passed else min(self.ttl, _FAILURE_TTL))
        if outcome.not_after is not None:
            not_after = min(not_after, outcome.not_after)
        if not_after <= now:
            return
        try:
            value = encode_outcome(outcome, not_after)
        except (TypeError, ValueError):
            return  # evidence a script would see but JSON cannot hold: verify again next time
        self.memory.put(key, value, not_after=not_after)
        if self.shared is not None and self.shared_healthy():
            try:
                self.shared.put(key, value, not_after=not_after)
            except CheckFailed as err:
                self._shared_failed(err)

    def outcome(
        self,
        key: str,
        label: str,
        verify: Callable[[], RequirementOutcome],
        *,
        timeout: float | None,
    ) -> RequirementOutcome:
        """The cached outcome under ``key``, or ``verify()`` run once for every waiting review.

        Raises:
            DeadlineExceeded: Another review's verification of ``key`` outlived ``timeout``.
        """
        cached = self._lookup(key, label)
        if cached is not None:
            return cached

        def compute() -> RequirementOutcome:
            again = self._lookup(key, label)  # a flight that just landed filled it
            if again is not None:
                return again
            import time

            started = time.perf_counter()
            fresh = verify()
            self._events.verified(time.perf_counter() - started, fresh.passed)
            self._store(key, fresh)
            return fresh

        return self.flights.run(key, compute, timeout=timeout)

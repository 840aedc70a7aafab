"""The proxy's verdicts: one check per digest at a time, what is cached, failing closed."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from sealgate.errors import RegistryUnreachable
from sealgate.gate import Verdict
from sealgate.oci import OCI_INDEX, OCI_MANIFEST, Descriptor, Reference, RegistryClient
from sealgate.policy import PolicySet
from sealgate.proxy.judge import ProxyJudge, VerdictSettings

A = "sha256:" + "a" * 64
CHILD = "sha256:" + "c" * 64


class FakeClock:
    """An aware UTC clock moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class Scripted:
    """Answers verdicts from a list, counting calls; can hold the first call until released."""

    def __init__(self, *answers: Verdict | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[Reference] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, client: RegistryClient, image: Reference, descriptor: Descriptor) -> Verdict:
        self.release.wait(10)
        self.calls.append(image)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _judge(script: Scripted, clock: FakeClock, **settings: float) -> ProxyJudge:
    return ProxyJudge(
        RegistryClient(),
        "registry.test:5000",
        PolicySet(()),
        VerdictSettings(**settings),  # type: ignore[arg-type]
        clock=clock,
        judge=script,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_concurrent_requests_share_one_check_and_the_pass_is_cached(clock: FakeClock) -> None:
    script = Scripted(Verdict.verified(A, "ok"))
    script.release.clear()
    judge = _judge(script, clock)

    async def many() -> list[Verdict]:
        waiting = [judge.verdict("prod/app", Descriptor(OCI_MANIFEST, A, 10)) for _ in range(8)]
        tasks = [asyncio.ensure_future(w) for w in waiting]
        await asyncio.sleep(0.05)
        script.release.set()
        return list(await asyncio.gather(*tasks))

    verdicts = asyncio.run(many())
    assert all(v.ok for v in verdicts)
    assert len(script.calls) == 1 and judge.checks_run == 1
    assert str(script.calls[0]) == f"registry.test:5000/prod/app@{A}"
    again = asyncio.run(judge.verdict("prod/app", Descriptor(OCI_MANIFEST, A, 10)))
    assert again.ok and again.cached and len(script.calls) == 1
    # Another repository is another verdict: signatures live per repository.
    script.answers.append(Verdict.failed("unsigned", "none"))
    other = asyncio.run(judge.verdict("prod/other", Descriptor(OCI_MANIFEST, A, 10)))
    assert not other.ok
    clock.advance(timedelta(seconds=301))
    script.answers.append(Verdict.verified(A))
    asyncio.run(judge.verdict("prod/app", Descriptor(OCI_MANIFEST, A, 10)))
    assert len(script.calls) == 3


def test_denials_are_cached_briefly_and_could_not_check_never(clock: FakeClock) -> None:
    script = Scripted(
        Verdict.failed("unsigned", "no signatures"),
        Verdict.failed("unreachable", "timeout"),
        Verdict.failed("unreachable", "timeout"),
        Verdict.verified(A),
    )
    judge = _judge(script, clock, denial_ttl_s=10)
    first = asyncio.run(judge.verdict("a", Descriptor(OCI_MANIFEST, A, 1)))
    cached = asyncio.run(judge.verdict("a", Descriptor(OCI_MANIFEST, A, 1)))
    assert not first.ok and not cached.ok and cached.cached and cached.reason == "unsigned"
    clock.advance(timedelta(seconds=11))
    assert asyncio.run(judge.verdict("a", Descriptor(OCI_MANIFEST, A, 1))).reason == "unreachable"
    assert asyncio.run(judge.verdict("a", Descriptor(OCI_MANIFEST, A, 1))).reason == "unreachable"
    assert asyncio.run(judge.verdict("a", Descriptor(OCI_MANIFEST, A, 1))).ok
    assert len(script.calls) == 4


def test_an_index_that_passes_admits_the_manifests_it_lists(clock: FakeClock) -> None:
    script = Scripted(Verdict.verified(A, "signed index"), Verdict.failed("unsigned", "x"))
    judge = _judge(script, clock)
    index = asyncio.run(judge.verdict("a", Descriptor(OCI_INDEX, A, 1), [CHILD]))
    assert index.ok
    child = asyncio.run(judge.verdict("a", Descriptor(OCI_MANIFEST, CHILD, 1)))
    assert child.ok and "listed by" in child.message and len(script.calls) == 1
    # Listed by an index of another repository: judged on its own.
    assert not asyncio.run(judge.verdict("b", Descriptor(OCI_MANIFEST, CHILD, 1))).ok


def test_a_failing_check_refuses_its_waiters_and_is_not_cached(clock: FakeClock) -> None:
    script = Scripted(RuntimeError("bug"), Verdict.verified(A))
    script.release.clear()
    judge = _judge(script, clock)

    async def both() -> list[Verdict | BaseException]:
        tasks = [
            asyncio.ensure_future(judge.verdict("a", Descriptor(OCI_MANIFEST, A, 1)))
            for _ in range(2)
        ]
        await asyncio.sleep(0.05)
        script.release.set()
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    first, second = asyncio.run(both())
    assert isinstance(first, RuntimeError)
    assert isinstance(second, Verdict) and not second.ok and second.reason == "internal"
    assert asyncio.run(judge.verdict("a", Descriptor(OCI_MANIFEST, A, 1))).ok


def test_the_engine_turns_errors_into_refusals(clock: FakeClock) -> None:
    def unreachable(client: RegistryClient, image: Reference, descriptor: Descriptor) -> Verdict:
        return Verdict.from_error(RegistryUnreachable("down"), descriptor.digest)

    judge = ProxyJudge(RegistryClient(), "r.test", PolicySet(()), clock=clock, judge=unreachable)
    verdict = asyncio.run(judge.verdict("a", Descriptor(OCI_MANIFEST, A, 1)))
    assert not verdict.ok and verdict.reason == "unreachable"

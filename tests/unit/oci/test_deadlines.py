"""One deadline from the caller down to every wait of the HTTP backend.

Retry and timeout decisions run on a fake monotonic clock. The hung and trickling registries
are real loopback sockets (tests/support/registry_front.py): only a socket shows that a
wait is really cut, and their budgets are a fraction of a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sealgate.config import ClientConfig
from sealgate.deadline import Deadline
from sealgate.errors import DeadlineExceeded, RegistryError, RegistryUnreachable
from sealgate.oci import OCI_MANIFEST, Body, Reference, RegistryClient, digest_of
from tests.support.fake_clock import FakeClock
from tests.support.fake_registry import FakeRegistry
from tests.support.registry_front import Answer, Hang, Trickle, running_front
from tests.unit.oci.conftest import MockRegistry

REF = Reference.parse("registry.test/team/app:v1")
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=MANIFEST, headers={"Content-Type": OCI_MANIFEST})


# --- the client view ---------------------------------------------------------------------------


class _RecordingRegistry(FakeRegistry):
    seen: list[Deadline]

    @contextmanager
    def open_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> Iterator[Body]:
        self.seen.append(deadline)
        with super().open_manifest(ref, reference, deadline=deadline) as body:
            yield body


def test_with_deadline_carries_the_deadline_to_the_backend_and_shares_it() -> None:
    backend = _RecordingRegistry()
    backend.seen = []
    closed: list[bool] = []
    backend.close = lambda: closed.append(True)  # type: ignore[method-assign]
    client = RegistryClient(backend=backend)
    client.put_manifest(REF, MANIFEST, OCI_MANIFEST)
    clock = FakeClock()
    soon, later = Deadline.after(5, clock=clock), Deadline.after(50, clock=clock)

    view = client.with_deadline(later).with_deadline(soon)
    view.get_manifest(REF)
    client.get_manifest(REF)
    assert backend.seen == [soon, Deadline.none()]
    assert view.with_deadline(later).deadline == soon  # a view never extends its budget
    with view:
        pass
    assert closed == [], "closing a view must not close the shared backend"
    client.close()
    assert closed == [True]


def test_an_expired_deadline_sends_nothing(mock_registry: MockRegistry) -> None:
    clock = FakeClock()
    client = mock_registry.client(_ok).with_deadline(Deadline.after(0, clock=clock))
    with pytest.raises(DeadlineExceeded) as info:
        client.get_manifest(REF)
    assert info.value.reason == "timeout"
    assert mock_registry.requests == []


def test_request_timeouts_are_cut_to_the_time_left(mock_registry: MockRegistry) -> None:
    clock = FakeClock()
    client = mock_registry.client(_ok, timeout_s=30.0).with_deadline(
        Deadline.after(2.0, clock=clock)
    )
    client.get_manifest(REF)
    timeouts = mock_registry.requests[0].extensions["timeout"]
    assert timeouts == {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}


def test_no_deadline_keeps_the_per_request_timeout(mock_registry: MockRegistry) -> None:
    mock_registry.client(_ok, timeout_s=30.0).get_manifest(REF)
    assert mock_registry.requests[0].extensions["timeout"]["read"] == 30.0


def test_a_timeout_cut_by_the_deadline_is_deadline_exceeded(mock_registry: MockRegistry) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    clock = FakeClock()
    client = mock_registry.client(hang, timeout_s=30.0)
    with pytest.raises(DeadlineExceeded):
        client.with_deadline(Deadline.after(10.0, clock=clock)).get_manifest(REF)
    with pytest.raises(RegistryUnreachable) as info:
        client.get_manifest(REF)  # timeout_s ended the wait: unreachable, not the deadline
    assert not isinstance(info.value, DeadlineExceeded)


# --- retries -------------------------------------------------------------------------------------


def test_backoff_only_when_the_retry_still_fits(mock_registry: MockRegistry) -> None:
    clock = FakeClock()
    client = mock_registry.client(
        lambda r: httpx.Response(503), sleep=clock.sleep, backoff_s=0.5, max_attempts=4
    )
    with pytest.raises(RegistryError) as info:
        client.with_deadline(Deadline.after(1.2, clock=clock)).get_manifest(REF)
    assert info.value.status == 503  # the last answer stands
    assert clock.sleeps == [0.5]  # 1.0 more would not leave time for the retry
    assert len(mock_registry.requests) == 2


def test_retry_after_beyond_the_deadline_gives_up_at_once(mock_registry: MockRegistry) -> None:
    clock = FakeClock()
    client = mock_registry.client(
        lambda r: httpx.Response(429, headers={"Retry-After": "5"}), sleep=clock.sleep
    )
    with pytest.raises(RegistryError) as info:
        client.with_deadline(Deadline.after(3.0, clock=clock)).get_manifest(REF)
    assert info.value.status == 429
    assert clock.sleeps == []
    assert len(mock_registry.requests) == 1


def test_connection_errors_stop_retrying_at_the_deadline(mock_registry: MockRegistry) -> None:
    clock = FakeClock()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = mock_registry.client(refuse, sleep=clock.sleep, backoff_s=1.0, max_attempts=10)
    with pytest.raises(RegistryUnreachable):
        client.with_deadline(Deadline.after(3.5, clock=clock)).get_manifest(REF)
    assert clock.sleeps == [1.0, 2.0]


def test_token_fetch_respects_the_deadline(mock_registry: MockRegistry) -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return httpx.Response(200, json={"token": "t"})
        clock.advance(10.0)  # the registry took all the time there was to answer 401
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/token"'}
        )

    client = mock_registry.client(handler).with_deadline(Deadline.after(5.0, clock=clock))
    with pytest.raises(DeadlineExceeded):
        client.get_manifest(REF)
    assert all(r.url.host != "auth.test" for r in mock_registry.requests)


# --- real sockets --------------------------------------------------------------------------------


def _socket_client(host: str, tmp_path: Path, **kwargs: object) -> RegistryClient:
    settings: dict[str, object] = {
        "insecure_registries": frozenset({host}),
        "timeout_s": 30.0,
        "max_attempts": 4,
        "docker_config": tmp_path / "none.json",
        "auth_file": tmp_path / "none-auth.json",
    }
    settings.update(kwargs)
    return RegistryClient(ClientConfig(**settings))  # type: ignore[arg-type]


@pytest.fixture
def hung_registry() -> Iterator[str]:
    # Nothing behind the front: every request hangs before any answer.
    with running_front("127.0.0.1:9", lambda m, p, n: Hang()) as front:
        yield front.host


def test_a_hung_registry_ends_at_the_deadline_not_after_timeouts_and_retries(
    hung_registry: str, tmp_path: Path
) -> None:
    ref = Reference.parse(f"{hung_registry}/team/app:v1")
    with _socket_client(hung_registry, tmp_path) as client:
        with pytest.raises(DeadlineExceeded) as info:
            client.with_deadline(Deadline.after(0.3)).resolve(ref)
        assert info.value.reason == "timeout"
        assert hung_registry in str(info.value)


def test_a_body_that_stops_after_the_headers_ends_at_the_deadline(tmp_path: Path) -> None:
    stall = Hang(after_headers=True, answer=Answer(200, {"Content-Type": OCI_MANIFEST}, MANIFEST))
    with running_front("127.0.0.1:9", lambda m, p, n: stall) as front:
        ref = Reference.parse(f"{front.host}/team/app:v1")
        with _socket_client(front.host, tmp_path) as client, pytest.raises(DeadlineExceeded):
            client.with_deadline(Deadline.after(0.3)).get_manifest(ref)


def test_a_trickling_body_is_cut_when_the_deadline_passes(tmp_path: Path) -> None:
    # A byte every 10 ms never trips a 30 s read timeout; the deadline must be checked per
    # chunk. On the fake clock every reading costs 0.25 s, so 5 s pass in ~20 chunks.
    body = json.dumps({"tags": ["t" * 5000]}).encode()
    slow = Trickle(interval_s=0.01, chunk=1, answer=Answer(200, {}, body))
    with running_front("127.0.0.1:9", lambda m, p, n: slow) as front:
        ref = Reference.parse(f"{front.host}/team/app:v1")
        clock = FakeClock(tick=0.25)
        budget = Deadline.after(5.0, clock=clock)
        with _socket_client(front.host, tmp_path) as client, pytest.raises(DeadlineExceeded):
            client.with_deadline(budget).get_blob(ref, digest_of(body), max_bytes=len(body))
        assert len(front.log) == 1, "a deadline is not a reason to retry"

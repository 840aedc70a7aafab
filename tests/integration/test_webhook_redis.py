"""The shared verification cache: Debian redis-server on loopback, two webhook replicas, an outage.

Replica B answers from what replica A verified; with Redis killed mid-run both carry on with
their own memory, verify what they have not seen, and never admit an unverified image.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealgate.cache import RedisStore
from sealgate.errors import CheckFailed, MalformedData
from tests.integration.conftest import RunningRegistry
from tests.integration.webhook_estate import Estate, build_estate, hanging_listener
from tests.support.admission import pod_spec, review_body, workload
from tests.support.redis_server import RedisServer, redis_available, start_redis
from tests.support.webhook_server import WebhookServer, start_webhook

CACHE_KEY = "5ea19a7e" * 8


@pytest.fixture(scope="module")
def estate(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    listener = hanging_listener()
    try:
        yield build_estate(
            registry, tmp_path_factory.mktemp("whr-estate"), listener.getsockname()[1]
        )
    finally:
        listener.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not redis_available():
        pytest.fail("redis-server not installed (run ./scripts/setup.sh)")
    server = start_redis(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


def _replica(estate: Estate, redis_server: RedisServer, workdir: Path) -> WebhookServer:
    return start_webhook(
        workdir,
        [estate.policies],
        ["--insecure-registry", estate.host, "--cache", redis_server.url],
        env={"SEALGATE_CACHE_KEY": CACHE_KEY},
    )


def _pod(*images: str) -> dict[str, object]:
    return review_body(workload("Pod", pod_spec(*images)))


def test_replicas_share_verifications_and_survive_a_redis_outage(
    estate: Estate, redis_server: RedisServer, tmp_path: Path
) -> None:
    first = _replica(estate, redis_server, tmp_path / "a")
    second = _replica(estate, redis_server, tmp_path / "b")
    try:
        assert first.review("/validate", _pod(estate.image("enforced/app")))["allowed"] is True
        assert first.metric("sealgate_webhook_verification_seconds_count") == 1
        assert redis_server.client().dbsize() == 1

        # B never verified it: its answer comes from A's entry in Redis.
        assert second.review("/validate", _pod(estate.image("enforced/app")))["allowed"] is True
        assert (
            second.metric("sealgate_webhook_cache_lookups_total", layer="shared", result="hit") == 1
        )
        assert second.metric("sealgate_webhook_verification_seconds_count") == 0
        # Failures are not cached: an unsigned image is verified (and denied) every time.
        for server in (first, second):
            denied = server.review("/validate", _pod(estate.image("enforced/unsigned")))
            assert denied["allowed"] is False
        assert redis_server.client().dbsize() == 1

        redis_server.stop()  # mid-run outage
        assert second.review("/validate", _pod(estate.image("enforced/sidecar")))["allowed"] is True
        denied = second.review("/validate", _pod(estate.image("enforced/unsigned")))
        assert denied["allowed"] is False
        assert "no signatures" in denied["status"]["message"]
        assert (
            second.metric("sealgate_webhook_cache_lookups_total", layer="shared", result="error")
            >= 1
        )
        ready = second.client.get(second.url + "/readyz").json()
        assert ready["ready"] is True and ready["sharedCache"].startswith("degraded")
        # Still served from memory while Redis is down.
        assert first.review("/validate", _pod(estate.image("enforced/app")))["allowed"] is True
    finally:
        first.stop()
        second.stop()


def test_entries_written_without_the_key_are_refused(
    estate: Estate, redis_server: RedisServer, tmp_path: Path
) -> None:
    server = _replica(estate, redis_server, tmp_path / "a")
    try:
        unsigned = estate.image("enforced/unsigned")
        assert server.review("/validate", _pod(estate.image("enforced/app")))["allowed"] is True
        # An attacker with Redis access copies the signed image's entry to every key, and
        # writes "passed" entries of its own: none of it admits the unsigned image.
        client = redis_server.client()
        [name] = client.keys("sealgate:*")
        value = client.get(name)
        stored = value if isinstance(value, bytes) else b""
        forged = stored.replace(b'"passed":false', b'"passed":true')
        for other in range(50):
            client.set(f"sealgate:{other:064x}", forged)
        denied = server.review("/validate", _pod(unsigned))
        assert denied["allowed"] is False
    finally:
        server.stop()


def test_redis_store_seals_and_expires_entries(redis_server: RedisServer) -> None:
    secret = os.urandom(32)
    store = RedisStore.from_url(redis_server.url, secret=secret)
    later = datetime.now(UTC) + timedelta(minutes=5)
    store.put("image@sha256:1/policy", b"verdict", not_after=later)
    assert store.get("image@sha256:1/policy") == b"verdict"
    assert store.get("image@sha256:2/policy") is None
    [name] = redis_server.client().keys("sealgate:*")
    assert 0 < redis_server.client().pttl(name) <= 5 * 60 * 1000  # PXAT at not_after

    other = RedisStore.from_url(redis_server.url, secret=os.urandom(32))
    with pytest.raises(MalformedData, match="not authentic"):
        other.get("image@sha256:1/policy")
    redis_server.client().set(name, b"garbage")
    with pytest.raises(MalformedData):
        store.get("image@sha256:1/policy")
    store.put("gone", b"x", not_after=datetime.now(UTC) - timedelta(seconds=1))
    assert store.get("gone") is None

    redis_server.stop()
    with pytest.raises(CheckFailed, match="redis get failed"):
        store.get("image@sha256:1/policy")
    assert store.ping() is False

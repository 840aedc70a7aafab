"""VerdictCache: hit, miss, TTL, corruption, failures, atomicity (fingerprints: test_trust)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from sealgate.cache import FileStore, MemoryStore
from sealgate.gate import CacheSettings, Verdict, VerdictCache
from tests.unit.gate.fakes import FakeClock, digest

#: Every cache instance of one test shares the key, as runs of one runner do.
SECRET = b"test-cache-key-0123456789abcdef"

NAME = "ghcr.io/acme/api"
FP = "f" * 64


@pytest.fixture
def cache(tmp_path: Path, clock: FakeClock) -> VerdictCache:
    return VerdictCache(tmp_path / "cache", ttl_s=600, clock=clock, secret=SECRET)


def _directory(cache: VerdictCache) -> Path:
    """The directory of a cache the ``cache`` fixture built (a file store has one)."""
    assert cache.directory is not None
    return cache.directory


def test_miss_put_hit(cache: VerdictCache) -> None:
    assert cache.get(NAME, digest(1), FP) is None
    cache.put(NAME, digest(1), FP, Verdict.verified(digest(1), "signed by ci"))
    hit = cache.get(NAME, digest(1), FP)
    assert hit is not None and hit.ok and hit.cached
    assert (hit.digest, hit.message) == (digest(1), "signed by ci")
    # Every part of the key matters.
    assert cache.get("ghcr.io/other/api", digest(1), FP) is None
    assert cache.get(NAME, digest(2), FP) is None
    assert cache.get(NAME, digest(1), "0" * 64) is None
    assert cache.warnings == ()


def test_ttl_expiry_and_shorter_configured_ttl(
    tmp_path: Path, cache: VerdictCache, clock: FakeClock
) -> None:
    cache.put(NAME, digest(1), FP, Verdict.verified(digest(1)))
    clock.advance(599)
    assert cache.get(NAME, digest(1), FP) is not None
    shorter = VerdictCache(tmp_path / "cache", ttl_s=60, clock=clock, secret=SECRET)
    assert shorter.get(NAME, digest(1), FP) is None
    clock.advance(2)
    assert cache.get(NAME, digest(1), FP) is None


def test_failures_and_mismatched_verdicts_are_never_written(cache: VerdictCache) -> None:
    cache.put(NAME, digest(1), FP, Verdict.failed("unsigned", "none", digest(1)))
    cache.put(NAME, digest(1), FP, Verdict.verified(digest(2)))
    cache.put(NAME, digest(1), FP, Verdict("verified", digest(1), cached=True))
    assert not _directory(cache).exists() or list(_directory(cache).iterdir()) == []


def test_corrupt_entries_are_misses_with_a_warning(cache: VerdictCache) -> None:
    cache.put(NAME, digest(1), FP, Verdict.verified(digest(1)))
    (entry,) = _directory(cache).iterdir()
    for garbage in (
        b"{not json",
        b'{"schema": 1}',
        json.dumps({"schema": 1, "name": "x"}).encode(),
        b"\x00" * 10,
    ):
        entry.write_bytes(garbage)
        assert cache.get(NAME, digest(1), FP) is None
    assert cache.warnings and all("corrupt" in w for w in cache.warnings)


def test_entry_under_another_key_is_refused(cache: VerdictCache, clock: FakeClock) -> None:
    cache.put(NAME, digest(1), FP, Verdict.verified(digest(1)))
    key = VerdictCache.entry_key(NAME, digest(1), FP)
    data = json.loads(cache.store.get(key) or b"")
    # Someone copies a verified entry's content to claim another digest: the key check refuses it,
    # even when the entry is validly authenticated (a writer holding the cache key).
    data["digest"] = digest(2)
    cache.store.put(key, json.dumps(data).encode(), not_after=clock() + timedelta(hours=1))
    assert cache.get(NAME, digest(1), FP) is None
    assert "does not match its key" in cache.warnings[0]


def test_entry_file_copied_under_another_key_is_refused(cache: VerdictCache) -> None:
    cache.put(NAME, digest(1), FP, Verdict.verified(digest(1)))
    (entry,) = _directory(cache).iterdir()
    store = cache.store
    assert isinstance(store, FileStore)
    store.path_for(VerdictCache.entry_key(NAME, digest(2), FP)).write_bytes(entry.read_bytes())
    assert cache.get(NAME, digest(2), FP) is None
    assert "does not match its key" in cache.warnings[0]


def test_future_dated_entry_is_a_miss(
    tmp_path: Path, cache: VerdictCache, clock: FakeClock
) -> None:
    future = FakeClock(clock.now)
    future.advance(3600)
    VerdictCache(_directory(cache), ttl_s=600, clock=future, secret=SECRET).put(
        NAME, digest(1), FP, Verdict.verified(digest(1))
    )
    assert cache.get(NAME, digest(1), FP) is None
    assert "future" in cache.warnings[0]


def test_atomic_write_leaves_no_temporary_files(cache: VerdictCache) -> None:
    for n in range(5):
        cache.put(NAME, digest(n), FP, Verdict.verified(digest(n)))
    names = sorted(p.name for p in _directory(cache).iterdir())
    assert len(names) == 5 and not any(n.startswith(".tmp-") for n in names)


def test_directory_that_is_a_file_is_a_warning(tmp_path: Path, clock: FakeClock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = VerdictCache(blocker, ttl_s=60, clock=clock, secret=SECRET)
    cache.put(NAME, digest(1), FP, Verdict.verified(digest(1)))
    assert cache.get(NAME, digest(1), FP) is None
    assert "cannot write cache entry" in cache.warnings[0]


def test_from_settings(tmp_path: Path) -> None:
    assert VerdictCache.from_settings(None) is None
    assert VerdictCache.from_settings(CacheSettings(tmp_path, ttl_s=0)) is None
    assert VerdictCache.from_settings(CacheSettings(tmp_path, enabled=False)) is None
    built = VerdictCache.from_settings(CacheSettings(tmp_path, ttl_s=5))
    assert built is not None and built.ttl.total_seconds() == 5


@pytest.mark.parametrize(
    "garbage",
    [
        b"[1, 2]",  # JSON, but not an object
        b'"verified"',
        b"null",
        b"17",
        b"[" * 30_000 + b"]" * 30_000,  # nested deeper than the JSON parser recurses
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        json.dumps({"v": [1], "key": {}, "notAfter": 5, "value": None, "mac": []}).encode(),
        b"\xff\xfe{}",
    ],
)
def test_any_corrupt_entry_is_a_miss_with_a_warning(cache: VerdictCache, garbage: bytes) -> None:
    cache.put(NAME, digest(1), FP, Verdict.verified(digest(1)))
    (entry,) = _directory(cache).iterdir()
    entry.write_bytes(garbage)
    assert cache.get(NAME, digest(1), FP) is None
    assert cache.warnings


def test_entry_never_outlives_the_verdicts_not_after(cache: VerdictCache, clock: FakeClock) -> None:
    # The key or certificate the verdict relied on expires in 30 s; the TTL is 600 s.
    expiring = Verdict("verified", digest(1), not_after=clock() + timedelta(seconds=30))
    cache.put(NAME, digest(1), FP, expiring)
    clock.advance(29)
    assert cache.get(NAME, digest(1), FP) is not None
    clock.advance(1)
    assert cache.get(NAME, digest(1), FP) is None
    with pytest.raises(ValueError, match="aware"):
        Verdict("verified", digest(1), not_after=clock().replace(tzinfo=None))


def test_verdict_cache_over_a_memory_store(clock: FakeClock) -> None:
    memory = VerdictCache(MemoryStore(max_entries=10, clock=clock), ttl_s=60, clock=clock)
    memory.put(NAME, digest(1), FP, Verdict.verified(digest(1)))
    hit = memory.get(NAME, digest(1), FP)
    assert hit is not None and hit.cached and memory.directory is None
    clock.advance(60)
    assert memory.get(NAME, digest(1), FP) is None

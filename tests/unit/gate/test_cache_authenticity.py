"""A cache entry written without the cache key is never served as a verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sealgate.gate import Verdict, VerdictCache

NAME, DIGEST, POLICY = "registry.example/app", "sha256:" + "b" * 64, "f" * 64


def test_entry_round_trips_with_the_same_secret(tmp_path: Path) -> None:
    VerdictCache(tmp_path, ttl_s=60, secret=b"k" * 32).put(
        NAME, DIGEST, POLICY, Verdict.verified(DIGEST)
    )
    hit = VerdictCache(tmp_path, ttl_s=60, secret=b"k" * 32).get(NAME, DIGEST, POLICY)
    assert hit is not None and hit.ok and hit.cached


def test_forged_or_foreign_entries_are_ignored(tmp_path: Path) -> None:
    writer = VerdictCache(tmp_path, ttl_s=60, secret=b"k" * 32)
    writer.put(NAME, DIGEST, POLICY, Verdict.verified(DIGEST))
    [entry_path] = list(tmp_path.glob("*.json"))
    # Another key (another runner, or an attacker who can write the directory): a miss.
    other = VerdictCache(tmp_path, ttl_s=60, secret=b"x" * 32)
    assert other.get(NAME, DIGEST, POLICY) is None
    assert any("not authentic" in w for w in other.warnings)
    # A hand-written entry with every public field right but no valid MAC: a miss.
    entry = json.loads(entry_path.read_text())
    entry["mac"] = "0" * 64
    entry_path.write_text(json.dumps(entry))
    assert VerdictCache(tmp_path, ttl_s=60, secret=b"k" * 32).get(NAME, DIGEST, POLICY) is None
    del entry["mac"]
    entry_path.write_text(json.dumps(entry))
    assert VerdictCache(tmp_path, ttl_s=60, secret=b"k" * 32).get(NAME, DIGEST, POLICY) is None


def test_absurd_ttl_is_ignored_not_fatal(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path, ttl_s=60, secret=b"k" * 32)
    cache.put(NAME, DIGEST, POLICY, Verdict.verified(DIGEST))
    key = VerdictCache.entry_key(NAME, DIGEST, POLICY)
    entry = json.loads(cache.store.get(key) or b"")
    entry["ttl"] = 1e300
    cache.store.put(key, json.dumps(entry).encode(), not_after=datetime.now(UTC) + timedelta(1))
    assert cache.get(NAME, DIGEST, POLICY) is None

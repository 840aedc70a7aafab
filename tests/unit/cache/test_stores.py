"""VerdictStore implementations: expiry, authentication, key binding, bounds, corruption."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealgate.cache import FileStore, MemoryStore, VerdictStore, open_entry, seal_entry
from sealgate.errors import CheckFailed, LimitExceeded, MalformedData

SECRET = b"0123456789abcdef-cache-secret"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


StoreFactory = Callable[[Path, Clock], VerdictStore]
STORES: dict[str, StoreFactory] = {
    "file": lambda tmp, clock: FileStore(tmp / "cache", secret=SECRET, clock=clock),
    "memory": lambda tmp, clock: MemoryStore(clock=clock),
}


@pytest.fixture(params=sorted(STORES))
def made(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[VerdictStore, Clock]:
    clock = Clock()
    return STORES[request.param](tmp_path, clock), clock


def test_round_trip_and_not_after_is_absolute(made: tuple[VerdictStore, Clock]) -> None:
    store, clock = made
    assert store.get("k") is None
    store.put("k", b"\x00value\xff", not_after=T0 + timedelta(seconds=30))
    assert store.get("k") == b"\x00value\xff"
    assert store.get("other") is None
    clock.advance(29)
    assert store.get("k") == b"\x00value\xff"
    clock.advance(1)  # at not_after: gone, whatever any TTL says
    assert store.get("k") is None


def test_put_replaces_delete_removes_and_dead_entries_are_not_stored(
    made: tuple[VerdictStore, Clock],
) -> None:
    store, _ = made
    store.put("k", b"one", not_after=T0 + timedelta(hours=1))
    store.put("k", b"two", not_after=T0 + timedelta(hours=1))
    assert store.get("k") == b"two"
    store.delete("k")
    store.delete("k")  # absent: not an error
    assert store.get("k") is None
    store.put("late", b"x", not_after=T0)
    assert store.get("late") is None


def test_naive_not_after_is_refused(made: tuple[VerdictStore, Clock]) -> None:
    store, _ = made
    with pytest.raises(ValueError, match="aware"):
        store.put("k", b"v", not_after=datetime(2030, 1, 1))


# --- FileStore --------------------------------------------------------------------------------


def file_store(tmp_path: Path, secret: bytes = SECRET, clock: Clock | None = None) -> FileStore:
    return FileStore(tmp_path / "cache", secret=secret, clock=clock or Clock())


def test_file_entries_need_the_secret_and_their_own_key(tmp_path: Path) -> None:
    writer = file_store(tmp_path)
    writer.put("a", b"verified", not_after=T0 + timedelta(hours=1))
    with pytest.raises(MalformedData, match="not authentic"):
        file_store(tmp_path, secret=b"another-secret-of-16+").get("a")
    # The file of "a" copied to where "b" lives: authentic, but filed under another key.
    writer.path_for("b").write_bytes(writer.path_for("a").read_bytes())
    with pytest.raises(MalformedData, match="does not match its key"):
        writer.get("b")


def test_pushing_back_the_expiry_breaks_the_mac(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    store.put("a", b"v", not_after=T0 + timedelta(seconds=10))
    path = store.path_for("a")
    entry = json.loads(path.read_bytes())
    entry["notAfter"] = (T0 + timedelta(days=365)).isoformat()
    path.write_text(json.dumps(entry))
    with pytest.raises(MalformedData, match="not authentic"):
        store.get("a")


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"{not json",
        b"[1]",
        b"null",
        b"[" * 40_000,
        b'{"v":' * 8_000,
        b"\xff\xfe",
        json.dumps(
            {"v": 1, "key": "a", "notAfter": "x", "value": "x", "mac": "\u00e9" * 64}
        ).encode(),
        json.dumps({"v": True, "key": "a", "notAfter": 1, "value": [], "mac": {}}).encode(),
        json.dumps({"v": 1, "key": "a"}).encode(),
    ],
)
def test_any_bytes_in_a_file_are_malformed_data_never_another_exception(
    tmp_path: Path, garbage: bytes
) -> None:
    store = file_store(tmp_path)
    store.put("a", b"v", not_after=T0 + timedelta(hours=1))
    store.path_for("a").write_bytes(garbage)
    with pytest.raises(MalformedData, match=r"cache entry .* (is corrupt|is not authentic)"):
        store.get("a")


def test_oversized_entries_are_refused_both_ways(tmp_path: Path) -> None:
    store = FileStore(tmp_path, secret=SECRET, clock=Clock(), max_entry_bytes=512)
    with pytest.raises(LimitExceeded):
        store.put("a", b"x" * 1000, not_after=T0 + timedelta(hours=1))
    store.path_for("a").write_bytes(b" " * 2000)
    with pytest.raises(LimitExceeded, match="larger than 512 bytes"):
        store.get("a")


def test_storage_failures_are_check_failed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = FileStore(blocker, secret=SECRET, clock=Clock())
    with pytest.raises(CheckFailed, match="cannot write cache entry"):
        store.put("a", b"v", not_after=T0 + timedelta(hours=1))
    with pytest.raises(CheckFailed, match="unreadable"):
        store.get("a")
    with pytest.raises(ValueError, match="16 bytes"):
        FileStore(tmp_path, secret=b"short")


def test_envelope_round_trip_is_usable_by_other_stores() -> None:
    sealed = seal_entry("k", b"payload", T0, SECRET)
    assert open_entry(sealed, "k", SECRET) == (b"payload", T0)
    with pytest.raises(MalformedData, match="does not match its key"):
        open_entry(sealed, "other", SECRET)


# --- MemoryStore ------------------------------------------------------------------------------


def test_memory_ttl_caps_not_after() -> None:
    clock = Clock()
    store = MemoryStore(ttl_s=10, clock=clock)
    store.put("k", b"v", not_after=T0 + timedelta(days=1))
    clock.advance(9)
    assert store.get("k") == b"v"
    clock.advance(1)
    assert store.get("k") is None and len(store) == 0


def test_memory_is_bounded_least_recently_used_first() -> None:
    store = MemoryStore(max_entries=2, max_value_bytes=4, clock=Clock())
    later = T0 + timedelta(hours=1)
    store.put("a", b"1", not_after=later)
    store.put("b", b"2", not_after=later)
    assert store.get("a") == b"1"  # "b" is now the least recently used
    store.put("c", b"3", not_after=later)
    assert (store.get("a"), store.get("b"), store.get("c")) == (b"1", None, b"3")
    with pytest.raises(LimitExceeded):
        store.put("d", b"12345", not_after=later)
    with pytest.raises(ValueError, match="positive"):
        MemoryStore(max_entries=0)


def test_memory_is_thread_safe_and_stays_within_its_bound() -> None:
    store = MemoryStore(max_entries=50, clock=Clock())
    later = T0 + timedelta(hours=1)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(500):
                key = f"{n}-{i % 80}"
                store.put(key, key.encode(), not_after=later)
                value = store.get(key)
                assert value in (None, key.encode())
                if i % 7 == 0:
                    store.delete(key)
        except BaseException as err:  # collected: a thread's failure must fail the test
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(store) <= 50

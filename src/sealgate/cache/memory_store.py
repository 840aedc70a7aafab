"""Entries in process memory: thread-safe, bounded, expiring (for the admission webhook).

Nothing leaves the process, so entries are not sealed: whoever can write this memory can
already change the verifier. Bounded twice: at most ``max_entries`` entries (least recently
used evicted first) of at most ``max_value_bytes`` each, so a flood of distinct images cannot
grow the webhook without limit. Each entry expires at the earlier of the caller's
``not_after`` and ``ttl_s`` after it was stored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from sealgate.cache.store import Clock, require_aware, utc_now
from sealgate.errors import LimitExceeded

__all__ = ["MemoryStore"]


class MemoryStore:
    """A :class:`~sealgate.cache.store.VerdictStore` in a bounded LRU dictionary.

    Example:
        >>> store = MemoryStore(max_entries=2, ttl_s=60)
        >>> store.put("a", b"1", not_after=utc_now() + timedelta(hours=1))
        >>> store.get("a")
        b'1'
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        ttl_s: float | None = None,
        max_value_bytes: int = 64 * 1024,
        clock: Clock = utc_now,
    ) -> None:
        """Create an empty store.

        Raises:
            ValueError: ``max_entries`` or ``max_value_bytes`` is not positive, or ``ttl_s``
                is not positive.
        """
        if max_entries < 1 or max_value_bytes < 1:
            raise ValueError("max_entries and max_value_bytes must be positive")
        if ttl_s is not None and ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, not {ttl_s}")
        self.max_entries = max_entries
        self.max_value_bytes = max_value_bytes
        self.ttl = timedelta(seconds=ttl_s) if ttl_s is not None else None
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[bytes, datetime]] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: str) -> bytes | None:
        """Return the value under ``key``, or None when absent or expired (then dropped)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires = entry
            if now >= expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: str, value: bytes, *, not_after: datetime) -> None:
        """Store ``value`` until the earlier of ``not_after`` and now + ``ttl_s``.

        Raises:
            ValueError: ``not_after`` is naive.
            LimitExceeded: ``value`` is larger than ``max_value_bytes``.
        """
        now = self._clock()
        expires = require_aware(not_after)
        if self.ttl is not None:
            expires = min(expires, now + self.ttl)
        if len(value) > self.max_value_bytes:
            raise LimitExceeded(f"cache value of {len(value)} bytes exceeds the cap")
        with self._lock:
            if now >= expires:
                self._entries.pop(key, None)  # a put that cannot live replaces nothing stale
                return
            self._entries[key] = (bytes(value), expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def delete(self, key: str) -> None:
        """Drop ``key``'s entry if present."""
        with self._lock:
            self._entries.pop(key, None)

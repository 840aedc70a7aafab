"""Entries in Redis, shared by every replica of the admission webhook.

Each entry is sealed with :mod:`sealgate.cache.envelope` (HMAC over key, expiry and value), so
whoever can write to Redis but does not hold the cache secret cannot mark an image verified,
and an entry copied under another key is refused. Redis expires the key at the entry's
``not_after`` (``SET ... PXAT``); the expiry inside the envelope is checked again on read, so a
Redis that keeps keys too long changes nothing.

Every Redis failure (refused, timed out, reset) is :class:`~sealgate.errors.CheckFailed`;
callers treat it as a miss and carry on without the shared layer. Timeouts are short: the
store sits inside an admission review's budget.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sealgate.cache.envelope import (
    MAX_ENTRY_BYTES,
    open_entry,
    require_cache_secret,
    seal_capped_entry,
)
from sealgate.cache.store import Clock, require_aware, utc_now
from sealgate.errors import CheckFailed, MalformedData

__all__ = ["RedisStore"]


class RedisStore:
    """A :class:`~sealgate.cache.store.VerdictStore` in Redis (the ``redis`` library).

    Example:
        >>> store = RedisStore.from_url("redis://cache:6379/0", secret=key)  # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any,
        *,
        secret: bytes,
        prefix: str = "sealgate:",
        clock: Clock = utc_now,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
    ) -> None:
        """Wrap a ``redis.Redis`` client.

        Raises:
            ValueError: ``secret`` is shorter than 16 bytes.
        """
        self.client = client
        self.prefix = prefix
        self._secret = require_cache_secret(secret)
        self._clock = clock
        self._max_entry_bytes = max_entry_bytes

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        secret: bytes,
        timeout_s: float = 0.25,
        clock: Clock = utc_now,
    ) -> RedisStore:
        """Connect lazily to ``redis://`` or ``rediss://`` ``url`` with short timeouts.

        Raises:
            ValueError: The URL is not a Redis URL, or the secret is too short.
        """
        import redis

        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry_on_timeout=False,
            health_check_interval=30,
        )
        return cls(client, secret=secret, clock=clock)

    def _name(self, key: str) -> str:
        # Hashed: keys hold image names, which need not be safe Redis key text.
        return self.prefix + hashlib.sha256(key.encode("utf-8")).hexdigest()

    def _call(self, action: str, *args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return getattr(self.client, action)(*args, **kwargs)
        except redis.RedisError as err:
            # The class only: a message may carry the URL, and the URL may carry a password.
            raise CheckFailed(f"redis {action} failed ({type(err).__name__})") from None

    def get(self, key: str) -> bytes | None:
        """Return the value under ``key``, or None when absent or expired.

        Raises:
            CheckFailed: Redis failed; MalformedData: corrupt, unauthentic or another key's.
        """
        raw = self._call("get", self._name(key))
        if raw is None:
            return None
        if not isinstance(raw, bytes):
            raise MalformedData("redis cache entry is corrupt (not bytes)")
        value, not_after = open_entry(raw, key, self._secret, max_bytes=self._max_entry_bytes)
        if self._clock() >= not_after:
            return None
        return value

    def put(self, key: str, value: bytes, *, not_after: datetime) -> None:
        """Store ``value`` under ``key`` until ``not_after``.

        Raises:
            ValueError: ``not_after`` is naive.
            LimitExceeded: The sealed entry exceeds the size cap.
            CheckFailed: Redis failed.
        """
        if self._clock() >= require_aware(not_after):
            return
        sealed = seal_capped_entry(
            key, value, not_after, self._secret, max_bytes=self._max_entry_bytes
        )
        expires_ms = int(not_after.timestamp() * 1000)
        self._call("set", self._name(key), sealed, pxat=expires_ms)

    def delete(self, key: str) -> None:
        """Remove ``key``'s entry.

        Raises:
            CheckFailed: Redis failed.
        """
        self._call("delete", self._name(key))

    def ping(self) -> bool:
        """Whether Redis answers now."""
        try:
            return bool(self._call("ping"))
        except CheckFailed:
            return False

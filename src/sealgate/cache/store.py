"""The store protocol every verdict cache backend implements, and its clock.

A store keeps opaque bytes under a string key until an absolute expiry, ``not_after``. The
caller chooses ``not_after`` as the earliest moment the entry stops being true: its own TTL,
but also the expiry of the key or certificate the verdict relied on, so a cached "verified"
never outlives what it was verified with. A store never returns an entry at or past its
``not_after``.

What a store does *not* know: what the bytes mean (the gate's verdict cache, a policy
engine's decisions and the webhook encode their own entries). Stores that leave the
process (files, Redis) authenticate every entry and bind it to its key (see
:mod:`sealgate.cache.envelope`), so a copied or hand-written entry is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "VerdictStore", "require_aware", "utc_now"]

#: Returns the current time as an aware datetime; injected so tests never sleep.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: now, as an aware UTC datetime."""
    return datetime.now(UTC)


def require_aware(moment: datetime, what: str = "not_after") -> datetime:
    """Return ``moment`` if it carries a time zone.

    Raises:
        ValueError: ``moment`` is naive (a caller bug: its meaning would depend on the host).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, not {moment!r}")
    return moment


class VerdictStore(Protocol):
    """Authenticated entries by key, each with an absolute expiry. Must be thread-safe.

    Errors: ``get`` returns None for an absent or expired entry and raises
    :class:`~sealgate.errors.CheckFailed` when an entry exists but cannot be used
    (:class:`~sealgate.errors.MalformedData` for corrupt, unauthentic or filed under another
    key; plain ``CheckFailed`` for a storage failure). ``put`` and ``delete`` raise
    ``CheckFailed`` when the storage fails (:class:`~sealgate.errors.LimitExceeded` for an
    oversized value). Callers treat every one of them as a miss: a cache is an optimisation.
    """

    def get(self, key: str) -> bytes | None:
        """Return the value stored under ``key``, or None when absent or past its expiry."""
        ...

    def put(self, key: str, value: bytes, *, not_after: datetime) -> None:
        """Store ``value`` under ``key`` until ``not_after`` (aware); replaces any entry.

        An entry whose ``not_after`` has already passed is not stored.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove the entry under ``key``; absent entries are not an error."""
        ...

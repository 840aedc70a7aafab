"""Authenticated, key-bound entries for stores that leave the process (files, Redis).

One entry is a small JSON object::

    {"v": 1, "key": "...", "notAfter": "2025-03-01T13:00:00+00:00", "value": "<base64>",
     "mac": "<hex HMAC-SHA256>"}

The MAC (RFC 2104, SHA-256) covers the canonical JSON of every other field, the key and the
expiry included: an entry copied under another key, or with its expiry pushed back, fails.
The secret that makes MACs must live outside the storage it protects (anyone who can write
the cache directory could otherwise write "verified" for any image).

:func:`open_entry` accepts any bytes: corrupt, oversized, deeply nested or mistyped input is
:class:`~sealgate.errors.MalformedData`, never another exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime

from sealgate.cache.store import require_aware
from sealgate.errors import LimitExceeded, MalformedData

__all__ = [
    "ENVELOPE_VERSION",
    "MAX_ENTRY_BYTES",
    "open_entry",
    "require_cache_secret",
    "seal_capped_entry",
    "seal_entry",
]

ENVELOPE_VERSION = 1
#: Largest sealed entry accepted by default (a verdict entry is a few hundred bytes).
MAX_ENTRY_BYTES = 64 * 1024
_FIELDS = frozenset({"v", "key", "notAfter", "value", "mac"})


def _mac(secret: bytes, body: dict[str, object]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(secret, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def seal_entry(key: str, value: bytes, not_after: datetime, secret: bytes) -> bytes:
    """Encode and authenticate one entry.

    Args:
        key: The store key the entry is filed under (bound into the MAC).
        value: The caller's bytes.
        not_after: Aware absolute expiry.
        secret: HMAC key (at least 16 bytes).

    Returns:
        The entry as UTF-8 JSON bytes.

    Raises:
        ValueError: ``not_after`` is naive or ``secret`` is shorter than 16 bytes.
    """
    if len(secret) < 16:
        raise ValueError("the entry secret must be at least 16 bytes")
    body: dict[str, object] = {
        "v": ENVELOPE_VERSION,
        "key": key,
        "notAfter": require_aware(not_after).isoformat(),
        "value": base64.b64encode(value).decode("ascii"),
    }
    body["mac"] = _mac(secret, body)
    return json.dumps(body, sort_keys=True, ensure_ascii=True).encode("ascii")


def require_cache_secret(secret: bytes) -> bytes:
    """Return ``secret`` once it is long enough to key a store's MACs.

    Raises:
        ValueError: ``secret`` is shorter than 16 bytes.
    """
    if len(secret) < 16:
        raise ValueError("the cache secret must be at least 16 bytes")
    return secret


def seal_capped_entry(
    key: str, value: bytes, not_after: datetime, secret: bytes, *, max_bytes: int
) -> bytes:
    """Seal one entry (see :func:`seal_entry`) and refuse it when larger than ``max_bytes``.

    Raises:
        ValueError: ``not_after`` is naive or ``secret`` is shorter than 16 bytes.
        LimitExceeded: the sealed entry exceeds ``max_bytes``.
    """
    sealed = seal_entry(key, value, not_after, secret)
    if len(sealed) > max_bytes:
        raise LimitExceeded(f"cache entry of {len(sealed)} bytes exceeds the cap")
    return sealed


def open_entry(
    raw: bytes, key: str, secret: bytes, *, max_bytes: int = MAX_ENTRY_BYTES
) -> tuple[bytes, datetime]:
    """Check and decode one entry read back from storage.

    Args:
        raw: What the storage returned (untrusted).
        key: The key it was read under.
        secret: The HMAC key it must have been sealed with.
        max_bytes: Refuse larger entries before parsing them.

    Returns:
        ``(value, not_after)``; the caller compares ``not_after`` with its clock.

    Raises:
        MalformedData: corrupt ("is corrupt"), not sealed with ``secret`` ("is not authentic"),
            or sealed under another key ("does not match its key").
        LimitExceeded: larger than ``max_bytes``.
    """
    if len(raw) > max_bytes:
        raise LimitExceeded(f"is larger than {max_bytes} bytes")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as err:  # RecursionError: "[[[[..." nested input
        raise MalformedData(f"is corrupt ({type(err).__name__})") from None
    if not isinstance(doc, dict) or set(doc) != _FIELDS:
        raise MalformedData("is corrupt (not an entry)")
    version, stored_key, expiry, value, mac = (
        doc[f] for f in ("v", "key", "notAfter", "value", "mac")
    )
    if type(version) is not int or not all(
        isinstance(field, str) for field in (stored_key, expiry, value, mac)
    ):
        raise MalformedData("is corrupt (wrong field types)")
    if version != ENVELOPE_VERSION:
        raise MalformedData(f"is corrupt (unknown version {version})")
    body = {f: doc[f] for f in ("v", "key", "notAfter", "value")}
    # compare_digest refuses non-ASCII str: a forged MAC must be "not authentic", not a crash.
    if not mac.isascii() or not hmac.compare_digest(mac, _mac(secret, body)):
        raise MalformedData("is not authentic (written without this cache's key)")
    if stored_key != key:
        raise MalformedData("does not match its key")
    try:
        not_after = require_aware(datetime.fromisoformat(expiry))
        decoded = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error) as err:
        raise MalformedData(f"is corrupt ({type(err).__name__})") from None
    return decoded, not_after

"""Entries as files in one directory: atomic writes, HMAC-authenticated, key-bound.

One file per key, named by the SHA-256 of the key. Written atomically (temporary file in the
same directory, ``fsync``, ``os.replace``), so concurrent runs sharing the directory never see
half an entry. Every entry is sealed with :mod:`sealgate.cache.envelope`.

The directory is not trusted: it often sits in a checkout or a restored CI cache. The secret
that authenticates entries must be kept elsewhere (the CLI keeps it under
``$XDG_CACHE_HOME/sealgate`` or takes it from ``SEALGATE_CACHE_KEY``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path

from sealgate.cache.envelope import (
    MAX_ENTRY_BYTES,
    open_entry,
    require_cache_secret,
    seal_capped_entry,
)
from sealgate.cache.store import Clock, require_aware, utc_now
from sealgate.errors import CheckFailed, MalformedData

__all__ = ["FileStore"]


class FileStore:
    """A :class:`~sealgate.cache.store.VerdictStore` over files in ``directory``.

    Example:
        >>> store = FileStore(Path(".sealgate-cache"), secret=key)  # doctest: +SKIP
        >>> store.put("k", b"v", not_after=utc_now() + timedelta(hours=1))  # doctest: +SKIP
    """

    def __init__(
        self,
        directory: Path,
        *,
        secret: bytes,
        clock: Clock = utc_now,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
    ) -> None:
        """Create the store; nothing touches the disk until the first ``put``.

        Raises:
            ValueError: ``secret`` is shorter than 16 bytes.
        """
        self.directory = directory
        self._secret = require_cache_secret(secret)
        self._clock = clock
        self._max_entry_bytes = max_entry_bytes

    def path_for(self, key: str) -> Path:
        """The file that holds ``key``'s entry (whether or not it exists)."""
        return self.directory / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()}.json"

    def get(self, key: str) -> bytes | None:
        """Return the value under ``key``, or None when absent or expired.

        Raises:
            CheckFailed: unreadable file; MalformedData: corrupt, unauthentic or another key's.
        """
        path = self.path_for(key)
        try:
            with path.open("rb") as handle:
                raw = handle.read(self._max_entry_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise CheckFailed(f"cache entry {path} unreadable ({err.strerror or err})") from None
        try:
            value, not_after = open_entry(raw, key, self._secret, max_bytes=self._max_entry_bytes)
        except MalformedData as err:  # LimitExceeded included: keep the class, name the file
            raise type(err)(f"cache entry {path} {err}") from None
        if self._clock() >= not_after:
            return None
        return value

    def put(self, key: str, value: bytes, *, not_after: datetime) -> None:
        """Write ``value`` under ``key`` atomically until ``not_after``.

        Raises:
            ValueError: ``not_after`` is naive.
            LimitExceeded: the sealed entry would exceed the size cap.
            CheckFailed: the directory cannot be created or written.
        """
        if self._clock() >= require_aware(not_after):
            return
        sealed = seal_capped_entry(
            key, value, not_after, self._secret, max_bytes=self._max_entry_bytes
        )
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(sealed)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(tmp).replace(self.path_for(key))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as err:
            raise CheckFailed(
                f"cannot write cache entry in {self.directory} ({err.strerror or err})"
            ) from None

    def delete(self, key: str) -> None:
        """Remove ``key``'s file if present.

        Raises:
            CheckFailed: the file exists but cannot be removed.
        """
        path = self.path_for(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            raise CheckFailed(f"cannot delete cache entry {path} ({err.strerror or err})") from None

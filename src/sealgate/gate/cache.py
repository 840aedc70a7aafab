"""The gate's cache of *successful* verdicts, keyed by repository, digest and policy.

Only digest -> verdict is cached: tags move, so the runner re-resolves every tag on every run
and asks the cache about the digest it got. The key is
``(registry/repository, digest, policy fingerprint)``; the repository is part of it because
cosign stores signatures per repository (the same digest in another repository may be
unsigned there). The policy fingerprint is :func:`sealgate.policy.policy_set_fingerprint` of
what the run verifies against (keys' SPKI fingerprints, tlog and its logs, attestation rules,
annotations, matching): rotating a key file or tightening a requirement invalidates every
entry.

Storage is a :class:`~sealgate.cache.VerdictStore` (files for the CLI; see
:mod:`sealgate.cache`), which authenticates entries, binds them to their key and drops them
at their ``not_after``: the earlier of the TTL and the verdict's own ``not_after`` (when the
key or certificate it relied on expires). Failures are never cached. A corrupt, mismatched
or future-dated entry is a miss with a warning, whatever the bytes are. Entries older than
the TTL (the shorter of the one stored and the one configured now) are misses.

The cache directory is trust material: anyone who can write it *and* holds the cache key can
mark images verified. Keep the key out of the directory (the CLI does).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sealgate.cache import FileStore, VerdictStore
from sealgate.errors import CheckFailed
from sealgate.gate.config import CacheSettings
from sealgate.gate.model import Clock, Verdict, utc_now

__all__ = ["VerdictCache"]

logger = logging.getLogger(__name__)

_SCHEMA = 1
_CLOCK_SKEW = timedelta(seconds=60)
_MAX_MESSAGE = 2000


@dataclass(frozen=True)
class _Entry:
    """A stored verdict as :meth:`VerdictCache.put` writes it."""

    schema: int
    name: str
    digest: str
    policy: str
    verdict: str
    message: str
    verified_at: datetime
    ttl: timedelta

    @classmethod
    def decode(cls, raw: bytes) -> _Entry:
        """Decode a payload, checking every field's type (the bytes may be anything).

        Raises:
            ValueError: not JSON, not an object, a missing or mistyped field, a naive time.
            ArithmeticError: a TTL no timedelta can hold.
        """
        try:
            entry = json.loads(raw)
        except RecursionError:
            raise ValueError("nested too deeply") from None
        if not isinstance(entry, dict):
            raise ValueError("not an object")
        text = {f: entry.get(f) for f in ("name", "digest", "policy", "verdict", "message")}
        text["verifiedAt"] = entry.get("verifiedAt")
        schema, ttl = entry.get("schema"), entry.get("ttl")
        if not all(isinstance(v, str) for v in text.values()):
            raise ValueError("a text field is missing or not a string")
        if type(schema) is not int or type(ttl) not in (int, float):
            raise ValueError("schema or ttl is missing or not a number")
        verified_at = datetime.fromisoformat(str(text["verifiedAt"]))
        if verified_at.utcoffset() is None:
            raise ValueError("naive timestamp")
        return cls(
            schema=schema,
            name=str(text["name"]),
            digest=str(text["digest"]),
            policy=str(text["policy"]),
            verdict=str(text["verdict"]),
            message=str(text["message"])[:_MAX_MESSAGE],
            verified_at=verified_at,
            ttl=timedelta(seconds=float(ttl)),  # type: ignore[arg-type]
        )


class VerdictCache:
    """Thread-safe cache of successful verdicts over a :class:`~sealgate.cache.VerdictStore`.

    Example:
        >>> cache = VerdictCache(Path(".sealgate-cache"), ttl_s=3600, secret=key)  # doctest: +SKIP
        >>> cache.get("ghcr.io/acme/api", "sha256:...", fingerprint)  # None on a miss
    """

    def __init__(
        self,
        store: VerdictStore | Path,
        *,
        ttl_s: float,
        clock: Clock = utc_now,
        secret: bytes | None = None,
    ) -> None:
        """Cache verdicts in ``store``, or in a :class:`~sealgate.cache.FileStore` at a path.

        Args:
            store: The store, or the directory of a file store.
            ttl_s: Longest life of an entry, in seconds.
            clock: Injected time source.
            secret: Key that authenticates a file store's entries; without one the entries
                only serve this process (a random key). Ignored for a store.
        """
        if isinstance(store, Path):
            # Entries are authenticated: the directory often sits in a checkout or a restored
            # CI cache, where anyone who can commit could otherwise write "verified".
            store = FileStore(store, secret=secret or os.urandom(32), clock=clock)
        self.store: VerdictStore = store
        self.ttl = timedelta(seconds=ttl_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._warnings: list[str] = []

    @classmethod
    def from_settings(
        cls,
        settings: CacheSettings | None,
        *,
        clock: Clock = utc_now,
        secret: bytes | None = None,
    ) -> VerdictCache | None:
        """Build the cache a configuration asks for, or None when caching is off.

        ``secret`` authenticates entries across runs; keep it outside the cache directory.
        """
        if settings is None or not settings.enabled or settings.ttl_s <= 0:
            return None
        return cls(settings.directory, ttl_s=settings.ttl_s, clock=clock, secret=secret)

    @property
    def directory(self) -> Path | None:
        """The directory of a file store, else None."""
        return self.store.directory if isinstance(self.store, FileStore) else None

    @staticmethod
    def entry_key(name: str, digest: str, fingerprint: str) -> str:
        """The store key of ``(repository, digest, policy)``."""
        return f"sealgate/gate-verdict/v{_SCHEMA}/{name}@{digest}/{fingerprint}"

    @property
    def warnings(self) -> tuple[str, ...]:
        """Problems met so far (corrupt entries, unwritable directory), for the report."""
        with self._lock:
            return tuple(self._warnings)

    def _warn(self, message: str) -> None:
        logger.warning("%s", message)
        with self._lock:
            if message not in self._warnings:
                self._warnings.append(message)

    def get(self, name: str, digest: str, fingerprint: str) -> Verdict | None:
        """Return the cached verdict, or None on a miss (absent, expired, corrupt).

        Args:
            name: ``registry/repository`` of the image.
            digest: ``sha256:...`` manifest digest.
            fingerprint: :func:`policy_fingerprint` of the policy in force.

        Returns:
            A ``verified`` verdict with ``cached=True``, or None. Never raises for what the
            store holds: every unusable entry is a miss with a warning.
        """
        raw = self._read(self.entry_key(name, digest, fingerprint))
        if raw is None:
            return None
        where = f"cache entry for {name}@{digest}"
        try:
            entry = _Entry.decode(raw)
        except (ValueError, ArithmeticError) as err:  # OverflowError: ttl 1e300
            self._warn(f"{where} is corrupt ({err}); ignoring it")
            return None
        stored = (entry.schema, entry.name, entry.digest, entry.policy, entry.verdict)
        if stored != (_SCHEMA, name, digest, fingerprint, "verified"):
            self._warn(f"{where} does not match its key; ignoring it")
            return None
        now = self._clock()
        if entry.verified_at > now + _CLOCK_SKEW:
            self._warn(f"{where} is dated in the future; ignoring it")
            return None
        if now - entry.verified_at > min(entry.ttl, self.ttl):
            return None
        return Verdict("verified", digest=digest, message=entry.message, cached=True)

    def _read(self, key: str) -> bytes | None:
        try:
            return self.store.get(key)
        except CheckFailed as err:  # corrupt, unauthentic, unreadable: a miss, said out loud
            self._warn(f"{err}; ignoring it")
            return None

    def put(self, name: str, digest: str, fingerprint: str, verdict: Verdict) -> None:
        """Store a successful verdict; failures (and verdicts for another digest) are ignored.

        The entry expires after the TTL, or earlier at ``verdict.not_after``. A store that
        cannot write is a warning, never an error: the cache is an optimisation.
        """
        if not verdict.ok or verdict.digest != digest or verdict.cached:
            return
        now = self._clock()
        not_after = now + self.ttl
        if verdict.not_after is not None:
            not_after = min(not_after, verdict.not_after)
        entry = {
            "schema": _SCHEMA,
            "name": name,
            "digest": digest,
            "policy": fingerprint,
            "verdict": "verified",
            "message": verdict.message,
            "verifiedAt": now.isoformat(),
            "ttl": self.ttl.total_seconds(),
        }
        value = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode("utf-8")
        try:
            self.store.put(self.entry_key(name, digest, fingerprint), value, not_after=not_after)
        except CheckFailed as err:
            self._warn(str(err))

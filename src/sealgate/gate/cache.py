"""On-disk cache of *successful* verdicts, keyed by repository, digest and policy.

Only digest -> verdict is cached: tags move, so the runner re-resolves every tag on every run
and asks the cache about the digest it got. The key is
``(registry/repository, digest, policy fingerprint)``; the repository is part of it because
cosign stores signatures per repository (the same digest in another repository may be
unsigned there). The policy fingerprint is the SHA-256 of the canonical JSON of the trusted
keys' fingerprints (any-of, so sorted), ``tlog`` with the Rekor keys' fingerprints, the
attestation requirements and the required annotations: rotating a key file or tightening a
requirement invalidates every entry.

Failures are never cached. One file per entry, written atomically (temporary file in the
same directory, ``fsync``, ``os.replace``), so concurrent runs never see half an entry. A
corrupt, mismatched or future-dated entry is a miss with a warning. Entries older than the
TTL (the shorter of the one stored and the one configured now) are misses.

The cache directory is trust material: anyone who can write it can mark images verified.
Keep it in the pipeline's private workspace, never on a shared or restored-from-PR cache.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sealgate import __version__
from sealgate.gate.config import CacheSettings, Policy
from sealgate.gate.model import Clock, Verdict, utc_now

__all__ = ["VerdictCache", "policy_fingerprint"]

logger = logging.getLogger(__name__)

_SCHEMA = 1
_MAX_ENTRY_BYTES = 64 * 1024
_CLOCK_SKEW = timedelta(seconds=60)


def _pem_fingerprint(pem: bytes) -> str:
    # Whitespace-insensitive: re-wrapping a PEM file does not change the key.
    return "sha256:" + hashlib.sha256(b"".join(pem.split())).hexdigest()


def policy_fingerprint(policy: Policy, public_key: Callable[[str], bytes]) -> str:
    """Fingerprint everything in ``policy`` that changes what "verified" means.

    Args:
        policy: The environment's effective policy.
        public_key: Returns the public key PEM of a key reference (the verifier's
            ``public_key_pem``); called once per distinct reference.

    Returns:
        Hex SHA-256 of the canonical JSON of the policy.

    Raises:
        SealgateError: whatever ``public_key`` raises (typically ``KeyMaterialError``).
    """
    memo: dict[str, str] = {}

    def fp(ref: str) -> str:
        if ref not in memo:
            memo[ref] = _pem_fingerprint(public_key(ref))
        return memo[ref]

    attestations = sorted(
        (
            {
                "type": a.type,
                "keys": sorted({fp(k) for k in a.keys}),
                "conditions": list(a.conditions),
            }
            for a in policy.attestations
        ),
        key=lambda item: json.dumps(item, sort_keys=True),
    )
    document = {
        "v": _SCHEMA,
        # A release that changes verification must not reuse an older release's verdicts.
        "tool": __version__,
        "keys": sorted({fp(k) for k in policy.keys}),
        "tlog": policy.tlog,
        "rekorKeys": sorted({fp(k) for k in policy.rekor_keys}) if policy.tlog else [],
        "attestations": attestations,
        "annotations": dict(policy.annotations),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class VerdictCache:
    """Thread-safe on-disk cache of successful verdicts.

    Example:
        >>> cache = VerdictCache(Path(".sealgate-cache"), ttl_s=3600)  # doctest: +SKIP
        >>> cache.get("ghcr.io/acme/api", "sha256:...", fingerprint)  # None on a miss
    """

    def __init__(
        self,
        directory: Path,
        *,
        ttl_s: float,
        clock: Clock = utc_now,
        secret: bytes | None = None,
    ) -> None:
        self.directory = directory
        # Entries are authenticated: the directory often sits in a checkout or a restored CI
        # cache, where anyone who can commit could otherwise write "verified" for any digest.
        # Without a persistent secret the cache only serves this process.
        self._secret = secret or os.urandom(32)
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

    def _mac(self, entry: dict[str, object]) -> str:
        body = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

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

    def _path(self, name: str, digest: str, fingerprint: str) -> Path:
        key = hashlib.sha256(f"{name}\n{digest}\n{fingerprint}".encode()).hexdigest()
        return self.directory / f"{key}.json"

    def get(self, name: str, digest: str, fingerprint: str) -> Verdict | None:  # noqa: PLR0911 - each miss says why
        """Return the cached verdict, or None on a miss (absent, expired, corrupt).

        Args:
            name: ``registry/repository`` of the image.
            digest: ``sha256:...`` manifest digest.
            fingerprint: :func:`policy_fingerprint` of the policy in force.

        Returns:
            A ``verified`` verdict with ``cached=True``, or None.
        """
        path = self._path(name, digest, fingerprint)
        try:
            with path.open("rb") as handle:
                raw = handle.read(_MAX_ENTRY_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as err:
            self._warn(f"cache entry {path} unreadable ({err.strerror or err}); ignoring it")
            return None
        try:
            if len(raw) > _MAX_ENTRY_BYTES:
                raise ValueError("oversized")
            entry = json.loads(raw)
            mac = entry.pop("mac", "")
            if not isinstance(mac, str) or not hmac.compare_digest(mac, self._mac(entry)):
                self._warn(f"cache entry {path} is not authentic; ignoring it")
                return None
            matches = (
                entry["schema"] == _SCHEMA
                and entry["name"] == name
                and entry["digest"] == digest
                and entry["policy"] == fingerprint
                and entry["verdict"] == "verified"
            )
            if not matches:
                raise ValueError("entry does not match its key")
            verified_at = datetime.fromisoformat(entry["verifiedAt"])
            ttl = min(timedelta(seconds=float(entry["ttl"])), self.ttl)
            message = str(entry.get("message", "verified"))
            if verified_at.tzinfo is None:
                raise ValueError("naive timestamp")
        except (ValueError, KeyError, TypeError, ArithmeticError) as err:
            self._warn(f"cache entry {path} is corrupt ({err}); ignoring it")
            return None
        now = self._clock()
        if verified_at > now + _CLOCK_SKEW:
            self._warn(f"cache entry {path} is dated in the future; ignoring it")
            return None
        if now - verified_at > ttl:
            return None
        return Verdict("verified", digest=digest, message=message, cached=True)

    def put(self, name: str, digest: str, fingerprint: str, verdict: Verdict) -> None:
        """Store a successful verdict; failures (and verdicts for another digest) are ignored.

        An unwritable directory is a warning, never an error: the cache is an optimisation.
        """
        if not verdict.ok or verdict.digest != digest or verdict.cached:
            return
        entry = {
            "schema": _SCHEMA,
            "name": name,
            "digest": digest,
            "policy": fingerprint,
            "verdict": "verified",
            "message": verdict.message,
            "verifiedAt": self._clock().isoformat(),
            "ttl": self.ttl.total_seconds(),
        }
        entry["mac"] = self._mac(entry)
        path = self._path(name, digest, fingerprint)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(entry, handle, sort_keys=True)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as err:
            self._warn(f"cannot write cache entry in {self.directory} ({err.strerror or err})")

"""Verdicts for the proxy: cached by repository, digest and policy fingerprint, one check at a time.

A verdict is computed by :func:`sealgate.workflows.pinned_verdict.judge_pinned` (the one
policy engine) on a worker thread, with the proxy's own registry client and a deadline per
check. Concurrent requests for one digest share a single check (a rollout pulls the same
image on many nodes at once). Cached in a bounded :class:`~sealgate.cache.MemoryStore`:

* a pass, for ``ttl_s``; the manifests an index that passed lists are admitted with it (the
  index's digest covers theirs: a runtime fetches the platform manifest by digest next);
* a denial about the image itself (unsigned, wrong key, policy...), for ``denial_ttl_s``, so
  a crash-looping pod does not re-verify every second, yet a fresh signature counts soon;
* never a could-not-check (unreachable, timeout, malformed) or a bug: those are re-checked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import anyio
import anyio.to_thread

from sealgate.cache import Clock, MemoryStore, utc_now
from sealgate.deadline import Deadline
from sealgate.errors import CheckFailed
from sealgate.gate import VERIFICATION_FAILURE_REASONS, Verdict
from sealgate.oci import Descriptor, Reference, RegistryClient
from sealgate.policy import PolicySet, policy_set_fingerprint
from sealgate.workflows.pinned_verdict import judge_pinned

__all__ = ["ProxyJudge", "VerdictSettings"]

logger = logging.getLogger(__name__)

_SCHEMA = 1


@dataclass(frozen=True)
class VerdictSettings:
    """How verdicts are made and kept."""

    #: Seconds a pass is reused.
    ttl_s: float = 300.0
    #: Seconds a denial about the image is reused (0: never).
    denial_ttl_s: float = 10.0
    #: Budget of one check (every registry request it makes).
    check_timeout_s: float = 30.0
    #: Checks running at once (worker threads).
    workers: int = 16
    #: Entries kept.
    max_entries: int = 10_000


class ProxyJudge:
    """Decides whether a digest of a repository may be served; safe to share between requests."""

    def __init__(
        self,
        client: RegistryClient,
        registry: str,
        policies: PolicySet,
        settings: VerdictSettings | None = None,
        *,
        clock: Clock = utc_now,
        judge: Callable[[RegistryClient, Reference, Descriptor], Verdict] | None = None,
    ) -> None:
        """Create the judge.

        Args:
            client: The proxy's own registry client for the upstream.
            registry: The upstream's registry name (what policies see in image names).
            policies: The policy set.
            settings: TTLs, timeouts and workers.
            clock: Injected time.
            judge: Computes one verdict (default: the policy engine; tests inject one).
        """
        self.settings = settings or VerdictSettings()
        self.registry = registry
        self.policies = policies
        self.fingerprint = policy_set_fingerprint(policies)
        self._client = client
        self._clock = clock
        self._judge = judge or self._engine
        self._store = MemoryStore(max_entries=self.settings.max_entries, clock=clock)
        self._limiter = anyio.CapacityLimiter(self.settings.workers)
        self._inflight: dict[str, asyncio.Future[Verdict]] = {}
        #: Checks actually run (not served from the cache); for tests and metrics.
        self.checks_run = 0

    def _engine(self, client: RegistryClient, image: Reference, descriptor: Descriptor) -> Verdict:
        bounded = client.with_deadline(Deadline.after(self.settings.check_timeout_s))
        return judge_pinned(bounded, image, descriptor, self.policies, reference_time=self._clock())

    def _key(self, kind: str, repository: str, digest: str) -> str:
        return f"sealgate/proxy/v{_SCHEMA}/{kind}/{repository}@{digest}/{self.fingerprint}"

    def image_ref(self, repository: str, digest: str) -> Reference:
        """The name policies match for ``repository`` at ``digest`` on the upstream."""
        return Reference.parse(f"{self.registry}/{repository}@{digest}")

    def _cached(self, repository: str, digest: str) -> Verdict | None:
        try:
            raw = self._store.get(self._key("verdict", repository, digest))
            parent = self._store.get(self._key("child", repository, digest))
        except CheckFailed:
            return None
        if parent is not None:
            return Verdict(
                "verified", digest, message=f"listed by {parent.decode()} (verified)", cached=True
            )
        if raw is None:
            return None
        entry = json.loads(raw)
        if entry["ok"]:
            return Verdict("verified", digest, message=entry["message"], cached=True)
        return Verdict("failed", digest, entry["reason"], entry["message"], cached=True)

    def _remember(
        self, repository: str, digest: str, verdict: Verdict, children: Sequence[str]
    ) -> None:
        ttl = self.settings.ttl_s if verdict.ok else self.settings.denial_ttl_s
        if ttl <= 0 or (not verdict.ok and verdict.reason not in VERIFICATION_FAILURE_REASONS):
            return
        not_after = self._clock() + timedelta(seconds=ttl)
        if verdict.not_after is not None:
            not_after = min(not_after, verdict.not_after)
        entry = {"ok": verdict.ok, "reason": verdict.reason, "message": verdict.message[:2000]}
        try:
            self._store.put(
                self._key("verdict", repository, digest),
                json.dumps(entry).encode(),
                not_after=not_after,
            )
            if verdict.ok:
                for child in children[:1000]:
                    self._store.put(
                        self._key("child", repository, child), digest.encode(), not_after=not_after
                    )
        except CheckFailed:
            logger.warning("could not cache the verdict for %s@%s", repository, digest)

    async def verdict(
        self, repository: str, descriptor: Descriptor, children: Sequence[str] = ()
    ) -> Verdict:
        """The verdict for ``repository`` at ``descriptor.digest``.

        Args:
            repository: The repository on the upstream.
            descriptor: The manifest being served (its bytes hashed by the caller).
            children: For an index, the digests it lists (admitted with it if it passes).

        Returns:
            The verdict (``verified`` only when the policy set admits the image).
        """
        digest = descriptor.digest
        cached = self._cached(repository, digest)
        if cached is not None:
            return cached
        key = self._key("verdict", repository, digest)
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            image = self.image_ref(repository, digest)
            self.checks_run += 1
            verdict = await anyio.to_thread.run_sync(
                self._judge, self._client, image, descriptor, limiter=self._limiter
            )
            self._remember(repository, digest, verdict, children)
            future.set_result(verdict)
            return verdict
        except BaseException as error:
            # Waiters get a refusal, never a pass; the error itself goes to this caller.
            future.set_result(Verdict.from_error(error, digest))
            raise
        finally:
            del self._inflight[key]

"""Wiring: settings -> the review service -> the ASGI app on uvicorn with reloading TLS.

The review budget is below the configurations' ``timeoutSeconds`` (80 %, and at least one
second less), so the webhook answers "denied: not verified before the deadline" before the
API server gives up on it; registry requests are bounded by the same budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sealgate.cache import Clock, MemoryStore, RedisStore, VerdictStore, utc_now
from sealgate.config import ClientConfig, MiB
from sealgate.deadline import Deadline
from sealgate.oci import Reference
from sealgate.policy.matching import PolicySet
from sealgate.webhook.judge import RegistryJudge
from sealgate.webhook.metrics import Metrics
from sealgate.webhook.registries import RegistryPool
from sealgate.webhook.review import (
    ALL_KINDS,
    Endpoint,
    ReviewDeps,
    ReviewOutcome,
    ReviewSettings,
    review,
)
from sealgate.webhook.verdicts import OutcomeCache

__all__ = ["WebhookService", "WebhookSettings", "review_budget", "run_server"]

logger = logging.getLogger(__name__)


def _no_reloads() -> int:
    return 0


def review_budget(timeout_s: float) -> float:
    """The internal deadline for a configuration ``timeoutSeconds`` of ``timeout_s``."""
    return max(0.5, min(timeout_s * 0.8, timeout_s - 1.0))


@dataclass(frozen=True)
class WebhookSettings:
    """Everything ``sealgate webhook serve`` is told.

    Attributes:
        policies: The policy set (loaded once at start).
        client_config: Registry settings (insecure registries, docker config, limits).
        timeout_s: The webhook configurations' ``timeoutSeconds``.
        redis_url: Shared cache, or None for memory only.
        cache_secret: Key authenticating shared entries (all replicas share it).
        cache_ttl_s: Longest life of a cached verification.
        cache_failures: Cache failed verifications too (for a minute at most).
        cache_entries: In-memory entries kept.
        mutate_kinds: Kinds ``/mutate`` pins to digests.
        pull_secrets_dir: Mounted pull secrets (see :mod:`sealgate.webhook.registries`).
        repository: ``COSIGN_REPOSITORY``: where attachments live by default.
        workers: Threads verifying images.
        max_images: Distinct images verified per review.
        max_body_bytes: Largest AdmissionReview read.
    """

    policies: PolicySet
    client_config: ClientConfig = field(default_factory=ClientConfig)
    timeout_s: float = 10.0
    redis_url: str | None = field(default=None, repr=False)
    cache_secret: bytes | None = field(default=None, repr=False)
    cache_ttl_s: float = 300.0
    cache_failures: bool = False
    cache_entries: int = 10_000
    mutate_kinds: frozenset[str] = ALL_KINDS
    pull_secrets_dir: Path | None = None
    repository: Reference | None = None
    workers: int = 32
    max_images: int = 256
    max_body_bytes: int = 8 * MiB


class WebhookService:
    """The review service the ASGI app serves (see :class:`~sealgate.webhook.app.ReviewService`)."""

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        clock: Clock = utc_now,
        shared: VerdictStore | None = None,
    ) -> None:
        """Build the service; nothing is contacted until the first review.

        Args:
            settings: The settings.
            clock: Wall clock for validity windows and cache expiry.
            shared: A shared store to use instead of connecting to ``settings.redis_url``.

        Raises:
            ValueError: A shared cache without a secret of at least 16 bytes.
        """
        self.settings = settings
        self._metrics = Metrics()
        budget = review_budget(settings.timeout_s)
        self.budget_s = budget
        if shared is None and settings.redis_url:
            shared = RedisStore.from_url(
                settings.redis_url, secret=settings.cache_secret or b"", clock=clock
            )
        self.shared = shared
        self.cache = OutcomeCache(
            MemoryStore(
                max_entries=settings.cache_entries, ttl_s=settings.cache_ttl_s, clock=clock
            ),
            shared,
            ttl_s=settings.cache_ttl_s,
            cache_failures=settings.cache_failures,
            clock=clock,
            events=self._metrics,
        )
        client_config = replace(
            settings.client_config, timeout_s=min(settings.client_config.timeout_s, budget)
        )
        self.registries = RegistryPool(client_config, pull_secrets_dir=settings.pull_secrets_dir)
        self._executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="sealgate-verify")
        self.judge = RegistryJudge(
            settings.policies,
            self.registries,
            self.cache,
            executor=self._executor,
            clock=clock,
            repository=settings.repository,
            on_decision=self._metrics.decision,
        )
        self.deps = ReviewDeps(
            self.judge,
            ReviewSettings(mutate_kinds=settings.mutate_kinds, max_images=settings.max_images),
            deadline=lambda: Deadline.after(budget),
        )
        self.tls_reloads: Callable[[], int] = _no_reloads

    @property
    def metrics(self) -> Metrics:
        return self._metrics

    @property
    def max_body_bytes(self) -> int:
        return self.settings.max_body_bytes

    def review(self, body: object, endpoint: Endpoint) -> ReviewOutcome:
        """Answer one decoded AdmissionReview."""
        return review(body, deps=self.deps, endpoint=endpoint)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready once built (policies and TLS load before the port opens); details for humans."""
        shared = "off"
        if self.shared is not None:
            shared = "ok" if self.cache.shared_healthy() else "degraded (memory only)"
        return True, {
            "policies": len(self.settings.policies.policies),
            "sharedCache": shared,
            "tlsReloads": self.tls_reloads(),
        }

    def close(self) -> None:
        """Stop the workers and close registry connections."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.registries.close()


def run_server(
    settings: WebhookSettings,
    *,
    tls_cert: Path,
    tls_key: Path,
    host: str = "0.0.0.0",  # noqa: S104 - a webhook serves the API server over the pod network
    port: int = 8443,
    tls_reload_s: float = 10.0,
) -> None:
    """Serve until interrupted (SIGTERM/SIGINT end it gracefully).

    Raises:
        ConfigError: The TLS files cannot be loaded.
    """
    import uvicorn

    from sealgate.webhook.app import create_app
    from sealgate.webhook.tls import CertificateReloader

    tls = CertificateReloader(tls_cert, tls_key)
    service = WebhookService(settings)
    service.tls_reloads = lambda: tls.reloads
    config = uvicorn.Config(
        create_app(service),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=int(settings.timeout_s) + 1,
    )
    config.load()
    config.ssl = tls.context  # our context, so certificate rotation reaches new connections
    tls.start(interval_s=tls_reload_s)
    logger.info(
        "serving admission reviews",
        extra={
            "port": port,
            "policies": len(settings.policies.policies),
            "budgetS": service.budget_s,
        },
    )
    try:
        uvicorn.Server(config).run()
    finally:
        tls.stop()
        service.close()

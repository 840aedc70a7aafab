"""Prometheus metrics of one webhook server, in a registry of its own (no global state).

Exposed on ``/metrics`` in the text exposition format:

* ``sealgate_webhook_reviews_total{endpoint, result}``: reviews answered, by outcome;
* ``sealgate_webhook_review_seconds{endpoint}``: time to answer a review;
* ``sealgate_webhook_image_decisions_total{decision}``: images admitted, warned, denied;
* ``sealgate_webhook_verification_seconds{result}``: one requirement verified against the
  registry (cache misses only);
* ``sealgate_webhook_cache_lookups_total{layer, result}``: ``memory``/``shared`` x
  ``hit``/``miss``/``error``;
* ``sealgate_webhook_images_pinned_total``: images pinned to their digest by ``/mutate``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """The counters and histograms; thread-safe (prometheus-client locks each sample)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reviews = Counter(
            "sealgate_webhook_reviews",
            "Admission reviews answered, by endpoint and result.",
            ["endpoint", "result"],
            registry=self.registry,
        )
        self.review_seconds = Histogram(
            "sealgate_webhook_review_seconds",
            "Time to answer one admission review.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "sealgate_webhook_image_decisions",
            "Images decided, by decision (admit, warn, deny).",
            ["decision"],
            registry=self.registry,
        )
        self.verification_seconds = Histogram(
            "sealgate_webhook_verification_seconds",
            "One requirement verified against the registry (cache misses).",
            ["result"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "sealgate_webhook_cache_lookups",
            "Verification cache lookups, by layer (memory, shared) and result.",
            ["layer", "result"],
            registry=self.registry,
        )
        self.pinned = Counter(
            "sealgate_webhook_images_pinned",
            "Images pinned to their verified digest by /mutate.",
            registry=self.registry,
        )

    def cache(self, layer: str, result: str) -> None:
        """Count one cache lookup."""
        self.cache_lookups.labels(layer, result).inc()

    def verified(self, seconds: float, passed: bool) -> None:
        """Record one verification."""
        self.verification_seconds.labels("pass" if passed else "fail").observe(seconds)

    def decision(self, decision: str) -> None:
        """Count one image decision."""
        self.decisions.labels(decision).inc()

    def review(self, endpoint: str, result: str, seconds: float, pinned: int = 0) -> None:
        """Count one answered review."""
        self.reviews.labels(endpoint, result).inc()
        self.review_seconds.labels(endpoint).observe(seconds)
        if pinned:
            self.pinned.inc(pinned)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

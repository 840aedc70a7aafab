"""A fault-injecting registry front: a seeded share of requests fails in one of several ways.

Faults: 5xx, 429 with ``Retry-After``, a connection reset before the answer or in the middle of
its body, a body cut short of its ``Content-Length``, and a delay. The draw for a request
depends only on the seed, the request (method and path) and how many times the front has seen
that request before, so what one image meets does not shift when another image's requests
change (a new probe, a changed order), and concurrency does not change it either.

Faults are transient, as on a real network: the same request fails at most ``max_streak``
times in a row, so a client that retries enough gets through, and one that does not retry
(or retries too little) is caught.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.support.registry_front import (
    Action,
    Answer,
    Forward,
    RegistryFront,
    Reset,
    Truncate,
)

FAULT_KINDS = ("5xx", "429", "reset-before", "reset-mid-body", "truncated", "delay")


@dataclass
class FaultPlan:
    """Decides, per request, whether and how to fail it."""

    seed: int
    rate: float = 0.3
    #: Longest injected delay; keep it well under the client's per-request timeout.
    max_delay_s: float = 0.3
    #: The most consecutive faults one request meets (its first attempts).
    max_streak: int = 2
    injected: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _rng(self, method: str, path: str, n: int) -> random.Random:
        key = f"{self.seed}:{method}:{path}:{n}".encode()
        # Not for security: a reproducible draw per request and attempt.
        return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))  # noqa: S311

    def __call__(self, method: str, path: str, n: int) -> Action:
        rng = self._rng(method, path, n)
        if n >= self.max_streak or rng.random() >= self.rate or not path.startswith("/v2/"):
            return Forward()
        kind = rng.choice(FAULT_KINDS)
        with self._lock:
            self.injected[kind] += 1
        faults: dict[str, Callable[[], Action]] = {
            "5xx": lambda: Answer(rng.choice((500, 502, 503)), {}, b"oops"),
            "429": lambda: Answer(429, {"Retry-After": str(rng.choice((0, 1)))}, b"slow down"),
            "reset-before": Reset,
            "reset-mid-body": lambda: Reset(after_fraction=rng.uniform(0.1, 0.9)),
            "truncated": lambda: Truncate(fraction=rng.uniform(0.0, 0.9)),
            "delay": lambda: Forward(delay_s=rng.uniform(0.05, self.max_delay_s)),
        }
        return faults[kind]()


@contextmanager
def fault_proxy(upstream: str, *, seed: int, rate: float = 0.3) -> Iterator[RegistryFront]:
    """A running front for ``upstream`` that fails ``rate`` of requests; ``.plan.injected``."""
    front = RegistryFront(upstream, FaultPlan(seed=seed, rate=rate)).start()
    try:
        yield front
    finally:
        front.stop()

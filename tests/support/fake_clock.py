"""A monotonic clock that tests move by hand, so deadline tests never sleep on the budget."""

from __future__ import annotations

import threading


class FakeClock:
    """Starts at ``start``; :meth:`sleep` and :meth:`advance` move it; ``tick`` per reading.

    ``tick`` makes time pass a little on every reading, which stands for work being done
    (bytes arriving, requests sent) without a real wait.
    """

    def __init__(self, start: float = 1000.0, *, tick: float = 0.0) -> None:
        self.now = start
        self.tick = tick
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.tick
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        """A backoff sleep that takes no real time."""
        self.sleeps.append(seconds)
        self.advance(seconds)

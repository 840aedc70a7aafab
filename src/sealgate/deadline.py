"""One time budget, passed from the entry point down to the transport.

An admission review has about 10 s; a CI gate may have minutes. Whoever starts the work makes
a :class:`Deadline` and hands it down; every layer that waits (a connect, a read, a retry
backoff, a worker queue) asks it how long it may still wait, so the caller gets an answer
(a refusal with a reason) before its own budget ends instead of a hang.

The clock is monotonic and injectable, so tests never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sealgate.errors import DeadlineExceeded

__all__ = ["Deadline", "MonotonicClock"]

#: Seconds since an arbitrary origin; only differences matter.
MonotonicClock = Callable[[], float]


@dataclass(frozen=True)
class Deadline:
    """An absolute point in monotonic time after which work must stop.

    Example:
        >>> budget = Deadline.after(10.0)
        >>> budget.timeout(30.0) <= 10.0
        True
    """

    #: Monotonic expiry time; ``None`` means no deadline (a command-line run without --timeout).
    expires_at: float | None = None
    clock: MonotonicClock = field(default=time.monotonic, compare=False, repr=False)

    @classmethod
    def none(cls) -> Deadline:
        """A deadline that never expires."""
        return _UNBOUNDED

    @classmethod
    def after(cls, seconds: float, *, clock: MonotonicClock = time.monotonic) -> Deadline:
        """A deadline ``seconds`` from now on ``clock``.

        Args:
            seconds: The budget; must be a finite number (negative means already expired).
            clock: Monotonic time source.

        Returns:
            The deadline.
        """
        return cls(clock() + float(seconds), clock)

    @property
    def bounded(self) -> bool:
        """True unless this is :meth:`none`."""
        return self.expires_at is not None

    def remaining(self) -> float | None:
        """Seconds left (never negative), or ``None`` when unbounded."""
        if self.expires_at is None:
            return None
        return max(0.0, self.expires_at - self.clock())

    def expired(self) -> bool:
        """True once no time is left."""
        left = self.remaining()
        return left is not None and left <= 0.0

    def check(self, what: str) -> None:
        """Raise unless time is left.

        Args:
            what: What was about to happen, for the message.

        Raises:
            DeadlineExceeded: The budget is spent.
        """
        if self.expired():
            raise DeadlineExceeded(f"{what}: deadline exceeded")

    def timeout(self, default: float, what: str = "request") -> float:
        """The timeout for one wait: ``default``, cut to the time left.

        Args:
            default: The timeout the layer would use on its own.
            what: What is about to wait, for the message.

        Returns:
            Seconds, positive.

        Raises:
            DeadlineExceeded: The budget is already spent.
        """
        self.check(what)
        left = self.remaining()
        return default if left is None else min(default, left)

    def allows(self, seconds: float) -> bool:
        """True when waiting ``seconds`` (a retry backoff) still leaves time for the retry."""
        left = self.remaining()
        return left is None or seconds < left

    def shortened(self, margin: float) -> Deadline:
        """A deadline ``margin`` seconds earlier: time kept back to answer after giving up.

        Args:
            margin: Seconds to keep back (an admission webhook answers a deny in them).

        Returns:
            The earlier deadline (unbounded stays unbounded).
        """
        if self.expires_at is None:
            return self
        return Deadline(self.expires_at - margin, self.clock)

    def earliest(self, other: Deadline) -> Deadline:
        """The stricter of two deadlines."""
        if other.expires_at is None:
            return self
        if self.expires_at is None or other.expires_at < self.expires_at:
            return other
        return self


_UNBOUNDED = Deadline()

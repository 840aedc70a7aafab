"""Cutting a body read that is blocked when the deadline passes.

httpx fixes a request's read timeout when the request is sent, and applies it to each read.
The per-chunk deadline check (:func:`~sealgate.oci.http_errors.wrap_chunks`) stops a
registry that trickles bytes, but not one that sends part of a body and then goes silent:
that read waits its full timeout, which may end long after the deadline. One watchdog thread
per process keeps the sockets of bodies being read, ordered by deadline, and shuts down the
socket of any still being read when its deadline passes; the blocked read then fails at once
and the reader reports :class:`~sealgate.errors.DeadlineExceeded`.

httpx returns a connection to its pool when a body's last byte is read, a moment before the
reader releases its watch; a watch whose response is closed is never fired, which leaves a
window of one check: in it, a connection just reused by another request could be cut, and
that request fails as any dropped connection does (retried when idempotent, never allowed).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from sealgate.deadline import Deadline

__all__ = ["SocketWatchdog", "Watch"]

logger = logging.getLogger(__name__)

_COMPACT_AT = 1024


@dataclass
class Watch:
    """One body being read; :meth:`release` it before its connection goes back to the pool."""

    deadline: Deadline
    sock: socket.socket | None
    #: False once the response is closed: its connection may then serve another request.
    reading: Callable[[], bool] = lambda: True
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: bool = False

    def release(self) -> None:
        """The body is read or abandoned: never touch this socket again."""
        with self._lock:
            self._done = True

    @property
    def done(self) -> bool:
        return self._done

    def fire(self) -> None:
        """Shut the socket down if the body is still being read."""
        with self._lock:
            if self._done or self.sock is None or not self.reading():
                return
            self._done = True
            # The plain socket's shutdown, even for TLS: SSLSocket.shutdown would also drop
            # its SSL object under the feet of the thread blocked in a read. OSError: the
            # socket is closed already, so nothing is blocked on it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)


#: What :meth:`SocketWatchdog.watch` returns when there is nothing to watch.
_UNWATCHED = Watch(Deadline.none(), None, _done=True)


class SocketWatchdog:
    """Shuts down sockets whose deadline passed while their body was still being read."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline, response: httpx.Response) -> Watch:
        """Start watching ``response``'s connection until the returned watch is released.

        Unbounded deadlines, and responses without a socket (test transports), are not watched.
        """
        if deadline.expires_at is None:
            return _UNWATCHED
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        watch = Watch(
            deadline,
            sock if isinstance(sock, socket.socket) else None,
            reading=lambda: not response.is_closed,
        )
        if watch.sock is None:
            return _UNWATCHED
        with self._wake:
            if len(self._heap) >= _COMPACT_AT:
                # Released watches otherwise wait for their (possibly distant) deadline.
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (deadline.expires_at, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sealgate-deadline-watchdog", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        return watch

    def _next_due(self) -> Watch:
        """Block until a watch's deadline passes; return it (released watches are dropped)."""
        with self._wake:
            while True:
                if not self._heap:
                    self._wake.wait()
                    continue
                watch = self._heap[0][2]
                if watch.done:
                    heapq.heappop(self._heap)
                    continue
                left = watch.deadline.remaining()
                if left is not None and left > 0:
                    # Woken early by a new, earlier watch; otherwise re-checks when due.
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
                return watch

    def _run(self) -> None:
        while True:
            watch = self._next_due()
            logger.debug("deadline passed while a body was being read: cutting the connection")
            watch.fire()

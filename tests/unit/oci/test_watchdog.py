"""The watchdog that cuts a body read still blocked when its deadline passes."""

from __future__ import annotations

import socket
import threading

import httpx

from sealgate.deadline import Deadline
from sealgate.oci.http_watchdog import SocketWatchdog
from tests.support.fake_clock import FakeClock


class _Stream(httpx.SyncByteStream):
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, info: str) -> object:
        return self.sock if info == "socket" else None


def _response(sock: socket.socket) -> httpx.Response:
    stream = _Stream(sock)  # not read: the response stays open, as while a body streams
    return httpx.Response(200, stream=stream, extensions={"network_stream": stream})


def _blocked_read(sock: socket.socket) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(sock.recv(1)), daemon=True)
    reader.start()
    return reader, got


def test_a_read_blocked_past_the_deadline_is_cut() -> None:
    ours, registry = socket.socketpair()
    with ours, registry:
        reader, got = _blocked_read(ours)
        clock = FakeClock()
        SocketWatchdog().watch(Deadline.after(-1, clock=clock), _response(ours))
        reader.join(timeout=30)  # a guard against hanging the suite, not a speed check
        assert got == [b""], "the blocked read must end (EOF) when the deadline has passed"


def test_a_released_watch_never_touches_the_socket() -> None:
    ours, registry = socket.socketpair()
    with ours, registry:
        clock = FakeClock()
        watchdog = SocketWatchdog()
        deadline = Deadline.after(5, clock=clock)
        watch = watchdog.watch(deadline, _response(ours))
        watch.release()
        clock.advance(10)
        # A later, expired watch proves the watchdog ran past the released one.
        spare, other = socket.socketpair()
        with spare, other:
            reader, got = _blocked_read(spare)
            watchdog.watch(Deadline.after(-1, clock=clock), _response(spare))
            reader.join(timeout=30)
            assert got == [b""]
        registry.sendall(b"x")
        assert ours.recv(1) == b"x", "the released connection still works"


def test_unbounded_deadlines_and_socketless_responses_are_not_watched() -> None:
    watchdog = SocketWatchdog()
    assert watchdog.watch(Deadline.none(), httpx.Response(200)).done
    assert watchdog.watch(Deadline.after(-1), httpx.Response(200)).done
    assert watchdog._thread is None


def test_a_closed_response_is_never_cut() -> None:
    # httpx closes a response when its last byte is read and pools the connection: from
    # then on the socket may serve another request and must be left alone.
    ours, registry = socket.socketpair()
    with ours, registry:
        response = _response(ours)
        response.close()
        watch = SocketWatchdog().watch(Deadline.after(-1, clock=FakeClock()), response)
        watch.fire()
        registry.sendall(b"x")
        assert ours.recv(1) == b"x"

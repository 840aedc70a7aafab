"""A programmable HTTP front on loopback: forwards to a real registry, or misbehaves on purpose.

Every request asks ``plan(method, path_and_query, n)`` (``n`` counts earlier requests with the
same method and path) what to do: forward it, forward it with rewritten headers, answer a
status, reset the connection, cut the body short, delay, hang, or trickle the body a few bytes
at a time. Tests build registries that lie, stall or fail from these few actions; the fault
proxy (:mod:`tests.support.fault_proxy`) draws them from a seeded RNG.

Bodies are small here (manifests, signatures, token answers): the front reads the upstream
answer whole before replaying it, which is what lets it cut or rewrite it.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

#: Hop-by-hop headers (RFC 9110 section 7.6.1) and the ones the front recomputes.
_NOT_FORWARDED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "upgrade"}
)


@dataclass(frozen=True)
class Forward:
    """Pass the request upstream; optionally replace answer headers and wait first."""

    set_headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Answer:
    """Answer without asking upstream."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Reset:
    """Drop the connection with a TCP reset, before or after part of the real body."""

    after_fraction: float | None = None


@dataclass(frozen=True)
class Truncate:
    """Send the real headers (full Content-Length) but only a fraction of the body, then close."""

    fraction: float = 0.5


@dataclass(frozen=True)
class Hang:
    """Accept the request and never answer (until the front stops), or stop after the headers.

    ``answer`` replaces the upstream's (so no registry is needed behind the front).
    """

    after_headers: bool = False
    answer: Answer | None = None


@dataclass(frozen=True)
class Trickle:
    """Send the answer, its body ``chunk`` bytes at a time every ``interval_s``.

    ``answer`` replaces the upstream's (so no registry is needed behind the front).
    """

    interval_s: float = 0.05
    chunk: int = 1
    answer: Answer | None = None


Action = Forward | Answer | Reset | Truncate | Hang | Trickle
Plan = Callable[[str, str, int], Action]


def forward_all(method: str, path: str, n: int) -> Action:
    """The plan of an honest front."""
    del method, path, n
    return Forward()


@dataclass
class _Upstream:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class _QuietServer(ThreadingHTTPServer):
    """A server whose request errors are kept, not printed.

    socketserver prints a handler's exception to ``sys.stderr``; a test that runs the CLI
    in-process captures that stream as the command's error output, so a client hanging up
    on an injected fault would read as a sealgate traceback.
    """

    request_errors: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        del request, client_address
        kind = sys.exc_info()[0]
        self.request_errors.append(kind.__name__ if kind else "unknown")


class RegistryFront:
    """A threaded HTTP/1.1 server on 127.0.0.1 in front of ``upstream`` (``host:port``)."""

    def __init__(self, upstream: str, plan: Plan = forward_all) -> None:
        self.upstream = upstream
        self.plan = plan
        self.log: list[tuple[str, str, str]] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._client = httpx.Client(base_url=f"http://{upstream}", timeout=30.0)
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                del format, args  # keep test output clean; ``front.log`` records requests

            def handle_one_request(self) -> None:
                # Every method goes to the plan, so no do_GET/do_PUT... boilerplate.
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline:
                    self.close_connection = True
                    return
                if not self.parse_request():
                    return
                front._handle(self)
                self.wfile.flush()

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.request_errors = []
        self._server.daemon_threads = True
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> RegistryFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    # --- one request ------------------------------------------------------------------------

    def _count(self, method: str, path: str) -> int:
        with self._lock:
            n = self._counts.get((method, path), 0)
            self._counts[(method, path)] = n + 1
            return n

    def _fetch(self, handler: BaseHTTPRequestHandler) -> _Upstream:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in handler.headers.items() if k.lower() not in _NOT_FORWARDED]
        # The registry builds upload URLs from Host: keep the client's view of it.
        headers.append(("Host", handler.headers.get("Host", self.host)))
        response = self._client.request(
            handler.command, handler.path, headers=headers, content=body
        )
        kept = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in _NOT_FORWARDED
        ]
        declared = response.headers.get("content-length")
        if handler.command == "HEAD" and declared is not None:
            kept.append(("Content-Length", declared))
        return _Upstream(response.status_code, kept, response.content)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method, path = handler.command, handler.path
        action = self.plan(method, path, self._count(method, path))
        with self._lock:
            self.log.append((method, path, type(action).__name__))
        if isinstance(action, Answer):
            self._drain(handler)
            self._send(handler, action.status, list(action.headers.items()), action.body)
        elif isinstance(action, Hang) and not action.after_headers:
            self.stopping.wait()
            handler.close_connection = True
        elif isinstance(action, Reset) and action.after_fraction is None:
            self._drain(handler)
            self._reset(handler)
        else:
            self._replay(handler, action)

    def _replay(self, handler: BaseHTTPRequestHandler, action: Action) -> None:
        if isinstance(action, Forward) and action.delay_s:
            self.stopping.wait(action.delay_s)
        canned = action.answer if isinstance(action, Hang | Trickle) else None
        if canned is not None:
            self._drain(handler)
            answer = _Upstream(canned.status, list(canned.headers.items()), canned.body)
        else:
            answer = self._fetch(handler)
        headers = answer.headers
        if isinstance(action, Forward) and action.set_headers:
            names = {k.lower() for k in action.set_headers}
            headers = [(k, v) for k, v in headers if k.lower() not in names]
            headers += list(action.set_headers.items())
        body = answer.body
        if handler.command == "HEAD" or not body:
            if isinstance(action, Reset | Truncate):
                self._reset(handler)  # nothing to cut: fail before the answer instead
                return
            self._send(handler, answer.status, headers, b"" if handler.command == "HEAD" else body)
            return
        self._send_head(handler, answer.status, headers, len(body))
        if isinstance(action, Hang):
            self.stopping.wait()
            handler.close_connection = True
        elif isinstance(action, Trickle):
            self._trickle(handler, body, action)
        elif isinstance(action, Reset):
            handler.wfile.write(body[: int(len(body) * (action.after_fraction or 0))])
            handler.wfile.flush()
            self._reset(handler)
        elif isinstance(action, Truncate):
            handler.wfile.write(body[: int(len(body) * action.fraction)])
            handler.wfile.flush()
            handler.close_connection = True
        else:
            handler.wfile.write(body)

    def _trickle(self, handler: BaseHTTPRequestHandler, body: bytes, action: Trickle) -> None:
        try:
            for start in range(0, len(body), action.chunk):
                if self.stopping.wait(action.interval_s):
                    break
                handler.wfile.write(body[start : start + action.chunk])
                handler.wfile.flush()
        except OSError:
            pass  # the client gave up, which is what trickle tests want
        handler.close_connection = True

    @staticmethod
    def _drain(handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)

    @staticmethod
    def _send_head(
        handler: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], length: int
    ) -> None:
        handler.send_response(status)
        for name, value in headers:
            if name.lower() != "content-length":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        handler.wfile.flush()

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        if handler.command == "HEAD":
            handler.send_response(status)
            for name, value in headers:
                handler.send_header(name, value)
            if not any(k.lower() == "content-length" for k, _ in headers):
                handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        self._send_head(handler, status, headers, len(body))
        handler.wfile.write(body)

    @staticmethod
    def _reset(handler: BaseHTTPRequestHandler) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.close_connection = True


@contextmanager
def running_front(upstream: str, plan: Plan = forward_all) -> Iterator[RegistryFront]:
    """Start a front for the duration of a ``with`` block."""
    front = RegistryFront(upstream, plan).start()
    try:
        yield front
    finally:
        front.stop()

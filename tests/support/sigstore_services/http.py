"""A loopback HTTP service with switchable failure modes, the base of every test service.

Each service (Fulcio, Rekor, TSA, OIDC token endpoints) runs its own ``ThreadingHTTPServer`` on
127.0.0.1 and a free port, so one service can fail while the others answer. A test switches a
service into a failure mode with :meth:`LoopbackService.fail`: ``error`` answers 500, ``hang``
holds the request until the client gives up (bounded by :data:`MAX_HANG_S` and released when the
mode is reset or the service stops), ``refuse`` answers 400/401 as the real service would, and
each service adds its own (a wrong SCT, a wrong SET, a rejected timestamp...).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["MAX_HANG_S", "HttpError", "LoopbackService", "Request", "Response"]

#: A hung request is released after this long at most, so a broken client cannot wedge a run.
MAX_HANG_S = 30.0
_MAX_REQUEST = 8 * 1024 * 1024


class HttpError(Exception):
    """Raised by a route to answer with an error status and a JSON body."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


@dataclass(frozen=True)
class Request:
    """One parsed request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(400, "request body is not JSON") from exc

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class Response:
    """What a route answers."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, doc: object, **headers: str) -> Response:
        return cls(status, json.dumps(doc).encode(), headers=dict(headers))


Route = Callable[[Request], Response]


class LoopbackService:
    """An HTTP service on 127.0.0.1 whose routes are ``(method, path prefix) -> handler``."""

    def __init__(self, name: str, routes: dict[tuple[str, str], Route]) -> None:
        self.name = name
        self.routes = routes
        self.mode = "ok"
        self.requests: list[Request] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output clean."""

            def _handle(self) -> None:
                service._dispatch(self)

            do_GET = do_POST = do_PUT = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, mode: str) -> None:
        """Switch to a failure mode (``ok`` restores normal answers and releases hung requests)."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self.mode = mode

    def stop(self) -> None:
        """Release hung requests and shut the server down."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _read(self, handler: BaseHTTPRequestHandler) -> Request:
        length = int(handler.headers.get("content-length") or 0)
        if length > _MAX_REQUEST:
            raise HttpError(413, "request too large")
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        return Request(handler.command, split.path, parse_qs(split.query), headers, body)

    def _route(self, request: Request) -> Route:
        for (method, prefix), route in self.routes.items():
            if request.method == method and request.path.startswith(prefix):
                return route
        raise HttpError(404, f"no route for {request.method} {request.path}")

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            request = self._read(handler)
            self.requests.append(request)
            with self._lock:
                mode, release = self.mode, self._release
            if mode == "hang":
                release.wait(MAX_HANG_S)
                handler.close_connection = True
                return
            if mode == "error":
                raise HttpError(500, f"{self.name}: internal error (test failure mode)")
            response = self._route(request)(request)
        except HttpError as exc:
            response = Response.json(exc.status, {"code": exc.status, "message": exc.message})
            response.headers.update(exc.headers)
        try:
            handler.send_response(response.status)
            handler.send_header("Content-Type", response.content_type)
            handler.send_header("Content-Length", str(len(response.body)))
            for key, value in response.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(response.body)
        except OSError:
            pass  # the client gave up (its deadline): nothing to answer to

"""The registry proxy as a raw ASGI application (served by uvicorn: :mod:`sealgate.proxy.server`).

Every request is parsed strictly (:mod:`sealgate.proxy.routes`) and forwarded to the upstream
with the client's own headers and credentials (:mod:`sealgate.proxy.headers`); bodies stream
both ways. One exception: a manifest GET or HEAD in a protected repository. Its bytes are
fetched whole (capped), hashed, and served only when they are a signature or attestation
artifact (:mod:`sealgate.proxy.artifacts`) or the policy set admits that very digest
(:class:`~sealgate.proxy.judge.ProxyJudge`). Otherwise the client gets HTTP 412 with an OCI
error body (code ``DENIED``) naming the reason, as Harbor answers a pull its project policy
forbids. A failure to fetch, hash or verify refuses too; nothing unverified is ever served
from a protected repository.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from sealgate.errors import LimitExceeded, MalformedData, SealgateError
from sealgate.gate import Verdict
from sealgate.oci import BodyCutShort, Descriptor, digest_of
from sealgate.oci.passthrough import PassThrough, UpstreamAnswer
from sealgate.proxy.artifacts import classify_manifest, listed_manifests
from sealgate.proxy.headers import request_headers, response_headers
from sealgate.proxy.judge import ProxyJudge
from sealgate.proxy.routes import ProtectGlobs, Route, RouteRefused, parse_route

__all__ = ["ProxyApp", "ProxySettings"]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")
_MAX_REALM_PATHS = 16
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class _ClientGone(Exception):
    """The client disconnected while we read its request body."""


@dataclass(frozen=True)
class ProxySettings:
    """What the proxy forwards and protects."""

    protect: ProtectGlobs
    #: Largest manifest read, pushed or served from a protected repository.
    max_manifest_bytes: int = 4 * 1024 * 1024


def _error_body(code: str, message: str, detail: dict[str, str] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if detail:
        error["detail"] = detail
    return json.dumps({"errors": [error]}).encode()


async def _send_whole(
    send: Send, status: int, headers: list[tuple[str, str]], body: bytes, *, head: bool
) -> None:
    pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if not any(k == b"content-length" for k, _ in pairs):
        pairs.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": pairs})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _send_error(
    send: Send, status: int, code: str, message: str, *, head: bool, **detail: str
) -> None:
    body = _error_body(code, message, detail or None)
    headers = [
        ("content-type", "application/json"),
        ("docker-distribution-api-version", "registry/2.0"),
    ]
    await _send_whole(send, status, headers, body, head=head)


async def _request_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _read_request(receive: Receive, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    async for chunk in _request_body(receive):
        total += len(chunk)
        if total > max_bytes:
            raise LimitExceeded(f"manifest larger than the {max_bytes}-byte limit")
        parts.append(chunk)
    return b"".join(parts)


class ProxyApp:
    """The ASGI application; one instance serves every connection."""

    def __init__(self, upstream: PassThrough, judge: ProxyJudge, settings: ProxySettings) -> None:
        self.upstream = upstream
        self.judge = judge
        self.settings = settings
        self._realm_paths: list[str] = []
        self._on_shutdown: list[Callable[[], Awaitable[None]]] = [upstream.aclose]

    def on_shutdown(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` when the server stops (closing clients)."""
        self._on_shutdown.append(hook)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        head = scope["method"] == "HEAD"
        try:
            route = parse_route(scope["raw_path"] or b"", scope["query_string"], self._realm_paths)
            await self._route(scope, receive, send, route)
        except RouteRefused as refused:
            await _send_error(send, refused.status, refused.code, refused.message, head=head)
        except _ClientGone:
            logger.info("client went away during %s %s", scope["method"], scope.get("path"))
        except (BodyCutShort, OSError) as error:
            # The answer had started: all we can do is cut the connection, which the client
            # sees as a short body (never as a complete one).
            logger.warning("%s %s: stream cut: %s", scope["method"], scope.get("path"), error)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self._on_shutdown:
                    await hook()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _origin(self, scope: Scope) -> str:
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if not _HOST.fullmatch(host):
            server = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scope['scheme']}://{host}"

    async def _route(self, scope: Scope, receive: Receive, send: Send, route: Route) -> None:
        method = scope["method"]
        headers = request_headers(scope["headers"])
        if (
            route.kind == "manifest"
            and method in ("GET", "HEAD")
            and route.repository is not None
            and self.settings.protect.protects(route.repository)
        ):
            await self._protected_manifest(scope, send, route, headers)
            return
        body: AsyncIterator[bytes] | bytes | None = None
        if route.kind == "manifest" and method == "PUT":
            try:
                body = await _read_request(receive, self.settings.max_manifest_bytes)
            except LimitExceeded as error:
                await _send_error(send, 413, "MANIFEST_INVALID", error.message, head=False)
                return
        elif method in _WITH_BODY:
            body = _request_body(receive)
        await self._forward(scope, send, route, headers, body)

    async def _open(
        self,
        send: Send,
        method: str,
        route: Route,
        headers: list[tuple[str, str]],
        body: AsyncIterator[bytes] | bytes | None,
        *,
        head: bool,
    ) -> UpstreamAnswer | None:
        """Send the request upstream, or answer 502 (no body for a client's HEAD) and None."""
        try:
            return await self.upstream.open(method, route.target, headers, body)
        except SealgateError as error:
            message = f"sealgate proxy: {error.message}"
            await _send_error(send, 502, "UNAVAILABLE", message, head=head)
            return None

    async def _forward(
        self,
        scope: Scope,
        send: Send,
        route: Route,
        headers: list[tuple[str, str]],
        body: AsyncIterator[bytes] | bytes | None,
    ) -> None:
        method = scope["method"]
        answer = await self._open(send, method, route, headers, body, head=method == "HEAD")
        if answer is None:
            return
        try:
            rewritten = response_headers(
                answer.headers, upstream=self.upstream.origin, proxy=self._origin(scope)
            )
            self._learn_realms(rewritten.realm_paths)
            pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in rewritten.headers]
            await send({"type": "http.response.start", "status": answer.status, "headers": pairs})
            if method != "HEAD":
                async for chunk in answer.chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await answer.aclose()

    def _learn_realms(self, paths: list[str]) -> None:
        for path in paths:
            if path not in self._realm_paths and len(self._realm_paths) < _MAX_REALM_PATHS:
                self._realm_paths.append(path)

    async def _protected_manifest(
        self, scope: Scope, send: Send, route: Route, headers: list[tuple[str, str]]
    ) -> None:
        head = scope["method"] == "HEAD"
        name = f"{self.judge.registry}/{route.repository}:{route.reference}"
        if route.by_digest and not (route.reference or "").startswith("sha256:"):
            await _send_error(
                send,
                412,
                "DENIED",
                f"sealgate: {name}: only sha256 digests are verified",
                head=head,
            )
            return
        # HEAD too is answered from the bytes: a digest header is a claim, the bytes are proof;
        # and the bytes are asked for unencoded, since it is their digest that is verified.
        plain = [(k, v) for k, v in headers if k.lower() != "accept-encoding"]
        plain.append(("accept-encoding", "identity"))
        answer = await self._open(send, "GET", route, plain, None, head=head)
        if answer is None:
            return
        try:
            if answer.status != 200:
                await self._relay_refusal(scope, send, answer)
                return
            encoding = (answer.header("content-encoding") or "identity").strip().lower()
            if encoding != "identity":
                raise MalformedData(f"manifest {name} came {encoding}-encoded; not verified")
            data = await answer.read(self.settings.max_manifest_bytes, f"manifest {name}")
        except MalformedData as error:
            await _send_error(send, 412, "DENIED", f"sealgate: refused: {error.message}", head=head)
            return
        except BodyCutShort as error:
            await _send_error(send, 502, "UNAVAILABLE", f"sealgate: {name}: {error}", head=head)
            return
        finally:
            await answer.aclose()
        await self._judge_and_serve(scope, send, route, answer, data)

    async def _relay_refusal(self, scope: Scope, send: Send, answer: UpstreamAnswer) -> None:
        # 401 (the auth dance), 404, 5xx...: no manifest in it, so it passes as the upstream
        # sent it (its small error body read capped).
        body = await answer.read(64 * 1024, "upstream error body")
        rewritten = response_headers(
            answer.headers,
            upstream=self.upstream.origin,
            proxy=self._origin(scope),
            drop=frozenset({"content-length"}),
        )
        self._learn_realms(rewritten.realm_paths)
        await _send_whole(
            send, answer.status, rewritten.headers, body, head=scope["method"] == "HEAD"
        )

    async def _judge_and_serve(
        self, scope: Scope, send: Send, route: Route, answer: UpstreamAnswer, data: bytes
    ) -> None:
        head = scope["method"] == "HEAD"
        digest = digest_of(data)
        image = f"{self.judge.registry}/{route.repository}@{digest}"
        announced = answer.header("docker-content-digest")
        if (route.by_digest and route.reference != digest) or (
            announced and announced.startswith("sha256:") and announced != digest
        ):
            await _send_error(
                send,
                502,
                "DENIED",
                f"sealgate: refused: the upstream's manifest for {route.reference} hashes to "
                f"{digest}, not what was asked or announced",
                head=head,
            )
            return
        media_type = (answer.header("content-type") or "").split(";", 1)[0].strip()
        kind = classify_manifest(data, media_type or None)
        if kind in ("image", "index"):
            descriptor = Descriptor(media_type or "application/json", digest, len(data))
            children = listed_manifests(data) if kind == "index" else []
            try:
                verdict = await self.judge.verdict(route.repository or "", descriptor, children)
            except Exception as error:  # a bug refuses: it is never a pass, nor a 500
                logger.exception("judging %s failed", image)
                verdict = Verdict.from_error(error, digest)
            if not verdict.ok:
                logger.warning("refused %s (%s): %s", image, verdict.reason, verdict.message)
                await _send_error(
                    send,
                    412,
                    "DENIED",
                    f"sealgate: {image} refused by policy ({verdict.reason}): {verdict.message}",
                    head=head,
                    reason=str(verdict.reason),
                    digest=digest,
                )
                return
        rewritten = response_headers(
            answer.headers,
            upstream=self.upstream.origin,
            proxy=self._origin(scope),
            drop=frozenset({"content-length", "docker-content-digest", "content-encoding"}),
        )
        served = [*rewritten.headers, ("docker-content-digest", digest)]
        await _send_whole(send, 200, served, data, head=head)

"""The thin ASGI adapter: HTTP in, :func:`~sealgate.webhook.review.review` out, built by a factory.

Routes: ``POST /validate`` and ``POST /mutate`` (AdmissionReview JSON), ``GET /healthz``
(the process answers), ``GET /readyz`` (policies loaded, TLS loaded), ``GET /metrics``
(Prometheus). The adapter reads the body under a cap, decodes JSON, runs the review in a
worker thread, logs one JSON line and counts it. It never answers 500: a body it cannot read
is a 400 (or 413 when too large), which the API server treats as a failed call, so
``failurePolicy: Fail`` rejects; anything unexpected past that is a deny naming the error.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sealgate.webhook.logs import REQUEST_UID
from sealgate.webhook.metrics import Metrics
from sealgate.webhook.review import Endpoint, ReviewOutcome

__all__ = ["ReviewService", "create_app"]

logger = logging.getLogger("sealgate.webhook")


class ReviewService(Protocol):
    """What the adapter serves."""

    @property
    def metrics(self) -> Metrics:
        """The server's metrics."""
        ...

    @property
    def max_body_bytes(self) -> int:
        """The largest request body read."""
        ...

    def review(self, body: object, endpoint: Endpoint) -> ReviewOutcome:
        """Answer one decoded AdmissionReview (never raises)."""
        ...

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether to take traffic, and details for ``/readyz``."""
        ...


class _BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: object, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        status_code=status,
        media_type="application/json",
    )


def _run_review(service: ReviewService, document: object, endpoint: Endpoint) -> ReviewOutcome:
    uid = ""
    if isinstance(document, dict) and isinstance(document.get("request"), dict):
        candidate = document["request"].get("uid")
        uid = candidate[:128] if isinstance(candidate, str) else ""
    token = REQUEST_UID.set(uid)
    try:
        return service.review(document, endpoint)
    finally:
        REQUEST_UID.reset(token)


def _log(endpoint: Endpoint, outcome: ReviewOutcome, seconds: float) -> None:
    token = REQUEST_UID.set(outcome.uid or "")
    try:
        logger.info(
            "review %s",
            outcome.result,
            extra={
                "endpoint": endpoint,
                "allowed": outcome.allowed,
                "result": outcome.result,
                "kind": outcome.kind,
                "namespace": outcome.namespace,
                "operation": outcome.operation,
                "summary": outcome.summary[:2000],
                "images": [
                    {"image": r.image, "decision": r.decision, "digest": r.digest}
                    for r in outcome.images[:50]
                ],
                "patched": outcome.patched,
                "durationMs": round(seconds * 1000, 3),
            },
        )
    finally:
        REQUEST_UID.reset(token)


def create_app(service: ReviewService) -> Starlette:
    """Build the ASGI application serving ``service``.

    Args:
        service: Reviews, readiness and metrics.

    Returns:
        The Starlette application (a new one per call; nothing global).
    """

    async def admission(request: Request, endpoint: Endpoint) -> Response:
        started = time.perf_counter()
        try:
            raw = await _read_body(request, service.max_body_bytes)
        except _BodyTooLarge:
            service.metrics.review(endpoint, "malformed", time.perf_counter() - started)
            return _json({"error": f"body larger than {service.max_body_bytes} bytes"}, 413)
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            service.metrics.review(endpoint, "malformed", time.perf_counter() - started)
            return _json({"error": "the body is not JSON"}, 400)
        outcome = await run_in_threadpool(_run_review, service, document, endpoint)
        seconds = time.perf_counter() - started
        service.metrics.review(endpoint, outcome.result, seconds, outcome.patched)
        _log(endpoint, outcome, seconds)
        return _json(outcome.body, outcome.http_status)

    async def validate(request: Request) -> Response:
        return await admission(request, "validate")

    async def mutate(request: Request) -> Response:
        return await admission(request, "mutate")

    async def healthz(request: Request) -> Response:
        del request
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        del request
        ready, details = service.readiness()
        return JSONResponse({"ready": ready, **details}, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        del request
        body, content_type = service.metrics.render()
        return Response(body, media_type=content_type)

    return Starlette(
        routes=[
            Route("/validate", validate, methods=["POST"]),
            Route("/mutate", mutate, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )

"""The one HTTP seam to Sigstore services: Fulcio, Rekor, timestamp authorities, CI token endpoints.

Every request has a deadline (:class:`~sealgate.deadline.Deadline`; each wait is cut to the time
left), every answer is read through a cap, and every failure is an error of
:mod:`sealgate.errors`: no answer in time is :class:`~sealgate.errors.DeadlineExceeded`, no
connection :class:`~sealgate.errors.ServiceUnreachable`, a 4xx :class:`~sealgate.errors.
ServiceRefused`, a 5xx :class:`~sealgate.errors.ServiceError`. Messages name the service and
the URL without its query, carry at most 200 characters of the server's own message, and never
contain a token: values passed as ``secrets`` are redacted from anything the server echoes.
Requests are not retried: a signing step that fails is reported, and nothing is pushed.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from sealgate.deadline import Deadline
from sealgate.errors import (
    ConfigError,
    DeadlineExceeded,
    LimitExceeded,
    ServiceError,
    ServiceRefused,
    ServiceUnreachable,
)

__all__ = ["ServiceResponse", "ServiceTransport", "public_url"]

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_MAX_MESSAGE = 200


def public_url(url: str) -> str:
    """``scheme://host[:port]/path``: what a message may show of a URL (no query, no userinfo)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def server_message(body: bytes, secrets: Sequence[str] = ()) -> str:
    """The server's own error text (JSON ``message`` or plain text), one line, capped."""
    text = body[:4096].decode("utf-8", "replace")
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and isinstance(doc.get("message"), str):
            text = doc["message"]
    except ValueError:
        pass
    line = " ".join(_redact(text, secrets).split())
    return line[:_MAX_MESSAGE] + ("..." if len(line) > _MAX_MESSAGE else "")


@dataclass(frozen=True)
class ServiceResponse:
    """A successful answer, read whole (within its cap)."""

    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self, service: str) -> object:
        """The body as JSON.

        Raises:
            ServiceError: the body is not JSON.
        """
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ServiceError(f"{service} answered with something that is not JSON") from exc


class ServiceTransport:
    """One connection pool for every Sigstore service a command talks to."""

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        user_agent: str = "sealgate/0.1",
        ca_bundle: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Create the transport; nothing is connected yet.

        Args:
            timeout_s: The longest single wait (connect, each read); the deadline cuts it.
            user_agent: The User-Agent header.
            ca_bundle: Extra CA certificates (PEM) for services with a private TLS CA.
            transport: An httpx transport to use instead of the network.

        Raises:
            ConfigError: ``ca_bundle`` cannot be loaded.
        """
        self._timeout_s = timeout_s
        context = ssl.create_default_context()
        if ca_bundle is not None:
            try:
                context.load_verify_locations(cafile=str(ca_bundle))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"CA bundle {ca_bundle} cannot be loaded") from exc
        self._client = httpx.Client(
            verify=context,
            headers={"User-Agent": user_agent},
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ServiceTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        service: str,
        method: str,
        url: str,
        *,
        deadline: Deadline,
        max_bytes: int,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        accept: Sequence[int] = (200, 201),
    ) -> ServiceResponse:
        """Send one request and read the answer.

        Args:
            service: The service's name for messages ("Fulcio", "Rekor"...).
            method: HTTP method.
            url: Full URL.
            deadline: The caller's budget; each wait is cut to the time left.
            max_bytes: Cap on the answer's body.
            content: The request body.
            headers: Extra headers (an ``Authorization`` header is a secret: never logged).
            secrets: Strings to redact from any server text shown (tokens).
            accept: Statuses that count as success.

        Returns:
            The answer.

        Raises:
            DeadlineExceeded: no (complete) answer before the deadline or the timeout.
            ServiceUnreachable: no connection (refused, DNS, TLS).
            LimitExceeded: the answer is larger than ``max_bytes``.
            ServiceRefused: the service answered 4xx.
            ServiceError: the service answered 5xx or another unexpected status.
        """
        where = f"{service} at {public_url(url)}"
        timeout = deadline.timeout(self._timeout_s, where)
        logger.debug("%s %s", method, where)
        try:
            with self._client.stream(
                method, url, content=content, headers=dict(headers or {}), timeout=timeout
            ) as response:
                body = self._read(response, where, deadline, max_bytes)
                status, answer_headers = response.status_code, dict(response.headers)
        except httpx.TimeoutException as exc:
            raise DeadlineExceeded(f"{where}: no answer within {timeout:.1f}s") from exc
        except httpx.HTTPError as exc:
            raise ServiceUnreachable(f"{where}: {type(exc).__name__}") from exc
        if status in accept:
            return ServiceResponse(status, body, answer_headers)
        message = server_message(body, secrets)
        detail = f"{where} answered HTTP {status}" + (f": {message}" if message else "")
        if 400 <= status < 500:
            raise ServiceRefused(detail, status=status)
        raise ServiceError(detail, status=status)

    @staticmethod
    def _read(response: httpx.Response, where: str, deadline: Deadline, max_bytes: int) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise LimitExceeded(f"{where}: answer of {declared} bytes exceeds {max_bytes}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise LimitExceeded(f"{where}: answer exceeds {max_bytes} bytes")
            chunks.append(chunk)
            deadline.check(where)  # a server dripping bytes must not outlive the budget
        return b"".join(chunks)

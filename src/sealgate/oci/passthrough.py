"""Forward raw registry requests to one upstream, streaming both ways (for ``sealgate proxy``).

Unlike :class:`~sealgate.oci.client.RegistryClient`, nothing here interprets the answer:
the caller's own credentials and headers go upstream as they came, and the answer comes back
as status, headers and an unread body, never buffered whole (:meth:`UpstreamAnswer.read`
reads a capped amount for the caller that must hash a manifest). Redirects are not followed
(a registry that sends blobs to object storage hands the client the storage URL), and
nothing is retried: a push is not idempotent, and a pull's client retries itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx

from sealgate.config import ClientConfig
from sealgate.errors import LimitExceeded, UsageError
from sealgate.oci.backend import BodyCutShort
from sealgate.oci.http_errors import unreachable
from sealgate.oci.http_transport import ssl_context_for

__all__ = ["PassThrough", "UpstreamAnswer"]

logger = logging.getLogger(__name__)

Headers = Sequence[tuple[str, str]]


@dataclass
class UpstreamAnswer:
    """An upstream answer whose body is not read yet; close it when done."""

    status: int
    #: Every header as sent (names lowercased by httpx), repeated names kept.
    headers: list[tuple[str, str]]
    _response: httpx.Response

    def header(self, name: str) -> str | None:
        """The first value of ``name`` (case-insensitive), or None."""
        value: str | None = self._response.headers.get(name)
        return value

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body exactly as sent (no decoding), chunk by chunk.

        Raises:
            BodyCutShort: the upstream dropped the connection in the middle of the body.
        """
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.HTTPError as error:
            raise BodyCutShort(f"upstream body cut short ({type(error).__name__})") from error

    async def read(self, max_bytes: int, what: str) -> bytes:
        """The whole body, refusing more than ``max_bytes``.

        Raises:
            LimitExceeded: declared or sent larger than ``max_bytes`` (reading stops there).
            BodyCutShort: the upstream dropped the connection in the middle of the body.
        """
        declared = self._response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise LimitExceeded(f"{what}: {declared} bytes exceeds the {max_bytes}-byte limit")
        parts: list[bytes] = []
        total = 0
        async for chunk in self.chunks():
            total += len(chunk)
            if total > max_bytes:
                raise LimitExceeded(f"{what}: larger than the {max_bytes}-byte limit")
            parts.append(chunk)
        return b"".join(parts)

    async def aclose(self) -> None:
        """Release the connection."""
        await self._response.aclose()


class PassThrough:
    """An async connection pool to one upstream registry; safe to share between requests."""

    def __init__(
        self,
        upstream: str,
        config: ClientConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Create the pool; no connection is opened yet.

        Args:
            upstream: ``http[s]://host[:port]`` of the registry.
            config: TLS (CA bundle), timeouts and pool size.
            transport: An httpx transport to use instead of the network (tests).

        Raises:
            UsageError: ``upstream`` is not an http(s) origin.
            ConfigError: the CA bundle cannot be loaded.
        """
        try:
            url = httpx.URL(upstream)
        except httpx.InvalidURL as error:
            raise UsageError(f"--upstream {upstream!r} is not a URL") from error
        if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/"):
            raise UsageError(f"--upstream {upstream!r} must be http(s)://host[:port]")
        self.origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        self._client = httpx.AsyncClient(
            base_url=self.origin,
            verify=ssl_context_for(config),
            timeout=httpx.Timeout(config.timeout_s),
            limits=httpx.Limits(
                max_connections=config.max_connections * 4,
                max_keepalive_connections=config.max_connections * 4,
            ),
            follow_redirects=False,
            transport=transport,
        )

    @property
    def host(self) -> str:
        """``host[:port]`` of the upstream."""
        return self.origin.split("://", 1)[1]

    async def open(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: AsyncIterator[bytes] | bytes | None = None,
    ) -> UpstreamAnswer:
        """Send one request upstream and return its answer with the body unread.

        Args:
            method: The HTTP method.
            target: Path and query, as the client sent them (already validated).
            headers: Request headers to send (the caller dropped hop-by-hop ones).
            body: The request body, streamed when an async iterator.

        Raises:
            RegistryUnreachable: connection refused, reset, TLS failure or timeout.
        """
        request = self._client.build_request(method, target, headers=list(headers), content=body)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as error:
            # Only the upstream host: the target may carry upload state in its query.
            raise unreachable(f"upstream {self.host}", error) from error
        return UpstreamAnswer(response.status_code, list(response.headers.multi_items()), response)

    async def aclose(self) -> None:
        """Close the pool."""
        await self._client.aclose()

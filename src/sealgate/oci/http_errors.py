"""Mapping HTTP answers and httpx failures onto the sealgate error tree.

Messages are one line, name the registry and repository, and are scrubbed of every
secret we know of (passwords, identity tokens, bearer tokens): registries sometimes echo
request details in their error bodies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx

from sealgate.deadline import Deadline
from sealgate.errors import (
    DeadlineExceeded,
    ImageNotFound,
    MalformedData,
    RegistryError,
    RegistryUnreachable,
    SealgateError,
    Unauthorized,
)
from sealgate.oci.backend import BodyCutShort
from sealgate.oci.reference import Reference

__all__ = [
    "error_for_response",
    "read_tag_page",
    "timed_out",
    "unreachable",
    "wrap_chunks",
]

logger = logging.getLogger(__name__)

_MAX_ERROR_BODY = 64 * 1024
_MAX_DETAIL = 200


#: What OpenSSL says when a TLS handshake meets a plain-HTTP server.
_PLAIN_HTTP_SIGNS = ("WRONG_VERSION_NUMBER", "wrong version number", "HTTP_REQUEST", "http request")


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def unreachable(what: str, error: Exception) -> RegistryUnreachable:
    """Describe a transport failure (connection, TLS, timeout) as ``RegistryUnreachable``."""
    if isinstance(error, httpx.TimeoutException):
        return RegistryUnreachable(f"{what}: timed out ({type(error).__name__})")
    if isinstance(error, httpx.ProtocolError):
        # h11 quotes the offending header value, which may be a bearer token: name the type only.
        return RegistryUnreachable(f"{what}: protocol error ({type(error).__name__})")
    detail = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate verify failed" in detail:
        return RegistryUnreachable(
            f"{what}: TLS certificate verification failed ({_scrub(detail, [])}); trust the "
            "registry's CA with --registry-cacert FILE, or skip verification with "
            "--allow-insecure-registry (testing only)"
        )
    if any(sign in detail for sign in _PLAIN_HTTP_SIGNS):
        return RegistryUnreachable(
            f"{what}: the registry does not speak TLS (it answers plain HTTP); use "
            "--allow-http-registry, or --insecure-registry HOST for this registry only"
        )
    return RegistryUnreachable(f"{what}: {type(error).__name__}: {_scrub(detail, [])}")


def timed_out(
    what: str, error: httpx.TimeoutException, deadline: Deadline, capped: bool
) -> Exception:
    """A timeout is the deadline's doing when the deadline cut the wait or has now passed."""
    if capped or deadline.expired():
        return DeadlineExceeded(f"{what}: deadline exceeded ({type(error).__name__})")
    return unreachable(what, error)


def wrap_chunks(
    chunks: Iterator[bytes], what: str, deadline: Deadline, *, capped: bool
) -> Iterator[bytes]:
    """Re-raise failures in the middle of a body as sealgate errors; stop at the deadline.

    httpx's read timeout bounds each read, not the whole body: a registry that trickles a
    byte at a time never trips it, so the deadline is checked on every chunk.

    Args:
        chunks: the raw body iterator.
        what: names the request in messages.
        deadline: checked on every chunk.
        capped: the request's timeouts were cut to the deadline's remaining time.

    Raises:
        DeadlineExceeded: the deadline passed while the body was arriving.
        BodyCutShort: the connection broke before the body was complete.
        RegistryUnreachable: a read timed out.
        RegistryError: any other httpx failure (e.g. undecodable content encoding).
    """
    try:
        for chunk in chunks:
            if deadline.expired():
                raise DeadlineExceeded(f"{what}: deadline exceeded while reading the body")
            yield chunk
    except httpx.TimeoutException as e:
        raise timed_out(what, e, deadline, capped) from e
    except httpx.TransportError as e:
        if deadline.expired():
            raise DeadlineExceeded(f"{what}: deadline exceeded ({type(e).__name__})") from e
        raise BodyCutShort(f"{what}: body cut short ({type(e).__name__})") from e
    except httpx.HTTPError as e:
        raise RegistryError(f"{what}: {type(e).__name__}") from e


def _read_error_body(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            parts.append(chunk)
            total += len(chunk)
            if total >= _MAX_ERROR_BODY:
                break
    except (httpx.HTTPError, httpx.StreamError):
        # The status is the answer; an unreadable error body only costs us its detail.
        logger.debug("could not read error body", exc_info=True)
    return b"".join(parts)[:_MAX_ERROR_BODY]


def _oci_error(body: bytes) -> tuple[str | None, str | None]:
    """First ``errors[]`` entry of an OCI error body: (code, message)."""
    try:
        errors = json.loads(body).get("errors")
        first = errors[0]
        code, message = first.get("code"), first.get("message")
    except (ValueError, AttributeError, TypeError, IndexError, KeyError):
        return None, None
    return (code if isinstance(code, str) else None, message if isinstance(message, str) else None)


def error_for_response(
    response: httpx.Response, ref: Reference, what: str, secrets: list[str]
) -> SealgateError:
    """Build the error for a non-success answer about ``what`` (caller closes ``response``).

    A missing manifest becomes :class:`ImageNotFound`; 401 and 403 (the auth dance is over
    by now) become :class:`Unauthorized`; everything else becomes :class:`RegistryError`
    carrying the HTTP status and the OCI error code.
    """
    status = response.status_code
    code, message = (
        _oci_error(_read_error_body(response))
        if response.request.method != "HEAD"
        else (None, None)
    )
    is_manifest = what.startswith("manifest ")
    if is_manifest and (status == 404 or code == "MANIFEST_UNKNOWN"):
        return ImageNotFound(f"{ref.name}: {what} not found")
    detail = f"HTTP {status}"
    if code:
        detail += f" {code}"
    if message:
        detail += f": {_scrub(message, secrets)}"
    if status in (401, 403):
        detail += " (authentication or authorization failed)"
        return Unauthorized(f"{ref.name}: {what}: {detail}", status=status, code=code)
    if status == 429:
        detail += " (rate limited)"
    return RegistryError(f"{ref.name}: {what}: {detail}", status=status, code=code)


def _next_link(response: httpx.Response, base: str) -> str | None:
    link = response.headers.get("link")
    if not link:
        return None
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            target = target.strip().removeprefix("<").removesuffix(">")
            origin = httpx.URL(base)
            try:
                url = origin.join(target)
            except httpx.InvalidURL as e:
                raise RegistryError("pagination link is not a URL") from e
            if (url.scheme, url.host, url.port) != (origin.scheme, origin.host, origin.port):
                raise RegistryError(f"pagination link points to another host ({url.host})")
            return str(url)
    return None


def read_tag_page(
    data: bytes, response: httpx.Response, ref: Reference, base: str, *, field: str = "tags"
) -> tuple[list[str], str | None]:
    """Parse one ``tags/list`` (or ``_catalog``) page read whole; return its names and the
    next page URL, if any.

    Args:
        data: The page.
        response: Its response (for the ``Link`` header).
        ref: What is listed, for messages.
        base: The registry's base URL: a next-page link must stay on it.
        field: ``tags``, or ``repositories`` for a catalog page.

    Raises:
        MalformedData: the page is not ``{"<field>": [...]}``.
        RegistryError: the next-page link points to another host.
    """
    what = f"{ref.name}: tag list" if field == "tags" else f"{ref.registry}: catalog"
    next_url = _next_link(response, base)
    try:
        names = json.loads(data).get(field)
    except (ValueError, AttributeError, RecursionError) as e:
        raise MalformedData(f"{what} is not a JSON object") from e
    if names is None:
        return [], next_url
    if not isinstance(names, list) or not all(isinstance(t, str) for t in names):
        raise MalformedData(f"{what} has a malformed {field} array")
    return names, next_url

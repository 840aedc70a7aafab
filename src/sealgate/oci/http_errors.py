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

from sealgate.errors import (
    ImageNotFound,
    LimitExceeded,
    MalformedData,
    RegistryError,
    RegistryUnreachable,
    SealgateError,
)
from sealgate.oci.reference import Reference

__all__ = ["error_for_response", "read_tag_page", "unreachable", "wrap_chunks"]

logger = logging.getLogger(__name__)

_MAX_ERROR_BODY = 64 * 1024
_MAX_DETAIL = 200


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
    if "CERTIFICATE_VERIFY_FAILED" in detail:
        return RegistryUnreachable(
            f"{what}: TLS certificate verification failed: {_scrub(detail, [])}"
        )
    return RegistryUnreachable(f"{what}: {type(error).__name__}: {_scrub(detail, [])}")


def wrap_chunks(chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
    """Re-raise failures in the middle of a body as sealgate errors.

    Raises:
        RegistryUnreachable: the connection broke or timed out while reading.
        RegistryError: any other httpx failure (e.g. undecodable content encoding).
    """
    try:
        yield from chunks
    except httpx.TransportError as e:
        raise unreachable(what, e) from e
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
    except httpx.HTTPError:
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

    A missing manifest becomes :class:`ImageNotFound`; everything else becomes
    :class:`RegistryError` carrying the HTTP status and the OCI error code.
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
    elif status == 429:
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
            url = httpx.URL(base).join(target)
            origin = httpx.URL(base)
            if (url.scheme, url.host, url.port) != (origin.scheme, origin.host, origin.port):
                raise RegistryError(f"pagination link points to another host ({url.host})")
            return str(url)
    return None


def read_tag_page(
    response: httpx.Response, ref: Reference, max_bytes: int, base: str
) -> tuple[list[str], str | None]:
    """Read one ``tags/list`` page; return its tags and the next page URL, if any.

    Raises:
        LimitExceeded: the page is larger than ``max_bytes``.
        MalformedData: the page is not ``{"tags": [...]}``.
        RegistryUnreachable: the connection broke while reading.
    """
    what = f"{ref.name}: tag list"
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise LimitExceeded(f"{what} page over the limit of {max_bytes} bytes")
        parts: list[bytes] = []
        total = 0
        for chunk in wrap_chunks(response.iter_bytes(), what):
            total += len(chunk)
            if total > max_bytes:
                raise LimitExceeded(f"{what} page over the limit of {max_bytes} bytes")
            parts.append(chunk)
        next_url = _next_link(response, base)
    finally:
        response.close()
    try:
        tags = json.loads(b"".join(parts)).get("tags")
    except (ValueError, AttributeError) as e:
        raise MalformedData(f"{what} is not a JSON object") from e
    if tags is None:
        return [], next_url
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise MalformedData(f"{what} has a malformed tags array")
    return tags, next_url

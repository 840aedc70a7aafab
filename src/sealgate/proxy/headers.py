"""Headers across the proxy: what goes upstream, what comes back, which URLs are rewritten (pure).

Credentials pass through: the client's ``Authorization`` goes upstream as sent, and the
upstream's ``WWW-Authenticate`` challenge comes back, so the client does the registry's auth
dance itself (distribution token spec) with its own credentials:

* ``Basic realm="..."``: the realm is a label, not a URL; passed as is, and the client's
  ``Authorization: Basic`` goes upstream with its next request.
* ``Bearer realm="https://auth.example/token"`` on another origin: passed as is; the client
  fetches its token there directly and sends ``Authorization: Bearer`` to us, which we
  forward. The token's audience is the upstream's ``service``, which is who checks it.
* ``Bearer realm`` on the upstream's own origin (Harbor, GitLab's ``/jwt/auth`` when hosted
  alongside, Quay): a client that reaches only the proxy could not get there, so the realm is
  rewritten to the proxy's origin and that one path is forwarded upstream like the API.

``Location`` (upload sessions, redirects) and ``Link`` (tag-list pages) naming the upstream's
origin are rewritten to the proxy's, so the client's next request comes back through us.
Hop-by-hop headers (RFC 9110 section 7.6.1) are never forwarded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "HOP_BY_HOP",
    "RewrittenHeaders",
    "request_headers",
    "response_headers",
]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_REALM = re.compile(r'(realm\s*=\s*")([^"]*)(")', re.IGNORECASE)


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    # Headers named by Connection are hop-by-hop too (RFC 9110 section 7.6.1).
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }


def request_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The client's request headers to send upstream: everything end to end, Host excepted.

    ``Host`` is the upstream's (httpx sets it from the URL: a TLS upstream is virtual-hosted);
    the answers' URLs are rewritten back to ours instead.
    """
    decoded = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
    dropped = HOP_BY_HOP | _connection_tokens(decoded) | {"host"}
    return [(name, value) for name, value in decoded if name.lower() not in dropped]


def _same_origin(url: str, origin: str) -> bool:
    try:
        parts, base = urlsplit(url), urlsplit(origin)
    except ValueError:
        return False
    return (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower())


def _rebase(url: str, upstream: str, proxy: str) -> str:
    return proxy + url[len(upstream) :] if _same_origin(url, upstream) else url


class RewrittenHeaders:
    """Answer headers for the client, and the upstream realm paths they made ours.

    Attributes:
        headers: Header pairs to send to the client.
        realm_paths: Paths of ``Bearer`` realms on the upstream's origin, now on ours.
    """

    def __init__(self, headers: list[tuple[str, str]], realm_paths: list[str]) -> None:
        self.headers = headers
        self.realm_paths = realm_paths


def _rewrite_challenge(value: str, upstream: str, proxy: str, realms: list[str]) -> str:
    def swap(found: re.Match[str]) -> str:
        realm = found[2]
        if "://" not in realm or not _same_origin(realm, upstream):
            return found[0]
        realms.append(urlsplit(realm).path or "/")
        return found[1] + _rebase(realm, upstream, proxy) + found[3]

    return _REALM.sub(swap, value)


def _rewrite_link(value: str, upstream: str, proxy: str) -> str:
    return re.sub(r"<([^>]*)>", lambda m: f"<{_rebase(m[1], upstream, proxy)}>", value)


def response_headers(
    headers: Iterable[tuple[str, str]],
    *,
    upstream: str,
    proxy: str,
    drop: frozenset[str] = frozenset(),
) -> RewrittenHeaders:
    """The upstream's answer headers as the client must see them.

    Args:
        headers: The upstream's headers.
        upstream: The upstream's origin (``scheme://host[:port]``).
        proxy: Our origin as the client addressed it.
        drop: More header names (lowercase) to leave out (ones the caller recomputes).

    Returns:
        The headers, and the realm paths that now point at us.
    """
    pairs = list(headers)
    dropped = HOP_BY_HOP | _connection_tokens(pairs) | drop
    out: list[tuple[str, str]] = []
    realms: list[str] = []
    for name, value in pairs:
        lower = name.lower()
        if lower in dropped:
            continue
        if lower == "location":
            out.append((lower, _rebase(value, upstream, proxy)))
        elif lower == "link":
            out.append((lower, _rewrite_link(value, upstream, proxy)))
        elif lower == "www-authenticate":
            out.append((lower, _rewrite_challenge(value, upstream, proxy, realms)))
        else:
            out.append((lower, value))
    return RewrittenHeaders(out, realms)

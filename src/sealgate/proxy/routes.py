"""What a proxied request is about: strict parsing of registry API paths (pure).

The proxy decides by repository (``--protect``), so the repository it reads from a path must
be the one the upstream will serve. Paths are therefore parsed from the raw bytes the client
sent and refused unless they are in the distribution API's own grammar (OCI distribution
spec, "Endpoints"; the name grammar of the distribution ``reference`` package): no
percent-encoding, no ``.``/``..`` or empty segments, no backslash or control character. Then
``/v2/public/../prod/app/manifests/1`` can never be read as repository ``public/..`` by us
and as ``prod/app`` by a path-cleaning upstream.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_PATH",
    "ProtectGlobs",
    "Route",
    "RouteRefused",
    "parse_route",
]

#: Longest request target accepted (names are at most 255 characters, digests 71).
MAX_PATH = 2048

RouteKind = Literal["base", "catalog", "manifest", "blob", "upload", "tags", "referrers", "other"]

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"
_ROUTES: tuple[tuple[RouteKind, re.Pattern[str]], ...] = (
    ("manifest", re.compile(rf"/v2/(?P<name>{_NAME})/manifests/(?P<ref>{_TAG}|{_DIGEST})")),
    ("blob", re.compile(rf"/v2/(?P<name>{_NAME})/blobs/(?P<ref>{_DIGEST})")),
    ("upload", re.compile(rf"/v2/(?P<name>{_NAME})/blobs/uploads/(?P<ref>[A-Za-z0-9_=-]*)")),
    ("tags", re.compile(rf"/v2/(?P<name>{_NAME})/tags/list")),
    ("referrers", re.compile(rf"/v2/(?P<name>{_NAME})/referrers/(?P<ref>{_DIGEST})")),
)
_MAX_NAME = 255
_FORBIDDEN = re.compile(r"[%\\\x00-\x20\x7f]")


class RouteRefused(Exception):
    """The request target is not one the proxy forwards; ``status`` and OCI ``code`` say why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Route:
    """A parsed request target.

    Attributes:
        kind: Which API endpoint.
        path: The path as sent (validated).
        query: The query string as sent (without ``?``), forwarded untouched.
        repository: The repository name, for repository endpoints.
        reference: The tag or digest of a manifest, the digest of a blob or referrers call.
    """

    kind: RouteKind
    path: str
    query: str = ""
    repository: str | None = None
    reference: str | None = None

    @property
    def target(self) -> str:
        """Path and query to send upstream."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def by_digest(self) -> bool:
        """Whether the reference is a digest (not a tag)."""
        return self.reference is not None and ":" in self.reference


def _check_segments(path: str) -> None:
    if not path.startswith("/"):
        raise RouteRefused(400, "NAME_INVALID", "the request path must start with /")
    if _FORBIDDEN.search(path):
        raise RouteRefused(
            400, "NAME_INVALID", "the request path holds percent-encoding or control characters"
        )
    segments = path[1:].split("/")
    # One trailing slash is the API's own spelling (/v2/, /blobs/uploads/); nothing else empty.
    inner = segments[:-1] if segments and segments[-1] == "" else segments
    if any(segment in ("", ".", "..") for segment in inner):
        raise RouteRefused(400, "NAME_INVALID", "the request path holds an empty, . or .. segment")


def parse_route(raw_path: bytes, query: bytes, extra_paths: Sequence[str] = ()) -> Route:
    """Parse a raw request target.

    Args:
        raw_path: The path exactly as the client sent it (ASGI ``raw_path``).
        query: The query string as sent.
        extra_paths: Paths forwarded as ``other`` (token realms on the upstream's origin).

    Returns:
        The route.

    Raises:
        RouteRefused: the path is too long, not ASCII, traverses, or is no registry endpoint.
    """
    if len(raw_path) + len(query) > MAX_PATH:
        raise RouteRefused(414, "NAME_INVALID", f"request target longer than {MAX_PATH} bytes")
    try:
        path, query_text = raw_path.decode("ascii"), query.decode("ascii")
    except UnicodeDecodeError:
        raise RouteRefused(400, "NAME_INVALID", "the request target is not ASCII") from None
    _check_segments(path)
    if path in ("/v2", "/v2/"):
        return Route("base", path, query_text)
    if path == "/v2/_catalog":
        return Route("catalog", path, query_text)
    for kind, pattern in _ROUTES:
        found = pattern.fullmatch(path)
        if found is None:
            continue
        name = found["name"]
        if len(name) > _MAX_NAME:
            raise RouteRefused(400, "NAME_INVALID", f"repository name longer than {_MAX_NAME}")
        reference = found.groupdict().get("ref")
        return Route(kind, path, query_text, name, reference or None)
    if path in extra_paths:
        return Route("other", path, query_text)
    if path.startswith("/v2/"):
        raise RouteRefused(404, "NAME_INVALID", "not a registry API path this proxy forwards")
    raise RouteRefused(404, "UNSUPPORTED", "only the registry API (/v2/) is served here")


def _glob_regex(glob: str) -> re.Pattern[str]:
    # ``*`` stays inside one path component, ``**`` crosses them (policy-controller's globs).
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


class ProtectGlobs:
    """Which repositories need a passing verdict: ``--protect`` globs over repository paths."""

    def __init__(self, globs: Sequence[str]) -> None:
        """Compile the globs.

        Raises:
            ValueError: a glob is empty or holds characters no repository name has.
        """
        for glob in globs:
            if not glob or not re.fullmatch(r"[a-z0-9._/*-]+", glob):
                raise ValueError(f"--protect {glob!r}: use repository paths with * and **")
        self.globs = tuple(globs)
        self._patterns = tuple(_glob_regex(glob) for glob in globs)

    def protects(self, repository: str) -> bool:
        """Whether ``repository`` matches one of the globs."""
        return any(pattern.fullmatch(repository) for pattern in self._patterns)

"""Image references: parse, validate and normalise like Docker and go-containerregistry.

The grammar is the distribution ``reference`` grammar::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path-component ( "/" path-component )*
    domain     := host [ ":" port ]
    tag        := [\\w][\\w.-]{0,127}

Docker Hub is normalised the way cosign writes it into signatures (docs/formats.md §1.4):
``alpine``, ``docker.io/alpine`` and ``registry-1.docker.io/alpine`` all become
``index.docker.io/library/alpine``. ``oci:PATH[:tag]`` names an OCI image layout on disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from sealgate.errors import UsageError
from sealgate.oci.mediatypes import DIGEST_RE

__all__ = ["DOCKER_HUB", "Reference"]

#: Canonical Docker Hub registry name (go-containerregistry ``DefaultRegistry``).
DOCKER_HUB = "index.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST_RE = re.compile(rf"{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*")
_IPV6_RE = re.compile(r"\[[0-9a-fA-F:.]+\]")
_MAX_NAME = 255
_LAYOUT_PREFIX = "oci:"


def _fail(text: str, why: str) -> UsageError:
    # repr() keeps control characters from breaking the one-line message.
    shown = text if len(text) <= 200 else text[:200] + "..."
    return UsageError(f"invalid image reference {shown!r}: {why}")


def _looks_like_domain(component: str) -> bool:
    # go-containerregistry's rule (pkg/name NewRepository), which cosign applies: a first
    # component is a registry iff it is "localhost" or has a "." or ":" (IPv6 has ":").
    # Docker also takes any component with an uppercase letter for a host; we do not, so
    # "REGISTRY/app" is an invalid Docker Hub path (rejected), never a host "registry"
    # whose lowercased spelling would parse back as the Docker Hub repository registry/app.
    return "." in component or ":" in component or component == "localhost"


def _validate_domain(text: str, domain: str) -> str:
    host, port = domain, None
    if domain.startswith("["):
        end = domain.find("]")
        if end < 0:
            raise _fail(text, "unterminated IPv6 address")
        host, rest = domain[: end + 1], domain[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise _fail(text, "garbage after IPv6 address")
            port = rest[1:]
        if not _IPV6_RE.fullmatch(host):
            raise _fail(text, "invalid IPv6 address")
    else:
        if ":" in domain:
            host, port = domain.split(":", 1)
        if not _HOST_RE.fullmatch(host):
            raise _fail(text, f"invalid registry host {host!r}")
    if port is not None and not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
        raise _fail(text, f"invalid registry port {port!r}")
    # Host names are case-insensitive; one spelling keeps caches and docker-reference stable.
    host = host.lower()
    return f"{host}:{port}" if port is not None else host


def _validate_digest(text: str, digest: str) -> str:
    algorithm = digest.split(":", 1)[0]
    if algorithm != "sha256" and ":" in digest:
        raise _fail(text, f"unsupported digest algorithm {algorithm!r} (only sha256)")
    if not DIGEST_RE.fullmatch(digest):
        raise _fail(text, "digest must be sha256: followed by 64 lowercase hex characters")
    return digest


def _validate_tag(text: str, tag: str) -> str:
    if not _TAG_RE.fullmatch(tag):
        raise _fail(text, f"invalid tag {tag!r}")
    return tag


def _split_tag_digest(text: str, rest: str) -> tuple[str, str | None, str | None]:
    """Split ``name[:tag][@digest]``; a colon after the last slash starts a tag."""
    digest = None
    if "@" in rest:
        rest, digest = rest.rsplit("@", 1)
        digest = _validate_digest(text, digest)
    tag = None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        rest, tag = rest[:colon], _validate_tag(text, rest[colon + 1 :])
    return rest, tag, digest


def _split_name(text: str, rest: str) -> tuple[str, str]:
    """Split a name into normalised (registry, repository) and validate the path."""
    first, _, remainder = rest.partition("/")
    if remainder and _looks_like_domain(first):
        registry, repository = _validate_domain(text, first), remainder
    else:
        registry, repository = DOCKER_HUB, rest
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = "library/" + repository
    for component in repository.split("/"):
        if not component:
            raise _fail(text, "empty path component")
        if not _PATH_COMPONENT_RE.fullmatch(component):
            if component.lower() != component:
                raise _fail(text, "repository name must be lowercase")
            raise _fail(text, f"invalid repository component {component!r}")
    if len(registry) + 1 + len(repository) > _MAX_NAME:
        raise _fail(text, f"repository name longer than {_MAX_NAME} characters")
    return registry, repository


@dataclass(frozen=True)
class Reference:
    """A parsed, normalised image reference.

    Example:
        >>> ref = Reference.parse("alpine:3.19")
        >>> ref.name, ref.tag
        ('index.docker.io/library/alpine', '3.19')
    """

    #: Normalised ``host[:port]``; Docker Hub is ``index.docker.io``; ``""`` for layouts.
    registry: str
    #: ``library/alpine`` for Docker Hub short names; for layouts the absolute directory.
    repository: str
    tag: str | None = None
    #: ``sha256:<64 hex>``.
    digest: str | None = None
    #: True for ``oci:PATH[:tag]`` (an OCI image layout on disk).
    layout: bool = False

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parse ``text`` into a reference.

        The tag defaults to ``latest`` only when there is neither a tag nor a digest.

        Args:
            text: ``[registry/]repo[:tag][@sha256:...]`` or ``oci:PATH[:tag][@sha256:...]``.

        Returns:
            The normalised reference.

        Raises:
            UsageError: the text is not a valid reference (one-line reason).
        """
        if not isinstance(text, str) or not text:
            raise _fail(str(text), "empty")
        if any(ch.isspace() or not ch.isprintable() for ch in text):
            raise _fail(text, "contains whitespace or control characters")
        if text.startswith(_LAYOUT_PREFIX):
            return cls._parse_layout(text)
        if "://" in text:
            raise _fail(text, "a reference has no URL scheme")

        rest, tag, digest = _split_tag_digest(text, text)
        if not rest:
            raise _fail(text, "missing repository")
        registry, repository = _split_name(text, rest)
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry=registry, repository=repository, tag=tag, digest=digest)

    @classmethod
    def _parse_layout(cls, text: str) -> Reference:
        rest, tag, digest = _split_tag_digest(text, text[len(_LAYOUT_PREFIX) :])
        if not rest:
            raise _fail(text, "missing layout directory")
        path = str(Path(rest).expanduser().absolute())
        return cls(registry="", repository=path, tag=tag, digest=digest, layout=True)

    @property
    def name(self) -> str:
        """``registry/repository`` (cosign's docker-reference) or ``oci:<path>`` for layouts."""
        if self.layout:
            return _LAYOUT_PREFIX + self.repository
        return f"{self.registry}/{self.repository}"

    def with_digest(self, digest: str) -> Reference:
        """Return this reference pinned to ``digest``; the tag is kept.

        Raises:
            UsageError: ``digest`` is not a sha256 digest.
        """
        return replace(self, digest=_validate_digest(digest, digest))

    def with_tag(self, tag: str) -> Reference:
        """Return this repository at ``tag``, without any digest.

        Raises:
            UsageError: ``tag`` is not a valid tag.
        """
        return replace(self, tag=_validate_tag(tag, tag), digest=None)

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

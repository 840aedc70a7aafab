"""Image patterns in the two dialects cluster policies use, with their upstream semantics.

Two dialects, each reproducing its project's matching exactly (tests replay their tables):

* :class:`SigstoreGlob`: sigstore policy-controller ``pkg/apis/glob``. The glob is turned into a
  regular expression (``.`` is literal, ``*`` is any run of non-``/`` characters, ``**`` any
  run of characters); only ``[a-zA-Z0-9-_:/*.@]`` may appear. ``*`` alone means
  ``index.docker.io/library/*`` and ``*/*`` means ``index.docker.io/*/*``. The image is
  normalised as go-containerregistry's ``name.ParseReference(image, WeakValidation).Name()``
  (``foo`` -> ``index.docker.io/library/foo:latest``; ``docker.io`` -> ``index.docker.io``;
  a digest reference drops its tag); when that does not match and differs from the text as
  written, the text as written is tried too (upstream's deprecated fallback).
* :class:`KyvernoWildcard`: Kyverno ``imageReferences``/``skipImageReferences``. ``*`` is any
  run of characters (``/`` included), ``?`` exactly one; everything else is literal. The image
  is normalised as Kyverno's ``ImageInfo.String()`` with the default configuration
  (``defaultRegistry: docker.io``, mutation on): ``nginx`` -> ``docker.io/nginx:latest`` (no
  ``library/``), a digest reference becomes ``registry/path@digest`` (its tag dropped).

Matching is linear-time in practice (no backtracking regular expressions on user patterns).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sealgate.errors import ConfigError, UsageError

__all__ = [
    "GlobDialect",
    "ImagePattern",
    "KyvernoWildcard",
    "SigstoreGlob",
    "ggcr_name",
    "kyverno_image",
    "wildcard_match",
]

GlobDialect = Literal["sigstore", "kyverno"]

_MAX_PATTERN = 1024
_VALID_GLOB = re.compile(r"[a-zA-Z0-9\-_:/*.@]+")

# go-containerregistry pkg/name: allowed characters and defaults.
_GGCR_REPO_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-./")
_GGCR_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_GGCR_DEFAULT_REGISTRY = "index.docker.io"
_SHA256_HEX = re.compile(r"[a-f0-9]{64}")
# url.Parse("//"+name).Host == name: an RFC 3986 authority without userinfo or path.
_AUTHORITY = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?")


class ImagePattern(Protocol):
    """A compiled image pattern of one dialect."""

    @property
    def text(self) -> str:
        """The pattern as written."""
        ...

    @property
    def dialect(self) -> GlobDialect:
        """Which upstream semantics it follows."""
        ...

    def matches(self, image: str) -> bool:
        """Whether ``image`` (as written in a manifest) matches.

        Raises:
            UsageError: ``image`` is not a reference this dialect can normalise.
        """
        ...


def _bad_name(image: str, why: str) -> UsageError:
    shown = image if len(image) <= 200 else image[:200] + "..."
    return UsageError(f"invalid image reference {shown!r}: {why}")


def _ggcr_repository(image: str, name: str) -> str:
    """``Repository.Name()`` of go-containerregistry's ``NewRepository`` (weak validation)."""
    if not name:
        raise _bad_name(image, "a repository name must be specified")
    registry, repo = "", name
    first, sep, rest = name.partition("/")
    if sep and (first == "localhost" or "." in first or ":" in first):
        registry, repo = first, rest
    if not 1 <= len(repo) <= 255 or not set(repo) <= _GGCR_REPO_CHARS:
        raise _bad_name(image, "invalid repository")
    if "/" in registry or not _AUTHORITY.fullmatch(registry):
        raise _bad_name(image, "registries must be valid RFC 3986 URI authorities")
    if registry in ("", "docker.io"):
        registry = _GGCR_DEFAULT_REGISTRY
    if registry == _GGCR_DEFAULT_REGISTRY and "/" not in repo:
        repo = "library/" + repo
    return f"{registry}/{repo}"


def _ggcr_tag(image: str, name: str) -> tuple[str, str]:
    """(repository name, tag) of ``name.NewTag`` with weak validation."""
    base, tag = name, ""
    parts = name.split(":")
    if len(parts) > 1 and "/" not in parts[-1]:
        base, tag = ":".join(parts[:-1]), parts[-1]
        if not tag:
            raise _bad_name(image, "must specify a tag name after the colon")
        if len(tag) > 128 or not set(tag) <= _GGCR_TAG_CHARS:
            raise _bad_name(image, "invalid tag")
    return _ggcr_repository(image, base), tag or "latest"


def ggcr_name(image: str) -> str:
    """go-containerregistry ``name.ParseReference(image, name.WeakValidation).Name()``.

    Args:
        image: A reference as written (``foo``, ``ghcr.io/x/y:v1``, ``a/b@sha256:...``).

    Returns:
        The fully qualified name with its tag or digest.

    Raises:
        UsageError: Not a reference go-containerregistry would parse.
    """
    try:
        repository, tag = _ggcr_tag(image, image)
    except UsageError:
        pass
    else:
        return f"{repository}:{tag}"
    parts = image.split("@")
    if len(parts) != 2:
        raise _bad_name(image, "not a tag or digest reference")
    base, digest = parts
    if not digest.startswith("sha256:") or not _SHA256_HEX.fullmatch(digest[7:]):
        raise _bad_name(image, "unsupported or malformed digest")
    with contextlib.suppress(UsageError):
        base = _ggcr_tag(image, base)[0]
    return f"{_ggcr_repository(image, base)}@{digest}"


def _compile_sigstore(glob: str) -> re.Pattern[str]:
    """policy-controller ``glob.Compile``; raises ConfigError for an invalid glob."""
    if glob == "*/*":
        glob = "index.docker.io/*/*"
    if glob == "*":
        glob = "index.docker.io/library/*"
    if len(glob) > _MAX_PATTERN or not _VALID_GLOB.fullmatch(glob):
        raise ConfigError(f"invalid glob {glob[:200]!r}")
    pattern = glob.replace(".", r"\.").replace("**", "#").replace("*", "[^/]*").replace("#", ".*")
    return re.compile(pattern)


@dataclass(frozen=True)
class SigstoreGlob:
    """A ClusterImagePolicy ``images[].glob`` (also sealgate's own ``ImagePolicy``).

    Example:
        >>> SigstoreGlob.compile("ghcr.io/acme/**").matches("ghcr.io/acme/app:v1")
        True
    """

    text: str
    _regex: re.Pattern[str] = field(repr=False, compare=False)
    dialect: GlobDialect = "sigstore"

    @classmethod
    def compile(cls, text: str) -> SigstoreGlob:
        """Compile a glob.

        Raises:
            ConfigError: Characters outside policy-controller's glob alphabet.
        """
        return cls(text, _compile_sigstore(text))

    def matches(self, image: str) -> bool:
        name = ggcr_name(image)
        # The compiled regex has no nested quantifiers over overlapping classes that could
        # explode: "[^/]*" and ".*" runs separated by literals, matched by Python's engine
        # on a name capped at a few hundred characters.
        if self._regex.fullmatch(name):
            return True
        return name != image and self._regex.fullmatch(image) is not None


def wildcard_match(pattern: str, text: str) -> bool:
    """``github.com/IGLOU-EU/go-wildcard`` v1 ``Match``: ``*`` any run, ``?`` one character.

    The same answers as upstream's recursive matcher, computed with the classic greedy
    two-pointer algorithm (O(len(pattern) * len(text)) worst case, no recursion).
    """
    if pattern == "":
        return text == ""
    if pattern == "*":
        return True
    p = t = 0
    star_p, star_t = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
        elif p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif star_p >= 0:
            p = star_p + 1
            star_t += 1
            t = star_t
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


# distribution/reference grammar (the one Kyverno's GetImageInfo parses with).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DISTRIBUTION_REF = re.compile(
    rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?",
    re.ASCII,
)


def kyverno_image(image: str, default_registry: str = "docker.io") -> str:
    """Kyverno's ``ImageInfo.String()`` for an image as written (default configuration).

    Args:
        image: The image as written in the resource.
        default_registry: Kyverno's ``defaultRegistry`` setting.

    Returns:
        ``registry/path:tag`` or ``registry/path@digest``.

    Raises:
        UsageError: Not a reference Kyverno would parse.
    """
    slash = image.find("/")
    first = image[:slash]
    if slash < 0 or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        image = f"{default_registry}/{image}"
    found = _DISTRIBUTION_REF.fullmatch(image)
    if found is None:
        raise _bad_name(image, "not a valid reference")
    domain, path = found["domain"] or "", found["path"]
    if len(domain) + 1 + len(path) > 255:
        raise _bad_name(image, "repository name must not be more than 255 characters")
    if found["digest"]:
        algorithm, _, hexpart = found["digest"].partition(":")
        if algorithm == "sha256" and not _SHA256_HEX.fullmatch(hexpart):
            raise _bad_name(image, "invalid sha256 digest")
        return f"{domain}/{path}@{found['digest']}"
    return f"{domain}/{path}:{found['tag'] or 'latest'}"


@dataclass(frozen=True)
class KyvernoWildcard:
    """A Kyverno ``imageReferences`` entry.

    Example:
        >>> KyvernoWildcard.compile("ghcr.io/acme/*").matches("ghcr.io/acme/app:v1")
        True
    """

    text: str
    dialect: GlobDialect = "kyverno"

    @classmethod
    def compile(cls, text: str) -> KyvernoWildcard:
        """Check a pattern (every string is a valid wildcard; only the length is capped).

        Raises:
            ConfigError: Longer than 1024 characters.
        """
        if len(text) > _MAX_PATTERN:
            raise ConfigError(f"image reference pattern longer than {_MAX_PATTERN} characters")
        return cls(text)

    def matches(self, image: str) -> bool:
        return wildcard_match(self.text, kyverno_image(image))

"""Which images an audit or a re-signing run covers: named images, repositories, a catalog.

A repository is every tag in it (``GET /v2/<name>/tags/list``), less cosign's attachment tags
(``sha256-<hex>.sig``/``.att``/``.sbom`` and the ``sha256-<hex>`` referrers fallback index);
a registry is every repository its catalog lists (``GET /v2/_catalog``). Tags are resolved to
digests on a bounded pool, and tags that point at one digest become one target: signatures
belong to the digest, so each digest is checked once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sealgate.errors import (
    ImageNotFound,
    InternalError,
    LimitExceeded,
    SealgateError,
    UsageError,
)
from sealgate.oci import Reference, RegistryClient

__all__ = [
    "AuditTarget",
    "UnresolvedImage",
    "catalog_repositories",
    "is_attachment_tag",
    "parse_repository",
    "repository_images",
    "resolve_targets",
]

# cosign's attachment tags and the OCI referrers fallback tag: `sha256-<hex>[.<suffix>]`.
_ATTACHMENT_TAG = re.compile(r"^sha(256|512)-[0-9a-f]{64,128}(\.[A-Za-z0-9_-]+)?$")


@dataclass(frozen=True)
class AuditTarget:
    """One image (a digest in a repository) and every tag that points at it.

    Attributes:
        ref: The image, pinned to its digest (the first tag kept, for display).
        tags: The tags that resolved to it, sorted; empty when named by digest.
    """

    ref: Reference
    tags: tuple[str, ...]

    @property
    def repository(self) -> str:
        """``registry/repository``."""
        return self.ref.name

    @property
    def digest(self) -> str:
        """``sha256:<hex>``."""
        assert self.ref.digest is not None  # noqa: S101 - constructed pinned
        return self.ref.digest


@dataclass(frozen=True)
class UnresolvedImage:
    """An image that could not be resolved to a digest, and why.

    Attributes:
        repository: ``registry/repository``.
        reference: How it was named (a tag from a registry may not even be a valid tag).
        tag: The tag, if it was named by one.
        error: Why (one line).
    """

    repository: str
    reference: str
    tag: str
    error: SealgateError


def is_attachment_tag(tag: str) -> bool:
    """True for a tag cosign or the referrers fallback writes next to an image."""
    return _ATTACHMENT_TAG.match(tag) is not None


def parse_repository(text: str) -> Reference:
    """A ``REGISTRY/REPOSITORY`` argument as a reference without tag or digest.

    Raises:
        UsageError: malformed, or it names a tag or digest (a repository means every tag).
    """
    bare = text.strip()
    ref = Reference.parse(bare)
    if ref.digest is not None or bare.endswith(f":{ref.tag}"):
        raise UsageError(f"--repository {text}: name a repository, without tag or digest")
    return Reference(registry=ref.registry, repository=ref.repository, layout=ref.layout)


def repository_images(
    client: RegistryClient, repository: Reference, *, limit: int
) -> tuple[list[Reference], list[UnresolvedImage]]:
    """The image tags of ``repository`` (attachment tags left out), sorted, as references.

    A name the registry lists that is not a valid tag is returned as unresolved: it is
    reported, never used to build a request.

    Raises:
        ImageNotFound: the repository does not exist or holds no image tag.
        LimitExceeded: more than ``limit`` tags.
        CheckFailed: the registry could not be read (subclasses).
    """
    tags = sorted(t for t in client.list_tags(repository) if not is_attachment_tag(t))
    if not tags:
        raise ImageNotFound(f"repository {repository.name} not found (or it has no image tags)")
    if len(tags) > limit:
        raise LimitExceeded(f"{repository.name}: {len(tags)} tags; limit {limit} (--max-images)")
    refs: list[Reference] = []
    bad: list[UnresolvedImage] = []
    for tag in tags:
        try:
            refs.append(repository.with_tag(tag))
        except UsageError as error:
            text = f"{repository.name}:{tag}"
            bad.append(UnresolvedImage(repository.name, text, tag, error))
    return refs, bad


def catalog_repositories(client: RegistryClient, registry: str) -> list[Reference]:
    """Every repository the registry's catalog lists, sorted.

    Raises:
        CheckFailed: the catalog could not be read or was refused (subclasses).
        UsageError: ``registry`` is not a registry host.
    """
    if not registry or "/" in registry or "@" in registry:
        raise UsageError(f"--catalog {registry!r}: name a registry host[:port]")
    names = client.list_repositories(registry)
    repos = []
    for name in sorted(set(names)):
        try:
            ref = Reference.parse(f"{registry}/{name}")
        except UsageError:
            continue  # a name the reference grammar refuses cannot be pulled either
        repos.append(Reference(registry=ref.registry, repository=ref.repository))
    return repos


def resolve_targets(
    client: RegistryClient, refs: Iterable[Reference], *, concurrency: int
) -> tuple[list[AuditTarget], list[UnresolvedImage]]:
    """Resolve every reference to a digest (bounded pool) and group tags by digest.

    Args:
        client: The registry client (thread-safe).
        refs: Tag or digest references, in the order to report them.
        concurrency: Requests in flight at once.

    Returns:
        The targets, in first-seen order, and the references that could not be resolved.

    Raises:
        InternalError: a bug while resolving (never reported as unresolved).
    """
    ordered = list(dict.fromkeys(refs))

    def resolve(ref: Reference) -> str | SealgateError:
        try:
            return client.resolve(ref).digest
        except SealgateError as error:
            if isinstance(error, InternalError):  # a bug, not an image we could not read
                raise
            return error

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        answers = list(pool.map(resolve, ordered))
    groups: dict[tuple[str, str], list[Reference]] = {}
    unresolved: list[UnresolvedImage] = []
    for ref, answer in zip(ordered, answers, strict=True):
        if isinstance(answer, SealgateError):
            tag = ref.tag if ref.tag and ref.digest is None else ""
            unresolved.append(UnresolvedImage(ref.name, str(ref), tag, answer))
            continue
        groups.setdefault((ref.name, answer), []).append(ref)
    targets = []
    for (_, digest), members in groups.items():
        tags = sorted({m.tag for m in members if m.tag and m.digest is None})
        targets.append(AuditTarget(members[0].with_digest(digest), tuple(tags)))
    return targets, unresolved

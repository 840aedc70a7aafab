"""Where things live: the image digest to sign or verify, and its attachment tags."""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from sealgate.errors import InputError, UsageError
from sealgate.files import read_capped
from sealgate.oci import Descriptor, Reference, RegistryClient
from sealgate.oci.mediatypes import DIGEST_RE

__all__ = [
    "ATTACHMENT_SUFFIXES",
    "ATTACHMENT_TAG_PREFIX",
    "ResolvedImage",
    "attachment_ref",
    "pinned_digest",
    "platform_image",
    "read_digest_file",
    "resolve_image",
]

ATTACHMENT_SUFFIXES = ("sig", "att", "sbom")
_MAX_DIGEST_FILE = 1024 * 1024


@dataclass(frozen=True)
class ResolvedImage:
    """An image pinned to a digest. ``descriptor`` is None when the registry was not asked."""

    ref: Reference
    descriptor: Descriptor | None

    @property
    def digest(self) -> str:
        return pinned_digest(self.ref)


def pinned_digest(ref: Reference) -> str:
    """The digest of a reference that must be pinned by now.

    Raises:
        UsageError: ``ref`` carries no digest.
    """
    if ref.digest is None:
        raise UsageError(f"{ref} is not pinned to a digest")
    return ref.digest


def read_digest_file(path: Path) -> str:
    """A digest from a build's metadata: plain ``sha256:...`` text or buildx metadata JSON.

    Raises:
        InputError: the file is unreadable, too large, or holds no single digest.
    """
    raw = read_capped(path, _MAX_DIGEST_FILE, error=InputError, name=f"digest file {path}")
    text = raw.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            meta = json.loads(text)
        except ValueError as err:
            raise InputError(f"digest file {path} is not valid JSON") from err
        # `docker buildx build --metadata-file` writes containerimage.digest.
        value: object = meta.get("containerimage.digest") if isinstance(meta, dict) else None
        if not isinstance(value, str) or not DIGEST_RE.fullmatch(value):
            raise InputError(f"digest file {path} has no containerimage.digest sha256 value")
        return value
    found = set(DIGEST_RE.findall(text))
    if len(found) != 1:
        raise InputError(f"digest file {path} must hold exactly one sha256 digest")
    digest: str = found.pop()
    return digest


def resolve_image(
    client: RegistryClient, ref: Reference, *, digest: str | None = None
) -> ResolvedImage:
    """Pin ``ref`` to a digest. Tags are resolved once; the digest is what gets signed.

    A digest given by the caller (``--digest-file``) or in the reference is used as is, as
    cosign does, so signing works when the registry cannot be asked for the manifest.

    Raises:
        UsageError: the reference's digest and the given digest disagree.
        ImageNotFound: the tag does not exist.
        CheckFailed: the registry could not be asked.
    """
    if digest and ref.digest and digest != ref.digest:
        raise UsageError(f"{ref} conflicts with the digest file's {digest}")
    pinned = digest or ref.digest
    if pinned:
        return ResolvedImage(ref=ref.with_digest(pinned), descriptor=None)
    descriptor = client.resolve(ref)
    return ResolvedImage(ref=ref.with_digest(descriptor.digest), descriptor=descriptor)


#: cosign's ``--attachment-tag-prefix`` for the command in progress (set by the CLI; copy it
#: into worker threads with ``contextvars.copy_context``).
ATTACHMENT_TAG_PREFIX: ContextVar[str] = ContextVar("sealgate_attachment_tag_prefix", default="")


def attachment_ref(
    image: Reference,
    suffix: str,
    *,
    repository: Reference | None = None,
    prefix: str | None = None,
) -> Reference:
    """cosign's tag for an attachment: ``[prefix]sha256-<hex>.<suffix>`` in the same repo.

    ``repository`` is ``COSIGN_REPOSITORY``: all attachments then live in that repository.
    ``prefix`` defaults to :data:`ATTACHMENT_TAG_PREFIX`.
    """
    if prefix is None:
        prefix = ATTACHMENT_TAG_PREFIX.get()
    algorithm, _, hexpart = pinned_digest(image).partition(":")
    tag = f"{prefix}{algorithm}-{hexpart}" + (f".{suffix}" if suffix else "")
    base = repository or image
    return Reference(
        registry=base.registry, repository=base.repository, tag=tag, layout=base.layout
    )


def platform_image(client: RegistryClient, ref: Reference, platform: str) -> Reference:
    """``ref`` narrowed to one platform (cosign's ``--platform os/arch[/variant]``).

    A single-platform image is returned pinned, whatever ``platform`` says, as cosign does.

    Raises:
        UsageError: ``platform`` is malformed or names no platform of the index.
        ImageNotFound: the image does not exist.
        CheckFailed: the registry could not be read.
    """
    from sealgate.oci import INDEX_TYPES, parse_index

    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"--platform {platform!r} is not os/arch[/variant]")
    image = resolve_image(client, ref).ref
    manifest = client.get_manifest(image)
    if manifest.media_type not in INDEX_TYPES:
        return image
    found = []
    for child in parse_index(manifest):
        spec = child.platform or {}
        name = f"{spec.get('os')}/{spec.get('architecture')}"
        if spec.get("variant"):
            name += f"/{spec.get('variant')}"
        found.append(name)
        if name == platform or (len(parts) == 2 and name.startswith(platform + "/")):
            return image.with_digest(child.digest)
    raise UsageError(f"{ref} has no platform {platform} (it has {', '.join(found) or 'none'})")

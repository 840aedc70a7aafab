"""``copy``: an image (every platform) and its ``.sig``/``.att``/``.sbom`` to another repository.

Signatures stay valid after a copy because cosign ignores ``docker-reference`` (its
simple-signing payload check compares digests only) and the copied manifests are
byte-identical, so every digest is unchanged. Blobs stream from source to destination: memory
stays bounded whatever the layer size, and each blob is verified against its digest on the
way through (the upload is cancelled if it does not match).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass, field

from sealgate.errors import MalformedData, UsageError
from sealgate.oci import (
    INDEX_TYPES,
    BodyCutShort,
    Descriptor,
    FetchedManifest,
    Reference,
    RegistryClient,
    parse_index,
)
from sealgate.workflows.targets import ATTACHMENT_SUFFIXES, attachment_ref

__all__ = ["CopyOptions", "CopyReport", "copy_image", "copy_manifest_tree", "image_entities"]

logger = logging.getLogger(__name__)

_MAX_INDEX_DEPTH = 4
#: Bytes read from the source at a time while streaming a blob across.
_COPY_PIECE = 1024 * 1024
#: Times one blob is streamed across when the source cuts its body short.
_BLOB_ATTEMPTS = 3


@dataclass(frozen=True)
class CopyOptions:
    #: Attachment kinds to copy; ``only`` set = those without the image (cosign ``--only``).
    only: frozenset[str] = frozenset()
    force: bool = False
    platform: str | None = None


@dataclass
class CopyReport:
    manifests_copied: list[str] = field(default_factory=list)
    manifests_skipped: list[str] = field(default_factory=list)
    attachments_copied: list[str] = field(default_factory=list)
    blobs_copied: int = 0


class _Copier:
    def __init__(self, src_client: RegistryClient, dst_client: RegistryClient, force: bool):
        self.src_client, self.dst_client, self.force = src_client, dst_client, force
        self.report = CopyReport()

    def _copy_blob(self, src: Reference, dst: Reference, descriptor: Descriptor) -> None:
        for attempt in range(1, _BLOB_ATTEMPTS + 1):
            try:
                if self._stream_blob(src, dst, descriptor):
                    self.report.blobs_copied += 1
                return
            except BodyCutShort:
                # The source dropped the connection mid-body; the upload was cancelled, so
                # nothing half-written is stored. Start the blob over, a bounded number of times.
                if attempt == _BLOB_ATTEMPTS:
                    raise
                logger.info("blob %s cut short; copying it again", descriptor.digest)

    def _stream_blob(self, src: Reference, dst: Reference, descriptor: Descriptor) -> bool:
        """Stream one blob across unless the destination has it; True when bytes were read."""
        mount = src if self.src_client is self.dst_client else None
        opened = False

        def content() -> Generator[bytes, None, None]:
            # Opened only when the destination has the blob neither stored nor mountable
            # (put_blob_stream asks first); the cap is the descriptor's size, which the
            # manifest digest covers, and reading to EOF verifies the source's digest.
            nonlocal opened
            opened = True
            with self.src_client.open_blob(
                src, descriptor.digest, max_bytes=descriptor.size
            ) as blob:
                while piece := blob.read(_COPY_PIECE):
                    yield piece

        with closing(content()) as chunks:
            self.dst_client.put_blob_stream(
                dst, chunks, digest=descriptor.digest, size=descriptor.size, mount_from=mount
            )
        return opened

    def _blobs_of(self, manifest: FetchedManifest) -> Iterable[Descriptor]:
        document = manifest.json()
        config = document.get("config")
        if config is not None:
            yield Descriptor.from_dict(config)
        layers = document.get("layers") or []
        if not isinstance(layers, list):
            raise MalformedData(f"manifest {manifest.digest} has a malformed layers list")
        for layer in layers:
            yield Descriptor.from_dict(layer)

    def copy_manifest(
        self, src: Reference, dst: Reference, manifest: FetchedManifest, depth: int = 0
    ) -> None:
        """Copy ``manifest`` (children and blobs first) to ``dst`` (a tag or a digest)."""
        existing = self.dst_client.get_manifest_or_none(dst)
        if existing is not None and existing.digest == manifest.digest:
            self.report.manifests_skipped.append(str(dst))
            return
        if existing is not None and not self.force and dst.tag is not None:
            raise UsageError(f'image "{dst}" already exists. Use -f to overwrite')
        if manifest.media_type in INDEX_TYPES:
            if depth >= _MAX_INDEX_DEPTH:
                raise MalformedData(f"{src} nests indexes deeper than {_MAX_INDEX_DEPTH}")
            for child in parse_index(manifest):
                child_src = src.with_digest(child.digest)
                child_dst = Reference(
                    dst.registry, dst.repository, digest=child.digest, layout=dst.layout
                )
                child_manifest = self.src_client.get_manifest(child_src)
                self.copy_manifest(child_src, child_dst, child_manifest, depth + 1)
        else:
            for blob in self._blobs_of(manifest):
                self._copy_blob(src, dst, blob)
        self.dst_client.put_manifest(dst, manifest.data, manifest.media_type)
        self.report.manifests_copied.append(str(dst))

    def copy_attachments(
        self, src_image: Reference, dst_repo: Reference, kinds: Iterable[str]
    ) -> None:
        for suffix in kinds:
            src_tag = attachment_ref(src_image, suffix)
            manifest = self.src_client.get_manifest_or_none(src_tag)
            if manifest is None:
                continue  # cosign: a missing attachment is silently skipped
            dst_tag = Reference(
                dst_repo.registry, dst_repo.repository, tag=src_tag.tag, layout=dst_repo.layout
            )
            skipped = len(self.report.manifests_skipped)
            self.copy_manifest(src_tag, dst_tag, manifest)
            if len(self.report.manifests_skipped) == skipped:  # not already there
                self.report.attachments_copied.append(str(dst_tag))


def _entities(
    client: RegistryClient, image: Reference, manifest: FetchedManifest, depth: int = 0
) -> list[Reference]:
    """The image and, for an index, every manifest below it: each may carry attachments."""
    found = [image]
    if manifest.media_type in INDEX_TYPES and depth < _MAX_INDEX_DEPTH:
        for child in parse_index(manifest):
            child_ref = image.with_digest(child.digest)
            found += _entities(client, child_ref, client.get_manifest(child_ref), depth + 1)
    return found


def image_entities(client: RegistryClient, image: Reference) -> list[Reference]:
    """``image`` (pinned) and, for an index, every manifest below it.

    Raises:
        ImageNotFound: the image does not exist.
        CheckFailed: the registry could not be read.
    """
    return _entities(client, image, client.get_manifest(image))


def copy_image(
    src_client: RegistryClient,
    dst_client: RegistryClient,
    src: Reference,
    dst: Reference,
    options: CopyOptions,
) -> CopyReport:
    """cosign ``copy SRC DST [--only sig,att,sbom] [-f]``: idempotent, skips what is there.

    Raises:
        UsageError: DST has a different image under that tag and ``force`` is not set, or
            DST pins a digest other than SRC's.
        ImageNotFound: SRC does not exist.
        CheckFailed: either registry could not be read or written.
    """
    unknown = options.only - set(ATTACHMENT_SUFFIXES)
    if unknown:
        raise UsageError(f"--only accepts sig, att, sbom; got {', '.join(sorted(unknown))}")
    # One GET: by tag the bytes are hashed (never the header trusted), by digest checked.
    manifest = src_client.get_manifest(src)
    pinned = src.with_digest(manifest.digest)
    if dst.digest and dst.digest != manifest.digest:
        raise UsageError(f"{dst} pins a digest other than {src}'s {manifest.digest}")
    copier = _Copier(src_client, dst_client, options.force)
    kinds = sorted(options.only) if options.only else list(ATTACHMENT_SUFFIXES)
    for entity in _entities(src_client, pinned, manifest):
        copier.copy_attachments(entity, dst, kinds)
    if not options.only:
        target = dst if dst.tag or dst.digest else dst.with_tag(src.tag or "latest")
        copier.copy_manifest(pinned, target, manifest)
    return copier.report


def copy_manifest_tree(
    src_client: RegistryClient,
    dst_client: RegistryClient,
    src: Reference,
    dst: Reference,
    manifest: FetchedManifest,
) -> CopyReport:
    """Copy one manifest (an index: its manifests first) and every blob below it to ``dst``.

    Args:
        src_client: Client for the source.
        dst_client: Client for the destination (may be the same).
        src: The source, pinned to ``manifest``'s digest.
        dst: The destination: a digest reference (pushed by digest) or a tag.
        manifest: The manifest, as fetched from ``src``.

    Returns:
        What was copied and what was already there.

    Raises:
        UsageError: ``dst`` is a tag holding another manifest.
        CheckFailed: either registry could not be read or written.
    """
    copier = _Copier(src_client, dst_client, force=False)
    copier.copy_manifest(src, dst, manifest)
    return copier.report

"""``save`` and ``load``: an image with its signatures and attestations, through an OCI layout.

For air gaps: ``save`` copies the image (every platform), its ``.sig``/``.att``/``.sbom`` tags
(cosign 2's storage) and its OCI 1.1 referrers (cosign 3's Sigstore bundles) into an OCI image
layout directory; ``load`` copies all of it from the layout into a registry repository. The
manifests are copied byte for byte, so every digest, and so every signature, still verifies.
In the layout, referrers are listed by the ``<alg>-<hex>`` fallback index tag (OCI
distribution spec, "Referrers Tag Schema"), which any registry without the referrers API also
gets on load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sealgate.errors import UsageError
from sealgate.formats.referrers import add_to_referrers_index
from sealgate.oci import OCI_INDEX, Reference, RegistryClient
from sealgate.workflows.copy import CopyOptions, CopyReport, copy_image, image_entities

__all__ = ["SaveReport", "layout_image", "load_image", "save_image"]

#: Tag of the image in a layout written by ``save`` when the source names none.
DEFAULT_LAYOUT_TAG = "latest"


@dataclass
class SaveReport:
    """What was copied: the image and attachments, and the referrers."""

    copy: CopyReport
    referrers: list[str] = field(default_factory=list)


def layout_image(directory: Path, tag: str | None) -> Reference:
    """The image in the OCI layout at ``directory`` under ``tag``."""
    return Reference(
        registry="",
        repository=str(directory.resolve()),
        tag=tag or DEFAULT_LAYOUT_TAG,
        layout=True,
    )


def _copy_referrers(
    src_client: RegistryClient,
    dst_client: RegistryClient,
    src_image: Reference,
    dst_repo: Reference,
) -> list[str]:
    """Copy every referrer of ``src_image`` and everything below it to ``dst_repo``."""
    copied: list[str] = []
    for entity in image_entities(src_client, src_image):
        digest = entity.digest or ""
        referrers = src_client.referrers(entity)
        if not referrers:
            continue
        subject = Reference(
            dst_repo.registry, dst_repo.repository, digest=digest, layout=dst_repo.layout
        )
        keeps_list = dst_client.has_referrers_api(subject)
        fallback = subject.with_tag(digest.replace(":", "-"))
        for descriptor in referrers:
            source = entity.with_digest(descriptor.digest)
            manifest = src_client.get_manifest(source)
            target = subject.with_digest(descriptor.digest)
            report = copy_image(src_client, dst_client, source, target, CopyOptions())
            copied += [m for m in report.manifests_copied if m not in copied]
            if keeps_list:
                continue
            current = dst_client.get_manifest_or_none(fallback)
            updated = add_to_referrers_index(
                None if current is None else current.data,
                manifest.data,
                artifact_type=descriptor.artifact_type or "",
                annotations=descriptor.annotations or {},
            )
            if updated is not None:
                dst_client.put_manifest(fallback, updated, OCI_INDEX)
    return copied


def save_image(client: RegistryClient, image: Reference, directory: Path) -> SaveReport:
    """cosign ``save IMAGE --dir DIR``.

    Raises:
        ImageNotFound: the image does not exist.
        CheckFailed: the registry or the layout could not be read or written.
    """
    target = layout_image(directory, image.tag)
    report = copy_image(client, client, image, target, CopyOptions(force=True))
    pinned = image.with_digest(client.resolve(image).digest)
    referrers = _copy_referrers(client, client, pinned, target)
    return SaveReport(report, referrers)


def _saved_tag(client: RegistryClient, directory: Path) -> str:
    """The one image tag a ``save``d layout holds (attachment and referrer tags aside)."""
    probe = layout_image(directory, None)
    if not (directory / "index.json").is_file():
        raise UsageError(f"{directory} is not an OCI image layout (no index.json)")
    # sha256-<hex>.sig/.att/.sbom are attachments, sha256-<hex> a referrers fallback index.
    images = [tag for tag in client.list_tags(probe) if not tag.startswith("sha256-")]
    if len(images) != 1:
        raise UsageError(
            f"{directory} holds {len(images)} images ({', '.join(images) or 'none'}); "
            "load takes a layout written by `sealgate save` (one image)"
        )
    return images[0]


def load_image(client: RegistryClient, directory: Path, destination: Reference) -> SaveReport:
    """cosign ``load --dir DIR IMAGE``: the saved image into ``destination``.

    ``destination`` without a tag or digest gets the tag the image was saved under.

    Raises:
        UsageError: the directory is not a layout written by ``save``, or the destination
            tag holds another image.
        CheckFailed: the registry or the layout could not be read or written.
    """
    source = layout_image(directory, _saved_tag(client, directory))
    if destination.tag is None and destination.digest is None:
        destination = destination.with_tag(source.tag or DEFAULT_LAYOUT_TAG)
    report = copy_image(client, client, source, destination, CopyOptions(force=True))
    pinned = source.with_digest(client.resolve(source).digest)
    referrers = _copy_referrers(client, client, pinned, destination)
    return SaveReport(report, referrers)

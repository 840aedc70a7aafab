"""Read and write cosign attachment manifests (``.sig``, ``.att``, ``.sbom``) in a registry."""

from __future__ import annotations

from collections.abc import Sequence

from sealgate.errors import LimitExceeded
from sealgate.formats.cosign_manifest import (
    SignatureLayer,
    build_attachment_manifest,
    manifest_annotations,
    parse_attachment_manifest,
)
from sealgate.formats.cosign_types import DOCKER_MANIFEST_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE
from sealgate.formats.sigstore_bundle import BUNDLE_MEDIA_TYPES
from sealgate.oci import Reference, RegistryClient

__all__ = [
    "MAX_BUNDLE_REFERRERS",
    "fetch_attachment_layers",
    "fetch_bundle_layers",
    "write_attachment",
]

#: Sigstore bundle referrers read per image; more is an attack on the verifier's time, not a
#: signing history (each one costs a manifest and a blob request).
MAX_BUNDLE_REFERRERS = 64


def fetch_attachment_layers(client: RegistryClient, tag_ref: Reference) -> list[SignatureLayer]:
    """All layers of the attachment at ``tag_ref`` with their blobs; [] when the tag is absent.

    Every size is capped by the client's limits (manifest size, layer count, attachment size)
    and every blob is checked against its digest before it is returned.

    Raises:
        CheckFailed: the registry could not be read, or the manifest or a blob is malformed,
            too large, or does not match its digest.
    """
    manifest = client.get_manifest_or_none(tag_ref)
    if manifest is None:
        return []
    limits = client.config
    descriptors = parse_attachment_manifest(manifest.data, max_layers=limits.max_signature_layers)
    # Each blob is capped on its own; the whole attachment is capped too, or 1000 layers of
    # 128 MiB times the worker pool would let anyone who can push a .sig tag exhaust memory.
    total = sum(descriptor.size for descriptor in descriptors)
    if total > limits.max_attachment_bytes:
        raise LimitExceeded(
            f"{tag_ref} declares {total} bytes of layers; limit {limits.max_attachment_bytes}"
        )
    layers = []
    for descriptor in descriptors:
        blob = client.get_blob(tag_ref, descriptor.digest, max_bytes=limits.max_attachment_bytes)
        layers.append(SignatureLayer.from_descriptor(descriptor, blob))
    return layers


def fetch_bundle_layers(client: RegistryClient, image: Reference) -> list[SignatureLayer]:
    """cosign 3's Sigstore bundles attached to ``image`` (pinned) as OCI 1.1 referrers.

    Each referrer whose artifact type is a bundle media type is read: its manifest (capped),
    its one bundle layer (capped, digest-checked), and the manifest annotations (routing hints).
    A registry without the referrers API is read through the ``sha256-<hex>`` fallback index.

    Returns:
        One layer per bundle (media type = the bundle's, payload = the bundle JSON).

    Raises:
        LimitExceeded: More than :data:`MAX_BUNDLE_REFERRERS` bundle referrers.
        CheckFailed: The registry could not be read, or a manifest or blob is malformed.
    """
    descriptors = [
        d for d in client.referrers(image) if (d.artifact_type or "") in BUNDLE_MEDIA_TYPES
    ]
    if len(descriptors) > MAX_BUNDLE_REFERRERS:
        raise LimitExceeded(
            f"{image.name}: {len(descriptors)} bundle referrers; limit {MAX_BUNDLE_REFERRERS}"
        )
    limits = client.config
    layers = []
    for descriptor in descriptors:
        manifest = client.get_manifest(image.with_digest(descriptor.digest))
        parsed = parse_attachment_manifest(manifest.data, max_layers=limits.max_signature_layers)
        bundles = [d for d in parsed if d.media_type in BUNDLE_MEDIA_TYPES]
        if len(bundles) != 1:
            continue  # not a bundle referrer as cosign writes one: nothing to check
        blob = client.get_blob(image, bundles[0].digest, max_bytes=limits.max_attachment_bytes)
        layer = SignatureLayer.from_descriptor(bundles[0], blob)
        layers.append(
            SignatureLayer(layer.media_type, layer.payload, manifest_annotations(manifest.data))
        )
    return layers


def write_attachment(
    client: RegistryClient,
    tag_ref: Reference,
    layers: Sequence[SignatureLayer],
    *,
    docker_media_types: bool = False,
) -> str:
    """Push blobs, config and manifest of an attachment to ``tag_ref``; return its digest.

    Blobs go first so the registry never holds a manifest that points at missing content.
    Existing blobs are not uploaded again.

    Raises:
        CheckFailed: the registry refused or could not be reached.
    """
    manifest, config = build_attachment_manifest(layers, docker_media_types=docker_media_types)
    client.put_blob(tag_ref, config)
    for layer in layers:
        client.put_blob(tag_ref, layer.payload)
    media_type = DOCKER_MANIFEST_MEDIA_TYPE if docker_media_types else OCI_MANIFEST_MEDIA_TYPE
    return client.put_manifest(tag_ref, manifest, media_type)

"""``attach``, ``clean`` and ``generate``: attachments made elsewhere, removed, or prepared.

cosign's ``attach signature`` appends a signature made out of band (an HSM, another machine)
to the ``.sig`` tag; ``attach attestation`` appends DSSE envelopes to ``.att``; ``attach sbom``
replaces the ``.sbom`` tag (cosign ``cmd/cosign/cli/attach``). ``clean`` deletes the tags.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from sealgate.errors import ImageNotFound, InputError, UsageError
from sealgate.formats.cosign_manifest import SignatureLayer, append_layer
from sealgate.formats.cosign_types import (
    DSSE_LAYER_MEDIA_TYPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.simplesigning import build_payload
from sealgate.oci import Reference, RegistryClient
from sealgate.workflows.attachments import fetch_attachment_layers, write_attachment
from sealgate.workflows.targets import attachment_ref, pinned_digest, resolve_image

__all__ = [
    "SBOM_MEDIA_TYPES",
    "AttachResult",
    "attach_attestations",
    "attach_sbom",
    "attach_signature",
    "clean_attachments",
    "signing_payload",
]

#: ``attach sbom --type`` and ``--input-format`` to the layer media type cosign writes
#: (``cmd/cosign/cli/attach/sbom.go`` ``sbomType``).
SBOM_MEDIA_TYPES = {
    ("spdx", "text"): "text/spdx",
    ("spdx", "json"): "text/spdx+json",
    ("spdx", "xml"): "text/spdx+xml",
    ("cyclonedx", "json"): "application/vnd.cyclonedx+json",
    ("cyclonedx", "xml"): "application/vnd.cyclonedx+xml",
    ("cyclonedx", "text"): "application/vnd.cyclonedx",
    ("syft", "json"): "application/vnd.syft+json",
}


@dataclass(frozen=True)
class AttachResult:
    """Where the attachment went and whether anything was added."""

    tag: Reference
    added: int


def signing_payload(
    client: RegistryClient, ref: Reference, annotations: dict[str, str] | None = None
) -> bytes:
    """cosign ``generate``: the simple-signing payload ``sign`` would sign for ``ref``.

    Raises:
        ImageNotFound: the image does not exist.
        CheckFailed: the registry could not be read.
    """
    image = resolve_image(client, ref).ref
    return build_payload(image.name, pinned_digest(image), annotations or None)


def _append(
    client: RegistryClient,
    image: Reference,
    suffix: str,
    new: list[SignatureLayer],
    *,
    repository: Reference | None,
    docker_media_types: bool,
) -> AttachResult:
    tag = attachment_ref(image, suffix, repository=repository)
    existing = fetch_attachment_layers(client, tag)
    layers = list(existing)
    for layer in new:
        if all(
            (old.payload, dict(old.annotations)) != (layer.payload, dict(layer.annotations))
            for old in layers
        ):
            layers = append_layer(layers, layer, None)
    added = len(layers) - len(existing)
    if added:
        write_attachment(client, tag, layers, docker_media_types=docker_media_types)
    return AttachResult(tag, added)


def attach_signature(
    client: RegistryClient,
    ref: Reference,
    signature: bytes,
    payload: bytes | None,
    *,
    repository: Reference | None = None,
    docker_media_types: bool = False,
) -> AttachResult:
    """Append a signature made elsewhere to the image's ``.sig`` tag.

    Args:
        client: The registry client.
        ref: The image (a tag is resolved to its digest).
        signature: The base64 signature (as ``sign --output-signature`` writes it).
        payload: The signed payload; default: the payload ``generate`` prints.
        repository: ``COSIGN_REPOSITORY``.
        docker_media_types: ``COSIGN_DOCKER_MEDIA_TYPES``.

    Raises:
        InputError: the signature is not base64.
        CheckFailed: the registry could not be read or written.
    """
    text = b"".join(signature.split())
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InputError("--signature is not base64") from err
    image = resolve_image(client, ref).ref
    body = payload if payload is not None else signing_payload(client, image)
    layer = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE, body, {SIGNATURE_ANNOTATION: text.decode("ascii")}
    )
    return _append(
        client,
        image,
        "sig",
        [layer],
        repository=repository,
        docker_media_types=docker_media_types,
    )


def _envelope_layer(envelope: bytes, source: str) -> SignatureLayer:
    try:
        document = json.loads(envelope)
        statement = json.loads(base64.b64decode(document["payload"]))
        predicate_type = statement["predicateType"]
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{source} is not a DSSE envelope of an in-toto statement") from err
    if not isinstance(predicate_type, str):
        raise InputError(f"{source}: the statement has no predicateType")
    notes = {SIGNATURE_ANNOTATION: "", PREDICATE_TYPE_ANNOTATION: predicate_type}
    return SignatureLayer(DSSE_LAYER_MEDIA_TYPE, envelope.strip(), notes)


def attach_attestations(
    client: RegistryClient,
    ref: Reference,
    envelopes: list[tuple[str, bytes]],
    *,
    repository: Reference | None = None,
    docker_media_types: bool = False,
) -> AttachResult:
    """Append DSSE envelopes (``attest --no-upload`` output, for one) to the ``.att`` tag.

    Raises:
        InputError: an envelope is not a DSSE envelope of an in-toto statement.
        CheckFailed: the registry could not be read or written.
    """
    layers = [_envelope_layer(data, source) for source, data in envelopes]
    image = resolve_image(client, ref).ref
    return _append(
        client, image, "att", layers, repository=repository, docker_media_types=docker_media_types
    )


def attach_sbom(
    client: RegistryClient,
    ref: Reference,
    sbom: bytes,
    media_type: str,
    *,
    repository: Reference | None = None,
    docker_media_types: bool = False,
) -> AttachResult:
    """Replace the image's ``.sbom`` tag with one layer holding ``sbom``.

    Raises:
        CheckFailed: the registry could not be read or written.
    """
    image = resolve_image(client, ref).ref
    tag = attachment_ref(image, "sbom", repository=repository)
    write_attachment(
        client, tag, [SignatureLayer(media_type, sbom)], docker_media_types=docker_media_types
    )
    return AttachResult(tag, 1)


def clean_attachments(
    client: RegistryClient,
    ref: Reference,
    kinds: tuple[str, ...],
    *,
    repository: Reference | None = None,
) -> list[Reference]:
    """Delete the image's attachment tags of ``kinds`` (``sig``, ``att``, ``sbom``).

    Returns:
        The tags deleted (absent ones are skipped, as cosign does).

    Raises:
        UsageError: an unknown kind.
        CheckFailed: the registry could not be read, or refused the delete.
    """
    unknown = set(kinds) - {"sig", "att", "sbom"}
    if unknown:
        raise UsageError(f"unknown attachment kind {sorted(unknown)[0]!r}")
    image = resolve_image(client, ref).ref
    deleted = []
    for suffix in kinds:
        tag = attachment_ref(image, suffix, repository=repository)
        try:
            client.delete_manifest(tag)
        except ImageNotFound:
            continue
        deleted.append(tag)
    return deleted

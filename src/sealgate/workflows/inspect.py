"""``tree`` and ``download``: what is attached to an image, read without judging it."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from sealgate.errors import ImageNotFound, MalformedData
from sealgate.formats.cosign_manifest import SignatureLayer, parse_attachment_manifest
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    RFC3161_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.oci import Descriptor, Reference, RegistryClient
from sealgate.workflows.attachments import fetch_attachment_layers
from sealgate.workflows.targets import ATTACHMENT_SUFFIXES, attachment_ref, resolve_image

__all__ = ["Attached", "download_lines", "list_attached"]


@dataclass(frozen=True)
class Attached:
    image: Reference
    #: suffix ("sig", "att", "sbom") -> (tag reference, layer digests); only present ones.
    tags: dict[str, tuple[Reference, list[str]]]
    referrers: list[Descriptor]
    #: suffix -> (tag reference, why its manifest is unreadable): shown, not fatal to the rest.
    malformed: dict[str, tuple[Reference, str]] = field(default_factory=dict)


def list_attached(
    client: RegistryClient, ref: Reference, *, repository: Reference | None = None
) -> Attached:
    """Everything attached to ``ref``'s digest: legacy tags and OCI 1.1 referrers.

    An attachment manifest that cannot be read is listed in ``malformed`` rather than
    hiding the others.

    Raises:
        ImageNotFound: the image does not exist.
        CheckFailed: the registry could not be read.
    """
    image = resolve_image(client, ref).ref
    tags = {}
    malformed = {}
    for suffix in ATTACHMENT_SUFFIXES:
        tag = attachment_ref(image, suffix, repository=repository)
        try:
            manifest = client.get_manifest_or_none(tag)
            if manifest is None:
                continue
            layers = parse_attachment_manifest(
                manifest.data, max_layers=client.config.max_signature_layers
            )
        except MalformedData as exc:
            malformed[suffix] = (tag, str(exc))
            continue
        tags[suffix] = (tag, [layer.digest for layer in layers])
    return Attached(image, tags, client.referrers(image), malformed)


def _annotation_json(layer: SignatureLayer, key: str) -> object:
    """An annotation holding JSON (bundle, timestamp), decoded; None when absent.

    Raises:
        MalformedData: the annotation is not valid JSON.
    """
    raw = layer.annotations.get(key)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedData(
            f"signature layer {layer.digest}: annotation {key} is not valid JSON"
        ) from None


def _signature_json(layer: SignatureLayer) -> str:
    """cosign ``download signature``'s line: its ``SignedPayload`` struct, Go field names."""
    annotations = layer.annotations
    record = {
        "Base64Signature": annotations.get(SIGNATURE_ANNOTATION, ""),
        "Payload": base64.b64encode(layer.payload).decode(),
        "Cert": annotations.get(CERTIFICATE_ANNOTATION) or None,
        "Chain": annotations.get(CHAIN_ANNOTATION) or None,
        "Bundle": _annotation_json(layer, BUNDLE_ANNOTATION),
        "RFC3161Timestamp": _annotation_json(layer, RFC3161_ANNOTATION),
    }
    return json.dumps({k: v for k, v in record.items() if v is not None}, separators=(",", ":"))


def download_lines(
    client: RegistryClient, ref: Reference, kind: str, *, repository: Reference | None = None
) -> list[bytes]:
    """cosign ``download signature|attestation|sbom``: one output record per layer.

    Raises:
        ImageNotFound: the image, or the requested attachment, does not exist.
        MalformedData: a signature's bundle or timestamp annotation is not JSON (cosign
            fails the same way: it decodes them into its ``SignedPayload``).
        CheckFailed: the registry could not be read or the attachment is malformed.
    """
    suffix = {"signature": "sig", "attestation": "att", "sbom": "sbom"}[kind]
    image = resolve_image(client, ref).ref
    layers = fetch_attachment_layers(client, attachment_ref(image, suffix, repository=repository))
    if not layers:
        raise ImageNotFound(f"no {kind} attached to {image}")
    if kind == "signature":
        return [
            _signature_json(layer).encode()
            for layer in layers
            if layer.media_type == SIMPLESIGNING_MEDIA_TYPE
        ]
    return [layer.payload for layer in layers]

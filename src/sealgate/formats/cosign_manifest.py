"""The ``.sig`` / ``.att`` / ``.sbom`` attachment manifest, byte-exact with go-containerregistry.

docs/formats.md §1.2: an OCI (or, with ``COSIGN_DOCKER_MEDIA_TYPES``, Docker) image manifest
whose layers are the signatures; the config is ggcr's ``ConfigFile`` of an empty image after
``mutate.Append``.
docs/formats.md §1.6: appending dedupes against existing layers and puts a new signature last.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sealgate.errors import IntegrityError, LimitExceeded, MalformedData, SealgateError
from sealgate.formats import _gojson
from sealgate.formats.cosign_types import (
    DOCKER_CONFIG_MEDIA_TYPE,
    DOCKER_MANIFEST_MEDIA_TYPE,
    OCI_CONFIG_MEDIA_TYPE,
    OCI_MANIFEST_MEDIA_TYPE,
    SIGNATURE_ANNOTATION,
)
from sealgate.formats.dsse import parse_envelope
from sealgate.formats.intoto import parse_statement
from sealgate.keys.protocols import Verifier
from sealgate.oci.mediatypes import is_valid_digest

__all__ = [
    "LayerDescriptor",
    "SignatureLayer",
    "append_layer",
    "build_attachment_manifest",
    "build_config",
    "check_digest",
    "manifest_annotations",
    "parse_attachment_manifest",
    "replace_attestation_layers",
    "sha256_digest",
]

_ZERO_TIME = "0001-01-01T00:00:00Z"
_MANIFEST_TYPES = frozenset({OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE})


def sha256_digest(data: bytes) -> str:
    """Return ``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(value: object, what: str = "digest") -> str:
    """Validate a digest string as go-containerregistry does (``sha256:<64 hex>`` only).

    Args:
        value: The value read from JSON.
        what: Name used in the error message.

    Returns:
        The digest, unchanged.

    Raises:
        MalformedData: If ``value`` is not a well-formed digest.
    """
    if not isinstance(value, str) or not is_valid_digest(value):
        raise MalformedData(f"{what} is not a valid digest")
    return value


@dataclass(frozen=True)
class SignatureLayer:
    """One attachment layer with its blob: what a ``.sig``/``.att`` manifest layer carries.

    Attributes:
        media_type: Layer media type (simple-signing, DSSE envelope, SBOM type...).
        payload: The exact blob bytes (the signed payload or the DSSE envelope).
        annotations: The layer descriptor annotations.
    """

    media_type: str
    payload: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the payload (layer digest and diff_id alike)."""
        return sha256_digest(self.payload)

    @classmethod
    def from_descriptor(cls, descriptor: LayerDescriptor, blob: bytes) -> SignatureLayer:
        """Pair a parsed descriptor with its fetched blob.

        Args:
            descriptor: The layer descriptor from :func:`parse_attachment_manifest`.
            blob: The blob fetched for ``descriptor.digest``.

        Returns:
            The layer.

        Raises:
            IntegrityError: If the blob's size or digest disagrees with the descriptor.
        """
        algorithm = descriptor.digest.split(":", 1)[0]
        actual = f"{algorithm}:{hashlib.new(algorithm, blob).hexdigest()}"
        if actual != descriptor.digest or len(blob) != descriptor.size:
            raise IntegrityError(f"layer blob does not match its descriptor {descriptor.digest}")
        return cls(descriptor.media_type, blob, dict(descriptor.annotations))

    def descriptor_json(self) -> dict[str, Any]:
        """The ggcr ``Descriptor`` for this layer, in Go field order.

        Returns:
            ``{mediaType, size, digest, annotations?}``; annotations sorted, omitted if empty.
        """
        obj: dict[str, Any] = {
            "mediaType": self.media_type,
            "size": len(self.payload),
            "digest": self.digest,
        }
        if self.annotations:
            obj["annotations"] = _gojson.sort_maps(dict(self.annotations))
        return obj


@dataclass(frozen=True)
class LayerDescriptor:
    """A validated layer descriptor read from an attachment manifest."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)


def build_config(layers: Sequence[SignatureLayer]) -> bytes:
    """Build ggcr's config blob for an empty image with ``layers`` appended.

    Args:
        layers: The layers, in manifest order.

    Returns:
        The config JSON (233 bytes for one layer), one history entry and diff_id per layer.
    """
    config = {
        "architecture": "",
        "created": _ZERO_TIME,
        "history": [{"created": _ZERO_TIME} for _ in layers],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
        "config": {},
    }
    if not layers:
        del config["history"]  # `history,omitempty`
    return _gojson.dumps(config)


def build_attachment_manifest(
    layers: Sequence[SignatureLayer], *, docker_media_types: bool = False
) -> tuple[bytes, bytes]:
    """Build the attachment manifest and its config, byte-exact with go-containerregistry.

    Args:
        layers: All layers, in order (use :func:`append_layer` to add a signature).
        docker_media_types: Docker v2 manifest/config types (``COSIGN_DOCKER_MEDIA_TYPES``).

    Returns:
        ``(manifest_bytes, config_bytes)``; push the config blob and payload blobs first.
    """
    config = build_config(layers)
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST_MEDIA_TYPE if docker_media_types else OCI_MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": DOCKER_CONFIG_MEDIA_TYPE if docker_media_types else OCI_CONFIG_MEDIA_TYPE,
            "size": len(config),
            "digest": sha256_digest(config),
        },
        "layers": [layer.descriptor_json() for layer in layers],
    }
    return _gojson.dumps(manifest), config


def _is_duplicate(existing: SignatureLayer, new: SignatureLayer, verifier: Verifier) -> bool:
    """docs/formats.md §1.6 step 2: cosign ``dedupeAndReplace`` / ``dd.Find`` semantics."""
    if existing.media_type != new.media_type or existing.payload != new.payload:
        return False
    for key, value in new.annotations.items():
        if key != SIGNATURE_ANNOTATION and existing.annotations.get(key) != value:
            return False
    try:
        signature = base64.b64decode(
            existing.annotations.get(SIGNATURE_ANNOTATION, ""), validate=True
        )
        verifier.verify(signature, new.payload)
    except (binascii.Error, SealgateError):
        return False
    return True


def append_layer(
    existing_layers: Sequence[SignatureLayer],
    new_layer: SignatureLayer,
    dedupe_verifier: Verifier | None,
) -> list[SignatureLayer]:
    """Append a signature the way cosign does: skip duplicates, otherwise add it LAST.

    Args:
        existing_layers: Layers of the current manifest (empty if the tag did not exist).
        new_layer: The new signature layer.
        dedupe_verifier: The new signer's public key; None disables the duplicate check.

    Returns:
        A new list: ``existing_layers`` unchanged if a duplicate exists, else with ``new_layer``
        appended.
    """
    layers = list(existing_layers)
    # 2. An existing layer with the same payload, media type, non-signature annotations and a
    #    signature valid under the current key is a duplicate: nothing is added.
    if dedupe_verifier is not None and any(
        _is_duplicate(layer, new_layer, dedupe_verifier) for layer in layers
    ):
        return layers
    # 3. mutate.Append: the new layer goes last.
    layers.append(new_layer)
    return layers


def _predicate_type_of(layer: SignatureLayer) -> str | None:
    try:
        return parse_statement(parse_envelope(layer.payload).payload).predicate_type
    except MalformedData:
        return None


def replace_attestation_layers(
    existing_layers: Sequence[SignatureLayer], new_layer: SignatureLayer, predicate_type: str
) -> list[SignatureLayer]:
    """``cosign attest --replace`` (docs/formats.md §1.6): drop same-type attestations, new first.

    Args:
        existing_layers: Layers of the current ``.att`` manifest.
        new_layer: The new attestation layer.
        predicate_type: The new attestation's predicate type URI.

    Returns:
        ``[new_layer]`` followed by every existing layer whose statement has another
        predicateType (layers that cannot be decoded are kept, never silently dropped).
    """
    kept = [layer for layer in existing_layers if _predicate_type_of(layer) != predicate_type]
    return [new_layer, *kept]


def _parse_layer(index: int, raw: object) -> LayerDescriptor:
    what = f"attachment manifest layer {index}"
    if not isinstance(raw, dict):
        raise MalformedData(f"{what} is not a JSON object")
    media_type = raw.get("mediaType")
    if not isinstance(media_type, str) or not media_type:
        raise MalformedData(f"{what} has no mediaType")
    size = raw.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedData(f"{what} has an invalid size")
    annotations = raw.get("annotations")
    annotations = {} if annotations is None else annotations
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise MalformedData(f"{what} annotations are not a string map")
    return LayerDescriptor(
        media_type, check_digest(raw.get("digest"), f"{what} digest"), size, annotations
    )


def parse_attachment_manifest(data: bytes, *, max_layers: int) -> list[LayerDescriptor]:
    """Parse a ``.sig``/``.att``/``.sbom`` manifest into validated layer descriptors.

    Args:
        data: The manifest bytes as fetched.
        max_layers: Maximum number of layers accepted (cosign: 1000).

    Returns:
        The layer descriptors, in manifest order.

    Raises:
        MalformedData: If ``data`` is not an image manifest (JSON object, schemaVersion 2,
            image media type if given, ``layers`` list of valid descriptors).
        LimitExceeded: If there are more than ``max_layers`` layers.
    """
    doc = _gojson.loads(data, "attachment manifest")
    if not isinstance(doc, dict):
        raise MalformedData("attachment manifest is not a JSON object")
    version = doc.get("schemaVersion")
    if version != 2 or isinstance(version, bool):
        raise MalformedData("attachment manifest schemaVersion is not 2")
    media_type = doc.get("mediaType")
    if media_type is not None and (
        not isinstance(media_type, str) or media_type not in _MANIFEST_TYPES
    ):
        raise MalformedData("attachment manifest is not an image manifest")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise MalformedData("attachment manifest has no layers list")
    if len(layers) > max_layers:
        raise LimitExceeded(f"attachment manifest has {len(layers)} layers, limit is {max_layers}")
    return [_parse_layer(index, layer) for index, layer in enumerate(layers)]


def manifest_annotations(data: bytes) -> dict[str, str]:
    """The manifest-level annotations of an image manifest (a cosign 3 referrer's hints).

    Args:
        data: The manifest bytes.

    Returns:
        The string annotations (none: ``{}``).

    Raises:
        MalformedData: Not a JSON object, or annotations that are not a string map.
    """
    doc = _gojson.loads(data, "referrer manifest")
    if not isinstance(doc, dict):
        raise MalformedData("referrer manifest is not a JSON object")
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise MalformedData("referrer manifest annotations are not a string map")
    return annotations

"""OCI 1.1 referrer manifests for Sigstore bundles, and the fallback referrers index.

The referrer is what cosign 3 ``WriteReferrer`` pushes (cosign ``pkg/oci/remote/write.go``): an
OCI image manifest whose config is the empty JSON blob ``{}`` (media type
``application/vnd.oci.empty.v1+json``), whose single layer is the bundle, with ``artifactType``
the bundle media type, ``subject`` the image, and the annotations
``dev.sigstore.bundle.content`` and ``dev.sigstore.bundle.predicateType``.
Serialized like Go's ``json.Marshal`` of cosign's ``referrerManifest``
(go-containerregistry field order, map keys sorted).

Registries without the referrers API get the index tagged ``<alg>-<hex>`` updated instead (OCI
distribution spec, "Pushing Manifests with Subject"): the pushed manifest's descriptor is
appended once, with its ``artifactType`` and, as the spec requires, its annotations
(go-containerregistry leaves the annotations out); descriptors are sorted by digest as
go-containerregistry does, so the index is reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sealgate.errors import MalformedData
from sealgate.formats import _gojson
from sealgate.oci.mediatypes import EMPTY_JSON_DIGEST, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, digest_of

__all__ = [
    "BUNDLE_CONTENT_ANNOTATION",
    "BUNDLE_PREDICATE_TYPE_ANNOTATION",
    "EMPTY_CONFIG",
    "add_to_referrers_index",
    "build_referrer_manifest",
]

BUNDLE_CONTENT_ANNOTATION = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE_TYPE_ANNOTATION = "dev.sigstore.bundle.predicateType"
CREATED_ANNOTATION = "org.opencontainers.image.created"
#: The config blob cosign uploads (its digest is ``EMPTY_JSON_DIGEST``).
EMPTY_CONFIG = b"{}"
_MAX_REFERRERS = 10_000


def _descriptor(media_type: str, digest: str, size: int, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"mediaType": media_type, "size": size, "digest": digest}
    doc.update({k: v for k, v in extra.items() if v})
    return doc


def build_referrer_manifest(
    *,
    artifact_type: str,
    layer: bytes,
    layer_media_type: str,
    subject: Mapping[str, Any],
    annotations: Mapping[str, str],
) -> bytes:
    """The referrer manifest for one artifact layer.

    Args:
        artifact_type: The manifest's ``artifactType`` (the bundle media type).
        layer: The layer blob (the bundle JSON).
        layer_media_type: Its media type.
        subject: ``{"mediaType", "size", "digest"}`` of the image manifest.
        annotations: Manifest annotations.

    Returns:
        The manifest bytes.
    """
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(
            OCI_EMPTY, EMPTY_JSON_DIGEST, len(EMPTY_CONFIG), artifactType=artifact_type
        ),
        "layers": [_descriptor(layer_media_type, digest_of(layer), len(layer))],
        "annotations": dict(sorted(annotations.items())),
        "subject": _descriptor(
            str(subject["mediaType"]), str(subject["digest"]), int(subject["size"])
        ),
        "artifactType": artifact_type,
    }
    return _gojson.dumps(manifest)


def add_to_referrers_index(
    index: bytes | None, manifest: bytes, *, artifact_type: str, annotations: Mapping[str, str]
) -> bytes | None:
    """The fallback index with ``manifest`` added, or None when it is already listed.

    Args:
        index: The current index tagged ``<alg>-<hex>``, or None when there is none.
        manifest: The referrer manifest just pushed.
        artifact_type: Its ``artifactType``.
        annotations: Its annotations (copied into the descriptor).

    Returns:
        The new index bytes, or None when nothing changes.

    Raises:
        MalformedData: the tag holds something other than an OCI image index.
    """
    manifests: list[Any] = []
    if index is not None:
        try:
            doc = json.loads(index)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise MalformedData("the referrers fallback tag is not JSON") from exc
        if (
            not isinstance(doc, dict)
            or doc.get("mediaType") != OCI_INDEX
            or doc.get("schemaVersion") != 2
        ):
            raise MalformedData("the referrers fallback tag is not an OCI image index")
        manifests = doc.get("manifests") or []
        if not isinstance(manifests, list) or len(manifests) >= _MAX_REFERRERS:
            raise MalformedData("the referrers fallback index has no usable manifest list")
    digest = digest_of(manifest)
    if any(isinstance(m, dict) and m.get("digest") == digest for m in manifests):
        return None
    added = _descriptor(
        OCI_MANIFEST,
        digest,
        len(manifest),
        annotations=dict(sorted(annotations.items())),
        artifactType=artifact_type,
    )
    manifests = sorted(
        [*manifests, added], key=lambda m: str(m.get("digest", "")) if isinstance(m, dict) else ""
    )
    return _gojson.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})

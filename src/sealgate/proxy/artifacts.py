"""Which manifests are signatures and attestations, served unverified (pure).

A verifier must read an image's ``.sig``/``.att``/``.sbom`` manifests and bundle referrers
through the proxy, and those carry no signatures of their own. They are recognised by what
they *are*, never by their tag or path: a runnable image pushed under a ``sha256-<hex>.sig``
tag is still a runnable image and is verified like any other. Two shapes pass:

* an image manifest with at least one layer whose every layer is a signature, attestation,
  bundle or SBOM document (cosign's legacy layouts, cosign 3's bundle referrers). Container
  runtimes unpack only filesystem layer types (``tar``, ``tar+gzip``...); a manifest of JSON
  documents cannot run;
* an index whose every entry declares an ``artifactType`` (the referrers fallback index of
  the OCI distribution spec, "Referrers Tag Schema"). Passing it vouches for nothing: each
  manifest it lists is judged on its own when fetched.

Everything else (images, multi-platform indexes, anything unparsable) needs a verdict.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from sealgate.formats.sigstore_bundle import BUNDLE_MEDIA_TYPES
from sealgate.oci import (
    COSIGN_ARTIFACT_SIG,
    DSSE_ENVELOPE,
    INDEX_TYPES,
    INTOTO_ARTIFACT,
    SIGSTORE_BUNDLE,
    SIMPLESIGNING,
)

__all__ = ["ARTIFACT_LAYER_TYPES", "ManifestKind", "classify_manifest", "listed_manifests"]

#: Layer media types of signature, attestation and SBOM artifacts (cosign ``pkg/types``,
#: Sigstore bundle types, SBOM types cosign ``attach sbom`` writes).
ARTIFACT_LAYER_TYPES = frozenset(
    {
        SIMPLESIGNING,
        DSSE_ENVELOPE,
        INTOTO_ARTIFACT,
        SIGSTORE_BUNDLE,
        COSIGN_ARTIFACT_SIG,
        *BUNDLE_MEDIA_TYPES,
        "text/spdx",
        "text/spdx+xml",
        "text/spdx+json",
        "application/spdx+json",
        "application/vnd.cyclonedx",
        "application/vnd.cyclonedx+xml",
        "application/vnd.cyclonedx+json",
        "application/vnd.syft+json",
    }
)

ManifestKind = Literal["artifact", "referrers-index", "image", "index"]


def _document(data: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def classify_manifest(data: bytes, media_type: str | None) -> ManifestKind:
    """What a manifest is, for the proxy's decision.

    Args:
        data: The manifest bytes.
        media_type: The ``Content-Type`` the registry sent (used only when the document
            names none: the document's own ``mediaType`` is covered by its digest).

    Returns:
        ``artifact`` or ``referrers-index`` (served unverified), ``index`` or ``image``
        (verified; an unparsable document is an ``image``, and fails verification).
    """
    document = _document(data)
    if document is None:
        return "image"
    declared = document.get("mediaType")
    kind = declared if isinstance(declared, str) and declared else media_type
    if kind in INDEX_TYPES or "manifests" in document:
        entries = document.get("manifests")
        if (
            isinstance(entries, list)
            and entries
            and all(
                isinstance(entry, dict) and isinstance(entry.get("artifactType"), str)
                for entry in entries
            )
        ):
            return "referrers-index"
        return "index"
    layers = document.get("layers")
    if (
        isinstance(layers, list)
        and layers
        and all(
            isinstance(layer, dict) and layer.get("mediaType") in ARTIFACT_LAYER_TYPES
            for layer in layers
        )
    ):
        return "artifact"
    return "image"


def listed_manifests(data: bytes) -> list[str]:
    """The digests an index lists (``[]`` for anything else or a malformed entry)."""
    document = _document(data)
    entries = document.get("manifests") if document is not None else None
    if not isinstance(entries, list):
        return []
    return [
        entry["digest"]
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("digest"), str)
    ]

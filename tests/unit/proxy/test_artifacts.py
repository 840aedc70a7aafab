"""What the proxy serves without a verdict: signature artifacts, by content only."""

from __future__ import annotations

import json

from sealgate.oci import (
    DSSE_ENVELOPE,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    SIGSTORE_BUNDLE,
    SIMPLESIGNING,
)
from sealgate.proxy.artifacts import classify_manifest, listed_manifests

D = "sha256:" + "b" * 64


def _manifest(*layer_types: str, config: str = OCI_CONFIG) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config, "digest": D, "size": 2},
            "layers": [{"mediaType": t, "digest": D, "size": 1} for t in layer_types],
        }
    ).encode()


def test_cosign_layouts_and_bundle_referrers_are_artifacts() -> None:
    assert classify_manifest(_manifest(SIMPLESIGNING, SIMPLESIGNING), None) == "artifact"
    assert classify_manifest(_manifest(DSSE_ENVELOPE), None) == "artifact"
    assert classify_manifest(_manifest("text/spdx+json"), None) == "artifact"
    assert classify_manifest(_manifest(SIGSTORE_BUNDLE, config=OCI_EMPTY), None) == "artifact"


def test_anything_runnable_or_unclear_is_an_image() -> None:
    assert classify_manifest(_manifest(OCI_LAYER_GZIP), None) == "image"
    # One filesystem layer among signature layers is enough to need a verdict.
    assert classify_manifest(_manifest(SIMPLESIGNING, OCI_LAYER_GZIP), None) == "image"
    assert classify_manifest(_manifest(), None) == "image"
    assert classify_manifest(b"not json", OCI_MANIFEST) == "image"
    assert classify_manifest(b"[1, 2]", OCI_MANIFEST) == "image"


def test_only_an_index_of_artifacts_passes_unverified() -> None:
    referrers = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": D, "size": 9, "artifactType": "x"}],
    }
    assert classify_manifest(json.dumps(referrers).encode(), None) == "referrers-index"
    platforms = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": D, "size": 9, "artifactType": "x"},
            {"mediaType": OCI_MANIFEST, "digest": D, "size": 9, "platform": {"os": "linux"}},
        ],
    }
    assert classify_manifest(json.dumps(platforms).encode(), OCI_INDEX) == "index"
    empty = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    assert classify_manifest(json.dumps(empty).encode(), None) == "index"
    assert listed_manifests(json.dumps(platforms).encode()) == [D, D]
    assert listed_manifests(b"{") == []

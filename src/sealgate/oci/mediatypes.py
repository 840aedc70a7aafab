"""Media types sealgate reads and writes, and the one digest function.

Constants are the exact strings on the wire (OCI image-spec, Docker distribution
schema 2, cosign, Sigstore); nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "COSIGN_ARTIFACT_SIG",
    "CYCLONEDX_JSON",
    "DIGEST_RE",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DSSE_ENVELOPE",
    "EMPTY_JSON_DIGEST",
    "IMAGE_MANIFEST_TYPES",
    "INDEX_TYPES",
    "INTOTO_ARTIFACT",
    "MANIFEST_ACCEPT",
    "MANIFEST_TYPES",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "SIGSTORE_BUNDLE",
    "SIMPLESIGNING",
    "SPDX_JSON",
    "digest_of",
    "is_valid_digest",
]

# --- manifests and indexes ------------------------------------------------------------------
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

#: Types that list other manifests (multi-platform images, referrers fallback indexes).
INDEX_TYPES: frozenset[str] = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
#: Types that describe one image (config + layers).
IMAGE_MANIFEST_TYPES: frozenset[str] = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MANIFEST_TYPES: frozenset[str] = INDEX_TYPES | IMAGE_MANIFEST_TYPES

#: The ``Accept`` list for manifest requests. Without the index types a registry would
#: down-convert or pick a platform for us, and the digest we sign would be the wrong one.
MANIFEST_ACCEPT: list[str] = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST]

# --- configs --------------------------------------------------------------------------------
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
#: The OCI empty descriptor type (blob ``{}``), used as config of artifacts.
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

# --- layers ---------------------------------------------------------------------------------
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

# --- signatures and attestations ----------------------------------------------------------
#: cosign legacy ``.sig`` layer (cosign ``pkg/types/media.go`` SimpleSigningMediaType).
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
#: cosign legacy ``.att`` layer: a DSSE envelope (cosign ``pkg/types/payload.go``).
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
#: Sigstore bundle v0.3 referrer layer and artifactType (sigstore protobuf-specs).
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: Experimental cosign signatures stored as OCI 1.1 referrers.
COSIGN_ARTIFACT_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
#: In-toto statement; also the DSSE ``payloadType`` of every cosign attestation.
INTOTO_ARTIFACT = "application/vnd.in-toto+json"

# --- SBOM documents -------------------------------------------------------------------------
#: CycloneDX JSON (https://cyclonedx.org/specification/overview/, "Media Types").
CYCLONEDX_JSON = "application/vnd.cyclonedx+json"
#: SPDX 2.3 JSON (SPDX specification 2.3, annex "SPDX File Format": ``application/spdx+json``).
SPDX_JSON = "application/spdx+json"

DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")


def digest_of(data: bytes) -> str:
    """Return the OCI digest (``sha256:<hex>``) of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_valid_digest(value: object) -> bool:
    """Tell whether ``value`` is a ``sha256:<64 lowercase hex>`` digest string."""
    return isinstance(value, str) and DIGEST_RE.fullmatch(value) is not None

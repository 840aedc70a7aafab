"""cosign's wire constants: media types, annotation keys, payload types and tag suffixes.

Annotation keys and payload types are cosign-specific and live here; values are copied from
cosign ``pkg/oci/static/signature.go`` and ``pkg/types/payload.go``. Media types have one
source of truth, :mod:`sealgate.oci.mediatypes`; the cosign-flavoured names below are
aliases of those constants, kept for the modules that speak cosign's vocabulary.
"""

from __future__ import annotations

from typing import Final

from sealgate.oci.mediatypes import (
    DOCKER_CONFIG,
    DOCKER_MANIFEST,
    DSSE_ENVELOPE,
    INTOTO_ARTIFACT,
    OCI_CONFIG,
    OCI_MANIFEST,
    SIMPLESIGNING,
)

__all__ = [
    "BUNDLE_ANNOTATION",
    "BUNDLE_CONTENT_ANNOTATION",
    "BUNDLE_PREDICATE_TYPE_ANNOTATION",
    "CERTIFICATE_ANNOTATION",
    "CHAIN_ANNOTATION",
    "COSIGN_SIGNATURE_TYPE",
    "COSIGN_SIGN_PREDICATE_TYPE",
    "DOCKER_CONFIG_MEDIA_TYPE",
    "DOCKER_MANIFEST_MEDIA_TYPE",
    "DSSE_LAYER_MEDIA_TYPE",
    "INTOTO_PAYLOAD_TYPE",
    "OCI_CONFIG_MEDIA_TYPE",
    "OCI_MANIFEST_MEDIA_TYPE",
    "PREDICATE_TYPE_ANNOTATION",
    "RFC3161_ANNOTATION",
    "SIGNATURE_ANNOTATION",
    "SIMPLESIGNING_MEDIA_TYPE",
    "TAG_SUFFIX_ATTESTATION",
    "TAG_SUFFIX_SBOM",
    "TAG_SUFFIX_SIGNATURE",
]

#: Layer media type of an image signature (simple-signing payload).
SIMPLESIGNING_MEDIA_TYPE: Final = SIMPLESIGNING
#: Layer media type of a legacy ``.att`` attestation (DSSE envelope JSON).
DSSE_LAYER_MEDIA_TYPE: Final = DSSE_ENVELOPE
#: The only DSSE ``payloadType`` cosign accepts for attestations.
INTOTO_PAYLOAD_TYPE: Final = INTOTO_ARTIFACT
#: ``critical.type`` of every cosign simple-signing payload.
COSIGN_SIGNATURE_TYPE: Final = "cosign container image signature"

OCI_MANIFEST_MEDIA_TYPE: Final = OCI_MANIFEST
OCI_CONFIG_MEDIA_TYPE: Final = OCI_CONFIG
DOCKER_MANIFEST_MEDIA_TYPE: Final = DOCKER_MANIFEST
DOCKER_CONFIG_MEDIA_TYPE: Final = DOCKER_CONFIG

#: Standard base64 of the raw signature; ``""`` on attestation layers.
SIGNATURE_ANNOTATION: Final = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION: Final = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION: Final = "dev.sigstore.cosign/chain"
#: JSON of the Rekor bundle (``SignedEntryTimestamp`` + ``Payload``).
BUNDLE_ANNOTATION: Final = "dev.sigstore.cosign/bundle"
RFC3161_ANNOTATION: Final = "dev.sigstore.cosign/rfc3161timestamp"
#: cosign 3 bundle referrers: the statement's predicate type, and what the bundle holds
#: (``dsse-envelope`` or ``message-signature``); routing hints only, never trusted.
BUNDLE_PREDICATE_TYPE_ANNOTATION: Final = "dev.sigstore.bundle.predicateType"
BUNDLE_CONTENT_ANNOTATION: Final = "dev.sigstore.bundle.content"
#: The predicate type of a cosign 3 image signature (an in-toto v1 statement in a bundle).
COSIGN_SIGN_PREDICATE_TYPE: Final = "https://sigstore.dev/cosign/sign/v1"
#: Attestation layers only: the statement's predicate type URI.
PREDICATE_TYPE_ANNOTATION: Final = "predicateType"

TAG_SUFFIX_SIGNATURE: Final = "sig"
TAG_SUFFIX_ATTESTATION: Final = "att"
TAG_SUFFIX_SBOM: Final = "sbom"

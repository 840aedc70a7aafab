"""sealgate.oci: references, media types and the registry client (the only HTTP user).

Public surface (docs/CONTRACTS.md): :class:`Reference`, :class:`RegistryClient`,
:class:`Descriptor`, :class:`FetchedManifest`, the transport seam
:class:`RegistryBackend`/:class:`Body`/:class:`BlobSource`/:class:`BodyCutShort`, and the
media-type constants.
"""

from __future__ import annotations

from sealgate.oci.backend import BlobSource, Body, BodyCutShort, RegistryBackend
from sealgate.oci.client import RegistryClient
from sealgate.oci.descriptor import Descriptor, FetchedManifest, parse_index
from sealgate.oci.mediatypes import (
    COSIGN_ARTIFACT_SIG,
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DSSE_ENVELOPE,
    EMPTY_JSON_DIGEST,
    IMAGE_MANIFEST_TYPES,
    INDEX_TYPES,
    INTOTO_ARTIFACT,
    MANIFEST_ACCEPT,
    MANIFEST_TYPES,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    SIGSTORE_BUNDLE,
    SIMPLESIGNING,
    digest_of,
    is_valid_digest,
)
from sealgate.oci.reference import DOCKER_HUB, Reference

__all__ = [
    "COSIGN_ARTIFACT_SIG",
    "DOCKER_CONFIG",
    "DOCKER_HUB",
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
    "OCI_MANIFEST",
    "SIGSTORE_BUNDLE",
    "SIMPLESIGNING",
    "BlobSource",
    "Body",
    "BodyCutShort",
    "Descriptor",
    "FetchedManifest",
    "Reference",
    "RegistryBackend",
    "RegistryClient",
    "digest_of",
    "is_valid_digest",
    "parse_index",
]

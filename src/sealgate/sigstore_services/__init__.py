"""Clients for the Sigstore services a signer talks to: Fulcio, Rekor, RFC 3161 TSAs, OIDC.

A foundation package (beside :mod:`sealgate.oci`, :mod:`sealgate.keys`, :mod:`sealgate.trust`)
and, with :mod:`sealgate.oci`, the only one that sends HTTP requests. It moves bytes with caps,
deadlines and errors from :mod:`sealgate.errors`; what the answers mean is checked above it
(:mod:`sealgate.formats`, :mod:`sealgate.sigstore_checks`). It never reads the environment:
the CLI passes token sources and URLs down. docs/adr/0005-keyless-signing.md explains it.
"""

from sealgate.sigstore_services.fulcio import FulcioClient
from sealgate.sigstore_services.rekor import RekorClient
from sealgate.sigstore_services.signing_config import (
    Selection,
    ServiceEndpoint,
    SigningConfig,
    parse_signing_config,
    select_services,
)
from sealgate.sigstore_services.timestamps import TimestampClient
from sealgate.sigstore_services.tokens import (
    IdentityToken,
    azure_devops_token,
    buildkite_token,
    github_actions_token,
)
from sealgate.sigstore_services.transport import ServiceResponse, ServiceTransport, public_url

__all__ = [
    "FulcioClient",
    "IdentityToken",
    "RekorClient",
    "Selection",
    "ServiceEndpoint",
    "ServiceResponse",
    "ServiceTransport",
    "SigningConfig",
    "TimestampClient",
    "azure_devops_token",
    "buildkite_token",
    "github_actions_token",
    "parse_signing_config",
    "public_url",
    "select_services",
]

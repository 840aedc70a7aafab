"""sealgate.checks: the pure verification core (signatures, attestations, transparency log)."""

from sealgate.checks.attestations import (
    NoMatchingAttestations,
    VerifiedAttestation,
    verify_attestation_layer,
    verify_attestation_set,
)
from sealgate.checks.signatures import (
    VerifiedSignature,
    render_cosign_json,
    verify_signature_layer,
    verify_signature_set,
)
from sealgate.checks.tlog import RekorKey, TlogInvalid, TlogPolicy, verify_rekor_bundle, verify_set

__all__ = [
    "NoMatchingAttestations",
    "RekorKey",
    "TlogInvalid",
    "TlogPolicy",
    "VerifiedAttestation",
    "VerifiedSignature",
    "render_cosign_json",
    "verify_attestation_layer",
    "verify_attestation_set",
    "verify_rekor_bundle",
    "verify_set",
    "verify_signature_layer",
    "verify_signature_set",
]

"""sealgate.policy: the one policy model and its evaluation (pure: no I/O, time injected).

The gate, ``verify``/``verify-attestation``, and the coming admission webhook and registry
proxy read their trust settings into :class:`Policy` and evaluate it with
:func:`evaluate_signatures` / :func:`evaluate_attestation`; none keeps rules of its own.
"""

from sealgate.policy.evaluate import (
    AttestationVerdict,
    NoMatchingAttestations,
    SignatureVerdict,
    evaluate_attestation,
    evaluate_signatures,
)
from sealgate.policy.fingerprint import policy_fingerprint
from sealgate.policy.model import AttestationRule, Policy

__all__ = [
    "AttestationRule",
    "AttestationVerdict",
    "NoMatchingAttestations",
    "Policy",
    "SignatureVerdict",
    "evaluate_attestation",
    "evaluate_signatures",
    "policy_fingerprint",
]

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
from sealgate.policy.explain import explain, explain_all, requirement_outcome
from sealgate.policy.fingerprint import policy_fingerprint, policy_set_fingerprint
from sealgate.policy.matching import ImageDecision, ImagePolicy, PolicySet, decide
from sealgate.policy.model import AttestationRule, Policy

__all__ = [
    "AttestationRule",
    "AttestationVerdict",
    "ImageDecision",
    "ImagePolicy",
    "NoMatchingAttestations",
    "Policy",
    "PolicySet",
    "SignatureVerdict",
    "decide",
    "evaluate_attestation",
    "evaluate_signatures",
    "explain",
    "explain_all",
    "policy_fingerprint",
    "policy_set_fingerprint",
    "requirement_outcome",
]

"""Every per-signature result of a policy over stored layers, whether the policy passes or not.

``audit`` and ``resign`` ask "who signed each of these?", not "does the image pass?". The policy
evaluator keeps every result either way (on the verdict, or on the failure it raises); these
helpers return them in both cases, so the two commands use the one pipeline without a policy
decision getting in the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sealgate.checks.pipeline import SignatureResult
from sealgate.errors import AttestationMissing, NoMatchingSignatures, NoSignaturesFound
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.intoto import Statement
from sealgate.formats.simplesigning import SimpleSigningPayload
from sealgate.policy import (
    AttestationRule,
    NoMatchingAttestations,
    Policy,
    evaluate_attestation,
    evaluate_signatures,
)

__all__ = ["attestation_results", "signature_results"]

# Any predicate type will do: the evaluator checks every attestation before it filters by type,
# and the results it returns cover all of them.
_ANY_RULE = AttestationRule(name="any", predicate_type="https://sealgate.invalid/any")


def signature_results(
    layers: Sequence[SignatureLayer], policy: Policy, digest: str, reference_time: datetime
) -> tuple[SignatureResult[SimpleSigningPayload], ...]:
    """One result per image signature among ``layers`` (others ignored), passing or not.

    Raises:
        CheckFailed: an authority's own trust material was unusable.
    """
    try:
        verdict = evaluate_signatures(
            layers, policy, image_digest=digest, reference_time=reference_time
        )
    except NoMatchingSignatures as failure:
        # The evaluator puts this pipeline's results there (typed loosely in errors.py).
        return tuple(r for r in failure.results if isinstance(r, SignatureResult))
    except NoSignaturesFound:
        return ()
    return verdict.results


def attestation_results(
    layers: Sequence[SignatureLayer], policy: Policy, digest: str, reference_time: datetime
) -> tuple[SignatureResult[Statement], ...]:
    """One result per attestation among ``layers`` (others ignored), passing or not.

    Raises:
        CheckFailed: an authority's own trust material was unusable.
    """
    try:
        verdict = evaluate_attestation(
            layers, policy, _ANY_RULE, image_digest=digest, reference_time=reference_time
        )
    except NoMatchingAttestations as failure:
        return failure.results
    except AttestationMissing:
        return ()
    return verdict.results

"""Policy results as reports show them: per-authority answers and JSON-able explanations.

:func:`requirement_outcome` turns what the one pipeline found (verdicts, or the error with its
per-signature results) into a :class:`~sealgate.policy.matching.RequirementOutcome` that says,
for every authority, whether it vouched or why not. :func:`explain` renders a decision as a
plain dict (the ``policy test -o json`` shape, reused by the gate and the admission webhook).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sealgate.checks.authorities import Authority
from sealgate.checks.pipeline import SignatureResult
from sealgate.errors import SealgateError
from sealgate.policy.evaluate import AttestationVerdict, SignatureVerdict
from sealgate.policy.matching import (
    AuthorityResult,
    ImageDecision,
    PolicyOutcome,
    Requirement,
    RequirementOutcome,
)

__all__ = [
    "EXPLAIN_SCHEMA_VERSION",
    "explain",
    "explain_all",
    "requirement_outcome",
    "validity_not_after",
]

EXPLAIN_SCHEMA_VERSION = 1


def _authorities(requirement: Requirement) -> list[Authority]:
    seen: dict[str, Authority] = {}
    policy = requirement.policy
    pool: list[Authority] = list(policy.authorities) if requirement.signatures else []
    for rule in policy.attestations:
        pool.extend(policy.attestation_authorities(rule))
    for authority in pool:
        seen.setdefault(authority.id, authority)
    return list(seen.values())


def _per_authority(
    requirement: Requirement, results: Sequence[SignatureResult[Any]]
) -> tuple[AuthorityResult, ...]:
    out = []
    for authority in _authorities(requirement):
        vouched = [
            r.label
            for r in results
            if r.ok and any(a.authority == authority.id for a in r.accepted)
        ]
        if vouched:
            out.append(AuthorityResult(authority.name, True, "vouched for " + ", ".join(vouched)))
            continue
        reasons = [
            rejection.error.message
            for r in results
            for rejection in r.rejected
            if rejection.authority == authority.id
        ]
        accepted_elsewhere = [
            r for r in results if any(a.authority == authority.id for a in r.accepted)
        ]
        if not reasons and accepted_elsewhere:
            reasons = [r.error.message for r in accepted_elsewhere if r.error is not None]
        detail = "; ".join(dict.fromkeys(reasons)) if reasons else "no signature to check"
        out.append(AuthorityResult(authority.name, False, detail))
    return tuple(out)


def validity_not_after(results: Sequence[SignatureResult[Any]]) -> datetime | None:
    """When the passing signatures stop being valid, as far as their certificates say.

    A signature accepted without a signing time (no log entry or timestamp) had its
    certificate and chain checked at the reference time, so the pass holds only until the
    first of them expires. One accepted at a proven signing time does not depend on "now".

    Args:
        results: Per-signature results; only accepted ones count.

    Returns:
        The earliest such expiry, or None when nothing relied on expires.
    """
    bounds = [
        cert.not_valid_after_utc
        for r in results
        if r.ok and r.thing is not None and r.thing.certificate is not None
        if any(a.signing_time is None for a in r.accepted)
        for cert in (r.thing.certificate, *r.thing.chain)
    ]
    return min(bounds) if bounds else None


def _evidence(
    signatures: SignatureVerdict | None, attestations: Sequence[AttestationVerdict]
) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    if signatures is not None:
        evidence["signatures"] = [
            {"id": r.thing.layer_digest if r.thing else r.label, "subject": a.signer, "issuer": ""}
            for r in signatures.verified
            for a in r.accepted[:1]
        ]
    if attestations:
        evidence["attestations"] = {
            v.rule.name: [
                {
                    "id": r.thing.layer_digest if r.thing else r.label,
                    "predicateType": v.rule.predicate_type,
                    "subject": r.accepted[0].signer if r.accepted else "",
                    "issuer": "",
                }
                for r in v.matching
            ]
            for v in attestations
        }
    return evidence


def requirement_outcome(
    requirement: Requirement,
    *,
    signatures: SignatureVerdict | None = None,
    attestations: Sequence[AttestationVerdict] = (),
    error: SealgateError | None = None,
) -> RequirementOutcome:
    """Summarise one requirement's verification.

    Args:
        requirement: The requirement.
        signatures: The signature verdict, when signatures were verified and passed.
        attestations: The attestation verdicts that passed.
        error: Why verification failed (its ``results``, when present, name each signature).

    Returns:
        The outcome with per-authority results.
    """
    results: list[SignatureResult[Any]] = []
    if signatures is not None:
        results.extend(signatures.results)
    for verdict in attestations:
        results.extend(verdict.results)
    if error is not None:
        results.extend(r for r in getattr(error, "results", ()) if isinstance(r, SignatureResult))
        return RequirementOutcome.from_error(
            requirement.label, error, authorities=_per_authority(requirement, results)
        )
    passed_by = sorted(
        {a for v in attestations for a in v.authorities}
        | set(signatures.authorities if signatures else ())
    )
    names = {a.id: a.name for a in _authorities(requirement)} | {
        a.id: a.name for a in requirement.policy.authorities
    }
    detail = (
        "vouched by " + ", ".join(names.get(a, a) for a in passed_by) if passed_by else "passed"
    )
    return RequirementOutcome(
        requirement.label,
        True,
        detail,
        authorities=_per_authority(requirement, results),
        evidence=_evidence(signatures, attestations),
        not_after=validity_not_after(results),
    )


def _policy(outcome: PolicyOutcome) -> dict[str, Any]:
    return {
        "name": outcome.policy.name,
        "source": outcome.policy.source,
        "mode": outcome.mode,
        "passed": outcome.passed,
        "failures": list(outcome.failures),
        "notes": list(outcome.policy.notes),
        "groups": [
            {
                "label": group.label,
                "passed": group.passed,
                "requirements": [
                    {
                        "label": r.label,
                        "passed": r.passed,
                        "detail": r.detail,
                        "reason": r.reason or None,
                        "couldNotCheck": r.could_not_check,
                        "authorities": [
                            {"name": a.name, "passed": a.passed, "detail": a.detail}
                            for a in r.authorities
                        ],
                    }
                    for r in group.requirements
                ],
            }
            for group in outcome.groups
        ],
    }


def explain(decision: ImageDecision) -> dict[str, Any]:
    """One image's decision as a JSON-able dict (no key material, no credentials)."""
    resource = decision.resource
    return {
        "image": decision.image,
        "decision": decision.decision,
        "admitted": decision.admitted,
        "resource": None
        if resource.implicit
        else {
            "kind": resource.kind,
            "apiVersion": resource.api_version,
            "namespace": resource.namespace,
            "name": resource.name,
        },
        "matchedPolicies": [o.policy.name for o in decision.matched],
        "policies": [_policy(o) for o in decision.matched],
        "notApplied": [{"name": n, "why": why} for n, why in decision.not_matched],
        "reasons": list(decision.reasons),
    }


def explain_all(decisions: Sequence[ImageDecision]) -> dict[str, Any]:
    """Every decision, with a summary."""
    admitted = sum(1 for d in decisions if d.admitted)
    return {
        "schemaVersion": EXPLAIN_SCHEMA_VERSION,
        "admitted": admitted,
        "denied": len(decisions) - admitted,
        "images": [explain(d) for d in decisions],
    }

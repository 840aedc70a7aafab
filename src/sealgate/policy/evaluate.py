"""Evaluate a policy over the layers attached to one image.

Pure: the caller fetched the ``.sig``/``.att`` layers and resolved the image digest; this module
runs the one pipeline (:mod:`sealgate.checks.pipeline`) with the policy's authorities, then
applies the combination rule of :mod:`sealgate.policy.model`. Every result is kept, passing or
not, so an audit or an admission message can say which authority accepted what, or why not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sealgate.checks.authorities import Authority, CheckContext, StaticAuthority
from sealgate.checks.claims import image_signature_claims, statement_claims
from sealgate.checks.conditions import ConditionFailed, check_conditions
from sealgate.checks.pipeline import SignatureResult, check_layers
from sealgate.checks.signed import SignedThing, bundle_layer, dsse_layer, simplesigning_layer
from sealgate.errors import (
    AttestationMissing,
    NoMatchingSignatures,
    NoSignaturesFound,
    PolicyDenied,
    VerificationFailed,
)
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_PREDICATE_TYPE_ANNOTATION,
    COSIGN_SIGN_PREDICATE_TYPE,
    DSSE_LAYER_MEDIA_TYPE,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.intoto import Statement
from sealgate.formats.sigstore_bundle import BUNDLE_MEDIA_TYPES
from sealgate.formats.simplesigning import SimpleSigningPayload
from sealgate.policy.model import AttestationRule, Policy

__all__ = [
    "AttestationVerdict",
    "NoMatchingAttestations",
    "SignatureVerdict",
    "evaluate_attestation",
    "evaluate_signatures",
]


class NoMatchingAttestations(AttestationMissing):
    """Attestations exist but none passed, or none has the required predicate type."""

    def __init__(
        self,
        message: str,
        failures: list[VerificationFailed] | None = None,
        results: Sequence[SignatureResult[Statement]] = (),
    ) -> None:
        super().__init__(message)
        self.failures: list[VerificationFailed] = failures or []
        self.results = tuple(results)


@dataclass(frozen=True)
class SignatureVerdict:
    """Image signatures that satisfy a policy.

    Attributes:
        results: One result per signature layer, in layer order (failed ones included).
        authorities: Distinct ids of the authorities that vouched (static ones included).
    """

    results: tuple[SignatureResult[SimpleSigningPayload], ...]
    authorities: tuple[str, ...]

    @property
    def verified(self) -> tuple[SignatureResult[SimpleSigningPayload], ...]:
        """The signatures that passed every check, in layer order."""
        return tuple(r for r in self.results if r.ok)


@dataclass(frozen=True)
class AttestationVerdict:
    """Attestations that satisfy one attestation rule.

    Attributes:
        rule: The rule.
        results: One result per attestation layer (failed ones and other types included).
        matching: The verified attestations of the rule's predicate type (all met the
            conditions).
        authorities: Distinct ids of the authorities that signed ``matching``.
    """

    rule: AttestationRule
    results: tuple[SignatureResult[Statement], ...]
    matching: tuple[SignatureResult[Statement], ...]
    authorities: tuple[str, ...]


def _bundle_predicate(layer: SignatureLayer) -> str | None:
    """The predicate type a bundle referrer announces (routing only: claims check the real one)."""
    return layer.annotations.get(BUNDLE_PREDICATE_TYPE_ANNOTATION)


def _is_signature(layer: SignatureLayer) -> bool:
    if layer.media_type in BUNDLE_MEDIA_TYPES:
        return _bundle_predicate(layer) in (None, COSIGN_SIGN_PREDICATE_TYPE)
    return layer.media_type == SIMPLESIGNING_MEDIA_TYPE


def _is_attestation(layer: SignatureLayer) -> bool:
    if layer.media_type in BUNDLE_MEDIA_TYPES:
        return _bundle_predicate(layer) != COSIGN_SIGN_PREDICATE_TYPE
    return layer.media_type == DSSE_LAYER_MEDIA_TYPE


def _read_signature(layer: SignatureLayer, label: str) -> SignedThing:
    if layer.media_type in BUNDLE_MEDIA_TYPES:
        return bundle_layer(layer, label)
    return simplesigning_layer(layer, label)


def _read_attestation(layer: SignatureLayer, label: str) -> SignedThing:
    if layer.media_type in BUNDLE_MEDIA_TYPES:
        return bundle_layer(layer, label)
    return dsse_layer(layer, label)


def _distinct(results: Sequence[SignatureResult[Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for result in results:
        if result.ok:
            for acceptance in result.accepted:
                seen.setdefault(acceptance.authority, None)
    return list(seen)


def _failures(results: Sequence[SignatureResult[Any]]) -> list[VerificationFailed]:
    return [r.error for r in results if isinstance(r.error, VerificationFailed)]


def _reasons(results: Sequence[SignatureResult[Any]]) -> str:
    return "; ".join(r.error.message for r in results if r.error is not None)


def _static_refusal(authorities: Sequence[Authority]) -> PolicyDenied | None:
    """A policy whose only authorities are static ``fail`` refuses everything."""
    refusals = [a for a in authorities if isinstance(a, StaticAuthority) and a.action == "fail"]
    if refusals and len(refusals) == len(authorities):
        return PolicyDenied(refusals[0].refusal())
    return None


def evaluate_signatures(
    layers: Sequence[SignatureLayer],
    policy: Policy,
    *,
    image_digest: str,
    reference_time: datetime,
) -> SignatureVerdict:
    """Check every image signature against the policy's authorities and apply its threshold.

    Args:
        layers: All layers of the image's ``.sig`` attachment (non-signature layers ignored).
        policy: The policy.
        image_digest: ``sha256:<hex>`` of the image manifest.
        reference_time: "Now" for every validity window.

    Returns:
        The verdict (at least ``threshold`` distinct authorities vouched).

    Raises:
        PolicyDenied: The policy's only authorities are static ``fail``.
        NoSignaturesFound: No signature layer, and no static ``pass`` authority.
        NoMatchingSignatures: Too few distinct authorities accepted a valid signature;
            ``failures`` and ``results`` say why for each signature.
        CheckFailed: An authority's own trust material was unusable.
    """
    refusal = _static_refusal(policy.authorities)
    if refusal is not None:
        raise refusal
    candidates = [layer for layer in layers if _is_signature(layer)]
    static = [a.id for a in policy.static_pass]
    results = check_layers(
        candidates,
        read=_read_signature,
        kind="signature",
        authorities=policy.signing_authorities,
        context=CheckContext(reference_time, policy.tlog),
        claims=image_signature_claims(image_digest, policy.annotations),
    )
    authorities = static + [a for a in _distinct(results) if a not in static]
    if len(authorities) >= policy.threshold:
        return SignatureVerdict(tuple(results), tuple(authorities))
    if not candidates and not static:
        raise NoSignaturesFound("no signatures found")
    if authorities:
        message = (
            f"{len(authorities)} of the {policy.threshold} distinct authorities required "
            f"signed this image: {_reasons(results) or 'no other valid signature'}"
        )
    else:
        message = f"no matching signatures: {_reasons(results)}"
    raise NoMatchingSignatures(message, _failures(results), tuple(results))


def evaluate_attestation(
    layers: Sequence[SignatureLayer],
    policy: Policy,
    rule: AttestationRule,
    *,
    image_digest: str,
    reference_time: datetime,
) -> AttestationVerdict:
    """Check the image's attestations against one rule.

    Every attestation is verified first; those of the rule's predicate type are kept; the
    rule's threshold counts their distinct signers; every kept one must meet every condition.

    Args:
        layers: All layers of the image's ``.att`` attachment.
        policy: The policy (its authorities sign when the rule names none; its tlog rule).
        rule: The attestation rule.
        image_digest: ``sha256:<hex>`` of the image manifest.
        reference_time: "Now" for every validity window.

    Returns:
        The verdict.

    Raises:
        PolicyDenied: The rule's only authorities are static ``fail``.
        AttestationMissing: No attestation layer at all.
        NoMatchingAttestations: None verified, none of the type, too few signers, or a
            matching attestation fails a condition.
        CheckFailed: An authority's own trust material was unusable.
    """
    authorities = policy.attestation_authorities(rule)
    refusal = _static_refusal(authorities)
    if refusal is not None:
        raise refusal
    static = [a.id for a in authorities if isinstance(a, StaticAuthority) and a.action == "pass"]
    candidates = [layer for layer in layers if _is_attestation(layer)]
    if not candidates and not static:
        raise AttestationMissing(f"no attestations found (a {rule.name} attestation is required)")
    results = check_layers(
        candidates,
        read=_read_attestation,
        kind="attestation",
        authorities=[a for a in authorities if not isinstance(a, StaticAuthority)],
        context=CheckContext(reference_time, policy.tlog),
        claims=statement_claims(image_digest),
    )
    verified = [r for r in results if r.ok]
    statements = [
        (r, r.claims)
        for r in verified
        if r.claims is not None and r.claims.predicate_type == rule.predicate_type
    ]
    matching = [r for r, _ in statements]
    signers = static + [a for a in _distinct(matching) if a not in static]
    if len(signers) < rule.threshold:
        if candidates and not verified:
            message = f"no matching attestations: {_reasons(results)}"
        elif not matching:
            found = ", ".join(sorted({r.claims.predicate_type for r in verified if r.claims}))
            message = f"none of the attestations matched the predicate type: {rule.name}" + (
                f", found: {found}" if found else ""
            )
        else:
            message = (
                f"{len(signers)} of the {rule.threshold} distinct authorities required "
                f"signed a {rule.name} attestation"
            )
        raise NoMatchingAttestations(message, _failures(results), results)
    failed: list[str] = []
    for result, statement in statements:
        try:
            check_conditions(statement.raw, rule.conditions)
        except ConditionFailed as error:
            failed.append(f"{result.label}: {error.message}")
    if failed:
        raise NoMatchingAttestations(
            f"{len(failed)} of {len(matching)} {rule.name} attestation(s) fail the conditions: "
            + "; ".join(failed),
            _failures(results),
            results,
        )
    return AttestationVerdict(rule, tuple(results), tuple(matching), tuple(signers))

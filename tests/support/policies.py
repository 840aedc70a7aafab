"""Test helpers over the one verification pipeline: key policies and per-layer verification."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization

from sealgate.checks.authorities import CheckContext, KeyAuthority
from sealgate.checks.claims import image_signature_claims, statement_claims
from sealgate.checks.pipeline import SignatureResult, check_signed
from sealgate.checks.signed import dsse_layer, public_key_der, simplesigning_layer
from sealgate.checks.tlog import TlogPolicy, verify_log_entries
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.intoto import Statement
from sealgate.formats.predicates import resolve_predicate_type
from sealgate.formats.simplesigning import SimpleSigningPayload
from sealgate.keys.protocols import Verifier
from sealgate.policy import AttestationRule, Policy, evaluate_attestation, evaluate_signatures
from sealgate.sigstore_checks import VerifiedTlogEntry
from sealgate.trust import LogKey

__all__ = [
    "NOW",
    "key_policy",
    "verified_log_entries",
    "verify_attestation_layer",
    "verify_attestation_set",
    "verify_signature_layer",
    "verify_signature_set",
]

#: A fixed reference time: tests never read the clock.
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def key_policy(
    verifiers: Sequence[Verifier],
    *,
    tlog: TlogPolicy,
    annotations: Mapping[str, str] | None = None,
    attestations: tuple[AttestationRule, ...] = (),
    threshold: int = 1,
) -> Policy:
    """A policy trusting ``verifiers`` (any-of), named ``key0``, ``key1``... in order."""
    return Policy(
        name="test",
        authorities=tuple(KeyAuthority.of(v, name=f"key{i}") for i, v in enumerate(verifiers)),
        threshold=threshold,
        tlog=tlog,
        annotations=dict(annotations or {}),
        attestations=attestations,
    )


def verify_signature_layer(
    layer: SignatureLayer,
    *,
    verifiers: Sequence[Verifier],
    image_digest: str,
    tlog: TlogPolicy,
    required_annotations: Mapping[str, str] | None = None,
) -> SignatureResult[SimpleSigningPayload]:
    """One ``.sig`` layer through the pipeline; raises the result's error when it fails."""
    policy = key_policy(verifiers, tlog=tlog)
    thing = simplesigning_layer(layer, "signature 1")
    result = check_signed(
        thing,
        policy.authorities,
        CheckContext(NOW, tlog),
        image_signature_claims(image_digest, required_annotations),
    )
    if result.error is not None:
        raise result.error
    return result


def verify_signature_set(
    layers: Sequence[SignatureLayer],
    *,
    verifiers: Sequence[Verifier],
    image_digest: str,
    tlog: TlogPolicy,
    required_annotations: Mapping[str, str] | None = None,
) -> list[SignatureResult[SimpleSigningPayload]]:
    """A whole ``.sig`` attachment through the policy: the passing signatures, in order."""
    policy = key_policy(verifiers, tlog=tlog, annotations=required_annotations)
    verdict = evaluate_signatures(layers, policy, image_digest=image_digest, reference_time=NOW)
    return list(verdict.verified)


def verify_attestation_layer(
    layer: SignatureLayer,
    *,
    verifiers: Sequence[Verifier],
    image_digest: str,
    tlog: TlogPolicy,
) -> SignatureResult[Statement]:
    """One ``.att`` layer through the pipeline; raises the result's error when it fails."""
    policy = key_policy(verifiers, tlog=tlog)
    thing = dsse_layer(layer, "attestation 1")
    result = check_signed(
        thing, policy.authorities, CheckContext(NOW, tlog), statement_claims(image_digest)
    )
    if result.error is not None:
        raise result.error
    return result


def verify_attestation_set(
    layers: Sequence[SignatureLayer],
    *,
    verifiers: Sequence[Verifier],
    image_digest: str,
    tlog: TlogPolicy,
    predicate_type: str = "custom",
) -> list[SignatureResult[Statement]]:
    """A whole ``.att`` attachment against one rule: the matching attestations, in order."""
    rule = AttestationRule(
        name=predicate_type, predicate_type=resolve_predicate_type(predicate_type)
    )
    policy = key_policy(verifiers, tlog=tlog, attestations=(rule,))
    verdict = evaluate_attestation(
        layers, policy, rule, image_digest=image_digest, reference_time=NOW
    )
    return list(verdict.matching)


def verified_log_entries(
    layer: SignatureLayer,
    keys: Sequence[LogKey],
    *,
    key_pem: bytes | None = None,
    attestation: bool = False,
) -> list[VerifiedTlogEntry]:
    """The log entries of one layer, verified against ``keys`` for its certificate or key."""
    thing = (dsse_layer if attestation else simplesigning_layer)(layer, "signature 1")
    if thing.certificate is not None:
        content = thing.signed_content(
            thing.certificate.public_bytes(serialization.Encoding.DER), is_certificate=True
        )
    else:
        assert key_pem is not None
        content = thing.signed_content(public_key_der(key_pem), is_certificate=False)
    return verify_log_entries(thing.log_entries(), content, TlogPolicy(rekor_keys=tuple(keys)))

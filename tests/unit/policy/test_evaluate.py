"""The combination rule: any-of authorities, thresholds over distinct authorities, static ones."""

from __future__ import annotations

import base64

import pytest

from sealgate.checks.authorities import Authority, KeyAuthority, StaticAuthority
from sealgate.checks.conditions import compile_conditions
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import (
    ConfigError,
    NoMatchingSignatures,
    NoSignaturesFound,
    PolicyDenied,
    SignatureInvalid,
)
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import SIGNATURE_ANNOTATION, SIMPLESIGNING_MEDIA_TYPE
from sealgate.formats.simplesigning import build_payload
from sealgate.policy import (
    AttestationRule,
    NoMatchingAttestations,
    Policy,
    evaluate_attestation,
    evaluate_signatures,
    policy_fingerprint,
)
from tests.support.policies import NOW
from tests.unit.checks._keys import EcKey
from tests.unit.checks.test_attestations import att_layer

DIGEST = "sha256:" + "ab" * 32
IGNORE = TlogPolicy(insecure_ignore_tlog=True)


def signed(key: EcKey, note: str = "") -> SignatureLayer:
    payload = build_payload("reg/repo", DIGEST, {"n": note} if note else None)
    return SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE, payload, {SIGNATURE_ANNOTATION: key.sign_b64(payload)}
    )


def policy(
    *keys: EcKey,
    threshold: int = 1,
    more: tuple[Authority, ...] = (),
    annotations: dict[str, str] | None = None,
    attestations: tuple[AttestationRule, ...] = (),
) -> Policy:
    authorities = tuple(KeyAuthority.of(k.verifier(), name=f"k{i}") for i, k in enumerate(keys))
    return Policy(
        name="p",
        authorities=authorities + more,
        threshold=threshold,
        tlog=IGNORE,
        annotations=annotations or {},
        attestations=attestations,
    )


def test_threshold_counts_distinct_keys_not_signatures() -> None:
    a, b = EcKey(), EcKey()
    two_by_a = [signed(a, "1"), signed(a, "2")]
    with pytest.raises(NoMatchingSignatures, match="1 of the 2 distinct authorities"):
        evaluate_signatures(
            two_by_a, policy(a, b, threshold=2), image_digest=DIGEST, reference_time=NOW
        )
    verdict = evaluate_signatures(
        [signed(a), signed(b)], policy(a, b, threshold=2), image_digest=DIGEST, reference_time=NOW
    )
    assert len(verdict.authorities) == 2
    assert len(verdict.verified) == 2


def test_the_same_key_twice_is_one_authority() -> None:
    a = EcKey()
    with pytest.raises(ConfigError, match="exceeds its 1 distinct"):
        policy(a, a, threshold=2)


def test_results_keep_every_signature_and_every_refusal() -> None:
    a, b, stranger = EcKey(), EcKey(), EcKey()
    verdict = evaluate_signatures(
        [signed(stranger), signed(b)], policy(a, b), image_digest=DIGEST, reference_time=NOW
    )
    first, second = verdict.results
    assert not first.ok
    assert [r.name for r in first.rejected] == ["k0", "k1"]
    assert isinstance(first.error, SignatureInvalid)
    assert "any trusted key" in first.error.message
    assert second.ok
    assert [a.name for a in second.accepted] == ["k1"]
    assert [r.name for r in second.rejected] == ["k0"]


def test_static_authorities() -> None:
    a = EcKey()
    passing = policy(a, more=(StaticAuthority("pass"),))
    verdict = evaluate_signatures([], passing, image_digest=DIGEST, reference_time=NOW)
    assert verdict.authorities == ("static:pass",)
    with pytest.raises(PolicyDenied, match="no unsigned images"):
        evaluate_signatures(
            [signed(a)],
            Policy("deny", (StaticAuthority("fail", message="no unsigned images"),)),
            image_digest=DIGEST,
            reference_time=NOW,
        )
    # A static fail next to a key is one refusing authority among any-of.
    mixed = policy(a, more=(StaticAuthority("fail"),))
    assert evaluate_signatures([signed(a)], mixed, image_digest=DIGEST, reference_time=NOW)
    with pytest.raises(NoSignaturesFound):
        evaluate_signatures([], mixed, image_digest=DIGEST, reference_time=NOW)


def test_one_hostile_layer_does_not_block_a_valid_signature() -> None:
    # A non-ASCII signature annotation used to raise ValueError out of the layer loop.
    a = EcKey()
    valid = signed(a)
    hostile = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE, valid.payload, {SIGNATURE_ANNOTATION: "é" * 10}
    )
    verdict = evaluate_signatures(
        [hostile, valid], policy(a), image_digest=DIGEST, reference_time=NOW
    )
    assert [r.ok for r in verdict.results] == [False, True]
    assert "not valid base64" in str(verdict.results[0].error)


def test_signature_wrapped_at_76_columns_decodes_as_go_does() -> None:
    a = EcKey()
    layer = signed(a)
    b64 = layer.annotations[SIGNATURE_ANNOTATION]
    wrapped = "\r\n".join(b64[i : i + 76] for i in range(0, len(b64), 76)) + "\n"
    assert base64.b64decode(wrapped) == base64.b64decode(b64)
    rewrapped = SignatureLayer(layer.media_type, layer.payload, {SIGNATURE_ANNOTATION: wrapped})
    assert evaluate_signatures([rewrapped], policy(a), image_digest=DIGEST, reference_time=NOW)
    # Other whitespace is not ignored by Go's decoder either.
    spaced = SignatureLayer(layer.media_type, layer.payload, {SIGNATURE_ANNOTATION: " " + b64})
    with pytest.raises(NoMatchingSignatures, match="not valid base64"):
        evaluate_signatures([spaced], policy(a), image_digest=DIGEST, reference_time=NOW)


def test_attestation_threshold_and_conditions() -> None:
    a, b = EcKey(), EcKey()
    rule = AttestationRule(
        name="custom",
        predicate_type="https://cosign.sigstore.dev/attestation/v1",
        conditions=compile_conditions(["predicate.Data"]),
        threshold=2,
    )
    p = policy(a, b, attestations=(rule,))
    both = [att_layer(a), att_layer(b)]
    verdict = evaluate_attestation(both, p, rule, image_digest=DIGEST, reference_time=NOW)
    assert len(verdict.authorities) == 2
    with pytest.raises(NoMatchingAttestations, match="1 of the 2 distinct authorities"):
        evaluate_attestation(
            [att_layer(a), att_layer(a)], p, rule, image_digest=DIGEST, reference_time=NOW
        )


def test_fingerprint_tracks_trust_not_names() -> None:
    a, b = EcKey(), EcKey()
    same = KeyAuthority.of(a.verifier(), name="renamed.pub")
    base = policy_fingerprint(policy(a))
    assert policy_fingerprint(Policy("other", (same,), tlog=IGNORE)) == base
    assert policy_fingerprint(policy(b)) != base
    assert policy_fingerprint(policy(a, b)) == policy_fingerprint(policy(b, a))
    assert policy_fingerprint(policy(a, b, threshold=2)) != policy_fingerprint(policy(a, b))
    assert policy_fingerprint(policy(a, annotations={"env": "prod"})) != base

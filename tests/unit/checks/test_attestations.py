"""Key-based .att layer verification and --type filtering through the one pipeline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from sealgate.checks.tlog import TlogInvalid, TlogPolicy
from sealgate.errors import (
    AttestationMissing,
    DigestMismatch,
    InputError,
    MalformedData,
    SignatureInvalid,
)
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    DSSE_LAYER_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
)
from sealgate.formats.dsse import build_envelope, pae
from sealgate.formats.intoto import build_statement
from sealgate.formats.predicates import load_predicate, resolve_predicate_type
from sealgate.policy import NoMatchingAttestations
from tests.support.policies import verify_attestation_layer, verify_attestation_set
from tests.unit.checks._keys import EcKey, FakeRekor, dsse_entry, hashedrekord, intoto_entry

HEX = "ab" * 32
DIGEST = "sha256:" + HEX
IGNORE = TlogPolicy(insecure_ignore_tlog=True)
CLOCK = lambda: datetime(2025, 1, 1, tzinfo=UTC)  # noqa: E731


def att_layer(
    key: EcKey,
    type_name: str = "custom",
    *,
    digest_hex: str = HEX,
    payload_type: str = INTOTO_PAYLOAD_TYPE,
    statement: bytes | None = None,
    layer_annotations: Mapping[str, str] | None = None,
) -> SignatureLayer:
    predicate_type = resolve_predicate_type(type_name)
    body = statement or build_statement(
        "reg/repo", digest_hex, predicate_type, load_predicate(type_name, b'{"a": 1}', clock=CLOCK)
    )
    envelope = build_envelope(payload_type, body, key.sign(pae(payload_type, body)))
    annotations = {
        SIGNATURE_ANNOTATION: "",
        PREDICATE_TYPE_ANNOTATION: predicate_type,
        **(layer_annotations or {}),
    }
    return SignatureLayer(DSSE_LAYER_MEDIA_TYPE, envelope, annotations)


def verify(layer: SignatureLayer, key: EcKey, **kwargs: Any) -> Any:
    kwargs.setdefault("tlog", IGNORE)
    return verify_attestation_layer(
        layer, verifiers=[key.verifier()], image_digest=DIGEST, **kwargs
    )


def test_valid_attestation() -> None:
    key = EcKey()
    layer = att_layer(key, "cyclonedx")
    verified = verify(layer, key)
    assert verified.claims.predicate_type == "https://cyclonedx.org/bom"
    assert verified.claims.predicate == {"a": 1}
    assert verified.thing.content == layer.payload
    assert verified.accepted[0].bundle is None


def test_wrong_key_and_tampered_envelope() -> None:
    key = EcKey()
    with pytest.raises(SignatureInvalid):
        verify(att_layer(EcKey()), key)
    layer = att_layer(key)
    doc = json.loads(layer.payload)
    doc["payloadType"] = "application/vnd.in-toto+json "
    with pytest.raises(SignatureInvalid, match="payloadType"):
        verify(SignatureLayer(layer.media_type, json.dumps(doc).encode(), {}), key)


def test_payload_type_must_be_intoto() -> None:
    key = EcKey()
    with pytest.raises(SignatureInvalid, match="payloadType"):
        verify(att_layer(key, payload_type="text/plain"), key)


def test_media_type_must_be_dsse() -> None:
    key = EcKey()
    layer = att_layer(key)
    with pytest.raises(SignatureInvalid, match="not an attestation"):
        verify(SignatureLayer("application/json", layer.payload, {}), key)


def test_subject_digest_must_match() -> None:
    key = EcKey()
    with pytest.raises(DigestMismatch):
        verify(att_layer(key, digest_hex="cd" * 32), key)


def test_malformed_statement_and_envelope() -> None:
    key = EcKey()
    # A malformed statement under a valid signature is a bad attestation (never a pass).
    with pytest.raises(SignatureInvalid, match="attestation 1: unknown in-toto statement"):
        verify(att_layer(key, statement=b'{"_type":"x"}'), key)
    with pytest.raises(MalformedData):
        verify(SignatureLayer(DSSE_LAYER_MEDIA_TYPE, b"{}", {}), key)


def test_second_envelope_signature_may_match() -> None:
    key = EcKey()
    body = build_statement("r", HEX, "https://x.example/p", {})
    good = key.sign(pae(INTOTO_PAYLOAD_TYPE, body))
    doc = json.loads(build_envelope(INTOTO_PAYLOAD_TYPE, body, good))
    doc["signatures"].insert(0, {"keyid": "", "sig": "AAAA"})
    layer = SignatureLayer(DSSE_LAYER_MEDIA_TYPE, json.dumps(doc).encode(), {})
    assert verify(layer, key).claims.predicate_type == "https://x.example/p"


def test_certificate_annotation_must_hold_the_key() -> None:
    key = EcKey()
    verify(
        att_layer(key, layer_annotations={CERTIFICATE_ANNOTATION: key.certificate_pem().decode()}),
        key,
    )
    with pytest.raises(SignatureInvalid, match="did not match"):
        verify(
            att_layer(
                key, layer_annotations={CERTIFICATE_ANNOTATION: EcKey().certificate_pem().decode()}
            ),
            key,
        )


@pytest.mark.parametrize(
    "make", [dsse_entry, intoto_entry, lambda e, p: intoto_entry(e, p, "0.0.1")]
)
def test_tlog_envelope_hash(make: Any) -> None:
    key, rekor = EcKey(), FakeRekor()
    layer = att_layer(key)
    bundle = rekor.bundle(make(layer.payload, key.public_pem()))
    with_bundle = SignatureLayer(
        layer.media_type, layer.payload, {**layer.annotations, BUNDLE_ANNOTATION: bundle}
    )
    verified = verify(with_bundle, key, tlog=TlogPolicy(rekor_keys=(rekor.trusted,)))
    assert verified.accepted[0].bundle is not None


def test_tlog_missing_or_wrong_kind() -> None:
    key, rekor = EcKey(), FakeRekor()
    policy = TlogPolicy(rekor_keys=(rekor.trusted,))
    layer = att_layer(key)
    with pytest.raises(TlogInvalid, match="insecure-ignore-tlog"):
        verify(layer, key, tlog=policy)
    # An image-signature entry (hashedrekord) cannot vouch for an attestation.
    body = hashedrekord(layer.payload, key.sign_b64(layer.payload), key.public_pem())
    wrong = SignatureLayer(
        layer.media_type,
        layer.payload,
        {**layer.annotations, BUNDLE_ANNOTATION: rekor.bundle(body)},
    )
    with pytest.raises(TlogInvalid, match="hashedrekord log entry needs"):
        verify(wrong, key, tlog=policy)


# --- sets and --type filtering -----------------------------------------------------------------


def run_set(layers: list[SignatureLayer], key: EcKey, **kwargs: Any) -> Any:
    return verify_attestation_set(
        layers, verifiers=[key.verifier()], image_digest=DIGEST, tlog=IGNORE, **kwargs
    )


def test_default_type_is_custom() -> None:
    key = EcKey()
    layers = [att_layer(key, "cyclonedx"), att_layer(key, "custom")]
    (only,) = run_set(layers, key)
    assert only.claims.predicate_type == "https://cosign.sigstore.dev/attestation/v1"
    (bom,) = run_set(layers, key, predicate_type="https://cyclonedx.org/bom")
    assert bom.claims.predicate_type == "https://cyclonedx.org/bom"


def test_no_type_match_message() -> None:
    key = EcKey()
    with pytest.raises(NoMatchingAttestations) as info:
        run_set([att_layer(key, "cyclonedx")], key)
    assert info.value.message == (
        "none of the attestations matched the predicate type: custom, "
        "found: https://cyclonedx.org/bom"
    )
    assert info.value.exit_code == 1


def test_spdx_and_spdxjson_share_a_type() -> None:
    key = EcKey()
    assert len(run_set([att_layer(key, "spdxjson")], key, predicate_type="spdx")) == 1


def test_empty_and_all_failing_sets() -> None:
    key = EcKey()
    with pytest.raises(AttestationMissing, match="no attestations found"):
        run_set([], key)
    with pytest.raises(NoMatchingAttestations) as info:
        run_set([att_layer(EcKey()), SignatureLayer(DSSE_LAYER_MEDIA_TYPE, b"x", {})], key)
    assert [type(f) for f in info.value.failures] == [SignatureInvalid, SignatureInvalid]
    assert "attestation 2:" in info.value.failures[1].message


def test_invalid_type_name() -> None:
    key = EcKey()
    with pytest.raises(InputError):
        run_set([att_layer(key)], key, predicate_type="bogus")

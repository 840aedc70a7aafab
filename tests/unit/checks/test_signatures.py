"""Key-based .sig layer verification through the one pipeline, on synthetic signatures."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from sealgate.checks.signatures import cosign_json_element, render_cosign_json
from sealgate.checks.tlog import NO_TLOG_MESSAGE, TlogInvalid, TlogPolicy
from sealgate.errors import (
    DigestMismatch,
    NoMatchingSignatures,
    NoSignaturesFound,
    SignatureInvalid,
)
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.simplesigning import build_payload
from tests.support.policies import verify_signature_layer, verify_signature_set
from tests.unit.checks._keys import EcKey, FakeRekor, hashedrekord

DIGEST = "sha256:" + "ab" * 32
IGNORE = TlogPolicy(insecure_ignore_tlog=True)


def sig_layer(
    key: EcKey,
    annotations: dict[str, str] | None = None,
    digest: str = DIGEST,
    payload: bytes | None = None,
    *,
    layer_annotations: Mapping[str, str] | None = None,
) -> SignatureLayer:
    data = payload if payload is not None else build_payload("reg/repo", digest, annotations)
    return SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE,
        data,
        {SIGNATURE_ANNOTATION: key.sign_b64(data), **(layer_annotations or {})},
    )


def verify(layer: SignatureLayer, key: EcKey, **kwargs: Any) -> Any:
    kwargs.setdefault("tlog", IGNORE)
    return verify_signature_layer(layer, verifiers=[key.verifier()], image_digest=DIGEST, **kwargs)


def test_valid_signature() -> None:
    key = EcKey()
    layer = sig_layer(key, {"env": "prod"})
    verified = verify(layer, key, required_annotations={"env": "prod"})
    assert verified.thing is not None
    assert verified.thing.payload == layer.payload
    assert verified.claims is not None
    assert verified.claims.manifest_digest == DIGEST
    assert verified.accepted[0].bundle is None
    assert verified.thing.layer_digest == layer.digest
    assert [a.name for a in verified.accepted] == ["key0"]


def test_wrong_key() -> None:
    with pytest.raises(SignatureInvalid, match="does not verify with key key0"):
        verify(sig_layer(EcKey()), EcKey())


def test_any_of_several_keys() -> None:
    old, new = EcKey(), EcKey()
    verified = verify_signature_layer(
        sig_layer(new),
        verifiers=[old.verifier(), new.verifier()],
        image_digest=DIGEST,
        tlog=IGNORE,
    )
    assert [a.name for a in verified.accepted] == ["key1"]
    assert [r.name for r in verified.rejected] == ["key0"]
    assert verified.accepted[0].authority.startswith("key:sha256:")


def test_signature_over_exact_bytes() -> None:
    key = EcKey()
    layer = sig_layer(key)
    tampered = SignatureLayer(layer.media_type, layer.payload + b" ", dict(layer.annotations))
    with pytest.raises(SignatureInvalid):
        verify(tampered, key)


def test_digest_mismatch() -> None:
    key = EcKey()
    with pytest.raises(DigestMismatch, match="sha256:cdcd"):
        verify(sig_layer(key, digest="sha256:" + "cd" * 32), key)


@pytest.mark.parametrize(
    ("signed", "required"),
    [
        (None, {"env": "prod"}),
        ({"env": "dev"}, {"env": "prod"}),
        ({"envx": "prod"}, {"env": "prod"}),
    ],
)
def test_annotation_requirements(signed: dict[str, str] | None, required: dict[str, str]) -> None:
    key = EcKey()
    with pytest.raises(SignatureInvalid, match="annotation env=prod"):
        verify(sig_layer(key, signed), key, required_annotations=required)


def test_non_string_optional_value_never_matches() -> None:
    key = EcKey()
    payload = build_payload("r", DIGEST).replace(b'"optional":null', b'"optional":{"n":1}')
    with pytest.raises(SignatureInvalid):
        verify(sig_layer(key, payload=payload), key, required_annotations={"n": "1"})


def test_missing_or_bad_signature_annotation() -> None:
    key = EcKey()
    layer = sig_layer(key)
    for bad in ({}, {SIGNATURE_ANNOTATION: ""}, {SIGNATURE_ANNOTATION: "**"}):
        with pytest.raises(SignatureInvalid):
            verify(SignatureLayer(layer.media_type, layer.payload, bad), key)


def test_other_media_type_is_not_a_signature() -> None:
    key = EcKey()
    layer = sig_layer(key)
    with pytest.raises(SignatureInvalid, match="not a cosign signature"):
        verify(SignatureLayer("text/plain", layer.payload, dict(layer.annotations)), key)


def test_malformed_payload_with_valid_signature() -> None:
    # Malformed data inside one signature makes that signature bad (cosign: exit 12).
    key = EcKey()
    with pytest.raises(SignatureInvalid, match="simple-signing payload"):
        verify(sig_layer(key, payload=b"not json"), key)


def test_certificate_annotation_must_hold_the_key() -> None:
    key = EcKey()
    ok = sig_layer(key, layer_annotations={CERTIFICATE_ANNOTATION: key.certificate_pem().decode()})
    claims = verify(ok, key).claims
    assert claims is not None
    assert claims.manifest_digest == DIGEST
    bad = sig_layer(
        key, layer_annotations={CERTIFICATE_ANNOTATION: EcKey().certificate_pem().decode()}
    )
    with pytest.raises(SignatureInvalid, match="did not match"):
        verify(bad, key)


# --- tlog -------------------------------------------------------------------------------------


def test_tlog_required_by_default() -> None:
    key = EcKey()
    with pytest.raises(TlogInvalid) as info:
        verify(sig_layer(key), key, tlog=TlogPolicy(rekor_keys=(FakeRekor().trusted,)))
    assert info.value.message == f"signature 1: {NO_TLOG_MESSAGE}"


def _with_bundle(
    key: EcKey, rekor: FakeRekor, *, public_pem: bytes | None = None
) -> SignatureLayer:
    layer = sig_layer(key)
    body = hashedrekord(
        layer.payload, layer.annotations[SIGNATURE_ANNOTATION], public_pem or key.public_pem()
    )
    return SignatureLayer(
        layer.media_type,
        layer.payload,
        {**layer.annotations, BUNDLE_ANNOTATION: rekor.bundle(body)},
    )


def test_tlog_bundle_verified() -> None:
    key, rekor = EcKey(), FakeRekor()
    verified = verify(_with_bundle(key, rekor), key, tlog=TlogPolicy(rekor_keys=(rekor.trusted,)))
    bundle = verified.accepted[0].bundle
    assert bundle is not None
    assert bundle.log_index == 42


def test_tlog_bundle_wrong_rekor_key_and_wrong_logged_key() -> None:
    key, rekor = EcKey(), FakeRekor()
    with pytest.raises(TlogInvalid):
        verify(_with_bundle(key, rekor), key, tlog=TlogPolicy(rekor_keys=(FakeRekor().trusted,)))
    with pytest.raises(TlogInvalid, match="another certificate or key"):
        verify(
            _with_bundle(key, rekor, public_pem=EcKey().public_pem()),
            key,
            tlog=TlogPolicy(rekor_keys=(rekor.trusted,)),
        )


def test_ignore_tlog_skips_even_a_garbage_bundle() -> None:
    key = EcKey()
    layer = sig_layer(key, layer_annotations={BUNDLE_ANNOTATION: "garbage"})
    assert verify(layer, key).accepted[0].bundle is None


# --- sets and output --------------------------------------------------------------------------


def test_set_no_signature_layers() -> None:
    key = EcKey()
    layer = sig_layer(key)
    other = SignatureLayer("text/plain", layer.payload, dict(layer.annotations))
    for layers in ([], [other]):
        with pytest.raises(NoSignaturesFound) as info:
            verify_signature_set(
                layers, verifiers=[key.verifier()], image_digest=DIGEST, tlog=IGNORE
            )
        assert info.value.exit_code == 10


def test_set_keeps_only_passing_layers_in_order() -> None:
    key = EcKey()
    good1, good2 = sig_layer(key, {"n": "1"}), sig_layer(key, {"n": "2"})
    bad = sig_layer(EcKey())
    result = verify_signature_set(
        [bad, good1, good2], verifiers=[key.verifier()], image_digest=DIGEST, tlog=IGNORE
    )
    assert [v.thing.payload for v in result if v.thing] == [good1.payload, good2.payload]


def test_set_failures_are_per_layer_and_malformed_is_converted() -> None:
    key = EcKey()
    layers = [
        sig_layer(EcKey()),
        sig_layer(key, payload=b"[]"),
        sig_layer(key, digest="sha256:" + "0" * 64),
    ]
    with pytest.raises(NoMatchingSignatures) as info:
        verify_signature_set(layers, verifiers=[key.verifier()], image_digest=DIGEST, tlog=IGNORE)
    failures = info.value.failures
    assert [type(f) for f in failures] == [SignatureInvalid, SignatureInvalid, DigestMismatch]
    assert "signature 2: simple-signing payload" in failures[1].message
    assert info.value.reason == "digest-mismatch"
    assert info.value.exit_code == 12
    assert "\n" not in info.value.message


def test_verifier_bug_is_never_an_allow() -> None:
    class Broken(EcKey().verifier().__class__):  # type: ignore[misc]
        def verify(self, signature: bytes, data: bytes) -> None:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        verify_signature_set(
            [sig_layer(EcKey())],
            verifiers=[Broken(EcKey().private.public_key())],
            image_digest=DIGEST,
            tlog=IGNORE,
        )


def test_cosign_json_output() -> None:
    key, rekor = EcKey(), FakeRekor()
    plain = verify(sig_layer(key, {"z": "1", "a": "2"}), key)
    bundled = verify(_with_bundle(key, rekor), key, tlog=TlogPolicy(rekor_keys=(rekor.trusted,)))
    raw = render_cosign_json([plain, bundled])
    doc = json.loads(raw)
    assert raw.startswith(b'[{"critical":{"identity":{"docker-reference":"reg/repo"},"image":')
    assert list(doc[0]["optional"]) == ["a", "z"]
    assert list(doc[1]["optional"]) == ["Bundle"]
    assert list(doc[1]["optional"]["Bundle"]) == ["SignedEntryTimestamp", "Payload"]
    assert list(doc[1]["optional"]["Bundle"]["Payload"]) == [
        "body",
        "integratedTime",
        "logIndex",
        "logID",
    ]
    assert cosign_json_element(plain)["optional"] == {"a": "2", "z": "1"}
    assert cosign_json_element(verify(sig_layer(key), key))["optional"] is None

"""Log entries carried by cosign's Rekor annotation: SET, trusted logs, binding to the signature."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sealgate.checks._pem import fingerprint, first_pem_block, spki_der
from sealgate.checks.signed import dsse_layer, simplesigning_layer
from sealgate.checks.tlog import RekorKey, TlogInvalid, TlogPolicy, verify_log_entries
from sealgate.errors import KeyMaterialError, MalformedData
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    DSSE_LAYER_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.dsse import build_envelope
from sealgate.sigstore_checks import VerifiedTlogEntry
from tests.unit.checks._keys import EcKey, FakeRekor, dsse_entry, hashedrekord, intoto_entry

PAYLOAD = b'{"critical":{}}'


@pytest.fixture
def rekor() -> FakeRekor:
    return FakeRekor()


@pytest.fixture
def signer() -> EcKey:
    return EcKey()


def test_log_id_is_sha256_of_spki(rekor: FakeRekor) -> None:
    assert rekor.trusted.log_id_hex == fingerprint(rekor.key.public_pem())
    assert RekorKey.from_der(spki_der(rekor.key.public_pem())) == rekor.trusted


def signed_layer(
    rekor: FakeRekor, signer: EcKey, *, body: dict[str, Any] | None = None, payload: bytes = PAYLOAD
) -> SignatureLayer:
    signature = signer.sign_b64(payload)
    logged = body if body is not None else hashedrekord(payload, signature, signer.public_pem())
    return SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE,
        payload,
        {SIGNATURE_ANNOTATION: signature, BUNDLE_ANNOTATION: rekor.bundle(logged)},
    )


def check(
    layer: SignatureLayer,
    keys: tuple[RekorKey, ...],
    *,
    verifier_pem: bytes,
    certificate: bool = False,
    read: Any = simplesigning_layer,
) -> list[VerifiedTlogEntry]:
    thing = read(layer, "signature 1")
    der = (
        x509.load_pem_x509_certificate(verifier_pem).public_bytes(serialization.Encoding.DER)
        if certificate
        else spki_der(verifier_pem)
    )
    content = thing.signed_content(der, is_certificate=certificate)
    return verify_log_entries(thing.log_entries(), content, TlogPolicy(rekor_keys=keys))


def test_entry_verified_and_key_picked_by_log_id(rekor: FakeRekor, signer: EcKey) -> None:
    other = FakeRekor().trusted
    (entry,) = check(
        signed_layer(rekor, signer), (other, rekor.trusted), verifier_pem=signer.public_pem()
    )
    assert entry.log == rekor.trusted
    assert entry.body.kind == "hashedrekord"
    assert entry.integrated_time is not None
    with pytest.raises(TlogInvalid, match="untrusted log"):
        check(signed_layer(rekor, signer), (other,), verifier_pem=signer.public_pem())
    with pytest.raises(TlogInvalid, match="untrusted log"):
        check(signed_layer(rekor, signer), (), verifier_pem=signer.public_pem())


def test_set_over_tampered_payload_fails(rekor: FakeRekor, signer: EcKey) -> None:
    layer = signed_layer(rekor, signer)
    doc = json.loads(layer.annotations[BUNDLE_ANNOTATION])
    doc["Payload"]["integratedTime"] += 1
    tampered = SignatureLayer(
        layer.media_type, layer.payload, {**layer.annotations, BUNDLE_ANNOTATION: json.dumps(doc)}
    )
    with pytest.raises(TlogInvalid, match="does not verify"):
        check(tampered, (rekor.trusted,), verifier_pem=signer.public_pem())


def test_rsa_log_key_cannot_vouch_with_a_set(signer: EcKey) -> None:
    # Inclusion promises are ECDSA signatures: an RSA "Rekor key" (the containers/image
    # negative fixture) loads as a log key but never verifies a SET.
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    rsa_log = RekorKey.from_pem(pem)
    with pytest.raises(KeyMaterialError):
        RekorKey.from_pem(b"not a pem")
    with pytest.raises(KeyMaterialError):
        RekorKey.from_der(b"\x30\x00")
    payload = PAYLOAD
    body = hashedrekord(payload, signer.sign_b64(payload), signer.public_pem())
    entry = json.loads(FakeRekor().bundle(body))
    entry["Payload"]["logID"] = rsa_log.log_id_hex
    layer = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE,
        payload,
        {
            SIGNATURE_ANNOTATION: body["spec"]["signature"]["content"],
            BUNDLE_ANNOTATION: json.dumps(entry),
        },
    )
    with pytest.raises(TlogInvalid, match="ECDSA"):
        check(layer, (rsa_log,), verifier_pem=signer.public_pem())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("signature", "another signature"),
        ("payload", "another artifact"),
        ("key", "another certificate or key"),
    ],
)
def test_entry_about_something_else_is_refused(
    rekor: FakeRekor, signer: EcKey, change: str, message: str
) -> None:
    signature = signer.sign_b64(PAYLOAD)
    body = hashedrekord(PAYLOAD, signature, signer.public_pem())
    if change == "signature":
        body = hashedrekord(PAYLOAD, signer.sign_b64(PAYLOAD), signer.public_pem())
    elif change == "payload":
        body = hashedrekord(b"other", signature, signer.public_pem())
    else:
        body = hashedrekord(PAYLOAD, signature, EcKey().public_pem())
    layer = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE,
        PAYLOAD,
        {SIGNATURE_ANNOTATION: signature, BUNDLE_ANNOTATION: rekor.bundle(body)},
    )
    with pytest.raises(TlogInvalid, match=message):
        check(layer, (rekor.trusted,), verifier_pem=signer.public_pem())


def test_an_image_signature_entry_cannot_vouch_for_an_attestation(
    rekor: FakeRekor, signer: EcKey
) -> None:
    body = dsse_entry(ENVELOPE, signer.public_pem())
    layer = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE,
        PAYLOAD,
        {SIGNATURE_ANNOTATION: signer.sign_b64(PAYLOAD), BUNDLE_ANNOTATION: rekor.bundle(body)},
    )
    with pytest.raises(TlogInvalid, match="needs a DSSE envelope"):
        check(layer, (rekor.trusted,), verifier_pem=signer.public_pem())


def test_hash_algorithm_must_be_the_artifacts(rekor: FakeRekor, signer: EcKey) -> None:
    signature = signer.sign_b64(PAYLOAD)
    body = hashedrekord(PAYLOAD, signature, signer.public_pem())
    body["spec"]["data"]["hash"] = {"algorithm": "sha512", "value": "ab" * 64}
    with pytest.raises(TlogInvalid, match="another artifact"):
        check(
            signed_layer(rekor, signer, body=body),
            (rekor.trusted,),
            verifier_pem=signer.public_pem(),
        )


def test_certificate_entry_compared_with_certificate(rekor: FakeRekor, signer: EcKey) -> None:
    cert = signer.certificate_pem()
    signature = signer.sign_b64(PAYLOAD)
    layer = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE,
        PAYLOAD,
        {
            SIGNATURE_ANNOTATION: signature,
            BUNDLE_ANNOTATION: rekor.bundle(hashedrekord(PAYLOAD, signature, cert)),
        },
    )
    check(layer, (rekor.trusted,), verifier_pem=cert, certificate=True)
    # The key alone is not the certificate the entry logged.
    with pytest.raises(TlogInvalid, match="another certificate or key"):
        check(layer, (rekor.trusted,), verifier_pem=signer.public_pem())


ENVELOPE = build_envelope(INTOTO_PAYLOAD_TYPE, b'{"_type":"x"}', b"signature")


@pytest.mark.parametrize(
    "make", [dsse_entry, intoto_entry, lambda e, p: intoto_entry(e, p, "0.0.1")]
)
def test_attestation_kinds_use_envelope_hash(rekor: FakeRekor, signer: EcKey, make: Any) -> None:
    def layer(envelope: bytes, logged: bytes) -> SignatureLayer:
        return SignatureLayer(
            DSSE_LAYER_MEDIA_TYPE,
            envelope,
            {
                SIGNATURE_ANNOTATION: "",
                BUNDLE_ANNOTATION: rekor.bundle(make(logged, signer.public_pem())),
            },
        )

    keys = (rekor.trusted,)
    (entry,) = check(
        layer(ENVELOPE, ENVELOPE), keys, verifier_pem=signer.public_pem(), read=dsse_layer
    )
    assert entry.body.kind in ("dsse", "intoto")
    # The stored envelope is not the one logged (another serialisation of it).
    reordered = json.dumps(json.loads(ENVELOPE), separators=(", ", ": ")).encode()
    with pytest.raises(TlogInvalid, match="envelope"):
        check(layer(reordered, ENVELOPE), keys, verifier_pem=signer.public_pem(), read=dsse_layer)


def test_malformed_body_is_malformed_data(rekor: FakeRekor, signer: EcKey) -> None:
    body = {"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {}}
    with pytest.raises(MalformedData):
        check(
            signed_layer(rekor, signer, body=body),
            (rekor.trusted,),
            verifier_pem=signer.public_pem(),
        )


def test_first_pem_block_errors() -> None:
    with pytest.raises(MalformedData):
        first_pem_block(b"no pem here")
    with pytest.raises(MalformedData):
        first_pem_block(b"-----BEGIN X-----\n***\n-----END X-----\n")
    with pytest.raises(MalformedData):
        spki_der(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_unsupported_key_algorithms_are_malformed_not_a_crash() -> None:
    from cryptography.hazmat.primitives.asymmetric import x448, x25519

    for private in (x25519.X25519PrivateKey.generate(), x448.X448PrivateKey.generate()):
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(KeyMaterialError, match="not supported"):
            RekorKey.from_pem(pem)
        spki_der(pem)  # parses: X25519 is a known SPKI, only unusable for signatures


def test_unknown_key_algorithm_is_malformed_not_a_crash() -> None:
    # An SPKI with an algorithm OID cryptography does not know raised UnsupportedAlgorithm.
    import base64

    body = bytes.fromhex("300506032a0304") + bytes.fromhex("030500deadbeef")
    spki = bytes([0x30, len(body)]) + body
    pem = b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(spki) + b"-----END PUBLIC KEY-----\n"
    with pytest.raises(MalformedData, match="cannot parse"):
        spki_der(pem)
    with pytest.raises(KeyMaterialError, match="cannot be parsed"):
        RekorKey.from_pem(pem)

"""SET verification and cosign VerifyBundle consistency checks (SPEC §4.4)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sealgate.checks._pem import fingerprint, first_pem_block, spki_der
from sealgate.checks.tlog import RekorKey, TlogInvalid, verify_rekor_bundle, verify_set
from sealgate.errors import KeyMaterialError, MalformedData
from sealgate.formats.rekor import RekorBundle
from tests.unit.checks._keys import EcKey, FakeRekor, dsse_entry, hashedrekord, intoto_entry

PAYLOAD = b'{"critical":{}}'


@pytest.fixture
def rekor() -> FakeRekor:
    return FakeRekor()


@pytest.fixture
def signer() -> EcKey:
    return EcKey()


def test_log_id_is_sha256_of_spki(rekor: FakeRekor) -> None:
    assert rekor.trusted.log_id == fingerprint(rekor.key.public_pem())
    assert RekorKey.from_der(spki_der(rekor.key.public_pem())) == rekor.trusted


def test_set_verifies_and_picks_key_by_log_id(rekor: FakeRekor, signer: EcKey) -> None:
    bundle = RekorBundle.parse(rekor.bundle({"any": "body"}))
    other = FakeRekor().trusted
    assert verify_set(bundle, [other, rekor.trusted]) is rekor.trusted
    with pytest.raises(TlogInvalid, match="no trusted Rekor key"):
        verify_set(bundle, [other])
    with pytest.raises(TlogInvalid, match="no trusted Rekor key"):
        verify_set(bundle, [])


def test_set_over_tampered_payload_fails(rekor: FakeRekor) -> None:
    doc = json.loads(rekor.bundle({"a": 1}))
    doc["Payload"]["integratedTime"] += 1
    with pytest.raises(TlogInvalid, match="does not verify"):
        verify_set(RekorBundle.parse(json.dumps(doc)), [rekor.trusted])


def test_rsa_rekor_key_refused() -> None:
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyMaterialError, match="ECDSA"):
        RekorKey.from_pem(pem)
    with pytest.raises(KeyMaterialError):
        RekorKey.from_pem(b"not a pem")
    with pytest.raises(KeyMaterialError):
        RekorKey.from_der(b"\x30\x00")


def _check(rekor: FakeRekor, signer: EcKey, body: dict, **overrides: object) -> object:  # type: ignore[type-arg]
    kwargs: dict[str, object] = {
        "rekor_keys": [rekor.trusted],
        "payload": PAYLOAD,
        "signature_b64": "c2ln",
        "public_pem": signer.public_pem(),
    }
    kwargs.update(overrides)
    return verify_rekor_bundle(RekorBundle.parse(rekor.bundle(body)), **kwargs)  # type: ignore[arg-type]


def test_hashedrekord_consistent(rekor: FakeRekor, signer: EcKey) -> None:
    body = hashedrekord(PAYLOAD, "c2ln", signer.public_pem())
    entry = _check(rekor, signer, body, kind="signature")
    assert entry.kind == "hashedrekord"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"signature_b64": "b3RoZXI="}, "signature does not match"),
        ({"payload": b"other"}, "hash does not match"),
        ({"public_pem": EcKey().public_pem()}, "public key does not match"),
        ({"kind": "attestation"}, "does not fit"),
        ({"rekor_keys": []}, "no trusted Rekor key"),
    ],
)
def test_hashedrekord_inconsistent(
    rekor: FakeRekor, signer: EcKey, overrides: dict[str, object], message: str
) -> None:
    body = hashedrekord(PAYLOAD, "c2ln", signer.public_pem())
    with pytest.raises(TlogInvalid, match=message):
        _check(rekor, signer, body, **overrides)


def test_hash_algorithm_must_be_sha256(rekor: FakeRekor, signer: EcKey) -> None:
    body = hashedrekord(PAYLOAD, "c2ln", signer.public_pem())
    body["spec"]["data"]["hash"]["algorithm"] = "sha512"
    with pytest.raises(TlogInvalid, match="hash"):
        _check(rekor, signer, body)


def test_certificate_entry_compared_with_certificate(rekor: FakeRekor, signer: EcKey) -> None:
    cert = signer.certificate_pem()
    body = hashedrekord(PAYLOAD, "c2ln", cert)
    _check(rekor, signer, body, public_pem=cert)
    # The key alone is not the certificate the entry logged.
    with pytest.raises(TlogInvalid, match="public key"):
        _check(rekor, signer, body)


@pytest.mark.parametrize(
    "make", [dsse_entry, intoto_entry, lambda e, p: intoto_entry(e, p, "0.0.1")]
)
def test_attestation_kinds_use_envelope_hash(rekor: FakeRekor, signer: EcKey, make) -> None:  # type: ignore[no-untyped-def]
    envelope = b'{"payloadType":"x"}'
    body = make(envelope, signer.public_pem())
    entry = _check(rekor, signer, body, payload=envelope, signature_b64="", kind="attestation")
    assert entry.signature_b64 is None  # type: ignore[attr-defined]
    with pytest.raises(TlogInvalid, match="hash"):
        _check(rekor, signer, body, payload=envelope + b" ", signature_b64="")
    # A non-empty layer signature cannot match a dsse/intoto entry.
    with pytest.raises(TlogInvalid, match="signature"):
        _check(rekor, signer, body, payload=envelope, signature_b64="c2ln")


def test_malformed_body_is_malformed_data(rekor: FakeRekor, signer: EcKey) -> None:
    with pytest.raises(MalformedData):
        _check(rekor, signer, {"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {}})


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
        with pytest.raises(KeyMaterialError, match="must be ECDSA"):
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

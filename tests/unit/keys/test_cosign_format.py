"""cosign's encrypted key container: generate, encrypt, decrypt, reject."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealgate.errors import KeyMaterialError
from sealgate.keys import (
    SCRYPT_LEGACY,
    SCRYPT_OWASP,
    SCRYPT_STANDARD,
    decrypt_private_key_pem,
    encrypt_private_key,
    generate_key_pair,
    load_signer_pem,
    load_verifier_pem,
)
from sealgate.keys.pem import decode_pem
from tests.unit.keys.helpers import PASSWORD, craft_encrypted_pem


def test_generate_round_trip_sign_verify() -> None:
    private_pem, public_pem = generate_key_pair(PASSWORD)
    signer = load_signer_pem(private_pem, PASSWORD)
    signature = signer.sign(b"payload")
    load_verifier_pem(public_pem).verify(signature, b"payload")
    assert signer.verifier().public_pem() == public_pem


def test_generated_files_match_cosign_layout() -> None:
    private_pem, public_pem = generate_key_pair(b"")
    assert private_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert private_pem.endswith(b"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert public_pem.endswith(b"-----END PUBLIC KEY-----\n")
    for pem in (private_pem, public_pem):
        body_lines = pem.splitlines()[1:-1]
        assert all(len(line) == 64 for line in body_lines[:-1])
        assert 0 < len(body_lines[-1]) <= 64
    # cryptography writes PKIX PEM with the same 64-column wrapping Go uses.
    key = serialization.load_pem_public_key(public_pem)
    assert public_pem == key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_written_json_has_go_field_names_and_order() -> None:
    private_pem, _ = generate_key_pair(PASSWORD)
    body = decode_pem(private_pem).body
    text = body.decode()
    assert text.startswith('{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"')
    assert '"cipher":{"name":"nacl/secretbox","nonce":"' in text
    assert " " not in text
    doc = json.loads(body)
    assert list(doc) == ["kdf", "cipher", "ciphertext"]
    assert list(doc["kdf"]) == ["name", "params", "salt"]
    assert list(doc["kdf"]["params"]) == ["N", "r", "p"]
    assert list(doc["cipher"]) == ["name", "nonce"]
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 32
    assert len(base64.b64decode(doc["cipher"]["nonce"])) == 24


@pytest.mark.parametrize("params", [SCRYPT_LEGACY, SCRYPT_STANDARD, SCRYPT_OWASP])
def test_all_three_scrypt_parameter_sets_decrypt(
    params: tuple[int, int, int], p256_pkcs8: bytes
) -> None:
    pem = encrypt_private_key(p256_pkcs8, PASSWORD, scrypt_params=params)
    assert decrypt_private_key_pem(pem, PASSWORD) == p256_pkcs8
    # And keys made outside our encoder, as older cosign releases wrote them.
    crafted = craft_encrypted_pem(
        p256_pkcs8, PASSWORD, params=params, label="ENCRYPTED COSIGN PRIVATE KEY"
    )
    assert decrypt_private_key_pem(crafted, PASSWORD) == p256_pkcs8


@pytest.mark.parametrize(
    "params", [(16384, 8, 1), (65536, 8, 2), (65536, 16, 1), (2**30, 8, 1), (1, 1, 1)]
)
def test_unsupported_scrypt_parameters_rejected(
    params: tuple[int, int, int], p256_pkcs8: bytes
) -> None:
    pem = craft_encrypted_pem(p256_pkcs8, PASSWORD, params=params, derive=False)
    with pytest.raises(KeyMaterialError, match="unsupported scrypt parameters"):
        decrypt_private_key_pem(pem, PASSWORD)
    with pytest.raises(KeyMaterialError, match="unsupported scrypt parameters"):
        encrypt_private_key(p256_pkcs8, PASSWORD, scrypt_params=params)


def test_unknown_kdf_and_cipher_rejected(p256_pkcs8: bytes) -> None:
    pem = craft_encrypted_pem(p256_pkcs8, PASSWORD, kdf_name="argon2", derive=False)
    with pytest.raises(KeyMaterialError, match="unsupported KDF"):
        decrypt_private_key_pem(pem, PASSWORD)
    pem = craft_encrypted_pem(p256_pkcs8, PASSWORD, cipher_name="aes-gcm", derive=False)
    with pytest.raises(KeyMaterialError, match="unsupported cipher"):
        decrypt_private_key_pem(pem, PASSWORD)


def test_wrong_password_is_a_clear_error_without_the_password() -> None:
    private_pem, _ = generate_key_pair(PASSWORD)
    wrong = b"hunter2-not-the-password"
    with pytest.raises(KeyMaterialError) as info:
        load_signer_pem(private_pem, wrong)
    assert "wrong password or corrupted key" in str(info.value)
    assert wrong.decode() not in str(info.value)
    assert PASSWORD.decode() not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_password_callable_only_called_for_encrypted_keys(p256_pkcs8: bytes) -> None:
    calls: list[int] = []

    def ask() -> bytes:
        calls.append(1)
        return PASSWORD

    plain = (
        b"-----BEGIN PRIVATE KEY-----\n"
        + base64.encodebytes(p256_pkcs8)
        + b"-----END PRIVATE KEY-----\n"
    )
    load_signer_pem(plain, ask)
    assert calls == []
    load_signer_pem(encrypt_private_key(p256_pkcs8, PASSWORD), ask)
    assert calls == [1]


def test_sec1_plaintext_rejected(p256_key: ec.EllipticCurvePrivateKey) -> None:
    sec1 = p256_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    pem = craft_encrypted_pem(sec1, PASSWORD)
    with pytest.raises(KeyMaterialError, match="not PKCS#8"):
        load_signer_pem(pem, PASSWORD)
    with pytest.raises(KeyMaterialError, match="not PKCS#8"):
        encrypt_private_key(sec1, PASSWORD)


def test_encrypted_pem_with_foreign_label_rejected(p256_pkcs8: bytes) -> None:
    pem = craft_encrypted_pem(p256_pkcs8, PASSWORD, label="ENCRYPTED PRIVATE KEY")
    with pytest.raises(KeyMaterialError, match="unsupported pem type"):
        load_signer_pem(pem, PASSWORD)
    with pytest.raises(KeyMaterialError, match="unsupported pem type"):
        decrypt_private_key_pem(pem, PASSWORD)

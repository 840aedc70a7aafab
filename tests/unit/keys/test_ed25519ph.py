"""Ed25519ph through libsodium: RFC 8032 vectors, cross-checks, and what the signer shows."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl import bindings

from sealgate.errors import SignatureInvalid
from sealgate.keys import load_signer_pem, load_verifier_pem
from sealgate.keys.crypto import Ed25519Signer, signer_from_private_key
from sealgate.keys.ed25519ph import Ed25519phSigningKey, verify_ed25519ph

# RFC 8032 section 7.3, "TEST abc" (Ed25519ph).
_SECRET = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
_PUBLIC = bytes.fromhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
_SIGNATURE = bytes.fromhex(
    "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
    "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
)
_L = 2**252 + 27742317777372353535851937790883648493


def _rfc_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(_SECRET)


def _libsodium_verifies_ph(public: bytes, signature: bytes, message: bytes) -> bool:
    state = bindings.crypto_sign_ed25519ph_state()
    bindings.crypto_sign_ed25519ph_update(state, message)
    try:
        return bool(bindings.crypto_sign_ed25519ph_final_verify(state, signature, public))
    except Exception:
        return False


def test_rfc8032_vector_signs_and_verifies() -> None:
    key = Ed25519phSigningKey(_SECRET)
    assert key.public_key == _PUBLIC
    assert key.sign(b"abc") == _SIGNATURE  # deterministic: byte-identical to the RFC
    assert verify_ed25519ph(_PUBLIC, _SIGNATURE, b"abc")
    assert not verify_ed25519ph(_PUBLIC, _SIGNATURE, b"abd")


def test_malleated_and_malformed_signatures_are_refused() -> None:
    s_plus_l = int.from_bytes(_SIGNATURE[32:], "little") + _L
    big_s = _SIGNATURE[:32] + s_plus_l.to_bytes(32, "little")
    assert not verify_ed25519ph(_PUBLIC, big_s, b"abc")  # S >= L (RFC 8032 5.1.7)
    assert not verify_ed25519ph(_PUBLIC, _SIGNATURE[:63], b"abc")
    assert not verify_ed25519ph(_PUBLIC[:31], _SIGNATURE, b"abc")
    assert not verify_ed25519ph(b"\xff" * 32, _SIGNATURE, b"abc")


def test_prehash_signer_matches_the_rfc_and_is_not_pure_ed25519() -> None:
    signer = Ed25519Signer(_rfc_key(), prehash=True)
    assert signer.sign(b"abc") == _SIGNATURE
    with pytest.raises(InvalidSignature):
        _rfc_key().public_key().verify(_SIGNATURE, b"abc")


def test_our_ph_signature_is_accepted_by_libsodium_and_our_verifier() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    message = b'{"critical":{"type":"cosign container image signature"}}'
    signature = Ed25519Signer(key, prehash=True).sign(message)
    assert _libsodium_verifies_ph(public, signature, message)
    verifier = Ed25519Signer(key).verifier()
    verifier.verify(signature, message)
    with pytest.raises(SignatureInvalid):
        verifier.verify(signature, message + b" ")


def test_pure_ed25519_is_still_the_default_and_still_verifies() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = load_signer_pem(pem, b"")
    signature = signer.sign(b"payload")
    key.public_key().verify(signature, b"payload")  # what `cosign verify --key` checks
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert not _libsodium_verifies_ph(public, signature, b"payload")
    load_verifier_pem(signer.verifier().public_pem()).verify(signature, b"payload")
    assert isinstance(signer_from_private_key(key), Ed25519Signer)


def test_the_private_key_never_shows() -> None:
    key = Ed25519phSigningKey(_SECRET)
    shown = repr(key) + str(key) + repr(Ed25519Signer(_rfc_key(), prehash=True))
    assert _SECRET.hex() not in shown
    assert _PUBLIC.hex() in repr(key)
    with pytest.raises(ValueError, match="32 bytes") as raised:
        Ed25519phSigningKey(_SECRET[:31])
    assert _SECRET[:31].hex() not in str(raised.value)

"""Signers and verifiers for the key types cosign supports, and the PEM loaders.

Schemes (cosign ``pkg/cosign/keys.go`` ``SupportedKeyDetails``):

* ECDSA P-256/SHA-256, P-384/SHA-384, P-521/SHA-512; signatures are ASN.1 DER.
* RSA PKCS#1 v1.5 with SHA-256 (2048 to 4096 bits for signing, as cosign's goodkey).
* Ed25519. Verification accepts pure Ed25519 *and* Ed25519ph (libsodium, see
  :mod:`.ed25519ph`): cosign up to 2.5 signs pure Ed25519, cosign 2.6 and later sign
  Ed25519ph for ``sign``/``attest --key`` (``GetDefaultLoadOptions``). Signing defaults
  to pure Ed25519 because that is what ``cosign verify``/``verify-attestation --key``
  check, in every release: they load the key with sigstore's ``LoadVerifier``, which
  builds a pure Ed25519 verifier (cosign ``pkg/signature/keys.go`` ``VerifierForKeyRef``).
  ``Ed25519Signer(prehash=True)`` signs Ed25519ph, byte-identical to cosign 2.6+.

Certificate keys verify with SHA-256 whatever the curve, as cosign does
(``signature.LoadVerifier(pub, crypto.SHA256)``); see :class:`EcdsaVerifier`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from sealgate.errors import KeyMaterialError, SignatureInvalid
from sealgate.keys.cosign_format import (
    ENCRYPTED_PEM_TYPES,
    decrypt_private_key,
    encrypt_private_key,
)
from sealgate.keys.ed25519ph import Ed25519phSigningKey, verify_ed25519ph
from sealgate.keys.pem import decode_pem, encode_pem, is_pkcs8
from sealgate.keys.protocols import Signer, Verifier

__all__ = [
    "EcdsaSigner",
    "EcdsaVerifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "RsaSigner",
    "RsaVerifier",
    "fingerprint",
    "generate_key_pair",
    "load_signer_pem",
    "load_verifier_pem",
    "signer_from_private_key",
    "verifier_from_public_key",
]

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

_CURVE_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}
_RSA_MIN_BITS = 2048
_RSA_MAX_SIGN_BITS = 4096
# Verifying with a huge modulus is slow; nothing cosign produces is above 4096 bits.
_RSA_MAX_VERIFY_BITS = 8192


def _spki_der(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: PublicKey | Verifier) -> str:
    """The key id used in reports: hex SHA-256 of the SubjectPublicKeyInfo DER.

    Args:
        key: A public key or any verifier exposing ``public_pem()``.

    Returns:
        64 lowercase hex characters.
    """
    der = decode_pem(key.public_pem()).body if isinstance(key, Verifier) else _spki_der(key)
    return hashlib.sha256(der).hexdigest()


class _BaseVerifier:
    """Shared public-key plumbing: PEM output and the failure message."""

    def __init__(self, key: PublicKey) -> None:
        self._key = key
        self._fingerprint = hashlib.sha256(_spki_der(key)).hexdigest()

    def public_pem(self) -> bytes:
        """The PKIX ``PUBLIC KEY`` PEM, 64-column lines as Go writes it."""
        return encode_pem("PUBLIC KEY", _spki_der(self._key))

    def fingerprint(self) -> str:
        """Hex SHA-256 of the SubjectPublicKeyInfo DER."""
        return self._fingerprint

    def _fail(self) -> SignatureInvalid:
        return SignatureInvalid(
            f"signature does not verify with key sha256:{self._fingerprint[:16]}"
        )


class EcdsaVerifier(_BaseVerifier):
    """ECDSA over the curve's hash, falling back to SHA-256; DER signatures.

    cosign releases before key-type hash detection signed P-384/P-521 ``--key``
    signatures over SHA-256, and certificate keys always use SHA-256, so both digests
    are accepted. Either is collision resistant, so this widens nothing an attacker
    can use.
    """

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        """Wrap ``key``.

        Args:
            key: An ECDSA public key on P-256, P-384 or P-521.

        Raises:
            KeyMaterialError: Any other curve.
        """
        if key.curve.name not in _CURVE_HASH:
            raise KeyMaterialError(f"unsupported elliptic curve {key.curve.name}")
        super().__init__(key)
        self._ec_key = key
        curve_hash = _CURVE_HASH[key.curve.name]
        self._hashes: tuple[type[hashes.HashAlgorithm], ...] = (
            (curve_hash,) if curve_hash is hashes.SHA256 else (curve_hash, hashes.SHA256)
        )

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check an ASN.1 DER ECDSA signature over ``data``.

        Raises:
            SignatureInvalid: The signature is wrong or malformed.
        """
        for hash_cls in self._hashes:
            try:
                self._ec_key.verify(signature, data, ec.ECDSA(hash_cls()))
                return
            except (InvalidSignature, ValueError, TypeError):
                continue
        raise self._fail()


class RsaVerifier(_BaseVerifier):
    """RSA PKCS#1 v1.5 with SHA-256."""

    def __init__(self, key: rsa.RSAPublicKey) -> None:
        if not _RSA_MIN_BITS <= key.key_size <= _RSA_MAX_VERIFY_BITS:
            raise KeyMaterialError(f"unsupported RSA key size {key.key_size} bits")
        super().__init__(key)
        self._rsa_key = key

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check a PKCS#1 v1.5 SHA-256 signature over ``data``.

        Raises:
            SignatureInvalid: The signature is wrong or malformed.
        """
        try:
            self._rsa_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError, TypeError):
            raise self._fail() from None


class Ed25519Verifier(_BaseVerifier):
    """Ed25519, accepting pure Ed25519 or Ed25519ph (cosign's default for keys)."""

    def __init__(self, key: ed25519.Ed25519PublicKey) -> None:
        super().__init__(key)
        self._ed_key = key
        self._raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check a pure Ed25519 or an Ed25519ph signature over ``data``.

        Raises:
            SignatureInvalid: The signature is neither.
        """
        try:
            self._ed_key.verify(signature, data)
            return
        except (InvalidSignature, ValueError, TypeError):
            pass
        if not verify_ed25519ph(self._raw, signature, data):
            raise self._fail()


def verifier_from_public_key(key: object) -> Verifier:
    """Wrap a ``cryptography`` public key in the matching verifier.

    Args:
        key: The public key object.

    Returns:
        A :class:`~sealgate.keys.protocols.Verifier`.

    Raises:
        KeyMaterialError: Unsupported key type, curve or size.
    """
    if isinstance(key, ec.EllipticCurvePublicKey):
        return EcdsaVerifier(key)
    if isinstance(key, rsa.RSAPublicKey):
        return RsaVerifier(key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Ed25519Verifier(key)
    raise KeyMaterialError(f"unsupported public key type {type(key).__name__}")


class EcdsaSigner:
    """ECDSA signer; DER output over the curve's hash (SHA-256 for P-256)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if key.curve.name not in _CURVE_HASH:
            raise KeyMaterialError(f"unsupported elliptic curve {key.curve.name}")
        self._key = key
        self._hash = _CURVE_HASH[key.curve.name]

    def sign(self, data: bytes) -> bytes:
        """Return an ASN.1 DER ECDSA signature over ``data``."""
        return self._key.sign(data, ec.ECDSA(self._hash()))

    def verifier(self) -> Verifier:
        """The matching public key."""
        return EcdsaVerifier(self._key.public_key())


class RsaSigner:
    """RSA PKCS#1 v1.5 / SHA-256 signer."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        if not _RSA_MIN_BITS <= key.key_size <= _RSA_MAX_SIGN_BITS:
            raise KeyMaterialError(f"unsupported RSA key size {key.key_size} bits")
        self._key = key

    def sign(self, data: bytes) -> bytes:
        """Return a PKCS#1 v1.5 SHA-256 signature over ``data``."""
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verifier(self) -> Verifier:
        """The matching public key."""
        return RsaVerifier(self._key.public_key())


class Ed25519Signer:
    """Ed25519 signer: pure Ed25519, or Ed25519ph with ``prehash`` (module docstring)."""

    def __init__(self, key: ed25519.Ed25519PrivateKey, *, prehash: bool = False) -> None:
        """Wrap ``key``.

        Args:
            key: The private key.
            prehash: Sign Ed25519ph (SHA-512 prehash, empty context) instead of pure
                Ed25519, through libsodium.
        """
        self._key = key
        self._prehashed: Ed25519phSigningKey | None = None
        if prehash:
            seed = key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            self._prehashed = Ed25519phSigningKey(seed)

    def sign(self, data: bytes) -> bytes:
        """Return a 64-byte Ed25519 (or Ed25519ph) signature over ``data``."""
        if self._prehashed is not None:
            return self._prehashed.sign(data)
        return self._key.sign(data)

    def verifier(self) -> Verifier:
        """The matching public key."""
        return Ed25519Verifier(self._key.public_key())


def signer_from_private_key(key: object) -> Signer:
    """Wrap a ``cryptography`` private key in the matching signer.

    Args:
        key: The private key object.

    Returns:
        A :class:`~sealgate.keys.protocols.Signer`.

    Raises:
        KeyMaterialError: Unsupported key type, curve or size.
    """
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return EcdsaSigner(key)
    if isinstance(key, rsa.RSAPrivateKey):
        return RsaSigner(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key)
    raise KeyMaterialError(f"unsupported private key type {type(key).__name__}")


def _parse_private_der(der: bytes, expect: type | None = None) -> object:
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyMaterialError("cannot parse private key DER") from None
    if expect is not None and not isinstance(key, expect):
        raise KeyMaterialError("private key type does not match its PEM label")
    return key


def load_signer_pem(pem: bytes, password: bytes | Callable[[], bytes]) -> Signer:
    """Load a signer from cosign's encrypted PEM or a plain private-key PEM.

    Accepted labels: ``ENCRYPTED SIGSTORE PRIVATE KEY``, ``ENCRYPTED COSIGN PRIVATE KEY``
    (password needed), and the unencrypted ``PRIVATE KEY`` (PKCS#8), ``EC PRIVATE KEY``
    (SEC1) and ``RSA PRIVATE KEY`` (PKCS#1) that ``cosign import-key-pair`` takes.

    Args:
        pem: The key file contents.
        password: The password, or a callable asked for it only if the key is encrypted.

    Returns:
        The signer.

    Raises:
        KeyMaterialError: Unreadable, unsupported, wrong password, or unsupported key.
    """
    block = decode_pem(pem)
    if block.label in ENCRYPTED_PEM_TYPES:
        secret = password() if callable(password) else password
        key = _parse_private_der(decrypt_private_key(block.body, secret))
    elif block.label == "PRIVATE KEY":
        if not is_pkcs8(block.body):
            raise KeyMaterialError("'PRIVATE KEY' PEM does not hold PKCS#8 DER")
        key = _parse_private_der(block.body)
    elif block.label == "EC PRIVATE KEY":
        key = _parse_private_der(block.body, ec.EllipticCurvePrivateKey)
    elif block.label == "RSA PRIVATE KEY":
        key = _parse_private_der(block.body, rsa.RSAPrivateKey)
    else:
        raise KeyMaterialError(f"unsupported pem type {block.label!r} for a private key")
    return signer_from_private_key(key)


def load_verifier_pem(pem: bytes) -> Verifier:
    """Load a verifier from ``PUBLIC KEY``, ``RSA PUBLIC KEY`` or ``CERTIFICATE`` PEM.

    Args:
        pem: The key or certificate file contents; the first PEM block is used.

    Returns:
        The verifier.

    Raises:
        KeyMaterialError: Unreadable, unsupported label, or unsupported key.
    """
    block = decode_pem(pem)
    try:
        if block.label == "PUBLIC KEY":
            key: object = serialization.load_der_public_key(block.body)
        elif block.label == "RSA PUBLIC KEY":
            key = serialization.load_pem_public_key(encode_pem(block.label, block.body))
            if not isinstance(key, rsa.RSAPublicKey):
                raise KeyMaterialError("'RSA PUBLIC KEY' PEM does not hold an RSA key")
        elif block.label == "CERTIFICATE":
            cert = x509.load_der_x509_certificate(block.body)
            return verifier_from_public_key(cert.public_key())
        else:
            raise KeyMaterialError(f"unsupported pem type {block.label!r} for a public key")
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyMaterialError(f"cannot parse {block.label!r} PEM") from None
    return verifier_from_public_key(key)


def generate_key_pair(password: bytes) -> tuple[bytes, bytes]:
    """Make a new ECDSA P-256 key pair the way ``cosign generate-key-pair`` does.

    Args:
        password: Encrypts the private key (scrypt N=65536 + secretbox); may be empty.

    Returns:
        ``(ENCRYPTED SIGSTORE PRIVATE KEY PEM, PUBLIC KEY PEM)``.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return encrypt_private_key(der, password), EcdsaVerifier(key.public_key()).public_pem()

"""Public keys of transparency logs (Rekor v1/v2, CT logs) and the one loader for them.

A log key is identified by its log ID: SHA-256 of the DER SubjectPublicKeyInfo for Rekor v1 and
CT logs (RFC 6962 §3.2), or whatever ``logId.keyId`` the trusted root says (Rekor v2 Ed25519
logs use the C2SP signed-note key ID). Supported key types follow sigstore-go
``root.ParseTransparencyLogs``: ECDSA P-256/P-384/P-521, Ed25519 and RSA PKCS#1 v1.5; each
verifies with the hash its key details name (SHA-256 unless a larger curve says otherwise).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from sealgate.errors import KeyMaterialError
from sealgate.trust.timerange import TimeRange

__all__ = ["LogKey", "LogPublicKey", "spki_der"]

LogPublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

# protobuf-specs ``PublicKeyDetails`` names we accept, with the hash each one signs with.
_DETAILS_HASH: dict[str, type[hashes.HashAlgorithm] | None] = {
    "PKIX_ECDSA_P256_SHA_256": hashes.SHA256,
    "PKIX_ECDSA_P384_SHA_384": hashes.SHA384,
    "PKIX_ECDSA_P521_SHA_512": hashes.SHA512,
    "PKIX_ED25519": None,
    "PKCS1_RSA_PKCS1V5": hashes.SHA256,
    "PKIX_RSA_PKCS1V5": hashes.SHA256,
    "PKIX_RSA_PKCS1V15_2048_SHA256": hashes.SHA256,
    "PKIX_RSA_PKCS1V15_3072_SHA256": hashes.SHA256,
    "PKIX_RSA_PKCS1V15_4096_SHA256": hashes.SHA256,
}
_CURVE_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}
_MAX_RSA_BITS = 8192  # verifying with a bigger modulus only costs time


def _supported_key(key: object) -> LogPublicKey:
    if not isinstance(key, LogPublicKey):
        raise KeyMaterialError("log public key type is not supported")
    return key


def spki_der(key: LogPublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of ``key`` (the bytes RFC 6962 log IDs hash)."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _default_details(key: LogPublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "PKIX_ED25519"
    if isinstance(key, rsa.RSAPublicKey):
        return "PKIX_RSA_PKCS1V5"
    curve = key.curve.name
    if curve not in _CURVE_HASH:
        raise KeyMaterialError(f"log key curve {curve} is not supported")
    return {
        "secp256r1": "PKIX_ECDSA_P256_SHA_256",
        "secp384r1": "PKIX_ECDSA_P384_SHA_384",
        "secp521r1": "PKIX_ECDSA_P521_SHA_512",
    }[curve]


def _check_details(key: LogPublicKey, details: str) -> None:
    if details not in _DETAILS_HASH:
        raise KeyMaterialError(f"log key type {details} is not supported")
    if details == "PKIX_ED25519":
        ok = isinstance(key, ed25519.Ed25519PublicKey)
    elif "RSA" in details:
        ok = isinstance(key, rsa.RSAPublicKey) and key.key_size <= _MAX_RSA_BITS
    else:
        ok = isinstance(key, ec.EllipticCurvePublicKey) and _default_details(key) == details
    if not ok:
        raise KeyMaterialError(f"log key does not match its declared type {details}")


@dataclass(frozen=True)
class LogKey:
    """A trusted transparency-log key.

    Attributes:
        log_id: The log's key ID (raw bytes; hex of it is Rekor's ``logID``).
        public_key: The verifying key.
        key_details: protobuf-specs ``PublicKeyDetails`` name.
        valid_for: When the key may be trusted (closed interval).
        base_url: The log's URL from the trusted root ("" for a bare PEM key).
    """

    log_id: bytes
    public_key: LogPublicKey
    key_details: str
    valid_for: TimeRange
    base_url: str = ""

    @property
    def log_id_hex(self) -> str:
        """Lowercase hex of :attr:`log_id`, as Rekor writes ``logID``."""
        return self.log_id.hex()

    @classmethod
    def from_der(
        cls,
        der: bytes,
        *,
        key_details: str | None = None,
        log_id: bytes | None = None,
        valid_for: TimeRange | None = None,
        base_url: str = "",
    ) -> LogKey:
        """Load a key from DER (SubjectPublicKeyInfo, or PKCS#1 for ``PKCS1_RSA_PKCS1V5``).

        Args:
            der: The key bytes (a trusted root's ``publicKey.rawBytes``).
            key_details: The declared type; inferred from the key when None.
            log_id: The log ID; SHA-256 of the DER SPKI when None (RFC 6962).
            valid_for: Validity window; unbounded when None (a bare PEM key).
            base_url: The log's URL.

        Returns:
            The key.

        Raises:
            KeyMaterialError: If the bytes are not a supported public key or do not match
                ``key_details``.
        """
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyMaterialError("log public key cannot be parsed") from exc
        supported = _supported_key(key)
        details = key_details or _default_details(supported)
        _check_details(supported, details)
        return cls(
            log_id=log_id if log_id is not None else hashlib.sha256(spki_der(supported)).digest(),
            public_key=supported,
            key_details=details,
            valid_for=valid_for or TimeRange.unbounded(),
            base_url=base_url,
        )

    @classmethod
    def from_pem(cls, pem: bytes, *, base_url: str = "") -> LogKey:
        """Load a ``PUBLIC KEY`` PEM such as the legacy ``rekor.pub`` or a CT log key.

        Args:
            pem: The PEM bytes.
            base_url: The log's URL, if known.

        Returns:
            The key, with the RFC 6962 log ID and an unbounded validity window.

        Raises:
            KeyMaterialError: If the PEM is unreadable or not a supported public key.
        """
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyMaterialError("log public key PEM cannot be parsed") from exc
        return cls.from_der(spki_der(_supported_key(key)), base_url=base_url)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Check a signature by this key over ``data``.

        Args:
            signature: ASN.1 DER for ECDSA, raw for Ed25519, PKCS#1 v1.5 for RSA.
            data: The signed bytes (hashed here with the key's hash).

        Returns:
            True when the signature verifies, False otherwise (never raises on bad input).
        """
        key = self.public_key
        digest = _DETAILS_HASH[self.key_details]
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, data)
            elif isinstance(key, rsa.RSAPublicKey) and digest is not None:
                key.verify(signature, data, padding.PKCS1v15(), digest())
            elif isinstance(key, ec.EllipticCurvePublicKey) and digest is not None:
                key.verify(signature, data, ec.ECDSA(digest()))
            else:
                return False
        except (InvalidSignature, ValueError):
            return False
        return True

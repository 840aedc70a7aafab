"""PEM and SPKI helpers for data read from registries and signatures.

Decoding is the key loader's (:func:`sealgate.keys.pem.decode_pem`, Go's ``pem.Decode``); here
its errors become :class:`~sealgate.errors.MalformedData`, because a bad PEM inside a signature
annotation is bad data from a registry, not a bad key file given by the user.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from sealgate.errors import KeyMaterialError, MalformedData
from sealgate.keys.pem import decode_pem

__all__ = ["certificate_spki", "fingerprint", "first_pem_block", "spki_der"]


def first_pem_block(pem: bytes) -> tuple[str, bytes]:
    """Return ``(label, der)`` of the first PEM block, like Go's ``pem.Decode``.

    Args:
        pem: PEM text.

    Returns:
        The block label (``PUBLIC KEY``, ``CERTIFICATE``...) and its DER bytes.

    Raises:
        MalformedData: If there is no decodable PEM block.
    """
    try:
        block = decode_pem(pem)
    except KeyMaterialError as exc:
        raise MalformedData(exc.message) from exc
    return block.label, block.body


def spki_der(pem: bytes) -> bytes:
    """DER SubjectPublicKeyInfo of a ``PUBLIC KEY`` PEM or of a certificate's key.

    Args:
        pem: A public key or certificate PEM.

    Returns:
        The SPKI DER bytes.

    Raises:
        MalformedData: If ``pem`` holds neither, or a key of an algorithm we cannot use
            (an X25519 SPKI, say).
    """
    label, der = first_pem_block(pem)
    try:
        key = (
            x509.load_der_x509_certificate(der).public_key()
            if label == "CERTIFICATE"
            else serialization.load_der_public_key(der)
        )
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise MalformedData(f"cannot parse {label} PEM") from exc


def fingerprint(pem: bytes) -> str:
    """Lowercase hex SHA-256 of the key's DER SPKI (also Rekor's log ID for a Rekor key).

    Args:
        pem: A public key or certificate PEM.

    Returns:
        64 hex characters.

    Raises:
        MalformedData: If ``pem`` cannot be parsed.
    """
    return hashlib.sha256(spki_der(pem)).hexdigest()


def certificate_spki(certificate: x509.Certificate) -> bytes:
    """DER SubjectPublicKeyInfo of a parsed certificate's key.

    Args:
        certificate: The certificate (``cryptography`` parses its key lazily).

    Returns:
        The SPKI DER bytes.

    Raises:
        MalformedData: The certificate's key is invalid or of an unknown algorithm.
    """
    try:
        return certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise MalformedData("certificate public key cannot be parsed") from exc

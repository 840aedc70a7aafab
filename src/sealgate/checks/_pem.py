"""Small PEM/SPKI helpers shared by the checks (DER comparison, fingerprints, log IDs)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealgate.errors import MalformedData

__all__ = ["fingerprint", "first_pem_block", "spki_der"]

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


def first_pem_block(pem: bytes) -> tuple[str, bytes]:
    """Return ``(label, der)`` of the first PEM block, like Go's ``pem.Decode``.

    Args:
        pem: PEM text.

    Returns:
        The block label (``PUBLIC KEY``, ``CERTIFICATE``...) and its DER bytes.

    Raises:
        MalformedData: If there is no decodable PEM block.
    """
    match = _PEM_RE.search(pem)
    if match is None:
        raise MalformedData("no PEM block found")
    body = b"".join(line.strip() for line in match.group(2).splitlines() if b":" not in line)
    try:
        return match.group(1).decode("ascii"), base64.b64decode(body, validate=True)
    except binascii.Error as exc:
        raise MalformedData("PEM block is not valid base64") from exc


def spki_der(pem: bytes) -> bytes:
    """DER SubjectPublicKeyInfo of a ``PUBLIC KEY`` PEM or of a certificate's key.

    Args:
        pem: A public key or certificate PEM.

    Returns:
        The SPKI DER bytes.

    Raises:
        MalformedData: If ``pem`` holds neither.
    """
    label, der = first_pem_block(pem)
    try:
        if label == "CERTIFICATE":
            der = (
                x509.load_der_x509_certificate(der)
                .public_key()
                .public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError) as exc:
        raise MalformedData(f"cannot parse {label} PEM") from exc
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


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

"""Embedded Signed Certificate Timestamps (RFC 6962 §3.2) against the trusted CT logs.

cosign (via sigstore-go ``VerifySignedCertificateTimestamp``, threshold 1): at least one SCT in
the leaf's precertificate-SCT extension must come from a CT log of the trusted root, carry a
timestamp inside that log key's ``validFor`` window, and verify over the reconstructed
``digitally-signed`` struct. SCTs from unknown logs are skipped, not errors. The precertificate
TBS (the leaf's TBSCertificate without the SCT list) comes from ``cryptography``; the issuer key
hash is SHA-256 of the issuing CA's SubjectPublicKeyInfo (the CA after a precertificate signing
certificate, if Fulcio used one).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.certificate_transparency import (
    LogEntryType,
    SignedCertificateTimestamp,
)

from sealgate.errors import MalformedData, UntrustedChain
from sealgate.trust import LogKey

__all__ = ["verify_embedded_scts"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CT_PRECERT_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.4")


def _scts(leaf: x509.Certificate) -> list[SignedCertificateTimestamp]:
    try:
        ext = leaf.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        )
    except x509.ExtensionNotFound:
        raise UntrustedChain("certificate has no embedded SCT") from None
    except (ValueError, x509.UnsupportedGeneralNameType) as exc:
        raise MalformedData("certificate SCT list cannot be parsed") from exc
    return list(ext.value)


def _issuer(chain: Sequence[x509.Certificate]) -> x509.Certificate:
    if len(chain) < 2:
        raise UntrustedChain("cannot check the SCT: the certificate's issuer is unknown")
    issuer = chain[1]
    try:
        usages = issuer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if _CT_PRECERT_SIGNING in usages and len(chain) > 2:
            issuer = chain[2]
    except (x509.ExtensionNotFound, ValueError, x509.UnsupportedGeneralNameType):
        pass
    return issuer


def _u24(data: bytes) -> bytes:
    if len(data) >= 1 << 24:
        raise MalformedData("certificate too large for an SCT")
    return len(data).to_bytes(3, "big") + data


def _signed_data(
    sct: SignedCertificateTimestamp, leaf: x509.Certificate, issuer_hash: bytes
) -> bytes:
    if sct.entry_type == LogEntryType.PRE_CERTIFICATE:
        entry = issuer_hash + _u24(leaf.tbs_precertificate_bytes)
    else:
        entry = _u24(leaf.public_bytes(serialization.Encoding.DER))
    timestamp = sct.timestamp.replace(tzinfo=UTC)
    millis = (timestamp - _EPOCH) // timedelta(milliseconds=1)
    extensions = sct.extension_bytes
    return (
        struct.pack("!BBQH", sct.version.value, 0, millis, sct.entry_type.value)
        + entry
        + struct.pack("!H", len(extensions))
        + extensions
    )


def verify_embedded_scts(
    leaf: x509.Certificate, chain: Sequence[x509.Certificate], ctlogs: Sequence[LogKey]
) -> list[LogKey]:
    """Verify the leaf's embedded SCTs; at least one must be from a trusted CT log.

    Args:
        leaf: The signing certificate.
        chain: The validated path, leaf first (its second element is the issuer).
        ctlogs: Trusted CT log keys.

    Returns:
        The CT log keys whose SCTs verified (at least one).

    Raises:
        UntrustedChain: If the leaf has no SCT or none verifies with a trusted CT log inside
            that log's validity window.
        MalformedData: If the SCT extension cannot be decoded.
    """
    scts = _scts(leaf)
    issuer = _issuer(chain)
    issuer_hash = hashlib.sha256(
        issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).digest()
    verified: list[LogKey] = []
    for sct in scts:
        log = next((key for key in ctlogs if key.log_id == sct.log_id), None)
        if log is None or log in verified:
            continue
        if not log.valid_for.contains(sct.timestamp.replace(tzinfo=UTC)):
            continue
        if not isinstance(sct.signature_hash_algorithm, hashes.SHA256):
            continue
        if log.verify(sct.signature, _signed_data(sct, leaf, issuer_hash)):
            verified.append(log)
    if not verified:
        raise UntrustedChain("no embedded SCT verifies with a trusted CT log")
    return verified

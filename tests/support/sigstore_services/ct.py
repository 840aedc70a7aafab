"""A test Certificate Transparency log: signs SCTs over precertificates (RFC 6962 §3.2).

The log receives the precertificate as Fulcio sends it (with the critical poison extension),
strips the poison to get the ``TBSCertificate`` it commits to (pyasn1's RFC 5280 module), and
signs the ``digitally-signed`` struct: version, signature type, timestamp, entry type
``precert_entry``, the issuer key hash, the TBS and no extensions. The SCT and the SCT list are
TLS-encoded (RFC 5246 §4) as RFC 6962 §3.3 lays them out.
"""

from __future__ import annotations

import hashlib
import struct
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyasn1.codec.der import decoder, encoder
from pyasn1_modules import rfc5280

__all__ = [
    "PRECERT_POISON",
    "SCT_LIST",
    "TestCtLog",
    "der_octet_string",
    "der_tlv",
    "precert_tbs",
]

PRECERT_POISON = "1.3.6.1.4.1.11129.2.4.3"
SCT_LIST = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_HASH_SHA256, _SIG_ECDSA = 4, 3


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def der_tlv(tag: int, content: bytes) -> bytes:
    """One DER tag-length-value (any length)."""
    return bytes([tag]) + _der_length(len(content)) + content


def der_octet_string(content: bytes) -> bytes:
    """DER ``OCTET STRING``."""
    return der_tlv(0x04, content)


def precert_tbs(precert_der: bytes) -> bytes:
    """The precertificate's ``TBSCertificate`` without the poison extension (RFC 6962 §3.2)."""
    cert, _ = decoder.decode(precert_der, asn1Spec=rfc5280.Certificate())
    tbs = cert["tbsCertificate"]
    kept = tbs["extensions"].clone()
    for extension in tbs["extensions"]:
        if str(extension["extnID"]) != PRECERT_POISON:
            kept.append(extension)
    tbs["extensions"] = kept
    return bytes(encoder.encode(tbs))


def _u16(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


class TestCtLog:
    """A CT log key that signs embedded SCTs."""

    __test__ = False

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.log_id = hashlib.sha256(self.spki).digest()

    def sct(self, precert_der: bytes, issuer: x509.Certificate) -> bytes:
        """One TLS-encoded SCT for ``precert_der`` issued by ``issuer``."""
        issuer_key_hash = hashlib.sha256(
            issuer.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).digest()
        tbs = precert_tbs(precert_der)
        millis = int(time.time() * 1000)
        signed = (
            struct.pack("!BBQH", 0, 0, millis, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + _u16(b"")
        )
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return (
            b"\x00"
            + self.log_id
            + struct.pack("!Q", millis)
            + _u16(b"")
            + bytes([_HASH_SHA256, _SIG_ECDSA])
            + _u16(signature)
        )

    @staticmethod
    def sct_list_extension(scts: list[bytes]) -> x509.UnrecognizedExtension:
        """The embedded-SCT extension (its value is the DER OCTET STRING of the TLS list)."""
        listed = b"".join(_u16(sct) for sct in scts)
        return x509.UnrecognizedExtension(SCT_LIST, der_octet_string(_u16(listed)))

"""Small X.509 hierarchies for unit tests (root, intermediate, Fulcio-like leaves)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OTHERNAME = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


def der_utf8(text: str) -> bytes:
    """DER UTF8String (short form length)."""
    raw = text.encode()
    assert len(raw) < 128
    return b"\x0c" + bytes([len(raw)]) + raw


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def make_ca(
    cn: str,
    *,
    parent: Issued | None = None,
    not_before: datetime = T0 - timedelta(days=365),
    days: int = 3650,
    extra: list[tuple[x509.ExtensionType, bool]] | None = None,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(parent.cert.subject if parent else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if parent is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), False
        )
    for ext, critical in extra or []:
        builder = builder.add_extension(ext, critical)
    signer = parent.key if parent else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def make_leaf(
    issuer: Issued,
    *,
    sans: list[x509.GeneralName] | None = None,
    oidc_issuer_v1: str | None = "https://issuer.example",
    oidc_issuer_v2: str | None = "https://issuer.example",
    eku: list[x509.ObjectIdentifier] | None = None,
    ca: bool = False,
    not_before: datetime = T0,
    minutes: int = 10,
    extra: list[tuple[x509.ExtensionType, bool]] | None = None,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder: Any = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(minutes=minutes))
        .add_extension(
            x509.SubjectAlternativeName(sans or [x509.RFC822Name("dev@example.com")]),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    )
    usages = [ExtendedKeyUsageOID.CODE_SIGNING] if eku is None else eku
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if oidc_issuer_v1 is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ISSUER_V1, oidc_issuer_v1.encode()), False
        )
    if oidc_issuer_v2 is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ISSUER_V2, der_utf8(oidc_issuer_v2)), False
        )
    for ext, critical in extra or []:
        builder = builder.add_extension(ext, critical)
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)

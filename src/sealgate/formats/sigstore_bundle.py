"""Sigstore bundles (protobuf-specs ``dev.sigstore.bundle.v1.Bundle``), cosign 3's default output.

Versions 0.1, 0.2 and 0.3 (both 0.3 media-type spellings). The structural rules are sigstore-go
``bundle.validate``: 0.1 needs an inclusion promise, 0.2+ an inclusion proof (always with a
checkpoint), 0.3 carries a single certificate instead of a chain; content is a message signature
or a DSSE envelope; verification material is a certificate, a chain or a public-key hint. A chain
must not contain a self-signed root (the client spec forbids it; conformance case
``bundle-with-root-cert_fail``). Anything else is :class:`~sealgate.errors.MalformedData` with a
one-line reason. Pure: bytes in, a :class:`SigstoreBundle` out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from sealgate.errors import MalformedData
from sealgate.formats._protojson import b64bytes, obj, opt_obj, seq, string
from sealgate.formats.dsse import DsseSignature, Envelope
from sealgate.formats.tlog_entry import TlogEntry, parse_tlog_entry

__all__ = [
    "BUNDLE_MEDIA_TYPES",
    "MessageSignature",
    "SigstoreBundle",
    "parse_sigstore_bundle",
]

BUNDLE_MEDIA_TYPES = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json": "0.3",
}
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
# sigstore-go internal/limits: more entries or timestamps than this is an attack, not a bundle.
MAX_TLOG_ENTRIES = 32
MAX_TIMESTAMPS = 32
_MAX_CHAIN = 10
_DIGEST_ALGORITHMS = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}


@dataclass(frozen=True)
class MessageSignature:
    """A signature over an artifact's digest (``hashedrekord``).

    Attributes:
        signature: The raw signature bytes.
        digest_algorithm: ``sha256``/``sha384``/``sha512`` when the bundle states a digest.
        digest: The artifact digest the bundle claims, or None.
    """

    signature: bytes
    digest_algorithm: str | None = None
    digest: bytes | None = None


@dataclass(frozen=True)
class SigstoreBundle:
    """A parsed Sigstore bundle.

    Attributes:
        media_type: The bundle's media type, as written.
        version: ``0.1``, ``0.2`` or ``0.3``.
        certificate: The signing certificate, or None for a key-signed bundle.
        chain: Further certificates of a 0.1/0.2 ``x509CertificateChain`` (untrusted hints).
        public_key_hint: The ``publicKey.hint`` of a key-signed bundle ("" if unset), or None.
        tlog_entries: Transparency-log entries.
        rfc3161_timestamps: DER ``TimeStampResp`` blobs.
        message_signature: The content when it is a message signature.
        dsse_envelope: The content when it is a DSSE envelope.
    """

    media_type: str
    version: str
    certificate: x509.Certificate | None
    chain: tuple[x509.Certificate, ...]
    public_key_hint: str | None
    tlog_entries: tuple[TlogEntry, ...]
    rfc3161_timestamps: tuple[bytes, ...]
    message_signature: MessageSignature | None
    dsse_envelope: Envelope | None

    @property
    def signature(self) -> bytes:
        """The signature the log and the timestamps cover (the envelope's first for DSSE)."""
        if self.dsse_envelope is not None:
            return self.dsse_envelope.signatures[0].sig
        if self.message_signature is None:  # unreachable: parse requires one content
            raise MalformedData("bundle has no signature content")
        return self.message_signature.signature


def _certificate(value: object, what: str) -> x509.Certificate:
    der = b64bytes(obj(value, what).get("rawBytes"), f"{what}.rawBytes")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise MalformedData(f"{what} is not a DER certificate") from exc


def _is_root(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return bool(constraints.ca) and cert.issuer == cert.subject


def _material(
    doc: dict[str, Any], version: str
) -> tuple[x509.Certificate | None, tuple[x509.Certificate, ...], str | None]:
    present = [k for k in ("publicKey", "x509CertificateChain", "certificate") if k in doc]
    if len(present) != 1:
        raise MalformedData(
            "bundle verification material must hold exactly one of a certificate, "
            "a certificate chain or a public key"
        )
    if present[0] == "publicKey":
        hint = obj(doc["publicKey"], "publicKey").get("hint", "")
        return None, (), string(hint, "publicKey.hint", required=False)
    if present[0] == "certificate":
        return _certificate(doc["certificate"], "certificate"), (), None
    if version == "0.3":
        raise MalformedData("a v0.3 bundle must carry a single certificate, not a chain")
    chain_doc = obj(doc["x509CertificateChain"], "x509CertificateChain")
    raw = seq(chain_doc.get("certificates"), "certificate chain", limit=_MAX_CHAIN)
    if not raw:
        raise MalformedData("bundle certificate chain is empty")
    certs = [_certificate(c, f"certificate chain[{i}]") for i, c in enumerate(raw)]
    if any(_is_root(c) for c in certs[1:]):
        raise MalformedData("bundle certificate chain contains a root certificate")
    return certs[0], tuple(certs[1:]), None


def _message_signature(value: object) -> MessageSignature:
    doc = obj(value, "messageSignature")
    signature = b64bytes(doc.get("signature"), "messageSignature.signature")
    digest_doc = opt_obj(doc.get("messageDigest"), "messageSignature.messageDigest")
    if digest_doc is None:
        return MessageSignature(signature)
    algorithm = _DIGEST_ALGORITHMS.get(str(digest_doc.get("algorithm")))
    if algorithm is None:
        raise MalformedData("messageDigest algorithm is not SHA2_256, SHA2_384 or SHA2_512")
    return MessageSignature(
        signature, algorithm, b64bytes(digest_doc.get("digest"), "messageDigest.digest")
    )


def _envelope(value: object) -> Envelope:
    doc = obj(value, "dsseEnvelope")
    signatures = seq(doc.get("signatures"), "dsseEnvelope.signatures", limit=16)
    if not signatures:
        raise MalformedData("DSSE envelope has no signatures")
    sigs = []
    for index, raw in enumerate(signatures):
        item = obj(raw, f"dsseEnvelope.signatures[{index}]")
        keyid = string(item.get("keyid"), "dsse keyid", required=False)
        sigs.append(DsseSignature(b64bytes(item.get("sig"), f"DSSE signature {index}"), keyid))
    return Envelope(
        payload_type=string(doc.get("payloadType"), "dsseEnvelope.payloadType"),
        payload=b64bytes(doc.get("payload"), "dsseEnvelope.payload", required=False),
        signatures=tuple(sigs),
    )


def _entries(material: dict[str, Any], version: str) -> tuple[TlogEntry, ...]:
    raw = seq(material.get("tlogEntries"), "tlogEntries", limit=MAX_TLOG_ENTRIES)
    entries = tuple(parse_tlog_entry(e, f"tlog entry {i}") for i, e in enumerate(raw))
    if version == "0.1" and any(e.signed_entry_timestamp is None for e in entries):
        raise MalformedData("a v0.1 bundle needs an inclusion promise for every log entry")
    if version != "0.1" and any(e.inclusion_proof is None for e in entries):
        raise MalformedData(f"a v{version} bundle needs an inclusion proof for every log entry")
    return entries


def _timestamps(material: dict[str, Any]) -> tuple[bytes, ...]:
    data = opt_obj(material.get("timestampVerificationData"), "timestampVerificationData")
    if data is None:
        return ()
    raw = seq(data.get("rfc3161Timestamps"), "rfc3161Timestamps", limit=MAX_TIMESTAMPS)
    stamps = tuple(
        b64bytes(obj(t, "rfc3161 timestamp").get("signedTimestamp"), "signedTimestamp") for t in raw
    )
    if len(set(stamps)) != len(stamps):
        raise MalformedData("bundle carries the same RFC 3161 timestamp twice")
    return stamps


def parse_sigstore_bundle(raw: bytes | str) -> SigstoreBundle:
    """Parse a Sigstore bundle JSON document.

    Args:
        raw: The bundle JSON (at most 16 MiB).

    Returns:
        The bundle.

    Raises:
        MalformedData: If the JSON is malformed, the media type or version is unknown, the
            structure breaks a rule of its version, or a field is malformed (bad base64,
            negative log index, unparseable certificate...).
    """
    if len(raw) > MAX_BUNDLE_BYTES:
        raise MalformedData("Sigstore bundle is larger than 16 MiB")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedData("Sigstore bundle is not valid JSON") from exc
    doc = obj(doc, "Sigstore bundle")
    media_type = doc.get("mediaType")
    version = BUNDLE_MEDIA_TYPES.get(media_type) if isinstance(media_type, str) else None
    if version is None:
        shown = str(media_type)[:100]
        raise MalformedData(f"unsupported Sigstore bundle media type or version: {shown}")
    material = obj(doc.get("verificationMaterial"), "verificationMaterial")
    certificate, chain, hint = _material(material, version)
    has_message, has_dsse = "messageSignature" in doc, "dsseEnvelope" in doc
    if has_message == has_dsse:
        raise MalformedData("bundle content must be one message signature or one DSSE envelope")
    return SigstoreBundle(
        media_type=str(media_type),
        version=version,
        certificate=certificate,
        chain=chain,
        public_key_hint=hint,
        tlog_entries=_entries(material, version),
        rfc3161_timestamps=_timestamps(material),
        message_signature=_message_signature(doc["messageSignature"]) if has_message else None,
        dsse_envelope=_envelope(doc["dsseEnvelope"]) if has_dsse else None,
    )

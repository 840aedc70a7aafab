"""Signed things: what one stored signature commits to, in one shape for every format.

A cosign ``.sig`` layer (simple-signing payload + signature annotation), a ``.att`` layer (a DSSE
envelope) and a Sigstore bundle carry the same parts: the exact stored bytes, the bytes the
signature covers, the signature, an optional certificate and chain, transparency-log entries,
signed timestamps, and the payload whose claims (image digest, statement subject) must name the
image. Reading them into one :class:`SignedThing` lets a single pipeline
(:mod:`sealgate.checks.pipeline`) check any of them against any authority.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealgate.checks.tlog import legacy_tlog_entry
from sealgate.errors import DigestMismatch, MalformedData, SignatureInvalid
from sealgate.formats import _gojson
from sealgate.formats.cosign_manifest import SignatureLayer, sha256_digest
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    DSSE_LAYER_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
    RFC3161_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.dsse import Envelope, parse_envelope
from sealgate.formats.sigstore_bundle import parse_sigstore_bundle
from sealgate.formats.tlog_entry import TlogEntry
from sealgate.sigstore_checks import SignedContent

__all__ = [
    "SignedKind",
    "SignedThing",
    "bundle_layer",
    "bundle_thing",
    "decode_signature_annotation",
    "dsse_layer",
    "public_key_der",
    "simplesigning_layer",
]

#: ``simplesigning``: a cosign image signature; ``dsse``: a DSSE envelope (an attestation, or a
#: cosign 3 image signature); ``message``: a signature over an artifact's digest (blobs).
SignedKind = Literal["simplesigning", "dsse", "message"]

# Go's base64.StdEncoding.DecodeString drops CR and LF before decoding, so cosign accepts a
# signature wrapped at 76 columns (as some PKI tooling writes it); nothing else is ignored.
_GO_IGNORED = str.maketrans("", "", "\r\n")
_MAX_CHAIN = 10


@dataclass(frozen=True)
class SignedThing:
    """One stored signature with everything needed to check it.

    Attributes:
        kind: What shape the signature has.
        label: Where it came from, for messages (``signature 2``, ``attestation 1``).
        content: The exact stored bytes (the layer blob or the bundle).
        message: The exact bytes every signature covers (the payload, DSSE's PAE, the blob);
            None when only the artifact's digest is known.
        signatures: Candidate raw signatures (a DSSE envelope may carry several).
        payload: The signed document whose claims must name the image: the simple-signing
            payload or the in-toto statement (``b""`` for a bare message signature).
        digest: ``(algorithm, digest)`` of what a message signature covers.
        envelope: The DSSE envelope, for DSSE things.
        certificate: The signing certificate, when the signature carries one.
        chain: Untrusted intermediates that travel with it.
        bundle_version: ``0.1``..``0.3`` for a Sigstore bundle, None for a cosign layer.
        tlog_annotation: cosign 2's Rekor bundle annotation, parsed only if needed.
        timestamp_annotation: cosign 2's RFC 3161 annotation, parsed only if needed.
        bundle_entries: A Sigstore bundle's log entries.
        bundle_timestamps: A Sigstore bundle's RFC 3161 timestamps (DER).
        annotations: The layer or manifest annotations.
    """

    kind: SignedKind
    label: str
    content: bytes = field(repr=False)
    message: bytes | None = field(repr=False)
    signatures: tuple[bytes, ...] = field(repr=False)
    payload: bytes = field(repr=False)
    digest: tuple[str, bytes] | None = field(default=None, repr=False)
    envelope: Envelope | None = field(default=None, repr=False)
    certificate: x509.Certificate | None = field(default=None, repr=False)
    chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    bundle_version: str | None = None
    tlog_annotation: str | None = field(default=None, repr=False)
    timestamp_annotation: str | None = field(default=None, repr=False)
    bundle_entries: tuple[TlogEntry, ...] = field(default=(), repr=False)
    bundle_timestamps: tuple[bytes, ...] = field(default=(), repr=False)
    annotations: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def layer_digest(self) -> str:
        """``sha256:<hex>`` of the stored bytes."""
        return sha256_digest(self.content)

    def log_entries(self) -> tuple[TlogEntry, ...]:
        """The transparency-log entries, however the signature carries them.

        Raises:
            MalformedData: cosign's Rekor annotation is malformed.
        """
        if self.bundle_version is not None:
            return self.bundle_entries
        if self.tlog_annotation is None:
            return ()
        return (legacy_tlog_entry(self.tlog_annotation),)

    def timestamps(self) -> tuple[bytes, ...]:
        """RFC 3161 timestamp responses (DER), however the signature carries them.

        Raises:
            MalformedData: cosign's timestamp annotation is malformed.
        """
        if self.bundle_version is not None:
            return self.bundle_timestamps
        if self.timestamp_annotation is None:
            return ()
        doc = _gojson.loads(self.timestamp_annotation, "RFC 3161 timestamp annotation")
        if not isinstance(doc, dict):
            raise MalformedData("RFC 3161 timestamp annotation is not a JSON object")
        return (_gojson.b64decode(doc.get("SignedRFC3161Timestamp"), "RFC 3161 timestamp"),)

    def signed_content(self, verifier_der: bytes, *, is_certificate: bool) -> SignedContent:
        """What a log entry about this signature must record, for the given verifier."""
        return SignedContent(
            signature=self.signatures[0],
            verifier_der=verifier_der,
            verifier_is_certificate=is_certificate,
            digest=self.digest,
            envelope=self.envelope,
            # cosign 2 logs the .att layer bytes as they are stored; a bundle's envelope has
            # no single serialisation, so only its payload hash is compared.
            envelope_bytes=self.content if self.bundle_version is None else None,
        )


def decode_signature_annotation(value: str | None) -> bytes:
    """Decode a ``dev.cosignproject.cosign/signature`` value as Go's decoder would.

    Args:
        value: The annotation (standard base64, possibly wrapped with CR/LF).

    Returns:
        The raw signature bytes.

    Raises:
        SignatureInvalid: Missing, empty, non-ASCII or not base64.
    """
    if not value:
        raise SignatureInvalid("signature layer has no signature annotation")
    try:
        return base64.b64decode(value.translate(_GO_IGNORED).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise SignatureInvalid("signature annotation is not valid base64") from exc


def _certificates(
    annotations: Mapping[str, str],
) -> tuple[x509.Certificate | None, tuple[x509.Certificate, ...]]:
    """The certificate and chain annotations, parsed (the chain's root stays in: untrusted)."""
    cert_pem = annotations.get(CERTIFICATE_ANNOTATION) or ""
    chain_pem = annotations.get(CHAIN_ANNOTATION) or ""
    try:
        leaf = x509.load_pem_x509_certificate(cert_pem.encode("ascii")) if cert_pem else None
        chain = x509.load_pem_x509_certificates(chain_pem.encode("ascii")) if chain_pem else []
    except (ValueError, UnicodeEncodeError) as exc:
        raise MalformedData("certificate or chain annotation is not PEM certificates") from exc
    if len(chain) > _MAX_CHAIN:
        raise MalformedData(f"certificate chain annotation has more than {_MAX_CHAIN} certificates")
    return leaf, tuple(chain)


def simplesigning_layer(layer: SignatureLayer, label: str) -> SignedThing:
    """Read one ``.sig`` layer.

    Args:
        layer: The layer and its blob.
        label: Its name in messages.

    Returns:
        The signed thing.

    Raises:
        SignatureInvalid: Not a simple-signing layer, or the signature annotation is unusable.
        MalformedData: A certificate or chain annotation is malformed.
    """
    # Only simple-signing layers are image signatures (cosign ignores other media types).
    if layer.media_type != SIMPLESIGNING_MEDIA_TYPE:
        raise SignatureInvalid(f"layer media type {layer.media_type} is not a cosign signature")
    signature = decode_signature_annotation(layer.annotations.get(SIGNATURE_ANNOTATION))
    certificate, chain = _certificates(layer.annotations)
    return SignedThing(
        kind="simplesigning",
        label=label,
        content=layer.payload,
        message=layer.payload,
        signatures=(signature,),
        payload=layer.payload,
        digest=("sha256", hashlib.sha256(layer.payload).digest()),
        certificate=certificate,
        chain=chain,
        tlog_annotation=layer.annotations.get(BUNDLE_ANNOTATION) or None,
        timestamp_annotation=layer.annotations.get(RFC3161_ANNOTATION) or None,
        annotations=dict(layer.annotations),
    )


def dsse_layer(layer: SignatureLayer, label: str) -> SignedThing:
    """Read one ``.att`` layer (a DSSE envelope holding an in-toto statement).

    Args:
        layer: The layer and its blob.
        label: Its name in messages.

    Returns:
        The signed thing; ``message`` is PAE(payloadType, payload).

    Raises:
        SignatureInvalid: Not a DSSE layer, or a payload type other than in-toto (cosign
            ``verifyOCIAttestation`` accepts nothing else).
        MalformedData: The envelope, or a certificate annotation, is malformed.
    """
    if layer.media_type != DSSE_LAYER_MEDIA_TYPE:
        raise SignatureInvalid(f"layer media type {layer.media_type} is not an attestation")
    envelope = parse_envelope(layer.payload)
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
        raise SignatureInvalid(f"invalid DSSE payloadType {envelope.payload_type}")
    certificate, chain = _certificates(layer.annotations)
    return SignedThing(
        kind="dsse",
        label=label,
        content=layer.payload,
        message=envelope.pae(),
        signatures=tuple(s.sig for s in envelope.signatures),
        payload=envelope.payload,
        envelope=envelope,
        certificate=certificate,
        chain=chain,
        tlog_annotation=layer.annotations.get(BUNDLE_ANNOTATION) or None,
        timestamp_annotation=layer.annotations.get(RFC3161_ANNOTATION) or None,
        annotations=dict(layer.annotations),
    )


def bundle_thing(
    raw: bytes,
    label: str,
    *,
    artifact: bytes | None = None,
    artifact_digest: tuple[str, bytes] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> SignedThing:
    """Read a Sigstore bundle (a cosign 3 referrer, or ``--bundle`` of a blob).

    Args:
        raw: The bundle JSON.
        label: Its name in messages.
        artifact: The signed blob, for a message-signature bundle verified against a file.
        artifact_digest: ``(algorithm, digest)`` of the blob when only its digest is known.
        annotations: The referrer manifest's annotations.

    Returns:
        The signed thing.

    Raises:
        MalformedData: The bundle is malformed, or a message signature comes with neither an
            artifact nor its digest.
        SignatureInvalid: A DSSE envelope whose payload type is not in-toto.
    """
    bundle = parse_sigstore_bundle(raw)
    evidence = _BundleEvidence(
        content=raw,
        certificate=bundle.certificate,
        chain=bundle.chain,
        bundle_version=bundle.version,
        bundle_entries=bundle.tlog_entries,
        bundle_timestamps=bundle.rfc3161_timestamps,
        annotations=dict(annotations or {}),
    )
    if bundle.dsse_envelope is not None:
        envelope = bundle.dsse_envelope
        if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
            raise SignatureInvalid(f"invalid DSSE payloadType {envelope.payload_type}")
        return evidence.thing(
            kind="dsse",
            label=label,
            message=envelope.pae(),
            signatures=tuple(s.sig for s in envelope.signatures),
            payload=envelope.payload,
            envelope=envelope,
        )
    signature = bundle.message_signature
    if signature is None:  # parse_sigstore_bundle guarantees one content
        raise MalformedData("bundle has no signature content")
    if artifact is not None:
        algorithm = signature.digest_algorithm or "sha256"
        artifact_digest = (algorithm, hashlib.new(algorithm, artifact).digest())
    if artifact_digest is None:
        raise MalformedData("a message-signature bundle needs the artifact or its digest")
    claimed = (signature.digest_algorithm, signature.digest)
    if signature.digest is not None and claimed != artifact_digest:
        raise DigestMismatch(f"{label}: the bundle's message digest is not the artifact's")
    return evidence.thing(
        kind="message",
        label=label,
        message=artifact,
        signatures=(signature.signature,),
        payload=b"",
        digest=artifact_digest,
    )


@dataclass(frozen=True)
class _BundleEvidence:
    """What every signed thing read from a bundle shares, whatever its content."""

    content: bytes
    certificate: x509.Certificate | None
    chain: tuple[x509.Certificate, ...]
    bundle_version: str
    bundle_entries: tuple[TlogEntry, ...]
    bundle_timestamps: tuple[bytes, ...]
    annotations: Mapping[str, str]

    def thing(
        self,
        *,
        kind: SignedKind,
        label: str,
        message: bytes | None,
        signatures: tuple[bytes, ...],
        payload: bytes,
        envelope: Envelope | None = None,
        digest: tuple[str, bytes] | None = None,
    ) -> SignedThing:
        return SignedThing(
            kind=kind,
            label=label,
            content=self.content,
            message=message,
            signatures=signatures,
            payload=payload,
            digest=digest,
            envelope=envelope,
            certificate=self.certificate,
            chain=self.chain,
            bundle_version=self.bundle_version,
            bundle_entries=self.bundle_entries,
            bundle_timestamps=self.bundle_timestamps,
            annotations=self.annotations,
        )


def bundle_layer(layer: SignatureLayer, label: str) -> SignedThing:
    """Read a cosign 3 referrer: its bundle layer, with the referrer manifest's annotations.

    Raises:
        MalformedData: See :func:`bundle_thing`.
        SignatureInvalid: See :func:`bundle_thing`.
    """
    return bundle_thing(layer.payload, label, annotations=layer.annotations)


def public_key_der(pem: bytes) -> bytes:
    """DER SubjectPublicKeyInfo of a public key PEM (for log-entry binding).

    Raises:
        MalformedData: Not a public key PEM.
    """
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise MalformedData("public key PEM cannot be parsed") from exc
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

"""Signed things: what one stored signature commits to, in one shape for every format.

A cosign ``.sig`` layer (simple-signing payload + signature annotation) and a ``.att`` layer
(a DSSE envelope) carry the same parts: the exact stored bytes, the bytes the signature covers,
the signature, optional certificate and chain, optional transparency-log evidence, and the
payload whose claims (image digest, statement subject) must name the image. Reading them into
one :class:`SignedThing` lets a single pipeline (:mod:`sealgate.checks.pipeline`) check any of
them against any authority; a Sigstore bundle becomes one more constructor here.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sealgate.errors import MalformedData, SignatureInvalid
from sealgate.formats.cosign_manifest import SignatureLayer, sha256_digest
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    DSSE_LAYER_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.dsse import parse_envelope

__all__ = [
    "SignedKind",
    "SignedThing",
    "decode_signature_annotation",
    "dsse_layer",
    "simplesigning_layer",
]

#: ``simplesigning``: an image signature; ``dsse``: an in-toto attestation in a DSSE envelope.
SignedKind = Literal["simplesigning", "dsse"]

# Go's base64.StdEncoding.DecodeString drops CR and LF before decoding, so cosign accepts a
# signature wrapped at 76 columns (as some PKI tooling writes it); nothing else is ignored.
_GO_IGNORED = str.maketrans("", "", "\r\n")


@dataclass(frozen=True)
class SignedThing:
    """One stored signature with everything needed to check it.

    Attributes:
        kind: What the signature is about (image signature or attestation).
        label: Where it came from, for messages (``signature 2``, ``attestation 1``).
        content: The exact stored bytes (the layer blob); a Rekor entry hashes these.
        message: The exact bytes every signature covers (the payload, or DSSE's PAE).
        signatures: Candidate raw signatures (a DSSE envelope may carry several).
        signature_b64: The signature as annotated (compared with the logged one); ``""`` for
            attestations, whose annotation is empty.
        payload: The signed document whose claims must name the image: the simple-signing
            payload or the in-toto statement.
        certificate_pem: The signing certificate, when the signature carries one.
        chain_pem: Its intermediates and root, when given.
        tlog_annotation: The legacy Rekor bundle JSON, when given (parsed only if needed).
        annotations: All layer annotations.
    """

    kind: SignedKind
    label: str
    content: bytes = field(repr=False)
    message: bytes = field(repr=False)
    signatures: tuple[bytes, ...] = field(repr=False)
    signature_b64: str
    payload: bytes = field(repr=False)
    certificate_pem: bytes | None = field(default=None, repr=False)
    chain_pem: bytes | None = field(default=None, repr=False)
    tlog_annotation: str | None = field(default=None, repr=False)
    annotations: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the stored bytes (the layer digest)."""
        return sha256_digest(self.content)


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


def _optional_pem(annotations: Mapping[str, str], key: str) -> bytes | None:
    value = annotations.get(key)
    if not value:
        return None
    try:
        return value.encode("ascii")
    except UnicodeEncodeError as exc:
        raise MalformedData(f"{key} annotation is not ASCII PEM") from exc


def simplesigning_layer(layer: SignatureLayer, label: str) -> SignedThing:
    """Read one ``.sig`` layer.

    Args:
        layer: The layer and its blob.
        label: Its name in messages.

    Returns:
        The signed thing.

    Raises:
        SignatureInvalid: Not a simple-signing layer, or the signature annotation is unusable.
        MalformedData: A certificate or chain annotation is not ASCII.
    """
    # Only simple-signing layers are image signatures (cosign ignores other media types).
    if layer.media_type != SIMPLESIGNING_MEDIA_TYPE:
        raise SignatureInvalid(f"layer media type {layer.media_type} is not a cosign signature")
    signature_b64 = layer.annotations.get(SIGNATURE_ANNOTATION, "")
    signature = decode_signature_annotation(signature_b64)
    return SignedThing(
        kind="simplesigning",
        label=label,
        content=layer.payload,
        message=layer.payload,
        signatures=(signature,),
        signature_b64=signature_b64,
        payload=layer.payload,
        certificate_pem=_optional_pem(layer.annotations, CERTIFICATE_ANNOTATION),
        chain_pem=_optional_pem(layer.annotations, CHAIN_ANNOTATION),
        tlog_annotation=layer.annotations.get(BUNDLE_ANNOTATION) or None,
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
    return SignedThing(
        kind="dsse",
        label=label,
        content=layer.payload,
        message=envelope.pae(),
        signatures=tuple(s.sig for s in envelope.signatures),
        # The attestation layer's signature annotation is empty; the log binds the envelope.
        signature_b64="",
        payload=envelope.payload,
        certificate_pem=_optional_pem(layer.annotations, CERTIFICATE_ANNOTATION),
        chain_pem=_optional_pem(layer.annotations, CHAIN_ANNOTATION),
        tlog_annotation=layer.annotations.get(BUNDLE_ANNOTATION) or None,
        annotations=dict(layer.annotations),
    )

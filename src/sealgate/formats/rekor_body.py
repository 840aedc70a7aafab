"""What a Rekor entry body commits to: signatures, verifier keys, and artifact digests.

Reads the canonicalized body of every kind a Sigstore client meets, into one shape so the
entry-to-artifact binding is written once (:mod:`sealgate.sigstore_checks.binding`):

* ``hashedrekord`` 0.0.1 and ``rekord`` 0.0.1 (x509 format): digest, signature, key or cert PEM.
* ``hashedrekord`` 0.0.2 (Rekor v2 protojson): digest, signature, key or cert DER, key details.
* ``dsse`` 0.0.1: payload hash, envelope hash, every signature with its verifier PEM.
* ``intoto`` 0.0.2: payload hash, envelope hash, signatures (base64 inside base64, as Go's
  ``strfmt.Base64`` writes them) with their key PEMs.
* ``intoto`` 0.0.1: payload hash, envelope hash and the key (its body keeps no signature).

Only what the log commits to is read; nothing here depends on one writer's serialization.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sealgate.errors import KeyMaterialError, MalformedData
from sealgate.formats._gojson import loads
from sealgate.formats._protojson import b64bytes, obj, seq, string
from sealgate.keys.pem import decode_pem

__all__ = ["LoggedEntry", "LoggedSignature", "parse_rekor_body"]

_HEX = re.compile(r"^[0-9a-fA-F]{2,256}$")
_HASHES = ("sha256", "sha384", "sha512")
_V2_HASHES = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}


@dataclass(frozen=True)
class LoggedSignature:
    """One signature the entry records.

    Attributes:
        signature: Raw signature bytes; b"" when the kind does not log it (intoto 0.0.1).
        verifier_der: DER of the logged certificate, or of the public key (SPKI).
        verifier_is_certificate: Whether ``verifier_der`` is a certificate.
    """

    signature: bytes
    verifier_der: bytes
    verifier_is_certificate: bool


@dataclass(frozen=True)
class LoggedEntry:
    """A decoded entry body.

    Attributes:
        kind: ``hashedrekord``, ``rekord``, ``dsse`` or ``intoto``.
        version: ``0.0.1`` or ``0.0.2``.
        signatures: Logged signatures (at least one).
        data_digest: ``(algorithm, digest)`` of the signed artifact (hashedrekord, rekord).
        payload_hash: ``(algorithm, digest)`` of the DSSE payload (dsse, intoto).
        envelope_hash: ``(algorithm, digest)`` of one serialization of the envelope.
        key_details: Rekor v2 signing algorithm (``PKIX_ECDSA_P256_SHA_256``...), else None.
    """

    kind: str
    version: str
    signatures: tuple[LoggedSignature, ...]
    data_digest: tuple[str, bytes] | None = None
    payload_hash: tuple[str, bytes] | None = None
    envelope_hash: tuple[str, bytes] | None = None
    key_details: str | None = None

    @property
    def is_rekor_v2(self) -> bool:
        """Whether the body is a Rekor v2 (tile-based log) entry."""
        return self.kind == "hashedrekord" and self.version == "0.0.2"


def _hash(value: object, what: str, *, required: bool = True) -> tuple[str, bytes] | None:
    if value is None and not required:
        return None
    doc = obj(value, what)
    algorithm, digest = doc.get("algorithm"), doc.get("value")
    if algorithm not in _HASHES or not isinstance(digest, str) or not _HEX.match(digest):
        raise MalformedData(f"Rekor entry {what} is not a sha256/384/512 hex digest")
    return str(algorithm), bytes.fromhex(digest)


def _pem_verifier(value: object, what: str) -> tuple[bytes, bool]:
    pem = b64bytes(value, f"Rekor entry {what}")
    try:
        block = decode_pem(pem)
    except KeyMaterialError as exc:
        raise MalformedData(f"Rekor entry {what} is not PEM") from exc
    if block.label not in ("CERTIFICATE", "PUBLIC KEY"):
        raise MalformedData(f"Rekor entry {what} is a {block.label[:40]} PEM")
    return block.body, block.label == "CERTIFICATE"


def _hashedrekord_v1(spec: dict[str, Any], kind: str) -> LoggedEntry:
    signature = obj(spec.get("signature"), "spec.signature")
    if kind == "rekord" and signature.get("format") != "x509":
        raise MalformedData("Rekor rekord entry is not in x509 format")
    key = obj(signature.get("publicKey"), "spec.signature.publicKey")
    der, is_cert = _pem_verifier(key.get("content"), "publicKey")
    data = obj(spec.get("data"), "spec.data")
    return LoggedEntry(
        kind=kind,
        version="0.0.1",
        signatures=(
            LoggedSignature(b64bytes(signature.get("content"), "signature"), der, is_cert),
        ),
        data_digest=_hash(data.get("hash"), "data hash"),
    )


def _hashedrekord_v2(spec: dict[str, Any]) -> LoggedEntry:
    inner = obj(spec.get("hashedRekordV002"), "spec.hashedRekordV002")
    data = obj(inner.get("data"), "hashedRekordV002.data")
    algorithm = _V2_HASHES.get(str(data.get("algorithm")))
    if algorithm is None:
        raise MalformedData("Rekor v2 entry digest algorithm is not SHA2_256/384/512")
    signature = obj(inner.get("signature"), "hashedRekordV002.signature")
    verifier = obj(signature.get("verifier"), "signature.verifier")
    if ("x509Certificate" in verifier) == ("publicKey" in verifier):
        raise MalformedData("Rekor v2 verifier must be one certificate or one public key")
    is_cert = "x509Certificate" in verifier
    holder = obj(verifier["x509Certificate" if is_cert else "publicKey"], "verifier")
    return LoggedEntry(
        kind="hashedrekord",
        version="0.0.2",
        signatures=(
            LoggedSignature(
                b64bytes(signature.get("content"), "signature.content"),
                b64bytes(holder.get("rawBytes"), "verifier.rawBytes"),
                is_cert,
            ),
        ),
        data_digest=(algorithm, b64bytes(data.get("digest"), "data.digest")),
        key_details=string(verifier.get("keyDetails"), "verifier.keyDetails"),
    )


def _dsse_v1(spec: dict[str, Any]) -> LoggedEntry:
    signatures = []
    for index, item in enumerate(seq(spec.get("signatures"), "spec.signatures", limit=16)):
        sig = obj(item, f"spec.signatures[{index}]")
        der, is_cert = _pem_verifier(sig.get("verifier"), "dsse verifier")
        signatures.append(LoggedSignature(b64bytes(sig.get("signature"), "sig"), der, is_cert))
    return LoggedEntry(
        kind="dsse",
        version="0.0.1",
        signatures=tuple(signatures),
        payload_hash=_hash(spec.get("payloadHash"), "payloadHash"),
        envelope_hash=_hash(spec.get("envelopeHash"), "envelopeHash", required=False),
    )


def _intoto(spec: dict[str, Any], version: str) -> LoggedEntry:
    content = obj(spec.get("content"), "spec.content")
    signatures = []
    if version == "0.0.1":
        der, is_cert = _pem_verifier(spec.get("publicKey"), "intoto publicKey")
        signatures.append(LoggedSignature(b"", der, is_cert))
    else:
        envelope = obj(content.get("envelope"), "spec.content.envelope")
        for index, item in enumerate(seq(envelope.get("signatures"), "signatures", limit=16)):
            sig = obj(item, f"envelope.signatures[{index}]")
            der, is_cert = _pem_verifier(sig.get("publicKey"), "intoto publicKey")
            # strfmt.Base64 of the base64 text: decode twice.
            inner = b64bytes(sig.get("sig"), "intoto sig").decode("ascii", "replace")
            signatures.append(LoggedSignature(b64bytes(inner, "intoto sig"), der, is_cert))
    return LoggedEntry(
        kind="intoto",
        version=version,
        signatures=tuple(signatures),
        payload_hash=_hash(content.get("payloadHash"), "payloadHash"),
        envelope_hash=_hash(content.get("hash"), "content hash", required=False),
    )


def parse_rekor_body(body: bytes) -> LoggedEntry:
    """Decode a canonicalized Rekor entry body.

    Args:
        body: The exact body bytes (JSON).

    Returns:
        What the entry commits to.

    Raises:
        MalformedData: If the body is not JSON, its kind/version is unsupported, or a field is
            missing or malformed, or it records no signature.
    """
    doc = obj(loads(body, "Rekor entry body"), "Rekor entry body")
    kind = string(doc.get("kind"), "Rekor entry kind")
    version = string(doc.get("apiVersion"), "Rekor entry apiVersion")
    spec = obj(doc.get("spec"), "Rekor entry spec")
    if kind in ("hashedrekord", "rekord") and version == "0.0.1":
        entry = _hashedrekord_v1(spec, kind)
    elif kind == "hashedrekord" and version == "0.0.2":
        entry = _hashedrekord_v2(spec)
    elif kind == "dsse" and version == "0.0.1":
        entry = _dsse_v1(spec)
    elif kind == "intoto" and version in ("0.0.1", "0.0.2"):
        entry = _intoto(spec, version)
    else:
        raise MalformedData(f"Rekor entry kind {kind[:40]} {version[:20]} is not supported")
    if not entry.signatures:
        raise MalformedData("Rekor entry records no signature")
    return entry

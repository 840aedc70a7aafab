"""Write Sigstore bundles v0.3 (protobuf-specs ``dev.sigstore.bundle.v1.Bundle``, protobuf JSON).

What cosign 3 and sigstore-go write: media type ``application/vnd.dev.sigstore.bundle.v0.3+json``;
verification material with the single signing certificate (v0.3 never carries a chain) or a
public-key hint, every transparency-log entry with its inclusion promise and its inclusion proof
(v0.2+ requires the proof, with its checkpoint), and RFC 3161 timestamps; content a message
signature (with the artifact's SHA-256) or a DSSE envelope. Field names are protobuf JSON
names; ``int64`` values are decimal strings and ``bytes`` standard base64, as ``protojson``
writes them; empty fields are left out. Pure: values in, bytes out; the output parses back with
:func:`~sealgate.formats.sigstore_bundle.parse_sigstore_bundle`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from sealgate.errors import MalformedData
from sealgate.formats.dsse import Envelope
from sealgate.formats.tlog_entry import TlogEntry

__all__ = ["BUNDLE_V03_MEDIA_TYPE", "build_sigstore_bundle", "tlog_entry_json"]

BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def tlog_entry_json(entry: TlogEntry) -> dict[str, Any]:
    """A ``TransparencyLogEntry`` in protobuf JSON.

    Raises:
        MalformedData: the entry has no inclusion proof (a v0.3 bundle requires one).
    """
    proof = entry.inclusion_proof
    if proof is None:
        raise MalformedData("a v0.3 bundle needs an inclusion proof for every log entry")
    doc: dict[str, Any] = {
        "logIndex": str(entry.log_index),
        "logId": {"keyId": _b64(entry.log_id)},
        "kindVersion": {"kind": entry.kind, "version": entry.version},
    }
    if entry.integrated_time is not None:
        doc["integratedTime"] = str(entry.integrated_time)
    if entry.signed_entry_timestamp is not None:
        doc["inclusionPromise"] = {"signedEntryTimestamp": _b64(entry.signed_entry_timestamp)}
    doc["inclusionProof"] = {
        "logIndex": str(proof.log_index),
        "rootHash": _b64(proof.root_hash),
        "treeSize": str(proof.tree_size),
        "hashes": [_b64(h) for h in proof.hashes],
        "checkpoint": {"envelope": proof.checkpoint},
    }
    doc["canonicalizedBody"] = _b64(entry.canonicalized_body)
    return doc


def _envelope_json(envelope: Envelope) -> dict[str, Any]:
    signatures = []
    for signature in envelope.signatures:
        item = {"sig": _b64(signature.sig)}
        if signature.keyid:
            item["keyid"] = signature.keyid
        signatures.append(item)
    return {
        "payload": _b64(envelope.payload),
        "payloadType": envelope.payload_type,
        "signatures": signatures,
    }


def build_sigstore_bundle(
    *,
    certificate_der: bytes | None = None,
    public_key_hint: str | None = None,
    tlog_entries: Sequence[TlogEntry] = (),
    rfc3161_timestamps: Sequence[bytes] = (),
    message_signature: tuple[bytes, bytes] | None = None,
    dsse_envelope: Envelope | None = None,
) -> bytes:
    """Serialize a v0.3 bundle.

    Args:
        certificate_der: The signing certificate (keyless), or None with a key.
        public_key_hint: The key hint for a key-signed bundle ("" is a valid empty hint).
        tlog_entries: Log entries, each with an inclusion proof.
        rfc3161_timestamps: DER ``TimeStampResp`` blobs over the signature.
        message_signature: ``(signature, sha256 digest of the artifact)``.
        dsse_envelope: The DSSE envelope (exclusive with ``message_signature``).

    Returns:
        The bundle JSON (UTF-8).

    Raises:
        MalformedData: not exactly one of certificate and key hint, not exactly one content,
            or a log entry without an inclusion proof.
    """
    if (certificate_der is None) == (public_key_hint is None):
        raise MalformedData("a bundle carries either a certificate or a public key hint")
    if (message_signature is None) == (dsse_envelope is None):
        raise MalformedData("a bundle carries either a message signature or a DSSE envelope")
    material: dict[str, Any] = {}
    if certificate_der is not None:
        material["certificate"] = {"rawBytes": _b64(certificate_der)}
    else:
        material["publicKey"] = {"hint": public_key_hint} if public_key_hint else {}
    material["tlogEntries"] = [tlog_entry_json(entry) for entry in tlog_entries]
    if rfc3161_timestamps:
        material["timestampVerificationData"] = {
            "rfc3161Timestamps": [{"signedTimestamp": _b64(t)} for t in rfc3161_timestamps]
        }
    doc: dict[str, Any] = {"mediaType": BUNDLE_V03_MEDIA_TYPE, "verificationMaterial": material}
    if message_signature is not None:
        signature, digest = message_signature
        doc["messageSignature"] = {
            "messageDigest": {"algorithm": "SHA2_256", "digest": _b64(digest)},
            "signature": _b64(signature),
        }
    elif dsse_envelope is not None:
        doc["dsseEnvelope"] = _envelope_json(dsse_envelope)
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")

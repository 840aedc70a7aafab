"""Rekor API v1 bodies: the entries a signer proposes, and the log entries Rekor answers.

Proposals (rekor ``pkg/types``): ``hashedrekord`` 0.0.1 carries the artifact's SHA-256, the
signature and the verifier (certificate or public key) as base64 PEM; ``dsse`` 0.0.1 carries
the envelope exactly as it will be stored (Rekor hashes those bytes into ``envelopeHash``) and
the verifiers. An answer ``{<uuid>: LogEntry}`` becomes a :class:`~sealgate.formats.tlog_entry.
TlogEntry` (the shape Sigstore bundles carry): hex becomes bytes, the inclusion proof and its
checkpoint are kept, kind and version are read from the body itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from sealgate.errors import MalformedData
from sealgate.formats import _gojson
from sealgate.formats._protojson import obj, seq
from sealgate.formats.rekor import RekorBundle
from sealgate.formats.rekor_body import parse_rekor_body
from sealgate.formats.tlog_entry import InclusionProof, TlogEntry

__all__ = [
    "cosign_bundle_annotation",
    "dsse_proposal",
    "hashedrekord_proposal",
    "parse_log_entry",
]

_MAX_PROOF_HASHES = 64


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hashedrekord_proposal(
    signature: bytes, verifier_pem: bytes, artifact_sha256: bytes
) -> dict[str, Any]:
    """A ``hashedrekord`` 0.0.1 proposal for a signature over an artifact with this digest."""
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": artifact_sha256.hex()}},
            "signature": {"content": _b64(signature), "publicKey": {"content": _b64(verifier_pem)}},
        },
    }


def dsse_proposal(envelope: bytes, verifier_pem: bytes) -> dict[str, Any]:
    """A ``dsse`` 0.0.1 proposal for ``envelope`` (the exact bytes that will be stored)."""
    return {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": envelope.decode("utf-8"),
                "verifiers": [_b64(verifier_pem)],
            }
        },
    }


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedData(f"Rekor entry {what} is not a non-negative integer")
    return value


def _hex(value: object, what: str) -> bytes:
    try:
        return bytes.fromhex(str(value)) if isinstance(value, str) else b""
    except ValueError:
        raise MalformedData(f"Rekor entry {what} is not hex") from None


def _proof(value: object) -> InclusionProof | None:
    if value is None:
        return None
    doc = obj(value, "Rekor inclusionProof")
    checkpoint = doc.get("checkpoint")
    if not isinstance(checkpoint, str) or not checkpoint:
        raise MalformedData("Rekor inclusion proof has no checkpoint")
    hashes = seq(doc.get("hashes"), "Rekor inclusion proof hashes", limit=_MAX_PROOF_HASHES)
    return InclusionProof(
        log_index=_int(doc.get("logIndex"), "inclusionProof.logIndex"),
        root_hash=_hex(doc.get("rootHash"), "inclusionProof.rootHash"),
        tree_size=_int(doc.get("treeSize"), "inclusionProof.treeSize"),
        hashes=tuple(_hex(h, "inclusionProof.hashes") for h in hashes),
        checkpoint=checkpoint,
    )


def parse_log_entry(answer: Mapping[str, object]) -> TlogEntry:
    """The one entry of a Rekor answer, as a :class:`TlogEntry`.

    Raises:
        MalformedData: a field is missing or malformed, or the body is not a known entry.
    """
    if len(answer) != 1:
        raise MalformedData("Rekor's answer is not a single entry")
    entry = obj(next(iter(answer.values())), "Rekor entry")
    body_b64 = entry.get("body")
    try:
        body = base64.b64decode(str(body_b64), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedData("Rekor entry body is not base64") from None
    logged = parse_rekor_body(body)
    verification = obj(entry.get("verification") or {}, "Rekor entry verification")
    promise = verification.get("signedEntryTimestamp")
    try:
        signed_entry_timestamp = base64.b64decode(str(promise), validate=True) if promise else None
    except (binascii.Error, ValueError):
        raise MalformedData("Rekor entry signedEntryTimestamp is not base64") from None
    log_id = _hex(entry.get("logID"), "logID")
    if len(log_id) != 32:
        raise MalformedData("Rekor entry logID is not a hex SHA-256")
    return TlogEntry(
        log_index=_int(entry.get("logIndex"), "logIndex"),
        log_id=log_id,
        kind=logged.kind,
        version=logged.version,
        canonicalized_body=body,
        integrated_time=_int(entry.get("integratedTime"), "integratedTime"),
        signed_entry_timestamp=signed_entry_timestamp,
        inclusion_proof=_proof(verification.get("inclusionProof")),
    )


def cosign_bundle_annotation(entry: TlogEntry) -> str:
    """The ``dev.sigstore.cosign/bundle`` annotation cosign writes for ``entry``.

    Go ``json.Marshal`` of cosign's ``bundle.RekorBundle``: ``SignedEntryTimestamp``, then
    ``Payload`` with ``body``, ``integratedTime``, ``logIndex``, ``logID`` in that order.

    Raises:
        MalformedData: the entry has no SET or integrated time (nothing to annotate).
    """
    if entry.signed_entry_timestamp is None or entry.integrated_time is None:
        raise MalformedData("a log entry without an inclusion promise cannot be annotated")
    bundle = RekorBundle(
        signed_entry_timestamp=entry.signed_entry_timestamp,
        signed_entry_timestamp_b64=_b64(entry.signed_entry_timestamp),
        body=_b64(entry.canonicalized_body),
        integrated_time=entry.integrated_time,
        log_index=entry.log_index,
        log_id=entry.log_id.hex(),
    )
    return _gojson.dumps(bundle.to_json_obj()).decode("utf-8")


def artifact_sha256(data: bytes) -> bytes:
    """SHA-256 of an artifact (what a ``hashedrekord`` entry records)."""
    return hashlib.sha256(data).digest()

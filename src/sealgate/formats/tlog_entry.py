"""Transparency-log entries as Sigstore bundles carry them (protobuf-specs ``rekor/v1``).

One :class:`TlogEntry` type for both carriers: a bundle's ``verificationMaterial.tlogEntries[]``
(:func:`parse_tlog_entry`) and cosign's legacy ``dev.sigstore.cosign/bundle`` annotation, which
has an inclusion promise but never a proof (:func:`tlog_entry_from_cosign_bundle`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sealgate.errors import MalformedData
from sealgate.formats._protojson import b64bytes, int64, obj, opt_obj, seq, string
from sealgate.formats.rekor import RekorBundle

__all__ = ["InclusionProof", "TlogEntry", "parse_tlog_entry", "tlog_entry_from_cosign_bundle"]

_MAX_PROOF_HASHES = 64  # a Merkle path of a 2**63-leaf tree
_MAX_CHECKPOINT = 64 * 1024
_MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 6962 inclusion proof with the checkpoint it proves against.

    Attributes:
        log_index: The leaf index inside the tree the proof is for (may differ from the entry's
            global index on a sharded Rekor v1).
        root_hash: The claimed tree root.
        tree_size: The claimed tree size.
        hashes: Audit path, leaf to root.
        checkpoint: The signed note (C2SP ``tlog-checkpoint``) text.
    """

    log_index: int
    root_hash: bytes
    tree_size: int
    hashes: tuple[bytes, ...]
    checkpoint: str


@dataclass(frozen=True)
class TlogEntry:
    """A log entry with whatever evidence of inclusion came with it.

    Attributes:
        log_index: The entry's index in the log.
        log_id: The log's key ID (raw bytes).
        kind: Entry kind (``hashedrekord``, ``dsse``, ``intoto``...), as the carrier states it.
        version: Entry API version (``0.0.1``, ``0.0.2``).
        canonicalized_body: The exact body bytes the log committed to.
        integrated_time: Unix seconds (Rekor v1), None when absent (Rekor v2).
        signed_entry_timestamp: The inclusion promise (SET), None when absent.
        inclusion_proof: The inclusion proof, None when absent.
    """

    log_index: int
    log_id: bytes
    kind: str
    version: str
    canonicalized_body: bytes
    integrated_time: int | None = None
    signed_entry_timestamp: bytes | None = None
    inclusion_proof: InclusionProof | None = None


def _proof(value: object, what: str) -> InclusionProof | None:
    doc = opt_obj(value, what)
    if doc is None:
        return None
    checkpoint = opt_obj(doc.get("checkpoint"), f"{what}.checkpoint")
    envelope = "" if checkpoint is None else checkpoint.get("envelope")
    if not isinstance(envelope, str) or not envelope:
        # sigstore-go ParseTransparencyLogEntry: a proof without a checkpoint proves nothing.
        raise MalformedData(f"{what} has no checkpoint")
    if len(envelope) > _MAX_CHECKPOINT:
        raise MalformedData(f"{what}.checkpoint is too large")
    index = int64(doc.get("logIndex"), f"{what}.logIndex", default=0)
    size = int64(doc.get("treeSize"), f"{what}.treeSize", default=0)
    if index < 0 or size < 0:
        raise MalformedData(f"{what} has a negative index or size")
    hashes = seq(doc.get("hashes"), f"{what}.hashes", limit=_MAX_PROOF_HASHES)
    return InclusionProof(
        log_index=index,
        root_hash=b64bytes(doc.get("rootHash"), f"{what}.rootHash"),
        tree_size=size,
        hashes=tuple(b64bytes(h, f"{what}.hashes[{i}]") for i, h in enumerate(hashes)),
        checkpoint=envelope,
    )


def parse_tlog_entry(value: object, what: str = "tlog entry") -> TlogEntry:
    """Parse one ``TransparencyLogEntry`` from a bundle.

    Args:
        value: The decoded JSON object.
        what: Where it was found, for messages.

    Returns:
        The entry.

    Raises:
        MalformedData: If a required field is missing or malformed, the log index is negative,
            or an inclusion proof has no checkpoint.
    """
    doc = obj(value, what)
    index = int64(doc.get("logIndex"), f"{what}.logIndex", default=0)
    if index < 0:
        raise MalformedData(f"{what} has a negative log index")
    kind_version = obj(doc.get("kindVersion"), f"{what}.kindVersion")
    body = b64bytes(doc.get("canonicalizedBody"), f"{what}.canonicalizedBody")
    if len(body) > _MAX_BODY:
        raise MalformedData(f"{what}.canonicalizedBody is too large")
    integrated = int64(doc.get("integratedTime"), f"{what}.integratedTime", default=0)
    if integrated < 0:
        raise MalformedData(f"{what} has a negative integrated time")
    promise = opt_obj(doc.get("inclusionPromise"), f"{what}.inclusionPromise")
    promise_sig = (
        None
        if promise is None
        else b64bytes(promise.get("signedEntryTimestamp"), f"{what}.signedEntryTimestamp")
    )
    return TlogEntry(
        log_index=index,
        log_id=b64bytes(obj(doc.get("logId"), f"{what}.logId").get("keyId"), f"{what}.logId"),
        kind=string(kind_version.get("kind"), f"{what}.kindVersion.kind"),
        version=string(kind_version.get("version"), f"{what}.kindVersion.version"),
        canonicalized_body=body,
        integrated_time=integrated or None,
        signed_entry_timestamp=promise_sig,
        inclusion_proof=_proof(doc.get("inclusionProof"), f"{what}.inclusionProof"),
    )


def tlog_entry_from_cosign_bundle(bundle: RekorBundle, *, kind: str, version: str) -> TlogEntry:
    """The legacy ``dev.sigstore.cosign/bundle`` annotation as a :class:`TlogEntry`.

    Args:
        bundle: The parsed annotation.
        kind: The entry kind read from the body (the annotation does not state it).
        version: The entry API version read from the body.

    Returns:
        An entry with an inclusion promise and no inclusion proof.

    Raises:
        MalformedData: If the body is not base64.
    """
    try:
        body = base64.b64decode(bundle.body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedData("Rekor bundle body is not valid base64") from exc
    return TlogEntry(
        log_index=bundle.log_index,
        log_id=bytes.fromhex(bundle.log_id),
        kind=kind,
        version=version,
        canonicalized_body=body,
        integrated_time=bundle.integrated_time,
        signed_entry_timestamp=bundle.signed_entry_timestamp,
        inclusion_proof=None,
    )

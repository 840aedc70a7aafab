"""Transparency-log entries: inclusion promise (SET), inclusion proof, checkpoint, binding.

:func:`verify_tlog_entry` is sigstore-go ``VerifyTlogEntry`` for one entry: the entry's log
must be in the trusted root; it needs an inclusion promise or an inclusion proof (Rekor v2: a
proof); a promise is the log's signature over the RFC 8785 JSON of ``{body, integratedTime,
logID, logIndex}`` and counts only if the log key was valid at the integrated time; a proof is
checked against a checkpoint signed by the same log; the entry must be bound to the signature
(:mod:`.binding`). A SET-only entry (cosign's legacy ``dev.sigstore.cosign/bundle`` annotation,
which sigstore-python refuses) is accepted unless the caller requires a proof. Only an integrated
time covered by a verified SET is returned as a signing time: a proof alone does not sign it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from sealgate.errors import MalformedData, TlogInvalid
from sealgate.formats.rekor_body import LoggedEntry, parse_rekor_body
from sealgate.formats.tlog_entry import TlogEntry
from sealgate.sigstore_checks.binding import SignedContent, check_entry_binding, rekor_v2_leaf_hash
from sealgate.sigstore_checks.checkpoint import verify_checkpoint
from sealgate.sigstore_checks.merkle import hash_leaf, verify_inclusion
from sealgate.trust import LogKey, TrustedRoot

__all__ = ["VerifiedTlogEntry", "set_payload", "verify_set", "verify_tlog_entry"]


@dataclass(frozen=True)
class VerifiedTlogEntry:
    """An entry that passed every check.

    Attributes:
        log: The trusted log key that vouched for it.
        body: What the entry commits to.
        integrated_time: The log's integration time when a verified SET covers it, else None.
        proven: Whether an inclusion proof against a signed checkpoint verified.
    """

    log: LogKey
    body: LoggedEntry
    integrated_time: datetime | None
    proven: bool


def set_payload(entry: TlogEntry) -> bytes:
    """The bytes a Rekor SET signs: RFC 8785 JSON of body, integratedTime, logID, logIndex.

    Args:
        entry: The entry (its integrated time must be set).

    Returns:
        The canonical JSON bytes.

    Raises:
        TlogInvalid: If the entry has no integrated time.
    """
    if entry.integrated_time is None:
        raise TlogInvalid("log entry has an inclusion promise but no integrated time")
    return rfc8785.dumps(
        {
            "body": base64.b64encode(entry.canonicalized_body).decode("ascii"),
            "integratedTime": entry.integrated_time,
            "logID": entry.log_id.hex(),
            "logIndex": entry.log_index,
        }
    )


def verify_set(entry: TlogEntry, log: LogKey) -> datetime:
    """Verify the inclusion promise (SignedEntryTimestamp) with the entry's log key.

    As sigstore-go ``tlog.VerifySET``: ECDSA only, SHA-256 over the canonical payload, and the
    integrated time must lie inside the key's (closed) validity window.

    Args:
        entry: The entry, with a SET and an integrated time.
        log: The trusted key of the entry's log.

    Returns:
        The integrated time (aware UTC).

    Raises:
        TlogInvalid: If the SET is missing or does not verify, the key is not ECDSA, or the
            integrated time is outside the key's validity.
    """
    if entry.signed_entry_timestamp is None:
        raise TlogInvalid("log entry has no inclusion promise")
    payload = set_payload(entry)
    integrated = datetime.fromtimestamp(entry.integrated_time or 0, tz=UTC)
    if not log.valid_for.contains(integrated):
        raise TlogInvalid(f"log key was not valid at the integrated time {integrated.isoformat()}")
    if not isinstance(log.public_key, ec.EllipticCurvePublicKey):
        raise TlogInvalid("inclusion promises are only defined for ECDSA log keys")
    try:
        log.public_key.verify(entry.signed_entry_timestamp, payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise TlogInvalid("log entry's inclusion promise (SET) does not verify") from None
    return integrated


def _verify_proof(entry: TlogEntry, body: LoggedEntry, log: LogKey, content: SignedContent) -> None:
    proof = entry.inclusion_proof
    if proof is None:  # caller checked
        raise TlogInvalid("log entry has no inclusion proof")
    checkpoint = verify_checkpoint(proof.checkpoint, log)
    if proof.tree_size and proof.tree_size != checkpoint.size:
        raise TlogInvalid("inclusion proof is for another tree size than its checkpoint")
    if proof.root_hash and proof.root_hash != checkpoint.root_hash:
        raise TlogInvalid("inclusion proof root hash differs from its checkpoint's")
    if body.is_rekor_v2:
        if proof.log_index and proof.log_index != entry.log_index:
            raise TlogInvalid("inclusion proof is for another log index than the entry")
        leaf, index = rekor_v2_leaf_hash(content), entry.log_index
    else:
        # Rekor v1 shards: the proof's index is the index inside the current tree.
        leaf, index = hash_leaf(entry.canonicalized_body), proof.log_index
    verify_inclusion(index, checkpoint.size, leaf, proof.hashes, checkpoint.root_hash)


def verify_tlog_entry(
    entry: TlogEntry,
    trusted_root: TrustedRoot,
    content: SignedContent,
    *,
    require_inclusion_proof: bool = False,
) -> VerifiedTlogEntry:
    """Verify one log entry and that it is about ``content``.

    Args:
        entry: The entry from a bundle or a legacy cosign annotation.
        trusted_root: Trusted Rekor keys (``tlogs``).
        content: The signature being verified.
        require_inclusion_proof: Refuse entries that only carry a SET.

    Returns:
        The verified entry.

    Raises:
        TlogInvalid: If the log is not trusted, evidence is missing or does not verify, or the
            entry is about another signature, key or artifact.
        MalformedData: If the body cannot be decoded or its kind/version differs from the
            carrier's statement.
    """
    log = trusted_root.tlog(entry.log_id)
    if log is None:
        raise TlogInvalid(f"log entry is from an untrusted log (log ID {entry.log_id.hex()})")
    body = parse_rekor_body(entry.canonicalized_body)
    if (body.kind, body.version) != (entry.kind, entry.version):
        raise MalformedData("log entry kind/version differs from its body")
    has_promise = entry.signed_entry_timestamp is not None
    has_proof = entry.inclusion_proof is not None
    if not has_proof and (require_inclusion_proof or body.is_rekor_v2 or not has_promise):
        raise TlogInvalid("log entry has no inclusion proof")
    if body.is_rekor_v2 and has_promise:
        raise TlogInvalid("a Rekor v2 entry cannot carry an inclusion promise")
    if not body.is_rekor_v2:
        check_entry_binding(body, content)
    integrated = verify_set(entry, log) if has_promise else None
    if has_proof:
        _verify_proof(entry, body, log, content)
    return VerifiedTlogEntry(log=log, body=body, integrated_time=integrated, proven=has_proof)

"""``sign-blob`` and ``attest-blob``: sign a file (or an in-toto statement about it), no registry.

``sign-blob`` signs the file's bytes (a message signature; Rekor ``hashedrekord`` over its
SHA-256); ``attest-blob`` signs an in-toto statement whose subject is the file (name and
SHA-256) in DSSE (Rekor ``dsse``). Either way the result is written as a Sigstore bundle v0.3
(``--new-bundle-format``) or as cosign's legacy blob bundle, ``{"base64Signature", "cert",
"rekorBundle"}`` (cosign ``LocalSignedPayload``), which has no room for a timestamp: that goes
to ``--rfc3161-timestamp``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from sealgate.formats import _gojson
from sealgate.formats.cosign_types import INTOTO_PAYLOAD_TYPE
from sealgate.formats.dsse import DsseSignature, Envelope, build_envelope, pae
from sealgate.formats.intoto import build_statement
from sealgate.formats.rekor import RekorBundle
from sealgate.formats.tlog_entry import TlogEntry
from sealgate.workflows.bundles import bundle_for
from sealgate.workflows.signing import (
    Credential,
    Evidence,
    SigningServices,
    record_envelope,
    record_message_signature,
)

__all__ = ["BlobSignature", "attest_blob", "legacy_blob_bundle", "sign_blob"]


@dataclass(frozen=True)
class BlobSignature:
    """A signed blob (or statement about one) and its evidence.

    Attributes:
        signature: The raw signature (over the blob, or the envelope's PAE).
        credential: Who signed.
        evidence: Log entries and timestamps.
        bundle: The Sigstore bundle (with ``bundle_format``), else None.
        envelope: The DSSE envelope bytes (``attest-blob``), else None.
    """

    signature: bytes
    credential: Credential
    evidence: Evidence
    bundle: bytes | None = None
    envelope: bytes | None = None


def sign_blob(
    credential: Credential, services: SigningServices, blob: bytes, *, bundle_format: bool
) -> BlobSignature:
    """Sign ``blob``; log and timestamp the signature as ``services`` say.

    Raises:
        SealgateError: a service failed or refused, or its answer does not check out.
    """
    signature = credential.signer.sign(blob)
    evidence = record_message_signature(credential, services, blob, signature)
    bundle = None
    if bundle_format:
        digest = hashlib.sha256(blob).digest()
        bundle = bundle_for(credential, evidence, message_signature=(signature, digest))
    return BlobSignature(signature, credential, evidence, bundle)


def attest_blob(
    credential: Credential,
    services: SigningServices,
    blob: bytes,
    *,
    name: str,
    predicate_type_uri: str,
    predicate: object,
    bundle_format: bool,
) -> BlobSignature:
    """Sign an in-toto statement about ``blob`` (subject ``name`` with its SHA-256).

    Raises:
        SealgateError: a service failed or refused, or its answer does not check out.
    """
    statement = build_statement(
        name, hashlib.sha256(blob).hexdigest(), predicate_type_uri, predicate
    )
    signature = credential.signer.sign(pae(INTOTO_PAYLOAD_TYPE, statement))
    envelope = Envelope(INTOTO_PAYLOAD_TYPE, statement, (DsseSignature(signature),))
    envelope_bytes = build_envelope(INTOTO_PAYLOAD_TYPE, statement, signature)
    # Bundles timestamp the signature (sigstore-go); the legacy form, the envelope (cosign).
    over = None if bundle_format else envelope_bytes
    evidence = record_envelope(credential, services, envelope, envelope_bytes, timestamp_over=over)
    bundle = bundle_for(credential, evidence, dsse_envelope=envelope) if bundle_format else None
    return BlobSignature(signature, credential, evidence, bundle, envelope_bytes)


def _rekor_bundle(entry: TlogEntry) -> dict[str, object] | None:
    if entry.signed_entry_timestamp is None or entry.integrated_time is None:
        return None
    return RekorBundle(
        signed_entry_timestamp=entry.signed_entry_timestamp,
        signed_entry_timestamp_b64=base64.b64encode(entry.signed_entry_timestamp).decode(),
        body=base64.b64encode(entry.canonicalized_body).decode(),
        integrated_time=entry.integrated_time,
        log_index=entry.log_index,
        log_id=entry.log_id.hex(),
    ).to_json_obj()


def legacy_blob_bundle(result: BlobSignature) -> bytes:
    """cosign's legacy blob bundle (``LocalSignedPayload``, Go ``json.Marshal`` field order).

    ``base64Signature`` is the signature, or the envelope for an attestation; ``cert`` the
    base64 certificate PEM, or public key PEM; ``rekorBundle`` the first log entry's SET bundle.
    """
    signed = result.envelope if result.envelope is not None else result.signature
    doc: dict[str, object] = {
        "base64Signature": base64.b64encode(signed).decode(),
        "cert": base64.b64encode(result.credential.verifier_pem).decode(),
    }
    if result.evidence.tlog_entries:
        rekor = _rekor_bundle(result.evidence.tlog_entries[0])
        if rekor is not None:
            doc["rekorBundle"] = rekor
    return _gojson.dumps(doc)

"""Key-based verification of legacy ``.att`` attestation layers (SPEC §2.1, §2.5, §4.2).

Each layer is a DSSE envelope whose payload is an in-toto statement. All attestations are
verified cryptographically first; the ``--type`` filter is applied afterwards, with cosign's
exact-equality semantics (default ``custom``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sealgate.checks._pem import fingerprint, spki_der
from sealgate.checks.signatures import NO_TLOG_MESSAGE, find_verifier
from sealgate.checks.tlog import TlogInvalid, TlogPolicy, verify_rekor_bundle
from sealgate.errors import (
    AttestationMissing,
    DigestMismatch,
    MalformedData,
    SignatureInvalid,
    VerificationFailed,
)
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    DSSE_LAYER_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
)
from sealgate.formats.dsse import Envelope, parse_envelope
from sealgate.formats.intoto import Statement, parse_statement
from sealgate.formats.predicates import DEFAULT_PREDICATE_TYPE, resolve_predicate_type
from sealgate.formats.rekor import RekorBundle
from sealgate.keys.protocols import Verifier

__all__ = [
    "NoMatchingAttestations",
    "VerifiedAttestation",
    "verify_attestation_layer",
    "verify_attestation_set",
]


class NoMatchingAttestations(AttestationMissing):
    """Attestations exist but none passed, or none has the requested predicate type."""

    def __init__(self, message: str, failures: list[VerificationFailed] | None = None) -> None:
        super().__init__(message)
        self.failures: list[VerificationFailed] = failures or []


@dataclass(frozen=True)
class VerifiedAttestation:
    """An attestation layer that passed every check.

    Attributes:
        statement: The parsed in-toto statement.
        predicate_type: ``statement.predicate_type``.
        envelope_raw: The exact layer bytes (cosign prints these, one per line).
        envelope: The parsed envelope.
        annotations: The layer annotations.
        key_fingerprint: Hex SHA-256 of the matching key's DER SPKI.
        key_index: Index of the matching verifier.
        bundle: The verified Rekor bundle, or None when the tlog was ignored.
    """

    statement: Statement
    predicate_type: str
    envelope_raw: bytes
    envelope: Envelope = field(repr=False)
    annotations: Mapping[str, str]
    key_fingerprint: str
    key_index: int
    bundle: RekorBundle | None


def _verify_envelope(envelope: Envelope, verifiers: Sequence[Verifier]) -> tuple[int, Verifier]:
    """5. Any envelope signature over PAE(payloadType, payload) with any trusted key."""
    message = envelope.pae()
    for signature in envelope.signatures:
        try:
            return find_verifier(verifiers, signature.sig, message)
        except SignatureInvalid:
            continue
    raise SignatureInvalid("attestation signature does not verify with any trusted key")


def verify_attestation_layer(
    layer: SignatureLayer,
    *,
    verifiers: Sequence[Verifier],
    image_digest: str,
    tlog: TlogPolicy,
) -> VerifiedAttestation:
    """Verify one ``.att`` layer with ``--key`` semantics (no predicate-type filter).

    Args:
        layer: The layer and its exact envelope bytes.
        verifiers: Trusted keys; any one may match.
        image_digest: ``sha256:<hex>`` of the image manifest.
        tlog: Transparency-log requirements.

    Returns:
        The verified attestation.

    Raises:
        SignatureInvalid: Wrong media type or payloadType, no key verifies, or a certificate
            annotation holds another key.
        DigestMismatch: No statement subject has the image digest.
        TlogInvalid: Transparency-log evidence missing or not matching (unless ignored).
        MalformedData: Envelope, statement or bundle malformed.
    """
    # 1. Only DSSE envelope layers are attestations.
    if layer.media_type != DSSE_LAYER_MEDIA_TYPE:
        raise SignatureInvalid(f"layer media type {layer.media_type} is not an attestation")
    envelope = parse_envelope(layer.payload)
    # 2. cosign verifyOCIAttestation: only in-toto payloads.
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
        raise SignatureInvalid(f"invalid DSSE payloadType {envelope.payload_type}")
    # 5. DSSE signature (before 3/4 so those compare against the key that matched).
    index, verifier = _verify_envelope(envelope, verifiers)
    # 4. A certificate annotation, if present, must carry the same key.
    cert_pem = layer.annotations.get(CERTIFICATE_ANNOTATION)
    cert_bytes = cert_pem.encode("utf-8") if cert_pem else None
    if cert_bytes is not None and spki_der(cert_bytes) != spki_der(verifier.public_pem()):
        raise SignatureInvalid("both public key and certificate were provided but did not match")
    # 3. Transparency log: dsse/intoto entry whose hash is sha256 of the exact layer bytes.
    bundle: RekorBundle | None = None
    if not tlog.insecure_ignore_tlog:
        annotation = layer.annotations.get(BUNDLE_ANNOTATION)
        if not annotation:
            raise TlogInvalid(NO_TLOG_MESSAGE)
        bundle = RekorBundle.parse(annotation)
        verify_rekor_bundle(
            bundle,
            rekor_keys=tlog.rekor_keys,
            payload=layer.payload,
            signature_b64="",  # attestation layers carry an empty signature annotation
            public_pem=cert_bytes or verifier.public_pem(),
            kind="attestation",
        )
    # 6. Claims (IntotoSubjectClaimVerifier): a subject digest equals the image digest.
    statement = parse_statement(envelope.payload)
    if not statement.has_subject_digest(image_digest):
        raise DigestMismatch(f"no attestation subject matches the image digest {image_digest}")
    return VerifiedAttestation(
        statement=statement,
        predicate_type=statement.predicate_type,
        envelope_raw=layer.payload,
        envelope=envelope,
        annotations=dict(layer.annotations),
        key_fingerprint=fingerprint(verifier.public_pem()),
        key_index=index,
        bundle=bundle,
    )


def verify_attestation_set(
    layers: Sequence[SignatureLayer],
    *,
    verifiers: Sequence[Verifier],
    image_digest: str,
    tlog: TlogPolicy,
    predicate_type: str | None = DEFAULT_PREDICATE_TYPE,
) -> list[VerifiedAttestation]:
    """Verify all ``.att`` layers, then keep those of the requested predicate type.

    Args:
        layers: All layers of the attestation manifest with their blobs.
        verifiers: Trusted keys.
        image_digest: ``sha256:<hex>`` of the image manifest.
        tlog: Transparency-log requirements.
        predicate_type: cosign ``--type`` (short name or URI; default ``custom``); None keeps
            every verified attestation.

    Returns:
        The verified, matching attestations in layer order (at least one).

    Raises:
        AttestationMissing: No DSSE layers at all.
        NoMatchingAttestations: None verified (``failures`` per layer), or none of the verified
            ones has the predicate type.
        InputError: ``predicate_type`` is neither a known name nor a URI.
    """
    wanted = None if predicate_type is None else resolve_predicate_type(predicate_type)
    candidates = [layer for layer in layers if layer.media_type == DSSE_LAYER_MEDIA_TYPE]
    if not candidates:
        raise AttestationMissing("no attestations found")
    verified: list[VerifiedAttestation] = []
    failures: list[VerificationFailed] = []
    for number, layer in enumerate(candidates, start=1):
        try:
            verified.append(
                verify_attestation_layer(
                    layer, verifiers=verifiers, image_digest=image_digest, tlog=tlog
                )
            )
        except VerificationFailed as exc:
            failures.append(exc)
        except MalformedData as exc:
            failures.append(SignatureInvalid(f"attestation {number}: {exc.message}"))
    if not verified:
        reasons = "; ".join(f.message for f in failures)
        raise NoMatchingAttestations(f"no matching attestations: {reasons}", failures)
    if wanted is None:
        return verified
    # cosign verify-attestation --type: exact string equality on predicateType.
    matching = [v for v in verified if v.predicate_type == wanted]
    if not matching:
        found = ", ".join(sorted({v.predicate_type for v in verified}))
        raise NoMatchingAttestations(
            f"none of the attestations matched the predicate type: {predicate_type}, "
            f"found: {found}",
            failures,
        )
    return matching

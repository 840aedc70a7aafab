"""Signing with evidence: a key or a Fulcio certificate, Rekor entries, RFC 3161 timestamps.

One place for what ``sign``, ``attest``, ``sign-blob`` and ``attest-blob`` share. A
:class:`Credential` signs (a key, or an ephemeral ECDSA P-256 key with a Fulcio certificate:
:func:`keyless_credential`); :func:`record_message_signature` and :func:`record_envelope` then get
the evidence the :class:`SigningServices` are asked for: a timestamp from each TSA and an entry
in each Rekor log. Nothing is stored here; a caller stores a signature only with all of its
evidence, so a failing Fulcio, Rekor or TSA means nothing is pushed.

What comes back is checked before it is used: the certificate must be for our key, each log
entry must record our signature, key and artifact (CVE-2022-36056's binding), each timestamp
must answer our request. With a trusted root (cosign's ``--trusted-root``, the loopback services'
in tests) everything is verified as a verifier would: chain, SCT, SET, inclusion proof,
checkpoint, timestamp signature, and the certificate's validity at the log's time.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealgate.deadline import Deadline
from sealgate.errors import ServiceError, TlogInvalid
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    RFC3161_ANNOTATION,
)
from sealgate.formats.dsse import Envelope
from sealgate.formats.rekor_api import (
    cosign_bundle_annotation,
    dsse_proposal,
    hashedrekord_proposal,
    parse_log_entry,
)
from sealgate.formats.rekor_body import parse_rekor_body
from sealgate.formats.rfc3161 import build_timestamp_request, check_timestamp_response
from sealgate.formats.tlog_entry import TlogEntry
from sealgate.keys import Signer
from sealgate.keys.crypto import signer_from_private_key
from sealgate.sigstore_checks import (
    SignedContent,
    check_entry_binding,
    check_valid_at,
    verify_certificate_chain,
    verify_embedded_scts,
    verify_rfc3161_timestamp,
    verify_tlog_entry,
)
from sealgate.sigstore_services import FulcioClient, IdentityToken, RekorClient, TimestampClient
from sealgate.trust import TrustedRoot

__all__ = [
    "Credential",
    "Evidence",
    "SigningServices",
    "keyless_credential",
    "legacy_annotations",
    "record_envelope",
    "record_message_signature",
]


@dataclass(frozen=True)
class SigningServices:
    """Where a signature's evidence comes from.

    Attributes:
        rekor: Logs to record the signature in (none: no log entry).
        timestamps: TSAs to timestamp the signature with.
        trusted_root: Verify everything that comes back against it (None: binding checks only).
        deadline: The budget for every request.
    """

    rekor: tuple[RekorClient, ...] = ()
    timestamps: tuple[TimestampClient, ...] = ()
    trusted_root: TrustedRoot | None = None
    deadline: Deadline = field(default_factory=Deadline.none)


@dataclass(frozen=True)
class Credential:
    """What signs: a key, with the certificate Fulcio issued for it when keyless.

    Attributes:
        signer: The private key.
        certificate: The signing certificate, or None for a plain key.
        chain: The certificates above it as the CA gave them (intermediates, then root).
    """

    signer: Signer
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def verifier_pem(self) -> bytes:
        """The certificate PEM, else the public key PEM (what Rekor entries record)."""
        if self.certificate is not None:
            return self.certificate.public_bytes(serialization.Encoding.PEM)
        return self.signer.verifier().public_pem()

    @property
    def verifier_der(self) -> bytes:
        if self.certificate is not None:
            return self.certificate.public_bytes(serialization.Encoding.DER)
        key = serialization.load_pem_public_key(self.signer.verifier().public_pem())
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def certificate_pem(self) -> str:
        return "" if self.certificate is None else _pem(self.certificate)

    def chain_pem(self) -> str:
        return "".join(_pem(cert) for cert in self.chain)


@dataclass(frozen=True)
class Evidence:
    """Log entries and timestamps for one signature."""

    tlog_entries: tuple[TlogEntry, ...] = ()
    timestamps: tuple[bytes, ...] = ()


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _public_der(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ServiceError("Fulcio issued a certificate for another key type")
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def keyless_credential(
    fulcio: FulcioClient,
    token: IdentityToken,
    *,
    deadline: Deadline,
    trusted_root: TrustedRoot | None = None,
    now: datetime | None = None,
) -> Credential:
    """An ephemeral ECDSA P-256 key and the Fulcio certificate for it.

    Raises:
        ServiceRefused: Fulcio refused the token (expired, wrong audience, unknown issuer).
        ServiceError: Fulcio failed, or issued a certificate for another key.
        UntrustedChain: with a trusted root, the certificate does not chain or has no SCT
            from a trusted CT log.
        CheckFailed: Fulcio could not be reached in time (subclasses).
        InputError: the token has an unverified email.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    signer = signer_from_private_key(key)
    proof = signer.sign(token.proof_subject.encode("utf-8"))
    chain = fulcio.signing_certificate(
        token, signer.verifier().public_pem(), proof, deadline=deadline
    )
    leaf = chain[0]
    if _public_der(leaf.public_key()) != _public_der(key.public_key()):
        raise ServiceError("Fulcio issued a certificate for another key")
    if trusted_root is not None:
        at = now or datetime.now(UTC)
        path = verify_certificate_chain(
            leaf, trusted_root.certificate_authorities, at=at, untrusted_intermediates=chain[1:]
        )
        verify_embedded_scts(leaf, path.chain, trusted_root.ctlogs)
    return Credential(signer, leaf, tuple(chain[1:]))


def _timestamps(services: SigningServices, data: bytes) -> tuple[bytes, ...]:
    stamps = []
    for tsa in services.timestamps:
        request = build_timestamp_request(data)
        answer = check_timestamp_response(
            tsa.timestamp(request.der, deadline=services.deadline), request
        )
        if services.trusted_root is not None:
            verify_rfc3161_timestamp(answer, data, services.trusted_root.timestamp_authorities)
        stamps.append(answer)
    return tuple(stamps)


def _check_entry(
    entry: TlogEntry, content: SignedContent, credential: Credential, services: SigningServices
) -> TlogEntry:
    check_entry_binding(parse_rekor_body(entry.canonicalized_body), content)
    if services.trusted_root is None:
        return entry
    verified = verify_tlog_entry(entry, services.trusted_root, content)
    if credential.certificate is not None:
        if verified.integrated_time is None:
            raise TlogInvalid("the log entry has no verified integration time")
        check_valid_at(credential.certificate, verified.integrated_time)
    return entry


def _log_everywhere(
    proposal: Mapping[str, object],
    content: SignedContent,
    credential: Credential,
    services: SigningServices,
) -> tuple[TlogEntry, ...]:
    # Every configured log gets the entry; each answer is checked before it is relied on.
    return tuple(
        _check_entry(
            parse_log_entry(rekor.create_entry(proposal, deadline=services.deadline)),
            content,
            credential,
            services,
        )
        for rekor in services.rekor
    )


def record_message_signature(
    credential: Credential, services: SigningServices, artifact: bytes, signature: bytes
) -> Evidence:
    """Timestamp ``signature`` and log it as a ``hashedrekord`` entry over ``artifact``.

    Raises:
        SealgateError: a service failed or refused, or what it answered does not check out
            (``TlogInvalid``, ``MalformedData``, ``UntrustedChain``...).
    """
    digest = hashlib.sha256(artifact).digest()
    stamps = _timestamps(services, signature)
    content = SignedContent(
        signature,
        credential.verifier_der,
        credential.certificate is not None,
        digest=("sha256", digest),
    )
    proposal = hashedrekord_proposal(signature, credential.verifier_pem, digest)
    return Evidence(_log_everywhere(proposal, content, credential, services), stamps)


def record_envelope(
    credential: Credential,
    services: SigningServices,
    envelope: Envelope,
    envelope_bytes: bytes,
    *,
    timestamp_over: bytes | None = None,
) -> Evidence:
    """Timestamp and log a DSSE envelope as a ``dsse`` entry of exactly ``envelope_bytes``.

    Args:
        credential: Who signed.
        services: Logs and TSAs.
        envelope: The parsed envelope.
        envelope_bytes: The exact bytes that will be stored (Rekor hashes them).
        timestamp_over: What TSAs timestamp: the signature (bundles, sigstore-go) by default;
            cosign's legacy ``.att`` layer verifies a timestamp over the envelope bytes.

    Raises:
        SealgateError: a service failed or refused, or its answer does not check out.
    """
    signature = envelope.signatures[0].sig
    stamps = _timestamps(services, signature if timestamp_over is None else timestamp_over)
    content = SignedContent(
        signature,
        credential.verifier_der,
        credential.certificate is not None,
        envelope=envelope,
        envelope_bytes=envelope_bytes,
    )
    proposal = dsse_proposal(envelope_bytes, credential.verifier_pem)
    return Evidence(_log_everywhere(proposal, content, credential, services), stamps)


def legacy_annotations(credential: Credential, evidence: Evidence) -> dict[str, str]:
    """The annotations cosign puts on a ``.sig``/``.att`` layer besides the signature.

    ``dev.sigstore.cosign/certificate`` and ``/chain`` (PEM, when keyless),
    ``dev.sigstore.cosign/bundle`` (the first log entry's SET bundle) and
    ``dev.sigstore.cosign/rfc3161timestamp`` (``{"SignedRFC3161Timestamp": b64}``, the first
    timestamp), as cosign's ``static.NewSignature`` options write them.

    Raises:
        MalformedData: a log entry carries no inclusion promise.
    """
    notes: dict[str, str] = {}
    if credential.certificate is not None:
        notes[CERTIFICATE_ANNOTATION] = credential.certificate_pem()
        notes[CHAIN_ANNOTATION] = credential.chain_pem()
    if evidence.tlog_entries:
        notes[BUNDLE_ANNOTATION] = cosign_bundle_annotation(evidence.tlog_entries[0])
    if evidence.timestamps:
        stamp = base64.b64encode(evidence.timestamps[0]).decode("ascii")
        notes[RFC3161_ANNOTATION] = json.dumps(
            {"SignedRFC3161Timestamp": stamp}, separators=(",", ":")
        )
    return notes

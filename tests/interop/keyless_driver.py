"""A test-only composition of sealgate's keyless building blocks into one bundle verifier.

The real pipeline (the lead's ``sealgate.checks``) wires the same functions; this driver exists
so the conformance suite and the vendored vectors exercise them end to end. Order and thresholds
follow sigstore-go ``Verifier.Verify`` with cosign's defaults: every log entry must verify (at
least one), times come from verified TSA timestamps and SET-covered integrated times (at least
one), the certificate must chain and be valid at each of them, then SCT, identity, signature.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.x509 import Certificate

from sealgate.errors import (
    DigestMismatch,
    KeyMaterialError,
    MalformedData,
    TlogInvalid,
    UntrustedChain,
)
from sealgate.formats.sigstore_bundle import SigstoreBundle, parse_sigstore_bundle
from sealgate.sigstore_checks import (
    IdentityPolicy,
    SignedContent,
    check_valid_at,
    match_identity,
    signing_key,
    verify_artifact_signature,
    verify_certificate_chain,
    verify_dsse_signature,
    verify_embedded_scts,
    verify_rfc3161_timestamp,
    verify_tlog_entry,
)
from sealgate.sigstore_checks.signatures import SigningKey
from sealgate.trust import TrustedRoot

__all__ = ["Outcome", "verify_bundle"]


@dataclass(frozen=True)
class Outcome:
    """What the driver verified."""

    times: tuple[datetime, ...]
    identity_subjects: tuple[str, ...]


def _content(
    bundle: SigstoreBundle, verifier_der: bytes, is_cert: bool, artifact: bytes
) -> SignedContent:
    if bundle.message_signature is not None:
        algorithm = bundle.message_signature.digest_algorithm or "sha256"
        digest = (algorithm, hashlib.new(algorithm, artifact).digest())
        return SignedContent(bundle.signature, verifier_der, is_cert, digest=digest)
    return SignedContent(bundle.signature, verifier_der, is_cert, envelope=bundle.dsse_envelope)


def _check_subject(bundle: SigstoreBundle, subject_sha256: str | None) -> None:
    envelope = bundle.dsse_envelope
    if envelope is None or subject_sha256 is None:
        return
    try:
        statement = json.loads(envelope.payload)
        digests = [s["digest"].get("sha256") for s in statement["subject"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedData("DSSE payload is not an in-toto statement") from exc
    if subject_sha256 not in digests:
        raise DigestMismatch("no in-toto subject is the artifact")


def _verifier(bundle: SigstoreBundle, key_pem: bytes | None) -> tuple[bytes, bool, SigningKey]:
    leaf = bundle.certificate
    if (key_pem is None) == (leaf is None):
        raise UntrustedChain("bundle is signed with a key but no key given, or the other way")
    if leaf is not None:
        return leaf.public_bytes(serialization.Encoding.DER), True, signing_key(leaf)
    try:
        public = serialization.load_pem_public_key(key_pem or b"")
    except ValueError as exc:
        raise KeyMaterialError("public key PEM cannot be parsed") from exc
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der, False, signing_key(der)


def _signing_times(
    bundle: SigstoreBundle, trusted_root: TrustedRoot, content: SignedContent
) -> list[datetime]:
    if not bundle.tlog_entries:
        raise TlogInvalid("bundle has no transparency log entry")
    entries = [verify_tlog_entry(e, trusted_root, content) for e in bundle.tlog_entries]
    times = [e.integrated_time for e in entries if e.integrated_time is not None]
    for stamp in bundle.rfc3161_timestamps:
        try:
            verified = verify_rfc3161_timestamp(
                stamp, bundle.signature, trusted_root.timestamp_authorities
            )
        except UntrustedChain:
            continue  # sigstore-go: an unverifiable timestamp just does not count
        # MalformedData propagates: an unparseable token fails the bundle (sigstore-python).
        times.append(verified.time)
    return times


def _check_certificate(
    leaf: Certificate,
    bundle: SigstoreBundle,
    trusted_root: TrustedRoot,
    times: Sequence[datetime],
    ignore_sct: bool,
) -> None:
    if not times:
        raise UntrustedChain("no verified signing time (no SET-covered entry, no timestamp)")
    for instant in times:
        chain = verify_certificate_chain(
            leaf,
            trusted_root.certificate_authorities,
            at=instant,
            untrusted_intermediates=bundle.chain,
        )
        check_valid_at(leaf, instant)
    if not ignore_sct:
        verify_embedded_scts(leaf, chain.chain, trusted_root.ctlogs)


def verify_bundle(
    raw_bundle: bytes,
    artifact: bytes,
    trusted_root: TrustedRoot,
    *,
    policy: IdentityPolicy | None = None,
    key_pem: bytes | None = None,
    ignore_sct: bool = False,
    subject_sha256: str | None = "",
) -> Outcome:
    """Verify a Sigstore bundle for ``artifact`` (keyless with ``policy``, or with ``key_pem``).

    For a DSSE bundle the in-toto subject must be ``subject_sha256`` (default: the artifact's
    SHA-256; None skips the subject check, as ``verify_dsse`` does).

    Raises:
        SealgateError: Whatever check fails first.
    """
    bundle = parse_sigstore_bundle(raw_bundle)
    der, is_cert, key = _verifier(bundle, key_pem)
    content = _content(bundle, der, is_cert, artifact)
    times = _signing_times(bundle, trusted_root, content)
    subjects: Sequence[str] = ()
    if bundle.certificate is not None:
        _check_certificate(bundle.certificate, bundle, trusted_root, times, ignore_sct)
        if policy is not None:
            subjects = match_identity(bundle.certificate, policy).subjects
    if bundle.message_signature is not None:
        ms = bundle.message_signature
        claimed = (ms.digest_algorithm, ms.digest) if ms.digest_algorithm and ms.digest else None
        assert content.digest is not None
        verify_artifact_signature(
            key, ms.signature, digest=content.digest, artifact=artifact, claimed_digest=claimed
        )
    else:
        assert bundle.dsse_envelope is not None
        verify_dsse_signature(key, bundle.dsse_envelope)
        if subject_sha256 == "":
            subject_sha256 = hashlib.sha256(artifact).hexdigest()
        _check_subject(bundle, subject_sha256)
    return Outcome(times=tuple(times), identity_subjects=tuple(subjects))

"""``verify`` and ``verify-attestation``: fetch what is attached, hand it to the pure checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sealgate.checks.attestations import VerifiedAttestation, verify_attestation_set
from sealgate.checks.conditions import check_conditions
from sealgate.checks.signatures import VerifiedSignature, verify_signature_set
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import AttestationMissing, VerificationFailed
from sealgate.formats.dsse import Envelope
from sealgate.keys import Verifier
from sealgate.oci import Reference, RegistryClient
from sealgate.workflows.attachments import fetch_attachment_layers
from sealgate.workflows.targets import ResolvedImage, attachment_ref, resolve_image

__all__ = [
    "AttestationRequirement",
    "AttestationVerification",
    "SignatureVerification",
    "TrustPolicy",
    "verify_attestations",
    "verify_signatures",
]


@dataclass(frozen=True)
class TrustPolicy:
    """Whom we trust and what we require of key-based signatures."""

    verifiers: tuple[Verifier, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    tlog: TlogPolicy = field(default_factory=TlogPolicy)
    #: ``COSIGN_REPOSITORY``: where the ``.sig``/``.att`` tags live.
    repository: Reference | None = None


@dataclass(frozen=True)
class AttestationRequirement:
    """An attestation an image must carry: a predicate type, its signers, conditions."""

    predicate_type: str = "custom"
    conditions: tuple[str, ...] = ()
    #: Keys for this attestation; None means the policy's signature keys.
    verifiers: tuple[Verifier, ...] | None = None


@dataclass(frozen=True)
class SignatureVerification:
    image: ResolvedImage
    signatures: list[VerifiedSignature]


@dataclass(frozen=True)
class AttestationVerification:
    image: ResolvedImage
    attestations: list[VerifiedAttestation]


def verify_signatures(
    client: RegistryClient, ref: Reference, policy: TrustPolicy, *, known_to_exist: bool = False
) -> SignatureVerification:
    """cosign ``verify --key`` for one image: at least one signature passes every check.

    Raises:
        ImageNotFound: the tag or digest does not exist.
        NoSignaturesFound: there is no ``.sig`` tag or it holds no signature layer.
        NoMatchingSignatures: signatures exist, none passed (per-layer reasons attached).
        CheckFailed: the registry could not be read or returned malformed data.
    """
    image = resolve_image(client, ref)
    if image.descriptor is None and not known_to_exist:
        # A digest reference: make sure the image exists, as cosign does (exit 11 otherwise).
        # Skipped only when the caller resolved this very digest moments ago.
        image = ResolvedImage(image.ref, client.resolve(image.ref))
    layers = fetch_attachment_layers(
        client, attachment_ref(image.ref, "sig", repository=policy.repository)
    )
    verified = verify_signature_set(
        layers,
        verifiers=policy.verifiers,
        image_digest=image.digest,
        required_annotations=policy.annotations,
        tlog=policy.tlog,
    )
    return SignatureVerification(image, verified)


def _statement_bytes(attestation: VerifiedAttestation) -> bytes:
    envelope: Envelope = attestation.envelope
    return envelope.payload


def verify_attestations(
    client: RegistryClient,
    ref: Reference,
    policy: TrustPolicy,
    requirement: AttestationRequirement,
    *,
    image: ResolvedImage | None = None,
) -> AttestationVerification:
    """cosign ``verify-attestation --key --type T`` plus conditions on the statements.

    Every attestation is verified cryptographically first; those of the requested type are
    kept; every kept one must satisfy every condition (cosign ``--policy`` semantics).

    Raises:
        ImageNotFound: the tag or digest does not exist.
        AttestationMissing: no attestation of that type verified, or none met the conditions.
        CheckFailed: the registry could not be read or returned malformed data.
    """
    if image is None:
        image = resolve_image(client, ref)
        if image.descriptor is None:
            image = ResolvedImage(image.ref, client.resolve(image.ref))
    layers = fetch_attachment_layers(
        client, attachment_ref(image.ref, "att", repository=policy.repository)
    )
    verified = verify_attestation_set(
        layers,
        verifiers=policy.verifiers if requirement.verifiers is None else requirement.verifiers,
        image_digest=image.digest,
        tlog=policy.tlog,
        predicate_type=requirement.predicate_type,
    )
    if requirement.conditions:
        # cosign --policy semantics: every verified attestation of the type must comply, so an
        # old passing attestation cannot hide a newer failing one (.att layers accumulate).
        failures: list[str] = []
        for number, attestation in enumerate(verified, start=1):
            try:
                check_conditions(_statement_bytes(attestation), requirement.conditions)
            except VerificationFailed as err:
                failures.append(f"attestation {number}: {err.message}")
        if failures:
            raise AttestationMissing(
                f"{len(failures)} of {len(verified)} {requirement.predicate_type} "
                f"attestation(s) fail the conditions: {'; '.join(failures)}"
            )
    return AttestationVerification(image, verified)


def verify_image(
    client: RegistryClient,
    ref: Reference,
    policy: TrustPolicy,
    requirements: Sequence[AttestationRequirement] = (),
    *,
    known_to_exist: bool = False,
) -> tuple[SignatureVerification, list[AttestationVerification]]:
    """Signatures and every required attestation of one image (the gate's unit of work).

    Raises:
        VerificationFailed: any signature or attestation requirement failed.
        CheckFailed: the registry could not be read or returned malformed data.
    """
    signatures = verify_signatures(client, ref, policy, known_to_exist=known_to_exist)
    attestations = [
        verify_attestations(client, ref, policy, requirement, image=signatures.image)
        for requirement in requirements
    ]
    return signatures, attestations

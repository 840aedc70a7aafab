"""``verify``, ``verify-attestation`` and the gate's unit of work: fetch, then evaluate a policy.

This module only does I/O: resolve the image, read its ``.sig``/``.att`` attachments (each
once), and hand the layers to :mod:`sealgate.policy`, which runs the one verification pipeline.
The reference time is the caller's (an injected clock), never read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sealgate.oci import Reference, RegistryClient
from sealgate.policy import (
    AttestationRule,
    AttestationVerdict,
    Policy,
    SignatureVerdict,
    evaluate_attestation,
    evaluate_signatures,
)
from sealgate.workflows.attachments import fetch_attachment_layers
from sealgate.workflows.targets import ResolvedImage, attachment_ref, resolve_image

__all__ = [
    "AttestationsVerification",
    "ImageVerification",
    "SignatureVerification",
    "verify_attestations",
    "verify_image",
    "verify_signatures",
]


@dataclass(frozen=True)
class SignatureVerification:
    """An image and the signatures that satisfied the policy."""

    image: ResolvedImage
    verdict: SignatureVerdict


@dataclass(frozen=True)
class AttestationsVerification:
    """An image and, per attestation rule, the attestations that satisfied it."""

    image: ResolvedImage
    verdicts: tuple[AttestationVerdict, ...]


@dataclass(frozen=True)
class ImageVerification:
    """Everything one policy required of one image, verified."""

    image: ResolvedImage
    signatures: SignatureVerdict
    attestations: tuple[AttestationVerdict, ...]


def _pinned(client: RegistryClient, ref: Reference, *, known_to_exist: bool) -> ResolvedImage:
    image = resolve_image(client, ref)
    if image.descriptor is None and not known_to_exist:
        # A digest reference: make sure the image exists, as cosign does (exit 11 otherwise).
        # Skipped only when the caller resolved this very digest moments ago.
        image = ResolvedImage(image.ref, client.resolve(image.ref))
    return image


def verify_signatures(
    client: RegistryClient,
    ref: Reference,
    policy: Policy,
    *,
    reference_time: datetime,
    repository: Reference | None = None,
    known_to_exist: bool = False,
) -> SignatureVerification:
    """cosign ``verify`` for one image: the policy's authorities vouch for its signatures.

    Args:
        client: The registry client (its deadline bounds every request).
        ref: The image, by tag or digest.
        policy: Who may sign and what the signatures must carry.
        reference_time: "Now" for every validity window.
        repository: ``COSIGN_REPOSITORY``: where the attachments live.
        known_to_exist: The caller resolved this digest itself: skip the existence check.

    Returns:
        The resolved image and the signature verdict.

    Raises:
        ImageNotFound: The tag or digest does not exist.
        NoSignaturesFound: There is no ``.sig`` tag or it holds no signature layer.
        NoMatchingSignatures: Signatures exist, too few authorities vouched (per-signature
            results attached).
        CheckFailed: The registry could not be read or returned malformed data.
    """
    image = _pinned(client, ref, known_to_exist=known_to_exist)
    layers = fetch_attachment_layers(
        client, attachment_ref(image.ref, "sig", repository=repository)
    )
    verdict = evaluate_signatures(
        layers, policy, image_digest=image.digest, reference_time=reference_time
    )
    return SignatureVerification(image, verdict)


def verify_attestations(
    client: RegistryClient,
    ref: Reference,
    policy: Policy,
    rules: Sequence[AttestationRule],
    *,
    reference_time: datetime,
    repository: Reference | None = None,
    image: ResolvedImage | None = None,
) -> AttestationsVerification:
    """cosign ``verify-attestation``: every rule is met by the image's attestations.

    The ``.att`` attachment is read once, whatever the number of rules.

    Args:
        client: The registry client.
        ref: The image, by tag or digest.
        policy: The policy (authorities, tlog requirement).
        rules: The attestation rules to meet (typically ``policy.attestations``).
        reference_time: "Now" for every validity window.
        repository: ``COSIGN_REPOSITORY``.
        image: The image, when the caller already resolved it.

    Returns:
        The image and one verdict per rule.

    Raises:
        ImageNotFound: The tag or digest does not exist.
        AttestationMissing: A rule is not met (see :func:`sealgate.policy.evaluate_attestation`).
        CheckFailed: The registry could not be read or returned malformed data.
    """
    if image is None:
        image = _pinned(client, ref, known_to_exist=False)
    layers = fetch_attachment_layers(
        client, attachment_ref(image.ref, "att", repository=repository)
    )
    verdicts = tuple(
        evaluate_attestation(
            layers, policy, rule, image_digest=image.digest, reference_time=reference_time
        )
        for rule in rules
    )
    return AttestationsVerification(image, verdicts)


def verify_image(
    client: RegistryClient,
    ref: Reference,
    policy: Policy,
    *,
    reference_time: datetime,
    repository: Reference | None = None,
    known_to_exist: bool = False,
) -> ImageVerification:
    """Signatures and every attestation the policy requires (the gate's unit of work).

    Raises:
        VerificationFailed: A signature or attestation requirement failed.
        CheckFailed: The registry could not be read or returned malformed data.
    """
    signatures = verify_signatures(
        client,
        ref,
        policy,
        reference_time=reference_time,
        repository=repository,
        known_to_exist=known_to_exist,
    )
    attestations: tuple[AttestationVerdict, ...] = ()
    if policy.attestations:
        attestations = verify_attestations(
            client,
            ref,
            policy,
            policy.attestations,
            reference_time=reference_time,
            repository=repository,
            image=signatures.image,
        ).verdicts
    return ImageVerification(signatures.image, signatures.verdict, attestations)

"""``verify``, ``verify-attestation`` and the gate's unit of work: fetch, then evaluate a policy.

This module only does I/O: resolve the image, read its attachments, and hand the layers to
:mod:`sealgate.policy`, which runs the one verification pipeline. The reference time is the
caller's (an injected clock), never read here.

Both storage formats are read: cosign 2's ``.sig``/``.att`` tags first, then, only when they
do not satisfy the policy, cosign 3's Sigstore bundles attached as OCI 1.1 referrers, evaluated
together with the tags (a threshold may be met across formats). An image signed the cosign 2
way costs no referrer lookup; each attachment is read at most once per image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sealgate.errors import VerificationFailed
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import (
    AttestationRule,
    AttestationVerdict,
    Policy,
    SignatureVerdict,
    evaluate_attestation,
    evaluate_signatures,
)
from sealgate.workflows.attachments import fetch_attachment_layers, fetch_bundle_layers
from sealgate.workflows.targets import ResolvedImage, attachment_ref, resolve_image

T = TypeVar("T")

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


class _Attachments:
    """One image's attachments: read at most once each, bundles only when needed."""

    def __init__(
        self,
        client: RegistryClient,
        image: ResolvedImage,
        *,
        reference_time: datetime,
        repository: Reference | None,
    ) -> None:
        self.client = client
        self.image = image
        self.reference_time = reference_time
        self.repository = repository
        self._bundles: list[SignatureLayer] | None = None

    def _tag(self, suffix: str) -> list[SignatureLayer]:
        where = attachment_ref(self.image.ref, suffix, repository=self.repository)
        return fetch_attachment_layers(self.client, where)

    def _bundle_layers(self) -> list[SignatureLayer]:
        if self._bundles is None:
            self._bundles = fetch_bundle_layers(self.client, self.image.ref)
        return self._bundles

    def _with_bundles(
        self, evaluate: Callable[[Sequence[SignatureLayer]], T], legacy: Sequence[SignatureLayer]
    ) -> T:
        """Evaluate the legacy layers; if they fall short, evaluate them with the bundles."""
        try:
            return evaluate(legacy)
        except VerificationFailed:
            extra = self._bundle_layers()
            if not extra:
                raise
        return evaluate([*legacy, *extra])

    def signatures(self, policy: Policy) -> SignatureVerdict:
        return self._with_bundles(
            lambda found: evaluate_signatures(
                found,
                policy,
                image_digest=self.image.digest,
                reference_time=self.reference_time,
            ),
            self._tag("sig"),
        )

    def attestations(
        self, policy: Policy, rules: Sequence[AttestationRule]
    ) -> tuple[AttestationVerdict, ...]:
        layers = self._tag("att")

        def evaluate(rule: AttestationRule) -> AttestationVerdict:
            return self._with_bundles(
                lambda found: evaluate_attestation(
                    found,
                    policy,
                    rule,
                    image_digest=self.image.digest,
                    reference_time=self.reference_time,
                ),
                layers,
            )

        return tuple(evaluate(rule) for rule in rules)


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
    found = _Attachments(client, image, reference_time=reference_time, repository=repository)
    return SignatureVerification(image, found.signatures(policy))


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
    found = _Attachments(client, image, reference_time=reference_time, repository=repository)
    return AttestationsVerification(image, found.attestations(policy, rules))


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
    image = _pinned(client, ref, known_to_exist=known_to_exist)
    found = _Attachments(client, image, reference_time=reference_time, repository=repository)
    signatures = found.signatures(policy)
    attestations = found.attestations(policy, policy.attestations) if policy.attestations else ()
    return ImageVerification(image, signatures, attestations)

"""Check one image's policy requirements against the registry: the unit every enforcement
point shares (``policy test``, the gate, and the admission webhook).

:func:`sealgate.policy.matching.decide` decides; it calls a *requirement checker* for each
requirement that static authorities cannot settle. The checker made here runs the one
verification pipeline (:mod:`sealgate.workflows.verify`) for the image, pinned to the digest
resolved once, and turns a failure into a requirement outcome that names its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sealgate.errors import SealgateError
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import AttestationVerdict
from sealgate.policy.explain import requirement_outcome
from sealgate.policy.matching import Requirement, RequirementOutcome
from sealgate.workflows.targets import ResolvedImage
from sealgate.workflows.verify import verify_attestations, verify_signatures

__all__ = ["RequirementChecker", "requirement_checker"]

#: Checks one requirement of the image it was made for.
RequirementChecker = Callable[[Requirement], RequirementOutcome]


def requirement_checker(
    client: RegistryClient,
    image: ResolvedImage,
    *,
    reference_time: datetime,
    repository: Reference | None = None,
) -> RequirementChecker:
    """A checker for one image already pinned to its digest.

    Args:
        client: The registry client (its deadline bounds every request).
        image: The image, pinned (it was resolved moments ago: its existence is not
            checked again).
        reference_time: "Now" for every validity window.
        repository: Where attachments live when a requirement does not say
            (``COSIGN_REPOSITORY``).

    Returns:
        The checker. It returns a failed outcome for every sealgate error (its reason kept:
        ``unsigned``, ``wrong-key``, ``unreachable``...) and lets any other exception (a bug)
        propagate, so a caller never turns a bug into a pass.
    """

    def check(requirement: Requirement) -> RequirementOutcome:
        policy = requirement.policy
        try:
            where = (
                Reference.parse(requirement.repository) if requirement.repository else repository
            )
            signatures = None
            if requirement.signatures:
                signatures = verify_signatures(
                    client,
                    image.ref,
                    policy,
                    reference_time=reference_time,
                    repository=where,
                    known_to_exist=True,
                ).verdict
            attestations: tuple[AttestationVerdict, ...] = ()
            if policy.attestations:
                attestations = verify_attestations(
                    client,
                    image.ref,
                    policy,
                    policy.attestations,
                    reference_time=reference_time,
                    repository=where,
                    image=image,
                ).verdicts
        except SealgateError as error:
            return requirement_outcome(requirement, error=error)
        return requirement_outcome(requirement, signatures=signatures, attestations=attestations)

    return check

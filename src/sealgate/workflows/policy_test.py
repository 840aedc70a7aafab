"""``sealgate policy test``: judge images against a policy set, reading the registry only if needed.

Matching, static authorities and the no-match rule are decided without a registry. A
requirement that needs signatures or attestations goes through :mod:`sealgate.workflows.verify`
(the one pipeline); the image is resolved to its digest once, on first need, with a registry
client opened on first need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sealgate.errors import SealgateError, UsageError
from sealgate.oci import Reference, RegistryClient
from sealgate.policy.explain import requirement_outcome
from sealgate.policy.matching import (
    ImageDecision,
    PolicySet,
    Requirement,
    RequirementOutcome,
    decide,
)
from sealgate.policy.resources import Resource
from sealgate.workflows.judge import RequirementChecker, requirement_checker
from sealgate.workflows.targets import resolve_image

__all__ = ["ClientOpener", "judge_images"]

#: Opens the registry client (called at most once, only when a requirement needs it).
ClientOpener = Callable[[], AbstractContextManager[RegistryClient]]


class _LazyRegistry:
    def __init__(self, opener: ClientOpener) -> None:
        self._opener = opener
        self._context: AbstractContextManager[RegistryClient] | None = None
        self._client: RegistryClient | None = None

    def client(self) -> RegistryClient:
        if self._client is None:
            self._context = self._opener()
            self._client = self._context.__enter__()
        return self._client

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)


def _checker(
    image: str, registry: _LazyRegistry, reference_time: datetime
) -> Callable[[Requirement], RequirementOutcome]:
    resolved: list[RequirementChecker | SealgateError] = []

    def check(requirement: Requirement) -> RequirementOutcome:
        if not resolved:
            try:
                client = registry.client()
                target = resolve_image(client, Reference.parse(image))
                resolved.append(requirement_checker(client, target, reference_time=reference_time))
            except SealgateError as error:
                resolved.append(error)
        checker = resolved[0]
        if isinstance(checker, SealgateError):
            return requirement_outcome(requirement, error=checker)
        return checker(requirement)

    return check


def judge_images(
    images: Sequence[str],
    policies: PolicySet,
    *,
    resource: Resource,
    open_client: ClientOpener,
    reference_time: datetime,
) -> list[ImageDecision]:
    """Decide every image (see :func:`sealgate.policy.matching.decide`).

    Args:
        images: Images as written.
        policies: The policy set.
        resource: The resource the images come from.
        open_client: Opens the registry client when a requirement first needs it.
        reference_time: "Now" for validity windows.

    Returns:
        One decision per image, in order; an invalid reference is a denial naming why.
    """
    registry = _LazyRegistry(open_client)
    decisions = []
    try:
        for image in images:
            try:
                decisions.append(
                    decide(image, resource, policies, _checker(image, registry, reference_time))
                )
            except UsageError as error:
                decisions.append(ImageDecision(image, resource, "deny", (), (), (error.message,)))
    finally:
        registry.close()
    return decisions

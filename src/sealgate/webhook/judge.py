"""The server's :class:`~sealgate.webhook.review.ImageJudge`: the policy engine over registries.

Per review: every distinct image is decided in a worker thread with
:func:`sealgate.policy.decide`; a requirement that needs the registry resolves the image to
its digest once and goes through :func:`sealgate.workflows.judge.requirement_checker` (the
one verification pipeline), behind the :class:`~sealgate.webhook.verdicts.OutcomeCache`.
The review waits until its deadline; an image still undecided then is denied with the reason
(fail closed), while its worker finishes in the background, bounded by the client's deadline.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from sealgate.cache import Clock, utc_now
from sealgate.deadline import Deadline
from sealgate.errors import DeadlineExceeded, SealgateError, UsageError
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
from sealgate.webhook.registries import RegistryPool, bounded
from sealgate.webhook.review import JudgedImage, JudgeRequest
from sealgate.webhook.verdicts import OutcomeCache
from sealgate.workflows.judge import requirement_checker
from sealgate.workflows.targets import ResolvedImage, resolve_image

__all__ = ["RegistryJudge"]

logger = logging.getLogger(__name__)


def _deny(image: str, resource: Resource, reason: str) -> JudgedImage:
    return JudgedImage(ImageDecision(image, resource, "deny", (), (), (reason,)))


@dataclass
class _Pinning:
    """One image's digest, resolved at most once per review."""

    client: RegistryClient
    ref: Reference
    resolved: ResolvedImage | SealgateError | None = None

    def resolve(self) -> ResolvedImage | SealgateError:
        if self.resolved is None:
            try:
                self.resolved = resolve_image(self.client, self.ref)
            except SealgateError as err:
                self.resolved = err
        return self.resolved

    @property
    def digest(self) -> str | None:
        return self.resolved.digest if isinstance(self.resolved, ResolvedImage) else None


class RegistryJudge:
    """Decides images against a policy set, verifying through the cache and the registry."""

    def __init__(
        self,
        policies: PolicySet,
        registries: RegistryPool,
        cache: OutcomeCache,
        *,
        executor: ThreadPoolExecutor,
        clock: Clock = utc_now,
        repository: Reference | None = None,
        on_decision: Callable[[str], None] | None = None,
    ) -> None:
        self.policies = policies
        self.registries = registries
        self.cache = cache
        self._executor = executor
        self._clock = clock
        self._repository = repository
        self._on_decision = on_decision

    def __call__(self, images: Sequence[str], request: JudgeRequest) -> Mapping[str, JudgedImage]:
        """Decide every image; the ones not decided by the deadline are denied."""
        client = bounded(
            self.registries.client_for(request.resource.namespace, request.pull_secrets),
            request.deadline,
        )
        futures: dict[str, Future[JudgedImage]] = {}
        for image in images:
            context = contextvars.copy_context()  # the request uid follows into the logs
            futures[image] = self._executor.submit(context.run, self._judge, image, request, client)
        wait(futures.values(), timeout=request.deadline.remaining())
        results: dict[str, JudgedImage] = {}
        for image, future in futures.items():
            results[image] = self._collect(image, future, request)
            if self._on_decision is not None:
                self._on_decision(results[image].decision.decision)
        return results

    def _collect(
        self, image: str, future: Future[JudgedImage], request: JudgeRequest
    ) -> JudgedImage:
        resource = request.resource
        if not future.done():
            future.cancel()
            return _deny(
                image, resource, "not verified before the webhook's deadline (fail closed)"
            )
        error = future.exception()
        if error is None:
            return future.result()
        if isinstance(error, SealgateError):
            return _deny(image, resource, error.message)
        logger.error("judging %s failed", image, exc_info=error)
        return _deny(image, resource, f"internal error ({type(error).__name__}); nothing allowed")

    def _judge(self, image: str, request: JudgeRequest, client: RegistryClient) -> JudgedImage:
        resource = request.resource
        try:
            ref = Reference.parse(image)
        except UsageError as err:
            return _deny(image, resource, err.message)
        if ref.layout:
            return _deny(image, resource, "an oci: layout path is not an image a cluster pulls")
        pinning = _Pinning(client, ref)

        def check(requirement: Requirement) -> RequirementOutcome:
            return self._check(pinning, requirement, request.deadline)

        try:
            decision = decide(image, resource, self.policies, check)
        except UsageError as err:
            return _deny(image, resource, err.message)
        wants_pin = any(o.policy.mutate_digest for o in decision.matched)
        if request.pin and decision.admitted and wants_pin and pinning.digest is None:
            resolved = pinning.resolve()
            if isinstance(resolved, SealgateError):
                return _deny(image, resource, f"cannot pin to a digest: {resolved.message}")
        return JudgedImage(decision, pinning.digest)

    def _check(
        self, pinning: _Pinning, requirement: Requirement, deadline: Deadline
    ) -> RequirementOutcome:
        resolved = pinning.resolve()
        if isinstance(resolved, SealgateError):
            return requirement_outcome(requirement, error=resolved)
        repository = str(self._repository.name) if self._repository is not None else ""
        key = (
            f"sealgate/webhook/v1/{resolved.ref.name}@{resolved.digest}/"
            f"{self.cache.fingerprint(requirement, repository)}"
        )

        def verify() -> RequirementOutcome:
            deadline.check(f"verifying {resolved.ref}")
            checker = requirement_checker(
                pinning.client,
                resolved,
                reference_time=self._clock(),
                repository=self._repository,
            )
            return checker(requirement)

        try:
            return self.cache.outcome(key, requirement.label, verify, timeout=deadline.remaining())
        except DeadlineExceeded as err:
            return requirement_outcome(requirement, error=err)

"""One image pinned to a digest, judged by the one policy engine: ``mirror`` and ``proxy`` share it.

The same three steps as the gate's verifier (:mod:`sealgate.workflows.gate_verifier`):
:func:`sealgate.policy.decide` matches the image against the policy set, the requirement
checker of :mod:`sealgate.workflows.judge` verifies what static authorities cannot settle,
and :func:`sealgate.gate.verdict_for` turns the decision into a verdict with a reason class.
What differs is only that the caller already holds the manifest (the mirror resolved it, the
proxy hashed the bytes it is about to serve), so nothing is resolved again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sealgate.errors import SealgateError
from sealgate.gate import Verdict, verdict_for
from sealgate.oci import Descriptor, Reference, RegistryClient
from sealgate.policy import PolicySet, decide
from sealgate.policy.resources import IMPLICIT_POD
from sealgate.workflows.judge import requirement_checker
from sealgate.workflows.targets import ResolvedImage, pinned_digest

__all__ = ["judge_pinned"]

logger = logging.getLogger(__name__)


def judge_pinned(
    client: RegistryClient,
    image: Reference,
    descriptor: Descriptor,
    policies: PolicySet,
    *,
    reference_time: datetime,
    repository: Reference | None = None,
) -> Verdict:
    """The verdict for ``image`` (pinned to ``descriptor.digest``) under ``policies``.

    Args:
        client: The registry client (its deadline bounds every request).
        image: The image, pinned; its name is what policies match.
        descriptor: The manifest the caller holds (media type, digest, size).
        policies: The policy set.
        reference_time: "Now" for every validity window.
        repository: Where attachments live when a requirement does not say.

    Returns:
        The verdict; never raises for what the registry or the image did: a failure to
        check is a failed verdict (``unreachable``, ``malformed``...), and so is a bug
        (``internal``). Nothing but a passing decision is ever ``verified``.
    """
    digest = pinned_digest(image)
    try:
        check = requirement_checker(
            client,
            ResolvedImage(image, descriptor),
            reference_time=reference_time,
            repository=repository,
        )
        decision = decide(str(image), IMPLICIT_POD, policies, check)
        return verdict_for(decision, digest)
    except SealgateError as error:
        return Verdict.from_error(error, digest)
    except Exception as error:  # a bug must refuse, never pass
        logger.exception("verifying %s failed with a bug", image)
        return Verdict.from_error(error, digest)

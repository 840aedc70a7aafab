"""Which policies apply to an image, and how their answers combine into one decision.

Every loaded document (sealgate ``ImagePolicy``, ClusterImagePolicy, each Kyverno
``verifyImages`` entry) becomes one :class:`ImagePolicy`: image patterns, a resource match, a
mode, and :class:`RequirementGroup` s. The combination rule, the same for every kind:

1. an image is matched by a policy when one of its patterns matches, no skip pattern matches,
   and the resource matches (``match``, not ``exclude``);
2. a policy passes when **every** group passes; a group passes when **any** of its
   :class:`Requirement` s passes; a requirement is one :class:`~sealgate.policy.Policy`
   (its threshold counts distinct authorities, its attestation rules must all hold);

   * ClusterImagePolicy: one group, one requirement per authority (any authority passes it),
     then the CIP-level ``policy`` script over the authorities that passed;
   * Kyverno: one group per attestor set (``count`` distinct entries must pass) and per
     attestation x attestor set; all of them must pass;
3. **every** matching policy must pass. A failing ``enforce`` policy denies; a failing
   ``warn`` policy admits with a warning;
4. no matching policy: the :class:`PolicySet`'s ``no_match`` (``deny`` by default).

Pure: checking a requirement against a registry is the caller's ``check`` function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sealgate.checks.authorities import StaticAuthority
from sealgate.errors import ConfigError, SealgateError
from sealgate.policy.globs import ImagePattern
from sealgate.policy.model import Policy
from sealgate.policy.resources import Resource

__all__ = [
    "MAX_POLICIES",
    "AuthorityResult",
    "Decision",
    "GroupOutcome",
    "ImageDecision",
    "ImagePolicy",
    "Mode",
    "NoMatch",
    "PolicyOutcome",
    "PolicyScript",
    "PolicySet",
    "Requirement",
    "RequirementGroup",
    "RequirementOutcome",
    "ResourceSelector",
    "decide",
]

Mode = Literal["enforce", "warn"]
NoMatch = Literal["deny", "warn", "allow"]
Decision = Literal["admit", "warn", "deny"]
#: Policies one set may hold; more is almost surely a mistake (and a slow admission).
MAX_POLICIES = 500


class ResourceSelector(Protocol):
    """Decides whether a policy applies to a resource."""

    def matches(self, target: Resource) -> bool:
        """Whether the policy applies to ``target``."""
        ...


class PolicyScript(Protocol):
    """A policy-level program (ClusterImagePolicy ``spec.policy``) run over the results."""

    @property
    def expression(self) -> str:
        """How reports name it."""
        ...

    def holds(self, document: Any, budget: Any = None) -> bool:
        """Whether the results document satisfies it (raises when it cannot decide)."""
        ...


@dataclass(frozen=True)
class Requirement:
    """One way to satisfy a group: a policy checked over the image's attachments.

    Attributes:
        label: Where it comes from (``authority keyatt``, ``attestors[0]``).
        policy: Who may sign, the threshold, the attestation rules.
        signatures: Whether image signatures are verified (a ClusterImagePolicy authority
            with attestations checks only its attestations).
        repository: Where the attachments live (``source.oci``, Kyverno ``repository``).
    """

    label: str
    policy: Policy
    signatures: bool = True
    repository: str | None = None

    def static_outcome(self) -> RequirementOutcome | None:
        """The outcome when no registry is needed (static authorities only), else None."""
        if self.policy.signing_authorities or self.policy.attestations or not self.signatures:
            return None
        passing = self.policy.static_pass
        if len({a.id for a in passing}) >= self.policy.threshold:
            return RequirementOutcome(
                self.label,
                True,
                "static pass",
                authorities=_static_results(self.policy),
                evidence={"static": True},
            )
        failing = [a for a in self.policy.authorities if isinstance(a, StaticAuthority)]
        message = failing[0].refusal() if failing else "no authority passed"
        return RequirementOutcome(
            self.label, False, message, "policy-denied", authorities=_static_results(self.policy)
        )


def _static_results(policy: Policy) -> tuple[AuthorityResult, ...]:
    return tuple(
        AuthorityResult(
            a.name, a.action == "pass", "static pass" if a.action == "pass" else a.refusal()
        )
        for a in policy.authorities
        if isinstance(a, StaticAuthority)
    )


@dataclass(frozen=True)
class RequirementGroup:
    """Alternatives: the group passes when any requirement passes."""

    label: str
    alternatives: tuple[Requirement, ...]

    def __post_init__(self) -> None:
        if not self.alternatives:
            raise ConfigError(f"{self.label}: no authorities (who may sign?)")


@dataclass(frozen=True)
class ImagePolicy:
    """One policy as enforced: which images and resources, what they need, how strictly.

    Attributes:
        name: ``kind/name`` (Kyverno: ``policy/rule`` plus the verifyImages index).
        source: ``FILE: document N`` it was loaded from.
        images: Patterns; any may match.
        groups: Requirement groups; all must pass.
        skip_images: Patterns that exempt an image (Kyverno ``skipImageReferences``).
        mode: ``enforce`` (deny on failure) or ``warn`` (admit with a warning).
        mode_overrides: (namespace patterns, mode) pairs; the first matching one wins.
        match: Resources it applies to (None: all).
        exclude: Resources it never applies to (None: none).
        require_digest: Refuse images not pinned by digest (Kyverno ``verifyDigest`` without
            ``mutateDigest``).
        script: A program over the passing authorities (ClusterImagePolicy ``spec.policy``).
        notes: What the policy would do that ``policy test`` cannot (``mutateDigest``).
        mutate_digest: An admission webhook pins the image to the digest it verified
            (Kyverno ``mutateDigest``; ClusterImagePolicy annotation
            ``sealgate.dev/mutate-digest``; sealgate ``spec.mutateDigest``).
    """

    name: str
    source: str
    images: tuple[ImagePattern, ...]
    groups: tuple[RequirementGroup, ...]
    skip_images: tuple[ImagePattern, ...] = ()
    mode: Mode = "enforce"
    mode_overrides: tuple[tuple[tuple[str, ...], Mode], ...] = ()
    match: ResourceSelector | None = None
    exclude: ResourceSelector | None = None
    require_digest: bool = False
    script: PolicyScript | None = None
    notes: tuple[str, ...] = ()
    mutate_digest: bool = False

    def __post_init__(self) -> None:
        if not self.images:
            raise ConfigError(f"{self.source}: policy {self.name} matches no image pattern")

    def applies(self, image: str, target: Resource) -> tuple[bool, str]:
        """Whether this policy applies to ``image`` in ``target``, and if not, why.

        Raises:
            UsageError: ``image`` is not a reference the policy's dialect can read.
        """
        if not any(p.matches(image) for p in self.images):
            return False, "no image pattern matches"
        if any(p.matches(image) for p in self.skip_images):
            return False, "image is in skipImageReferences"
        if self.match is not None and not self.match.matches(target):
            return False, "resource does not match"
        if self.exclude is not None and self.exclude.matches(target):
            return False, "resource is excluded"
        return True, ""

    def mode_for(self, target: Resource) -> Mode:
        """The mode for ``target`` (Kyverno overrides per namespace)."""
        from sealgate.policy.globs import wildcard_match

        for namespaces, mode in self.mode_overrides:
            if any(wildcard_match(ns, target.namespace) for ns in namespaces):
                return mode
        return self.mode


@dataclass(frozen=True)
class PolicySet:
    """Every loaded policy and what happens to an image none of them matches."""

    policies: tuple[ImagePolicy, ...]
    no_match: NoMatch = "deny"

    def __post_init__(self) -> None:
        if len(self.policies) > MAX_POLICIES:
            raise ConfigError(
                f"{len(self.policies)} policies loaded; at most {MAX_POLICIES} are supported"
            )
        names: dict[str, str] = {}
        for policy in self.policies:
            if policy.name in names:
                raise ConfigError(
                    f"{policy.source}: policy {policy.name} is already defined in "
                    f"{names[policy.name]}"
                )
            names[policy.name] = policy.source


@dataclass(frozen=True)
class AuthorityResult:
    """What one authority said: it vouched, or why not."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class RequirementOutcome:
    """The result of one requirement.

    Attributes:
        label: The requirement's label.
        passed: True when it was met.
        detail: What passed, or why not.
        reason: Machine-readable failure class (``wrong-key``, ``unsigned``...).
        could_not_check: True when the failure is "could not decide" (registry...).
        authorities: Per-authority results.
        evidence: What a policy script sees of it (signatures, attestations).
        not_after: When a pass stops being true (a certificate relied on at the reference
            time expires); None when nothing known expires. Caches keep it no longer.
    """

    label: str
    passed: bool
    detail: str
    reason: str = ""
    could_not_check: bool = False
    authorities: tuple[AuthorityResult, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    not_after: datetime | None = None

    @classmethod
    def from_error(cls, label: str, error: SealgateError, **kwargs: Any) -> RequirementOutcome:
        """A failed outcome from an error of the pipeline or the registry."""
        from sealgate.errors import CheckFailed

        return cls(
            label,
            False,
            error.message,
            error.reason,
            could_not_check=isinstance(error, CheckFailed),
            **kwargs,
        )


@dataclass(frozen=True)
class GroupOutcome:
    """A group's result: passed when any requirement passed."""

    label: str
    requirements: tuple[RequirementOutcome, ...]

    @property
    def passed(self) -> bool:
        return any(r.passed for r in self.requirements)


@dataclass(frozen=True)
class PolicyOutcome:
    """One matched policy's result for one image."""

    policy: ImagePolicy
    mode: Mode
    groups: tuple[GroupOutcome, ...]
    failures: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures and all(g.passed for g in self.groups)

    @property
    def could_not_check(self) -> bool:
        """Failed only because something could not be checked."""
        failed = [r for g in self.groups if not g.passed for r in g.requirements]
        return not self.passed and not self.failures and all(r.could_not_check for r in failed)


@dataclass(frozen=True)
class ImageDecision:
    """The decision for one image.

    Attributes:
        image: The image as written.
        resource: The resource it was judged in.
        decision: ``admit``, ``warn`` (admitted with warnings) or ``deny``.
        matched: Every matched policy's outcome.
        not_matched: (policy name, why) for policies whose patterns matched but that did not
            apply (skipped or resource mismatch).
        reasons: Why the decision is not a plain admit.
    """

    image: str
    resource: Resource
    decision: Decision
    matched: tuple[PolicyOutcome, ...]
    not_matched: tuple[tuple[str, str], ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def admitted(self) -> bool:
        return self.decision != "deny"


_NO_MATCH_DECISION: Mapping[NoMatch, Decision] = {"deny": "deny", "warn": "warn", "allow": "admit"}

RequirementChecker = Callable[[Requirement], RequirementOutcome]


def _evaluate(
    policy: ImagePolicy, image: str, target: Resource, check: RequirementChecker
) -> PolicyOutcome:
    failures: list[str] = []
    if policy.require_digest and "@" not in image:
        failures.append("image is not pinned by digest (verifyDigest)")
    groups = []
    for group in policy.groups:
        outcomes = []
        for requirement in group.alternatives:
            outcome = requirement.static_outcome()
            outcomes.append(outcome if outcome is not None else check(requirement))
        groups.append(GroupOutcome(group.label, tuple(outcomes)))
    if policy.script is not None and all(g.passed for g in groups):
        document = {
            "authorityMatches": {
                r.label.removeprefix("authority "): dict(r.evidence)
                for g in groups
                for r in g.requirements
                if r.passed
            }
        }
        try:
            if not policy.script.holds(document):
                failures.append(f"policy {policy.script.expression} is not satisfied")
        except SealgateError as error:
            failures.append(f"policy {policy.script.expression}: {error.message}")
    return PolicyOutcome(policy, policy.mode_for(target), tuple(groups), tuple(failures))


def decide(
    image: str, target: Resource, policies: PolicySet, check: RequirementChecker
) -> ImageDecision:
    """Match ``image`` against every policy and combine the outcomes (see the module docstring).

    Args:
        image: The image as written (``foo``, ``ghcr.io/x/y:v1``, ``a/b@sha256:...``).
        target: The resource it comes from.
        policies: The policy set.
        check: Verifies one requirement against the registry (only called for requirements
            that static authorities cannot decide).

    Returns:
        The decision with every outcome.

    Raises:
        UsageError: ``image`` is not a valid reference.
    """
    outcomes: list[PolicyOutcome] = []
    not_matched: list[tuple[str, str]] = []
    for policy in policies.policies:
        applies, why = policy.applies(image, target)
        if applies:
            outcomes.append(_evaluate(policy, image, target, check))
        elif why != "no image pattern matches":
            not_matched.append((policy.name, why))
    if not outcomes:
        verdict: Decision = _NO_MATCH_DECISION[policies.no_match]
        why_not: tuple[str, ...] = () if verdict == "admit" else ("no matching policies",)
        return ImageDecision(image, target, verdict, (), tuple(not_matched), why_not)
    failed = [o for o in outcomes if not o.passed]
    reasons = tuple(f"{o.policy.name}: {_why(o)}" for o in failed)
    enforced = any(o.mode == "enforce" for o in failed)
    verdict = "deny" if enforced else "warn" if failed else "admit"
    return ImageDecision(image, target, verdict, tuple(outcomes), tuple(not_matched), reasons)


def _why(outcome: PolicyOutcome) -> str:
    parts = list(outcome.failures)
    for group in outcome.groups:
        if not group.passed:
            details = "; ".join(f"{r.label}: {r.detail}" for r in group.requirements)
            parts.append(details)
    return " | ".join(parts) or "failed"


def summarise(decisions: Sequence[ImageDecision]) -> tuple[int, int]:
    """(admitted, denied) counts."""
    admitted = sum(1 for d in decisions if d.admitted)
    return admitted, len(decisions) - admitted

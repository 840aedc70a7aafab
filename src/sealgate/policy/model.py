"""The policy model: who may sign, what must be attached, and how answers combine.

One model for every enforcement point. The gate's trust section, ``verify``'s flags, and (next)
ClusterImagePolicy and Kyverno documents are all read into these objects; the gate, the
admission webhook and the registry proxy evaluate them with :mod:`sealgate.policy.evaluate`.

Combination rule, the same everywhere:

* inside a policy, authorities are any-of: ``threshold`` (default 1) *distinct* authorities must
  each accept at least one valid signature; several signatures by one key count once;
* every attestation rule must be met: a verified attestation of its predicate type, signed by
  one of its authorities (the policy's when it names none), and every one of them satisfying
  every condition (an old passing attestation cannot hide a newer failing one);
* when several policies match one image, every one of them must pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sealgate.checks.authorities import Authority, StaticAuthority
from sealgate.checks.conditions import StatementCondition
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import ConfigError

__all__ = ["AttestationRule", "Policy"]


@dataclass(frozen=True)
class AttestationRule:
    """An attestation every image must carry.

    Attributes:
        name: How reports name it (cosign ``--type`` name such as ``cyclonedx``, or the URI).
        predicate_type: The predicate type URI it must have (exact string equality, as cosign).
        conditions: Conditions every matching statement must satisfy (JMESPath
            :class:`~sealgate.checks.conditions.Condition`, or a loader's own kind).
        authorities: Who may sign it; None means the policy's authorities.
        threshold: Distinct authorities that must each have signed a matching attestation.
    """

    name: str
    predicate_type: str
    conditions: tuple[StatementCondition, ...] = ()
    authorities: tuple[Authority, ...] | None = None
    threshold: int = 1

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ConfigError(f"attestation {self.name}: threshold must be at least 1")
        if self.authorities is not None and not self.authorities:
            raise ConfigError(f"attestation {self.name}: an empty authority list trusts nobody")


@dataclass(frozen=True)
class Policy:
    """What one image must satisfy.

    Attributes:
        name: How reports and admission messages name the policy.
        authorities: Who may sign image signatures (any-of, counted by ``threshold``).
        threshold: Distinct authorities that must each accept a valid signature.
        tlog: The transparency-log requirement for every signature and attestation.
        annotations: cosign ``-a``: pairs every accepted signature payload must carry.
        attestations: Attestations every image must carry.
    """

    name: str
    authorities: tuple[Authority, ...]
    threshold: int = 1
    tlog: TlogPolicy = field(default_factory=TlogPolicy)
    annotations: Mapping[str, str] = field(default_factory=dict)
    attestations: tuple[AttestationRule, ...] = ()

    def __post_init__(self) -> None:
        if not self.authorities:
            # An empty any-of would pass nothing; refusing it at load names the mistake.
            raise ConfigError(f"policy {self.name}: no authorities (who may sign?)")
        if self.threshold < 1:
            raise ConfigError(f"policy {self.name}: threshold must be at least 1")
        distinct = {authority.id for authority in self.authorities}
        if self.threshold > len(distinct):
            raise ConfigError(
                f"policy {self.name}: threshold {self.threshold} exceeds its "
                f"{len(distinct)} distinct authorities"
            )

    @property
    def static_pass(self) -> tuple[StaticAuthority, ...]:
        """Authorities that vouch for every image without a signature."""
        return tuple(
            a for a in self.authorities if isinstance(a, StaticAuthority) and a.action == "pass"
        )

    @property
    def signing_authorities(self) -> tuple[Authority, ...]:
        """Authorities that look at signatures (everything but static ones)."""
        return tuple(a for a in self.authorities if not isinstance(a, StaticAuthority))

    def attestation_authorities(self, rule: AttestationRule) -> tuple[Authority, ...]:
        """Who may sign ``rule``'s attestations."""
        return self.authorities if rule.authorities is None else rule.authorities

"""The gate's trust settings as the one policy model, and the policy files it may use instead.

An environment is verified either against its ``keys``/``tlog``/``attestations`` section, which
becomes one policy matching every image, or against policy files (ClusterImagePolicy, Kyverno,
sealgate ``ImagePolicy``) read by :mod:`sealgate.policy.loaders`. Either way the result is a
:class:`~sealgate.policy.PolicySet`, decided by :func:`sealgate.policy.decide`: the gate keeps no
verification rules of its own, so a deploy that passes CI is admitted by the webhook for the
same reasons.

Reading keys is I/O: it happens here, once per run, and only when verification actually runs
(an emergency bypass needs no key).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from sealgate.checks.authorities import KeyAuthority
from sealgate.checks.conditions import compile_conditions
from sealgate.checks.keyless_identity import IdentitySpec, KeylessAuthority
from sealgate.checks.tlog import TlogPolicy, load_rekor_keys
from sealgate.documents.sources import read_policy_sources
from sealgate.errors import ConfigError, InputError, UsageError
from sealgate.formats.predicates import resolve_predicate_type
from sealgate.gate.config import EnvironmentConfig, TrustSection
from sealgate.gate.model import Verdict, reason_class
from sealgate.keys import load_verifier, read_key_ref
from sealgate.policy import AttestationRule, ImageDecision, ImagePolicy, Policy, PolicySet
from sealgate.policy.globs import SigstoreGlob
from sealgate.policy.matching import Requirement, RequirementGroup
from sealgate.trust import TrustedRoot, load_trusted_root

__all__ = ["environment_policy_set", "trust_policy", "trust_policy_set", "verdict_for"]


def trust_policy(
    trust: TrustSection,
    name: str,
    trusted_root: Callable[[], TrustedRoot] | None = None,
) -> Policy:
    """The trust section as a policy: keys and identities any-of, tlog, annotations, attestations.

    Args:
        trust: The section.
        name: How reports name the policy.
        trusted_root: The default trust material for identities and the log (used when the
            section names no ``trustedRoot``).

    Returns:
        The policy.

    Raises:
        KeyMaterialError: A key or Rekor key cannot be read.
        ConfigError: No keys, or a condition or predicate type is invalid.
    """
    if not trust.keys and not trust.identities:
        raise ConfigError(f"{name}: no keys or identities to verify with (or set policies)")
    root: TrustedRoot | None = None
    if trust.identities or trust.tlog:
        if trust.trusted_root is not None:
            root = load_trusted_root(trust.trusted_root)
        elif trusted_root is not None:
            root = trusted_root()
    keyless = [
        KeylessAuthority(
            f"identity {spec.subject or spec.subject_regexp} ({spec.issuer or spec.issuer_regexp})",
            (
                IdentitySpec(
                    issuer=spec.issuer,
                    subject=spec.subject,
                    issuer_regexp=spec.issuer_regexp,
                    subject_regexp=spec.subject_regexp,
                ),
            ),
            trusted_root=root or TrustedRoot(source="none"),
        )
        for spec in trust.identities
    ]
    authorities: dict[str, KeyAuthority] = {}

    def authority(ref: str) -> KeyAuthority:
        if ref not in authorities:
            authorities[ref] = KeyAuthority.of(load_verifier(ref), name=ref)
        return authorities[ref]

    rules = []
    for spec in trust.attestations:
        try:
            rules.append(
                AttestationRule(
                    name=spec.type,
                    predicate_type=resolve_predicate_type(spec.type),
                    conditions=compile_conditions(spec.conditions),
                    authorities=tuple(authority(ref) for ref in spec.keys),
                )
            )
        except (UsageError, InputError) as err:
            raise ConfigError(f"{name}: attestation {spec.type}: {err.message}") from err
    rekor_keys = load_rekor_keys([read_key_ref(ref) for ref in trust.rekor_keys])
    return Policy(
        name=name,
        authorities=(*(authority(ref) for ref in trust.keys), *keyless),
        tlog=TlogPolicy(
            insecure_ignore_tlog=not trust.tlog,
            rekor_keys=rekor_keys,
            # Rekor keys named in the config are the only trusted logs (as cosign's
            # SIGSTORE_REKOR_PUBLIC_KEY); otherwise the trusted root's.
            trusted_root=None if rekor_keys else root,
        ),
        annotations=trust.annotation_map,
        attestations=tuple(rules),
    )


def trust_policy_set(
    env: EnvironmentConfig, trusted_root: Callable[[], TrustedRoot] | None = None
) -> PolicySet:
    """The environment's trust section as a policy set: one policy for every image.

    Raises:
        KeyMaterialError: A key cannot be read.
        ConfigError: See :func:`trust_policy`.
    """
    name = f"environment {env.name}"
    policy = trust_policy(env.trust, name, trusted_root)
    image_policy = ImagePolicy(
        name=name,
        source=env.origin or name,
        images=(SigstoreGlob.compile("**"),),
        groups=(RequirementGroup("keys", (Requirement("keys", policy),)),),
    )
    return PolicySet((image_policy,), no_match="deny")


def environment_policy_set(
    env: EnvironmentConfig,
    extra: Sequence[Path] = (),
    *,
    trusted_root: Callable[[], TrustedRoot] | None = None,
) -> PolicySet:
    """What the environment is verified against: policy files when given, else its keys.

    Args:
        env: The environment.
        extra: ``--policy`` paths from the command line (they replace the config's).
        trusted_root: Gives the trust material for keyless authorities and transparency logs
            of policy files (called only when policy files are used).

    Raises:
        ConfigError: A policy file is invalid, or there is nothing to verify with.
        KeyMaterialError: A key cannot be read.
    """
    from sealgate.policy.loaders import LoadOptions, load_policy_set

    paths = tuple(extra) or env.policies
    if paths:
        options = LoadOptions(
            rekor_keys=load_rekor_keys([read_key_ref(ref) for ref in env.trust.rekor_keys]),
            trusted_root=load_trusted_root(env.trust.trusted_root)
            if env.trust.trusted_root is not None
            else trusted_root()
            if trusted_root is not None
            else None,
        )
        return load_policy_set(read_policy_sources(paths), options=options)
    return trust_policy_set(env, trusted_root)


def verdict_for(decision: ImageDecision, digest: str) -> Verdict:
    """The gate's verdict for one policy decision.

    A denial takes the reason class of the first failing requirement (``unsigned``,
    ``wrong-key``, ``tlog-invalid``, ``unreachable``...); a denial with no requirement to blame
    (no policy matched, a policy script or a digest rule failed) is ``policy-denied``. An
    admission with warnings (a ``warn``-mode policy failed) is verified and says so.

    Args:
        decision: The decision for the pinned image.
        digest: The image digest the decision is about.

    Returns:
        The verdict.
    """
    if decision.decision == "deny":
        failed = [
            requirement
            for outcome in decision.matched
            if not outcome.passed and outcome.mode == "enforce"
            for group in outcome.groups
            if not group.passed
            for requirement in group.requirements
        ]
        reason = (
            reason_class(failed[0].reason, could_not_check=failed[0].could_not_check)
            if failed and failed[0].reason
            else "policy-denied"
        )
        message = "; ".join(decision.reasons) or "denied by policy"
        return Verdict.failed(reason, message, digest)
    passed = [
        f"{outcome.policy.name}: "
        + "; ".join(r.detail for g in outcome.groups for r in g.requirements if r.passed)
        for outcome in decision.matched
        if outcome.passed
    ]
    message = " | ".join(passed) or "admitted: no matching policy"
    if decision.decision == "warn":
        message = f"{message}; warnings: {'; '.join(decision.reasons)}"
    # A pass that leaned on a certificate valid only "now" (no proven signing time) must not
    # be cached past that certificate's end.
    ends = [
        r.not_after
        for outcome in decision.matched
        for group in outcome.groups
        for r in group.requirements
        if r.passed and r.not_after is not None
    ]
    verdict = Verdict.verified(digest, message)
    return dataclasses.replace(verdict, not_after=min(ends)) if ends else verdict

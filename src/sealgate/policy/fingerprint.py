"""A policy's fingerprint: the key under which its verdicts may be cached.

Everything that changes what "verified" means goes in: the distinct authorities (any-of, so
sorted), the threshold, the tlog requirement with the trusted log keys, required annotations,
every attestation rule, and the tool version (a release that changes verification must not
reuse an older release's verdicts). Names and file paths do not: renaming a key file changes
nothing, replacing the key in it changes everything.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sealgate import __version__
from sealgate.checks.authorities import Authority
from sealgate.policy.kyverno_conditions import KyvernoConditionBlock
from sealgate.policy.matching import PolicySet
from sealgate.policy.model import Policy
from sealgate.policy.rego import RegoPolicy

__all__ = ["policy_fingerprint", "policy_set_fingerprint"]

_SCHEMA = 2


def _authorities(authorities: tuple[Authority, ...]) -> list[str]:
    return sorted({authority.id for authority in authorities})


def _checks(condition: Any) -> str:
    """What a condition or script checks: its name alone would keep a tightened one's key."""
    if isinstance(condition, RegoPolicy):
        return f"{condition.expression}\0{condition.module}"
    if isinstance(condition, KyvernoConditionBlock):
        parts = [c.describe() for c in condition.any_of], [c.describe() for c in condition.all_of]
        return json.dumps([condition.expression, *parts])
    return str(condition.expression)


def policy_fingerprint(policy: Policy) -> str:
    """Hex SHA-256 of the canonical JSON of everything that makes ``policy`` what it is.

    Args:
        policy: The policy.

    Returns:
        64 hex characters.
    """
    document: dict[str, Any] = {
        "v": _SCHEMA,
        "tool": __version__,
        "authorities": _authorities(policy.authorities),
        "threshold": policy.threshold,
        "tlog": None if policy.tlog.insecure_ignore_tlog else policy.tlog.log_ids(),
        "annotations": dict(sorted(policy.annotations.items())),
        "attestations": sorted(
            (
                {
                    "type": rule.predicate_type,
                    "conditions": [_checks(c) for c in rule.conditions],
                    "authorities": None
                    if rule.authorities is None
                    else _authorities(rule.authorities),
                    "threshold": rule.threshold,
                }
                for rule in policy.attestations
            ),
            key=lambda item: json.dumps(item, sort_keys=True),
        ),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def policy_set_fingerprint(policies: PolicySet) -> str:
    """Hex SHA-256 of everything that decides an image under a policy set.

    Matching (patterns and their dialects, skips, resource selectors by type), modes, the
    no-match rule and every requirement's :func:`policy_fingerprint`. A verdict cached under
    it is reused only by a run that would decide the same way.

    Args:
        policies: The policy set.

    Returns:
        64 hex characters.
    """
    document = {
        "v": _SCHEMA,
        "tool": __version__,
        "noMatch": policies.no_match,
        "policies": [
            {
                "name": p.name,
                "images": [[i.dialect, i.text] for i in p.images],
                "skip": [[i.dialect, i.text] for i in p.skip_images],
                "mode": p.mode,
                "modeOverrides": [[list(ns), mode] for ns, mode in p.mode_overrides],
                "match": repr(p.match),
                "exclude": repr(p.exclude),
                "requireDigest": p.require_digest,
                "script": _checks(p.script) if p.script is not None else None,
                "groups": [
                    [
                        {
                            "policy": policy_fingerprint(r.policy),
                            "signatures": r.signatures,
                            "repository": r.repository,
                        }
                        for r in group.alternatives
                    ]
                    for group in p.groups
                ],
            }
            for p in policies.policies
        ],
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

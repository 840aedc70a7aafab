"""Kyverno attestation conditions and Rego policies, evaluated on statements."""

from __future__ import annotations

import pytest

from sealgate.checks.conditions import ConditionFailed
from sealgate.errors import ConfigError
from sealgate.policy.kyverno_conditions import (
    KyvernoCondition,
    KyvernoConditionBlock,
    compile_kyverno_value,
)
from sealgate.policy.rego import RegoPolicy

STATEMENT = {
    "predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "predicate": {
        "scanner": {
            "uri": "pkg:github/aquasecurity/trivy@0.50",
            "result": {"critical": 0, "high": 2},
        },
        "metadata": {"age": "36h", "size": "1Gi"},
        "tags": ["a", "b"],
        "count": 1000000,
    },
}


def block(key: object, operator: str, value: object) -> KyvernoConditionBlock:
    condition = KyvernoCondition(compile_kyverno_value(key), operator, compile_kyverno_value(value))
    return KyvernoConditionBlock("conditions[0]", all_of=(condition,))


@pytest.mark.parametrize(
    ("key", "operator", "value", "holds"),
    [
        ("{{ scanner.uri }}", "Equals", "pkg:github/aquasecurity/trivy@*", True),
        ("{{ scanner.uri }}", "NotEquals", "pkg:github/aquasecurity/trivy@*", False),
        ("{{ scanner.result.critical }}", "Equals", 0, True),
        ("{{ scanner.result.high }}", "LessThanOrEquals", 1, False),
        ("{{ scanner.result.high }}", "GreaterThan", 1, True),
        ("{{ metadata.age }}", "LessThan", "48h", True),
        ("{{ metadata.size }}", "Equals", "1024Mi", True),
        ("{{ tags }}", "AllIn", ["a", "b", "c"], True),
        ("{{ tags }}", "AnyNotIn", ["a"], True),
        ("{{ tags }}", "AllNotIn", ["z*"], True),
        # Go prints JSON numbers as float64: 1000000 is "1e+06" for the In operators.
        ("{{ count }}", "AnyIn", ["1e+06"], True),
        ("{{ count }}", "AnyIn", ["1000000"], False),
    ],
)
def test_kyverno_operators(key: object, operator: str, value: object, holds: bool) -> None:
    condition = block(key, operator, value)
    if holds:
        assert condition.holds(STATEMENT)
    else:
        with pytest.raises(ConditionFailed):
            condition.holds(STATEMENT)


def test_missing_variable_and_kyverno_functions_fail_closed() -> None:
    with pytest.raises(ConditionFailed, match="not found"):
        block("{{ nothing.here }}", "Equals", "x").holds(STATEMENT)
    with pytest.raises(ConfigError, match="Kyverno extensions"):
        compile_kyverno_value("{{ time_now_utc() }}")
    with pytest.raises(ConditionFailed, match="version comparison"):
        block("1.2.3", "GreaterThan", "1.2.0").holds(STATEMENT)


def test_rego_policy_controller_shapes() -> None:
    plain = RegoPolicy.compile(
        "t", "package sigstore\nisCompliant { input.predicate.scanner.result.critical == 0 }"
    )
    assert plain.holds(STATEMENT)
    assert not plain.holds({"predicate": {}})
    result_set = RegoPolicy.compile(
        "s",
        "package sigstore\nisCompliant[r] {"
        ' r := {"result": count(input.predicate.tags) == 2, "error": ""} }',
    )
    assert result_set.holds(STATEMENT)
    assert not result_set.holds({"predicate": {"tags": []}})
    with pytest.raises(ConfigError, match="does not parse"):
        RegoPolicy.compile("bad", "package sigstore\nisCompliant {{{")


def test_rego_that_runs_too_long_does_not_hold() -> None:
    slow = RegoPolicy(
        "slow",
        "package sigstore\nisCompliant { count([x | some x in numbers.range(1, 100000000)]) > 0 }",
        timeout_s=1,
    )
    with pytest.raises(ConditionFailed, match="longer than 1 s"):
        slow.holds({})


def test_fingerprint_tracks_what_a_condition_checks_not_its_label() -> None:
    # The verdict caches key on the fingerprint: a policy whose condition was tightened
    # (same label, other operator or value; same rego name, other module) must not be
    # served the verdict of the looser one.
    from sealgate.checks.authorities import StaticAuthority
    from sealgate.policy import AttestationRule, Policy, policy_fingerprint

    def with_condition(condition: object) -> str:
        rule = AttestationRule("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1")
        rule = AttestationRule(rule.name, rule.predicate_type, (condition,))  # type: ignore[arg-type]
        return policy_fingerprint(Policy("p", (StaticAuthority("pass"),), attestations=(rule,)))

    loose = block("{{ scanner.result.high }}", "LessThanOrEquals", 5)
    strict = block("{{ scanner.result.high }}", "LessThanOrEquals", 0)
    assert loose.expression == strict.expression  # same label: only the content differs
    assert with_condition(loose) != with_condition(strict)
    module = "package sigstore\nisCompliant { input.predicate.scanner.result.critical <= %d }"
    rego_loose = RegoPolicy("vuln", module % 5)
    rego_strict = RegoPolicy("vuln", module % 0)
    assert with_condition(rego_loose) != with_condition(rego_strict)

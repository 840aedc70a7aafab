"""JMESPath conditions: truthiness follows JMESPath, errors never pass."""

from __future__ import annotations

import json

import pytest

from sealgate.checks.conditions import ConditionFailed, check_conditions
from sealgate.errors import UsageError

STATEMENT = json.dumps({"predicate": {"count": 0, "components": [{"name": "a"}]}}).encode()


def test_zero_is_truthy_like_jmespath() -> None:
    check_conditions(STATEMENT, ["predicate.count"])


@pytest.mark.parametrize(
    "expression", ["predicate.missing", "predicate.components[?name=='b']", "`false`", "''"]
)
def test_falsy_results_fail(expression: str) -> None:
    with pytest.raises(ConditionFailed):
        check_conditions(STATEMENT, [expression])


def test_type_errors_fail_rather_than_pass() -> None:
    with pytest.raises(ConditionFailed):
        check_conditions(STATEMENT, ["length(predicate.count) > `0`"])


def test_invalid_expression_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        check_conditions(STATEMENT, ["length("])

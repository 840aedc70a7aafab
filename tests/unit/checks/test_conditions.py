"""JMESPath conditions: truthiness follows JMESPath, errors never pass, evaluation is bounded."""

from __future__ import annotations

from typing import Any

import pytest

from sealgate.checks.conditions import (
    ConditionFailed,
    EvaluationBudget,
    check_conditions,
    compile_condition,
    compile_conditions,
    jmespath_truthy,
)
from sealgate.errors import UsageError

STATEMENT: dict[str, Any] = {"predicate": {"count": 0, "components": [{"name": "a"}]}}


def check(
    expression: str, document: Any = STATEMENT, budget: EvaluationBudget | None = None
) -> None:
    check_conditions(document, compile_conditions([expression]), budget)


def test_zero_is_truthy_like_jmespath() -> None:
    check("predicate.count")
    assert jmespath_truthy(0) and jmespath_truthy(0.0)
    falsy: tuple[Any, ...] = (None, False, "", [], {})
    assert not any(jmespath_truthy(v) for v in falsy)


@pytest.mark.parametrize(
    "expression", ["predicate.missing", "predicate.components[?name=='b']", "`false`", "''"]
)
def test_falsy_results_fail(expression: str) -> None:
    with pytest.raises(ConditionFailed):
        check(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "length(predicate.count) > `0`",  # a JMESPath type error
        "merge(`{}`, `1.5`)",  # TypeError inside the library
        "ceil(`1e400`)",  # OverflowError inside the library
    ],
)
def test_errors_in_evaluation_fail_rather_than_pass(expression: str) -> None:
    with pytest.raises(ConditionFailed, match="cannot be evaluated"):
        check(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "length(",
        "(" * 5000 + "@" + ")" * 5000,  # RecursionError inside the parser
        "a" * 5000,  # longer than any real condition
    ],
)
def test_invalid_expressions_are_usage_errors(expression: str) -> None:
    with pytest.raises(UsageError):
        compile_condition(expression)


def test_string_growth_is_capped() -> None:
    # Each level escapes the previous one's quotes and backslashes: without a cap the string
    # roughly doubles 40 times (terabytes).
    bomb = "to_string([" * 40 + "predicate" + "])" * 40
    with pytest.raises(ConditionFailed, match="exceeds its budget"):
        check(bomb, budget=EvaluationBudget(max_string_chars=100_000))


def test_steps_are_capped() -> None:
    document = {"items": [{"n": i, "tags": ["x"] * 20} for i in range(2_000)]}
    expression = "items[?tags[?@ == 'y']]"
    check_conditions(document, compile_conditions(["items"]), EvaluationBudget(max_steps=100))
    with pytest.raises(ConditionFailed, match="evaluation steps"):
        check(expression, document, EvaluationBudget(max_steps=10_000))


def test_deeply_nested_document_fails_cleanly() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ConditionFailed):
        check("[][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][]", {"d": deep})
    with pytest.raises(ConditionFailed):
        check("to_string(@)", deep)

"""Conditions on verified attestation statements, in JMESPath (the language Kyverno uses).

This is the one place conditions are compiled and evaluated. A condition is an expression over
the whole in-toto statement (``{"_type", "predicateType", "subject", "predicate"}``); it holds
when the result is truthy in JMESPath's sense: not null, false, ``""``, ``[]`` or ``{}`` (the
number 0 is truthy).

Conditions come from configuration and run on data a signer chose, so evaluation is bounded: a
budget of interpreter steps, a cap on the size of every intermediate string, list and object,
and a cap on expression length and nesting. A condition that exceeds a bound, or that fails
with a type error in the data, does not hold; it never passes.

Examples:
    ``length(predicate.components) > `0```                  the SBOM lists a component
    ``!contains(predicate.components[].licenses[].license.id, 'GPL-3.0-only')``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.visitor import Options, TreeInterpreter

from sealgate.errors import UsageError, VerificationFailed

__all__ = [
    "Condition",
    "ConditionFailed",
    "EvaluationBudget",
    "StatementCondition",
    "check_conditions",
    "compile_condition",
    "compile_conditions",
    "jmespath_truthy",
]

_MAX_EXPRESSION_CHARS = 4096


class ConditionFailed(VerificationFailed):
    """An attestation's statement does not satisfy a required condition."""

    reason = "condition-failed"


@dataclass(frozen=True)
class EvaluationBudget:
    """Bounds on one evaluation.

    Attributes:
        max_steps: Interpreter node visits (a filter over 10,000 SBOM components with a few
            nested tests is well under a million).
        max_string_chars: Largest intermediate string.
        max_items: Largest intermediate list or object.
    """

    max_steps: int = 5_000_000
    max_string_chars: int = 16 * 1024 * 1024
    max_items: int = 1_000_000


class _OverBudget(Exception):
    """Internal: an evaluation exceeded its budget."""


class _BoundedInterpreter(TreeInterpreter):
    def __init__(self, budget: EvaluationBudget) -> None:
        super().__init__(Options())
        self._budget = budget
        self._steps = 0

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        self._steps += 1
        if self._steps > self._budget.max_steps:
            raise _OverBudget(f"more than {self._budget.max_steps} evaluation steps")
        result = super().visit(node, *args, **kwargs)
        if isinstance(result, str) and len(result) > self._budget.max_string_chars:
            raise _OverBudget(f"a string of more than {self._budget.max_string_chars} characters")
        if isinstance(result, list | dict) and len(result) > self._budget.max_items:
            raise _OverBudget(f"a value of more than {self._budget.max_items} items")
        return result


class StatementCondition(Protocol):
    """Anything that decides whether a verified statement is acceptable.

    :class:`Condition` (a JMESPath expression) is the built-in kind; policy loaders add
    others (Kyverno ``all``/``any`` blocks, Rego modules) with the same contract: ``holds``
    answers, or raises :class:`ConditionFailed` when it cannot decide, never passes then.
    """

    @property
    def expression(self) -> str:
        """How reports name the condition."""
        ...

    def holds(self, document: Any, budget: EvaluationBudget | None = None) -> bool:
        """Whether ``document`` (the decoded statement) satisfies the condition.

        Raises:
            ConditionFailed: It cannot be decided on this document.
        """
        ...


@dataclass(frozen=True)
class Condition:
    """A compiled condition.

    Attributes:
        expression: The JMESPath text as written.
    """

    expression: str
    _ast: Any = field(repr=False, compare=False)

    def search(self, document: Any, budget: EvaluationBudget | None = None) -> Any:
        """The expression's value on a decoded JSON document, within the budget.

        Raises:
            ConditionFailed: The expression cannot be evaluated on this document (type error,
                overflow, recursion, budget exceeded).
        """
        interpreter = _BoundedInterpreter(budget or EvaluationBudget())
        try:
            return interpreter.visit(self._ast, document)
        except _OverBudget as exc:
            raise ConditionFailed(
                f"condition {self.expression!r} exceeds its budget: {exc}"
            ) from exc
        except (JMESPathError, TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise ConditionFailed(
                f"condition {self.expression!r} cannot be evaluated: {type(exc).__name__}"
            ) from exc

    def holds(self, document: Any, budget: EvaluationBudget | None = None) -> bool:
        """Evaluate on a decoded JSON document.

        Args:
            document: The statement as decoded JSON.
            budget: Evaluation bounds (default :class:`EvaluationBudget`).

        Returns:
            JMESPath truthiness of the result.

        Raises:
            ConditionFailed: The expression cannot be evaluated on this document (type error,
                overflow, recursion, budget exceeded): a condition that cannot be decided
                does not hold.
        """
        return jmespath_truthy(self.search(document, budget))


def jmespath_truthy(value: Any) -> bool:
    """JMESPath's truthiness: false for null, false, empty string, list and object only."""
    # Compared by type so that 0 (truthy in JMESPath) is not treated as Python-falsy.
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def compile_condition(expression: str) -> Condition:
    """Parse one expression, so a typo is a usage error and not a failed image.

    Args:
        expression: JMESPath text.

    Returns:
        The compiled condition.

    Raises:
        UsageError: Not a string, too long, nested too deeply, or not valid JMESPath.
    """
    if not isinstance(expression, str):
        raise UsageError(f"condition {expression!r} is not a string")
    if len(expression) > _MAX_EXPRESSION_CHARS:
        raise UsageError(f"condition is longer than {_MAX_EXPRESSION_CHARS} characters")
    try:
        parsed = jmespath.compile(expression)
    except JMESPathError as err:
        message = " ".join(str(err).split())
        raise UsageError(f"condition {expression!r} is not valid JMESPath: {message}") from err
    except (RecursionError, ValueError, TypeError) as err:
        raise UsageError(f"condition {expression[:60]!r}... is nested too deeply") from err
    return Condition(expression, parsed.parsed)


def compile_conditions(expressions: Sequence[str]) -> tuple[Condition, ...]:
    """Compile every expression up front.

    Raises:
        UsageError: See :func:`compile_condition`.
    """
    return tuple(compile_condition(expression) for expression in expressions)


def check_conditions(
    document: Any,
    conditions: Sequence[StatementCondition],
    budget: EvaluationBudget | None = None,
) -> None:
    """Raise :class:`ConditionFailed` naming the first condition that does not hold.

    Args:
        document: The decoded statement.
        conditions: Compiled conditions.
        budget: Evaluation bounds per condition.

    Raises:
        ConditionFailed: A condition is false or cannot be evaluated.
    """
    for condition in conditions:
        if not condition.holds(document, budget):
            raise ConditionFailed(f"condition {condition.expression!r} is not met")

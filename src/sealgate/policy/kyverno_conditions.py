"""Kyverno attestation ``conditions`` (``any``/``all`` key/operator/value), as Kyverno decides.

Kyverno adds the statement's ``predicate`` to the root of its JSON context, substitutes
``{{ jmespath }}`` variables in ``key`` and ``value`` (a string that is exactly one variable
becomes the variable's JSON value; otherwise the value is interpolated as text), then applies
the operator. Every block in the list must hold; in a block every ``all`` condition and, when
there are any, at least one ``any`` condition must hold.

Operators: ``Equals``/``NotEquals`` (strings compared as Go durations, then Kubernetes
quantities, then with ``*``/``?`` wildcards in the value), ``AnyIn``/``AllIn``/``AnyNotIn``/
``AllNotIn``/``In``/``NotIn`` (wildcards both ways, numbers as Go prints them), and
``GreaterThan[OrEquals]``/``LessThan[OrEquals]`` (durations, quantities, numbers).

Decided fail-closed instead (the condition does not hold, with the reason): a variable that
resolves to null, Kyverno-only JMESPath functions (refused at load), semantic versions and
``a-b`` range values (which Kyverno compares with its own rules), ``Duration*`` operators.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jmespath.functions

from sealgate.checks.conditions import (
    Condition,
    ConditionFailed,
    EvaluationBudget,
    compile_condition,
)
from sealgate.errors import ConfigError, UsageError
from sealgate.policy.globs import wildcard_match
from sealgate.policy.kyverno_values import go_sprint, parse_duration_seconds, parse_quantity

__all__ = ["OPERATORS", "KyvernoCondition", "KyvernoConditionBlock", "compile_kyverno_value"]

_VARIABLE = re.compile(r"\{\{((?:\{[^{}]*\}|[^{}])*)\}\}")
_RANGE = re.compile(r"^-?\d+(?:\.\d+)?!?-+-?\d+(?:\.\d+)?$")
_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(?:[-+].*)?$")
_STANDARD_FUNCTIONS = frozenset(jmespath.functions.Functions.FUNCTION_TABLE)


class _Undecidable(Exception):
    """A comparison sealgate does not reproduce; the condition then does not hold."""


def _functions(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if current.get("type") == "function_expression":
                found.add(str(current.get("value")))
            stack.extend(current.get("children", []))
        elif isinstance(current, list):
            stack.extend(current)
    return found


def _compile_variable(text: str) -> Condition:
    try:
        compiled = compile_condition(text.strip())
    except UsageError as err:
        raise ConfigError(err.message) from err
    unknown = _functions(compiled._ast) - _STANDARD_FUNCTIONS
    if unknown:
        raise ConfigError(
            f"JMESPath function(s) {', '.join(sorted(unknown))} are Kyverno extensions, "
            "not supported in attestation conditions"
        )
    return compiled


@dataclass(frozen=True)
class _Template:
    """A key or value with its ``{{ }}`` variables compiled."""

    raw: Any
    variables: tuple[tuple[str, Condition], ...] = ()

    def render(self, context: Any, budget: EvaluationBudget | None) -> Any:
        if not self.variables:
            return self.raw
        values = {}
        for text, condition in self.variables:
            value = condition.search(context, budget)
            if value is None:
                raise ConditionFailed(f"variable {{{{{text}}}}} is not found in the attestation")
            values[text] = value
        whole = _VARIABLE.fullmatch(self.raw.strip()) if isinstance(self.raw, str) else None
        if whole is not None:
            return values[whole[1]]

        def replace(found: re.Match[str]) -> str:
            value = values[found[1]]
            return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

        return _VARIABLE.sub(replace, self.raw)


def compile_kyverno_value(raw: Any) -> _Template:
    """Compile the variables of a condition key or value (strings only carry variables).

    Raises:
        ConfigError: A variable is not valid JMESPath or uses a Kyverno-only function.
    """
    if not isinstance(raw, str):
        return _Template(raw)
    variables = tuple((m[1], _compile_variable(m[1])) for m in _VARIABLE.finditer(raw))
    return _Template(raw, variables)


def _as_go(value: Any) -> Any:
    """JSON numbers from a document are float64 in Go; policy literals keep their type."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _string_equals(key: str, value: Any) -> bool:
    key_duration = parse_duration_seconds(key) if key != "0" else None
    value_duration = (
        parse_duration_seconds(value) if isinstance(value, str) and value != "0" else None
    )
    if key_duration is not None or value_duration is not None:
        other = value_duration if value_duration is not None else _seconds(value)
        return key_duration is not None and other is not None and key_duration == other
    key_quantity = parse_quantity(key)
    if key_quantity is not None and isinstance(value, str):
        value_quantity = parse_quantity(value)
        return value_quantity is not None and key_quantity == value_quantity
    return isinstance(value, str) and wildcard_match(value, key)


def _seconds(value: Any) -> Decimal | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return None


def _number_equals(key: float, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return float(value) == key
    if isinstance(value, str):
        try:
            return float(value) == key
        except ValueError:
            return False
    return False


def _equals(key: Any, value: Any) -> bool:
    if isinstance(key, bool):
        return isinstance(value, bool) and key == value
    if isinstance(key, int | float):
        return _number_equals(float(key), value)
    if isinstance(key, str):
        return _string_equals(key, value)
    if isinstance(key, dict | list):
        return type(key) is type(value) and key == value
    return False


def _values_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [go_sprint(v) for v in value]
    if isinstance(value, int | float | bool) and value is not None:
        return [go_sprint(value)]
    if isinstance(value, str):
        if _RANGE.match(value):
            raise _Undecidable(f"range value {value!r}")
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
            return list(parsed)
        raise _Undecidable(f"value {value!r} is JSON but not a list of strings")
    raise _Undecidable(f"value of type {type(value).__name__}")


def _keys_list(key: Any) -> list[str]:
    if isinstance(key, list):
        return [go_sprint(v) for v in key]
    if isinstance(key, str | int | float | bool):
        return [go_sprint(key)]
    raise _Undecidable(f"key of type {type(key).__name__}")


def _found(k: str, values: list[str]) -> bool:
    return any(wildcard_match(v, k) or wildcard_match(k, v) for v in values)


def _any_in(key: Any, value: Any) -> bool:
    if (
        isinstance(value, str)
        and wildcard_match(value, go_sprint(key))
        and not isinstance(key, list)
    ):
        return True
    values = _values_list(value)
    return any(_found(k, values) for k in _keys_list(key))


def _all_in(key: Any, value: Any) -> bool:
    if (
        isinstance(value, str)
        and not isinstance(key, list)
        and wildcard_match(value, go_sprint(key))
    ):
        return True
    values = _values_list(value)
    return all(_found(k, values) for k in _keys_list(key))


def _any_not_in(key: Any, value: Any) -> bool:
    values = _values_list(value)
    return any(not _found(k, values) for k in _keys_list(key))


def _all_not_in(key: Any, value: Any) -> bool:
    values = _values_list(value)
    return all(not _found(k, values) for k in _keys_list(key))


def _ordered(key: Any, value: Any) -> Decimal:
    """key - value as an exact number (durations, quantities, numbers)."""
    for parse in (parse_duration_seconds, parse_quantity):
        k = parse(key) if isinstance(key, str) else None
        v = parse(value) if isinstance(value, str) else None
        if parse is parse_duration_seconds and (k is not None or v is not None):
            k = k if k is not None else _seconds(key)
            v = v if v is not None else _seconds(value)
        if k is not None and v is not None:
            return k - v
    for text in (key, value):
        if isinstance(text, str) and _SEMVER.match(text):
            raise _Undecidable(f"version comparison of {text!r}")
    k, v = _number(key), _number(value)
    if k is None or v is None:
        raise _Undecidable(f"{key!r} and {value!r} are not comparable numbers")
    return k - v


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return None
    return None


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _equals,
    "equal": _equals,
    "notequals": lambda k, v: not _equals(k, v),
    "notequal": lambda k, v: not _equals(k, v),
    "in": _all_in,
    "anyin": _any_in,
    "allin": _all_in,
    "notin": _all_not_in,
    "anynotin": _any_not_in,
    "allnotin": _all_not_in,
    "greaterthan": lambda k, v: _ordered(k, v) > 0,
    "greaterthanorequals": lambda k, v: _ordered(k, v) >= 0,
    "lessthan": lambda k, v: _ordered(k, v) < 0,
    "lessthanorequals": lambda k, v: _ordered(k, v) <= 0,
}


@dataclass(frozen=True)
class KyvernoCondition:
    """One ``{key, operator, value}`` condition."""

    key: _Template
    operator: str
    value: _Template
    message: str = ""

    def holds(self, context: Any, budget: EvaluationBudget | None) -> bool:
        key = _as_go(self.key.render(context, budget))
        value = self.value.render(context, budget)
        if self.value.variables:
            value = _as_go(value)
        try:
            return OPERATORS[self.operator.lower()](key, value)
        except _Undecidable as why:
            raise ConditionFailed(f"cannot compare as Kyverno does: {why}") from None

    def describe(self) -> str:
        return f"{self.key.raw!r} {self.operator} {self.value.raw!r}"


@dataclass(frozen=True)
class KyvernoConditionBlock:
    """One ``AnyAllConditions`` entry; a statement condition for the attestation rule."""

    label: str
    any_of: tuple[KyvernoCondition, ...] = ()
    all_of: tuple[KyvernoCondition, ...] = field(default=())

    @property
    def expression(self) -> str:
        return self.label

    def holds(self, document: Any, budget: EvaluationBudget | None = None) -> bool:
        """Evaluate on the decoded statement (its predicate is the context root).

        Raises:
            ConditionFailed: The statement has no predicate object, or a condition cannot
                be decided.
        """
        predicate = document.get("predicate") if isinstance(document, dict) else None
        if not isinstance(predicate, dict):
            raise ConditionFailed(f"{self.label}: the statement has no predicate object")
        failed = [c for c in self.all_of if not c.holds(predicate, budget)]
        if failed:
            raise ConditionFailed(
                f"{self.label}: {failed[0].message or failed[0].describe()} is not met"
            )
        if self.any_of and not any(c.holds(predicate, budget) for c in self.any_of):
            raise ConditionFailed(f"{self.label}: none of the 'any' conditions is met")
        return True


def conditions_from(blocks: Sequence[KyvernoConditionBlock]) -> tuple[KyvernoConditionBlock, ...]:
    """The blocks as a tuple (every block must hold)."""
    return tuple(blocks)

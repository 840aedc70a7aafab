"""Conditions on verified attestation statements, in JMESPath (the language Kyverno uses).

A condition is an expression evaluated against the whole in-toto statement
(``{"_type", "predicateType", "subject", "predicate"}``); it holds when the result is
truthy in JMESPath's sense (not null, false, empty string, empty list or empty object).

Examples:
    ``length(predicate.components) > `0```                  the SBOM lists a component
    ``!contains(predicate.components[].licenses[].license.id, 'GPL-3.0-only')``
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from sealgate.errors import UsageError, VerificationFailed

__all__ = ["ConditionFailed", "check_conditions", "compile_conditions"]


class ConditionFailed(VerificationFailed):
    """An attestation's statement does not satisfy a required condition."""

    reason = "condition-failed"


def compile_conditions(expressions: Sequence[str]) -> list[Any]:
    """Parse every expression up front, so a typo is a usage error and not a failed image.

    Raises:
        UsageError: an expression is not valid JMESPath.
    """
    compiled = []
    for expression in expressions:
        try:
            compiled.append(jmespath.compile(expression))
        except JMESPathError as err:
            raise UsageError(f"condition {expression!r} is not valid JMESPath: {err}") from err
    return compiled


def _truthy(value: Any) -> bool:
    # JMESPath falsiness; compared by type so that 0 (truthy in JMESPath) is not Python-falsy.
    return not (value is None or value is False or value in ("", [], {}))


def check_conditions(statement_json: bytes, expressions: Sequence[str]) -> None:
    """Raise :class:`ConditionFailed` naming the first expression that does not hold.

    Raises:
        UsageError: an expression is not valid JMESPath.
        ConditionFailed: a condition is false, or cannot be evaluated on this statement
            (a type error in the data fails the condition; it never passes it).
    """
    compiled = compile_conditions(expressions)
    document = json.loads(statement_json)
    for expression, program in zip(expressions, compiled, strict=True):
        try:
            result = program.search(document)
        except JMESPathError as err:
            raise ConditionFailed(f"condition {expression!r} cannot be evaluated: {err}") from err
        if not _truthy(result):
            raise ConditionFailed(f"condition {expression!r} is not met")

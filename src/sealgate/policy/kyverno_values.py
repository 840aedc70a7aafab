"""Go value semantics Kyverno's condition operators rely on: durations, quantities, Sprint.

Kyverno compares strings that parse as Go durations (``time.ParseDuration``) or Kubernetes
quantities (``resource.ParseQuantity``) as such, and turns numbers into text with Go's
``fmt.Sprint`` (JSON numbers are float64 there: ``1000000`` prints as ``1e+06``). These
helpers reproduce those three behaviours so that conditions decide as upstream.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

__all__ = ["go_sprint", "parse_duration_seconds", "parse_quantity"]

_DURATION_UNITS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "μs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_QUANTITY = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?"
)
_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse_duration_seconds(text: str) -> Decimal | None:
    """Go ``time.ParseDuration`` in seconds, or None when ``text`` is not a duration."""
    rest = text
    sign = Decimal(1)
    if rest[:1] in "+-" and rest:
        sign = Decimal(-1) if rest[0] == "-" else Decimal(1)
        rest = rest[1:]
    if rest == "0":
        return Decimal(0)
    if not rest or len(rest) > 200:
        return None
    total = Decimal(0)
    position = 0
    while position < len(rest):
        found = _DURATION_PART.match(rest, position)
        if found is None or found[1] in ("", "."):
            return None
        total += (
            Decimal(found[1] if found[1][0] != "." else "0" + found[1]) * _DURATION_UNITS[found[2]]
        )
        position = found.end()
    return sign * total


def parse_quantity(text: str) -> Decimal | None:
    """Kubernetes ``resource.ParseQuantity`` as an exact number, or None."""
    found = _QUANTITY.fullmatch(text)
    if found is None or len(text) > 100:
        return None
    number, suffix = found[1], found[2] or ""
    try:
        value = Decimal(number)
        if suffix[:1] in ("e", "E"):
            return value * Decimal(10) ** int(suffix[1:])
        return value * _SUFFIXES[suffix]
    except (InvalidOperation, ValueError, OverflowError):
        return None


def _go_float(value: float) -> str:  # noqa: PLR0911 - one exit per Go case
    """``fmt.Sprint(float64)``: shortest digits, %e when the exponent is < -4 or >= 6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    parts = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, parts.digits))
    exponent = int(parts.exponent)
    point = len(digits) + exponent  # decimal point position
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_sprint(value: object) -> str:  # noqa: PLR0911 - one exit per Go type
    """Go ``fmt.Sprint`` of a decoded JSON scalar (numbers as float64, as Go decodes them).

    Lists and objects are not needed by the operators that call this (they only stringify
    scalars); they get Go-like ``[a b]`` / ``map[k:v]`` text for messages.
    """
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "<nil>"
    if isinstance(value, int | float):
        return _go_float(float(value))
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_sprint(value[k])}" for k in sorted(value)) + "]"
    return str(value)

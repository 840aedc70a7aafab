"""Go ``encoding/json`` compatible serialization and strict JSON/base64 decoding helpers.

cosign signs bytes produced by Go's ``json.Marshal``. To produce byte-identical output we:
keep dict insertion order (callers model Go structs by inserting fields in declaration order
and call :func:`sort_maps` for Go maps), emit no whitespace, escape ``<``, ``>``, ``&``,
U+2028 and U+2029 like Go's HTML-safe encoder, replace lone surrogates (Go: invalid UTF-8)
with U+FFFD, and format numbers the way Go formats ``float64``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from decimal import Decimal
from typing import Any

from sealgate.errors import MalformedData

__all__ = ["b64decode", "dumps", "go_float", "loads", "sort_maps"]

_B64_RE = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
_MAX_EXACT_INT = 2**53


def go_float(value: float) -> str:
    """Format a number like Go's ``encoding/json`` formats a ``float64``.

    Args:
        value: The number (Go decodes every JSON number into ``float64``).

    Returns:
        The JSON text: positional in ``[1e-6, 1e21)``, else exponent form like ``1e+21``.

    Raises:
        ValueError: For NaN or infinities, which JSON cannot carry.
    """
    if math.isnan(value) or math.isinf(value):
        raise ValueError("NaN and infinities are not valid JSON numbers")
    if value == 0:
        return "0" if math.copysign(1.0, value) > 0 else "-0"
    text = repr(value)
    magnitude = abs(value)
    if 1e-6 <= magnitude < 1e21:
        positional = format(Decimal(text), "f")
        if "." in positional:
            positional = positional.rstrip("0").rstrip(".")
        return positional
    # Go: strconv 'e' format with the shortest mantissa, then "e-07" -> "e-7".
    mantissa, _, exponent = format(Decimal(text), "e").partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    sign = "-" if exponent.startswith("-") else "+"
    digits = exponent.lstrip("+-").lstrip("0") or "0"
    if len(digits) < 2 and sign == "+":
        digits = digits.rjust(2, "0")
    return f"{mantissa}e{sign}{digits}"


_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_ESCAPE_RE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if "\ud800" <= char <= "\udfff":
        return "\ufffd"
    return f"\\u{ord(char):04x}"


def _string(text: str) -> str:
    return '"' + _ESCAPE_RE.sub(_escape_char, text) + '"'


_CONSTANTS = {None: "null", True: "true", False: "false"}


def _encode(obj: Any, out: list[str]) -> None:
    if obj is None or isinstance(obj, bool):
        out.append(_CONSTANTS[obj])
    elif isinstance(obj, str):
        out.append(_string(obj))
    elif isinstance(obj, int | float):
        exact = isinstance(obj, int) and abs(obj) < _MAX_EXACT_INT
        out.append(str(obj) if exact else go_float(float(obj)))
    elif isinstance(obj, dict):
        out.append("{")
        for index, (key, value) in enumerate(obj.items()):
            out.append("," if index else "")
            out.append(_string(str(key)) + ":")
            _encode(value, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for index, value in enumerate(obj):
            out.append("," if index else "")
            _encode(value, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def dumps(obj: Any) -> bytes:
    """Serialize like Go's ``json.Marshal``: compact, HTML-escaped, insertion-ordered keys.

    Args:
        obj: JSON-compatible data; dicts are written in insertion order.

    Returns:
        UTF-8 bytes.

    Raises:
        TypeError: If ``obj`` holds a value JSON cannot represent.
        ValueError: If ``obj`` holds NaN or an infinity.
    """
    out: list[str] = []
    _encode(obj, out)
    return "".join(out).encode("utf-8")


def sort_maps(obj: Any) -> Any:
    """Return ``obj`` with every dict's keys sorted, as Go writes ``map[string]...`` values.

    Args:
        obj: Decoded JSON data.

    Returns:
        A copy with sorted dicts (Go sorts map keys by their UTF-8 bytes).
    """
    if isinstance(obj, dict):
        return {k: sort_maps(obj[k]) for k in sorted(obj, key=lambda s: str(s).encode("utf-8"))}
    if isinstance(obj, list | tuple):
        return [sort_maps(v) for v in obj]
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON number {name}")


def loads(raw: bytes | str, what: str) -> Any:
    """Decode JSON strictly (UTF-8, no NaN/Infinity).

    Args:
        raw: The JSON text.
        what: What is being decoded, for the error message.

    Returns:
        The decoded value.

    Raises:
        MalformedData: If ``raw`` is not valid JSON.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedData(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise MalformedData(f"{what} is not valid JSON: not UTF-8 at byte {exc.start}") from exc
    except (ValueError, RecursionError) as exc:
        raise MalformedData(f"{what} is not valid JSON") from exc


def b64decode(text: object, what: str, *, url_safe: bool = False) -> bytes:
    """Decode padded base64 (standard alphabet; URL-safe too when ``url_safe``).

    Args:
        text: The value read from JSON (must be a string).
        what: What is being decoded, for the error message.
        url_safe: Also accept the URL-safe alphabet (DSSE envelopes).

    Returns:
        The decoded bytes.

    Raises:
        MalformedData: If ``text`` is not a string or not valid base64.
    """
    if not isinstance(text, str) or not _B64_RE.match(text) or len(text) % 4:
        raise MalformedData(f"{what} is not valid base64")
    try:
        if "-" in text or "_" in text:
            if not url_safe or "+" in text or "/" in text:
                raise MalformedData(f"{what} is not valid base64")
            return base64.urlsafe_b64decode(text)
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise MalformedData(f"{what} is not valid base64") from exc

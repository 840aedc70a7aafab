"""Strict readers for protobuf JSON values (Sigstore bundles and log entries).

protobuf's JSON mapping writes ``int64`` as a decimal string (readers also accept numbers) and
``bytes`` as base64 (standard or URL-safe alphabet, padding optional, line breaks
ignored). Every reader raises
:class:`~sealgate.errors.MalformedData` with the field's name; nothing else escapes.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from sealgate.errors import MalformedData

__all__ = ["b64bytes", "int64", "obj", "opt_obj", "seq", "string"]

_INT_RE = re.compile(r"^-?[0-9]{1,19}$")
_B64_RE = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
_INT64_MAX = 2**63 - 1


def obj(value: object, what: str) -> dict[str, Any]:
    """``value`` as a JSON object, or MalformedData naming ``what``."""
    if not isinstance(value, dict):
        raise MalformedData(f"{what} is not a JSON object")
    return value


def opt_obj(value: object, what: str) -> dict[str, Any] | None:
    """Like :func:`obj`, but an absent (None) value stays None."""
    return None if value is None else obj(value, what)


def seq(value: object, what: str, *, limit: int) -> list[Any]:
    """``value`` as a JSON list of at most ``limit`` items (absent means empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedData(f"{what} is not a JSON list")
    if len(value) > limit:
        raise MalformedData(f"{what} has more than {limit} entries")
    return value


def string(value: object, what: str, *, required: bool = True) -> str:
    """``value`` as a string; absent is "" unless ``required``."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise MalformedData(f"{what} is missing or not a string")
    return value


def int64(value: object, what: str, *, default: int | None = None) -> int:
    """A protobuf ``int64`` (decimal string or JSON integer).

    Args:
        value: The JSON value.
        what: Field name for messages.
        default: Returned when the field is absent; absent is an error when None.

    Returns:
        The integer.

    Raises:
        MalformedData: If absent without default, not an integer, or out of int64 range.
    """
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedData(f"{what} is not an integer")
    if isinstance(value, str) and not _INT_RE.match(value):
        raise MalformedData(f"{what} is not an integer")
    number = int(value)
    if not -_INT64_MAX - 1 <= number <= _INT64_MAX:
        raise MalformedData(f"{what} is out of range")
    return number


def b64bytes(value: object, what: str, *, required: bool = True) -> bytes:
    """A protobuf ``bytes`` field: base64, either alphabet, padding optional.

    Args:
        value: The JSON value.
        what: Field name for messages.
        required: Whether an absent or empty value is an error.

    Returns:
        The decoded bytes (b"" when absent and not required).

    Raises:
        MalformedData: If not a string of valid base64, or required and empty.
    """
    if value is None and not required:
        return b""
    if isinstance(value, str):
        # Go's decoder (behind protojson) skips CR and LF, so line-wrapped base64 is valid.
        value = value.replace("\r", "").replace("\n", "")
    if not isinstance(value, str) or not _B64_RE.match(value):
        raise MalformedData(f"{what} is not valid base64")
    text = value.rstrip("=")
    if len(text) % 4 == 1 or (("-" in text or "_" in text) and ("+" in text or "/" in text)):
        raise MalformedData(f"{what} is not valid base64")
    try:
        decoded = base64.urlsafe_b64decode(
            text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)
        )
    except (binascii.Error, ValueError) as exc:
        raise MalformedData(f"{what} is not valid base64") from exc
    if required and not decoded:
        raise MalformedData(f"{what} is empty")
    return decoded

"""Closed validity windows (protobuf-specs ``TimeRange``) and RFC 3339 timestamps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sealgate.errors import ConfigError

__all__ = ["TimeRange", "parse_rfc3339"]

# protobuf JSON Timestamp: "2021-01-12T11:53:27Z", with up to 9 fractional digits, 'Z' or offset.
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC)


def parse_rfc3339(text: object, what: str) -> datetime:
    """Parse an RFC 3339 timestamp with an explicit offset into an aware UTC datetime.

    Args:
        text: The JSON value.
        what: What is being parsed, for the error message.

    Returns:
        The instant (sub-microsecond digits are truncated).

    Raises:
        ConfigError: If ``text`` is not an RFC 3339 string with a time zone.
    """
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"{what} is not an RFC 3339 timestamp")
    date, clock, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(f"{date}T{clock}.{micros}{zone}")
    except ValueError as exc:
        raise ConfigError(f"{what} is not a valid date") from exc
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    """A closed interval ``[start, end]``; ``end`` None means open-ended.

    sigstore-go and the Sigstore client spec treat both bounds as inclusive (the conformance
    cases ``trust-root-*-validity-end-inclusive`` pin this).

    Attributes:
        start: First instant of validity (aware).
        end: Last instant of validity (aware), or None.
    """

    start: datetime
    end: datetime | None = None

    @classmethod
    def unbounded(cls) -> TimeRange:
        """A window that contains every instant (a key given without a trusted root)."""
        return cls(_MIN, None)

    @classmethod
    def parse(cls, value: object, what: str) -> TimeRange:
        """Parse a ``validFor`` object; ``start`` is required, ``end`` optional (null allowed).

        Args:
            value: The JSON value of ``validFor``.
            what: Where it was found, for error messages.

        Returns:
            The window.

        Raises:
            ConfigError: If ``validFor`` or its ``start`` is missing, a bound is malformed, or
                ``end`` is before ``start``.
        """
        if not isinstance(value, dict):
            raise ConfigError(f"{what}: validFor is missing")
        if value.get("start") is None:
            # A missing start is a malformed root, not "valid since forever".
            raise ConfigError(f"{what}: validFor has no start")
        start = parse_rfc3339(value["start"], f"{what}: validFor.start")
        end_value = value.get("end")
        end = None if end_value is None else parse_rfc3339(end_value, f"{what}: validFor.end")
        if end is not None and end < start:
            raise ConfigError(f"{what}: validFor ends before it starts")
        return cls(start, end)

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies inside the window (both ends inclusive).

        Args:
            instant: An aware datetime.

        Returns:
            True if ``start <= instant <= end``.
        """
        return self.start <= instant and (self.end is None or instant <= self.end)

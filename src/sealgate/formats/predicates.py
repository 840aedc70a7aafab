"""cosign ``--type`` predicate names and predicate file loading (docs/formats.md §2.4, §2.5)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from sealgate.errors import InputError, MalformedData
from sealgate.formats import _gojson

__all__ = [
    "CUSTOM_PREDICATE_TYPE",
    "DEFAULT_PREDICATE_TYPE",
    "PREDICATE_TYPES",
    "load_predicate",
    "resolve_predicate_type",
]

CUSTOM_PREDICATE_TYPE: Final = "https://cosign.sigstore.dev/attestation/v1"
#: ``--type`` when not given, for ``attest`` and ``verify-attestation`` alike.
DEFAULT_PREDICATE_TYPE: Final = "custom"

#: cosign ``options.PredicateTypeMap``: short ``--type`` names -> predicateType URI.
PREDICATE_TYPES: Final = MappingProxyType(
    {
        "custom": CUSTOM_PREDICATE_TYPE,
        "slsaprovenance": "https://slsa.dev/provenance/v0.2",
        "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
        "slsaprovenance1": "https://slsa.dev/provenance/v1",
        "spdx": "https://spdx.dev/Document",
        "spdxjson": "https://spdx.dev/Document",
        "cyclonedx": "https://cyclonedx.org/bom",
        "link": "https://in-toto.io/Link/v1",
        "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex": "https://openvex.dev/ns",
    }
)

# Go url.ParseRequestURI accepts an absolute URI (scheme:...) or an absolute path.
_REQUEST_URI = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:[^\s]+|/[^\s]*)$")


def resolve_predicate_type(type_name: str) -> str:
    """Map a ``--type`` value to its predicateType URI.

    Args:
        type_name: A short name from :data:`PREDICATE_TYPES` or a URI.

    Returns:
        The predicate type URI.

    Raises:
        InputError: If ``type_name`` is neither a known name nor a valid URI.
    """
    if type_name in PREDICATE_TYPES:
        return PREDICATE_TYPES[type_name]
    if not _REQUEST_URI.match(type_name):
        raise InputError(
            f"invalid predicate type: {type_name} (use one of {', '.join(PREDICATE_TYPES)}, "
            "or a URI)"
        )
    return type_name


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = _gojson.loads(raw, "predicate")
    except MalformedData as exc:
        raise InputError(exc.message) from exc
    if not isinstance(value, dict):
        raise InputError("predicate is not a JSON object")
    return value


def _rfc3339(now: datetime) -> str:
    if now.tzinfo is None:
        raise ValueError("clock must return an aware datetime")
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_predicate(
    type_name: str,
    raw: bytes,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Any:
    """Turn a predicate file into the ``predicate`` value cosign would attest.

    Args:
        type_name: The ``--type`` value (short name or URI).
        raw: The predicate file bytes.
        clock: Returns "now" (aware); used only for ``custom``'s ``Timestamp``.

    Returns:
        ``custom``: ``{"Data": <file as text>, "Timestamp": <RFC 3339 UTC>}``; ``spdx``: the
        file as a JSON string; every other type: the file's JSON object.

    Raises:
        InputError: If the type is invalid, or a JSON predicate is not a JSON object
            ("predicate is not a JSON object").
    """
    resolve_predicate_type(type_name)
    if type_name == "custom":
        # Go string(bytes) keeps invalid UTF-8, which json.Marshal then writes as U+FFFD.
        return {"Data": raw.decode("utf-8", errors="replace"), "Timestamp": _rfc3339(clock())}
    if type_name == "spdx":
        return raw.decode("utf-8", errors="replace")
    return _json_object(raw)

"""cosign --type names and predicate loading (docs/formats.md §2.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sealgate.errors import InputError
from sealgate.formats.predicates import (
    PREDICATE_TYPES,
    load_predicate,
    resolve_predicate_type,
)

CLOCK = lambda: datetime(2025, 2, 28, 19, 18, 11, 500000, tzinfo=UTC)  # noqa: E731


def test_predicate_type_map() -> None:
    assert dict(PREDICATE_TYPES) == {
        "custom": "https://cosign.sigstore.dev/attestation/v1",
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


@pytest.mark.parametrize("uri", ["https://example.com/p/v1", "urn:example:x", "/abs/path"])
def test_resolve_uri(uri: str) -> None:
    assert resolve_predicate_type(uri) == uri


@pytest.mark.parametrize("bad", ["", "notatype", "relative/path", "https://a b"])
def test_resolve_rejects(bad: str) -> None:
    with pytest.raises(InputError, match="invalid predicate type"):
        resolve_predicate_type(bad)


def test_custom_wraps_data_and_timestamp() -> None:
    assert load_predicate("custom", b'{"foo": "bar"}\n', clock=CLOCK) == {
        "Data": '{"foo": "bar"}\n',
        "Timestamp": "2025-02-28T19:18:11Z",
    }


def test_custom_timestamp_is_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    value = load_predicate("custom", b"x", clock=lambda: datetime(2025, 1, 1, 1, 0, tzinfo=plus2))
    assert value["Timestamp"] == "2024-12-31T23:00:00Z"


def test_custom_accepts_non_json_and_invalid_utf8() -> None:
    assert load_predicate("custom", b"plain \xff", clock=CLOCK)["Data"] == "plain \ufffd"


def test_spdx_is_a_string() -> None:
    assert load_predicate("spdx", b"SPDXVersion: SPDX-2.2\n") == "SPDXVersion: SPDX-2.2\n"


@pytest.mark.parametrize(
    "type_name",
    ["cyclonedx", "spdxjson", "vuln", "openvex", "slsaprovenance", "slsaprovenance1", "link"],
)
def test_json_types_need_objects(type_name: str) -> None:
    assert load_predicate(type_name, b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(InputError, match="predicate is not a JSON object"):
        load_predicate(type_name, b"[1, 2]")
    with pytest.raises(InputError):
        load_predicate(type_name, b"<bom/>")


def test_uri_type_is_a_json_object() -> None:
    assert load_predicate("https://example.com/p", b'{"k": "v"}') == {"k": "v"}
    with pytest.raises(InputError, match="predicate is not a JSON object"):
        load_predicate("https://example.com/p", b'"str"')


def test_naive_clock_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        load_predicate("custom", b"x", clock=lambda: datetime(2025, 1, 1))


def test_invalid_type_refused() -> None:
    with pytest.raises(InputError):
        load_predicate("bogus", b"{}")

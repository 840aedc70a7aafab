"""Simple-signing payload: golden bytes (docs/formats.md §1.4) and strict parsing."""

from __future__ import annotations

import pytest

from sealgate.errors import MalformedData
from sealgate.formats.simplesigning import SimpleSigningPayload, build_payload, parse_payload

DIGEST = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
# The real 261-byte payload of containers/image fixture dir-img-cosign-valid.
GOLDEN = (
    b'{"critical":{"identity":{"docker-reference":"192.168.64.2:5000/cosign-signed-single-sample"},'
    b'"image":{"docker-manifest-digest":"sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de'
    b'8ddc45e5986a00"},"type":"cosign container image signature"},"optional":null}'
)


def test_build_payload_golden() -> None:
    payload = build_payload("192.168.64.2:5000/cosign-signed-single-sample", DIGEST, None)
    assert payload == GOLDEN
    assert len(payload) == 261


def test_empty_annotations_are_null() -> None:
    assert build_payload("r", DIGEST, {}).endswith(b'"optional":null}')


def test_annotations_sorted_and_html_escaped() -> None:
    payload = build_payload("r/x", DIGEST, {"z": "1", "a": "<b>&", "m": "é"})
    assert payload.endswith('"optional":{"a":"\\u003cb\\u003e\\u0026","m":"é","z":"1"}}'.encode())


def test_annotation_values_must_be_strings() -> None:
    with pytest.raises(TypeError):
        build_payload("r", DIGEST, {"a": 1})  # type: ignore[dict-item]


def test_parse_round_trip() -> None:
    parsed = parse_payload(build_payload("r/x", DIGEST, {"k": "v"}))
    assert parsed == SimpleSigningPayload("r/x", DIGEST, optional={"k": "v"})
    assert parsed.to_json_obj() == {
        "critical": {
            "identity": {"docker-reference": "r/x"},
            "image": {"docker-manifest-digest": DIGEST},
            "type": "cosign container image signature",
        },
        "optional": {"k": "v"},
    }


def test_parse_keeps_non_string_optional_values() -> None:
    raw = GOLDEN.replace(b'"optional":null', b'"optional":{"creator":"x","timestamp":1657296609}')
    assert parse_payload(raw).optional == {"creator": "x", "timestamp": 1657296609}


def test_missing_reference_is_empty_like_go() -> None:
    raw = (
        b'{"critical":{"image":{"docker-manifest-digest":"sha256:ab"},'
        b'"type":"cosign container image signature"}}'
    )
    parsed = parse_payload(raw)
    assert parsed.docker_reference == ""
    assert parsed.optional is None


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"critical":[]}',
        b'{"critical":{"type":"something else"}}',
        b'{"critical":{"type":"cosign container image signature","image":"x"}}',
        b'{"critical":{"type":"cosign container image signature",'
        b'"image":{"docker-manifest-digest":1}}}',
        b'{"critical":{"type":"cosign container image signature",'
        b'"identity":{"docker-reference":[]}}}',
        b'{"critical":{"type":"cosign container image signature"},"optional":"x"}',
        b'{"critical":{"type":5}}',
        b"\xff\xfe",
    ],
)
def test_parse_rejects(raw: bytes) -> None:
    with pytest.raises(MalformedData):
        parse_payload(raw)

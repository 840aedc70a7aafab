"""in-toto statements: cosign v2 byte layout (matches the real cosign vector) and parsing."""

from __future__ import annotations

import json

import pytest

from sealgate.errors import MalformedData
from sealgate.formats.intoto import (
    STATEMENT_V01,
    STATEMENT_V1,
    Subject,
    build_statement,
    parse_statement,
)

HEX = "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
# Decoded payload of cosign's pkg/cosign/testdata/oci-attestation.sigstore.json.
COSIGN_VECTOR = (
    b'{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cosign.sigstore.dev/'
    b'attestation/v1","subject":[{"name":"127.0.0.1:60943/repo","digest":{"sha256":"'
    + HEX.encode()
    + b'"}}],"predicate":{"Data":"{\\"foo\\": \\"bar\\"}\\n","Timestamp":"2025-02-28T19:18:11Z"}}'
)


def test_build_statement_matches_cosign_vector() -> None:
    predicate = {"Data": '{"foo": "bar"}\n', "Timestamp": "2025-02-28T19:18:11Z"}
    raw = build_statement(
        "127.0.0.1:60943/repo", HEX, "https://cosign.sigstore.dev/attestation/v1", predicate
    )
    assert raw == COSIGN_VECTOR


def test_build_statement_sorts_predicate_maps() -> None:
    raw = build_statement("r", HEX, "https://cyclonedx.org/bom", {"b": {"y": 1, "x": 2}, "a": 1.0})
    assert raw.endswith(b'"predicate":{"a":1,"b":{"x":2,"y":1}}}')


def test_build_statement_rejects_bad_digest() -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        build_statement("r", "sha256:" + HEX, "t", {})


def test_parse_v01() -> None:
    statement = parse_statement(COSIGN_VECTOR)
    assert statement.type == STATEMENT_V01
    assert statement.predicate_type == "https://cosign.sigstore.dev/attestation/v1"
    assert statement.subjects == (Subject("127.0.0.1:60943/repo", {"sha256": HEX}),)
    assert statement.predicate["Timestamp"] == "2025-02-28T19:18:11Z"
    assert statement.has_subject_digest("sha256:" + HEX)
    assert not statement.has_subject_digest("sha256:" + "0" * 64)
    assert not statement.has_subject_digest(HEX)


def test_parse_v1_without_name() -> None:
    raw = json.dumps(
        {
            "_type": STATEMENT_V1,
            "subject": [
                {"digest": {"sha512": "ab"}},
                {"digest": {"sha256": HEX}, "annotations": {"k": "v"}},
            ],
            "predicateType": "https://sigstore.dev/cosign/sign/v1",
            "predicate": {},
        }
    ).encode()
    statement = parse_statement(raw)
    assert statement.subjects[1].name == ""
    assert statement.subjects[1].annotations == {"k": "v"}
    assert statement.has_subject_digest("sha256:" + HEX)


def _statement(**changes: object) -> bytes:
    doc = json.loads(COSIGN_VECTOR)
    doc.update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"x",
        b"[]",
        _statement(_type="https://in-toto.io/Statement/v2"),
        _statement(predicateType=3),
        _statement(predicateType=""),
        _statement(subject=[]),
        _statement(subject={}),
        _statement(subject=["x"]),
        _statement(subject=[{"name": 1, "digest": {}}]),
        _statement(subject=[{"name": "n", "digest": {"sha256": 1}}]),
        _statement(subject=[{"name": "n"}]),
        _statement(subject=[{"name": "n", "digest": {}, "annotations": []}]),
    ],
)
def test_parse_rejects(raw: bytes) -> None:
    with pytest.raises(MalformedData):
        parse_statement(raw)

"""Rekor bundle annotation and entry bodies (SPEC §4.4)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from sealgate.errors import MalformedData
from sealgate.formats.rekor import RekorBundle, RekorEntry, decode_body
from tests.unit.checks._keys import b64, dsse_entry, hashedrekord, intoto_entry

LOG_ID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
PEM = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"


def annotation(**payload_changes: Any) -> str:
    payload: dict[str, Any] = {
        "body": b64(json.dumps(hashedrekord(b"p", "c2ln", PEM)).encode()),
        "integratedTime": 1674251859,
        "logIndex": 11608800,
        "logID": LOG_ID,
    }
    payload.update(payload_changes)
    return json.dumps({"SignedEntryTimestamp": "MEUCIQ==", "Payload": payload})


def test_parse_and_canonical_payload() -> None:
    bundle = RekorBundle.parse(annotation())
    assert bundle.signed_entry_timestamp == base64.b64decode("MEUCIQ==")
    assert bundle.integrated_time == 1674251859
    assert bundle.log_index == 11608800
    assert (
        bundle.canonical_payload()
        == (
            '{"body":"' + bundle.body + '","integratedTime":1674251859,'
            '"logID":"' + LOG_ID + '","logIndex":11608800}'
        ).encode()
    )


def test_to_json_obj_is_go_struct_order() -> None:
    obj = RekorBundle.parse(annotation()).to_json_obj()
    assert list(obj) == ["SignedEntryTimestamp", "Payload"]
    assert list(obj["Payload"]) == ["body", "integratedTime", "logIndex", "logID"]
    assert obj["SignedEntryTimestamp"] == "MEUCIQ=="


def test_hashedrekord_entry() -> None:
    entry = RekorBundle.parse(annotation()).entry()
    assert entry == RekorEntry(
        "hashedrekord",
        "0.0.1",
        "sha256",
        "148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940",
        "c2ln",
        PEM,
    )


def test_rekord_entry() -> None:
    body = hashedrekord(b"p", "c2ln", PEM)
    body["kind"] = "rekord"
    body["spec"]["signature"]["format"] = "x509"
    assert decode_body(b64(json.dumps(body).encode())).kind == "rekord"


def test_dsse_and_intoto_entries() -> None:
    dsse = decode_body(b64(json.dumps(dsse_entry(b"env", PEM)).encode()))
    assert (dsse.kind, dsse.signature_b64, dsse.public_key_pem) == ("dsse", None, PEM)
    for version in ("0.0.1", "0.0.2"):
        entry = decode_body(b64(json.dumps(intoto_entry(b"env", PEM, version)).encode()))
        assert (entry.kind, entry.api_version, entry.public_key_pem) == ("intoto", version, PEM)
        assert entry.hash_value == dsse.hash_value


def _body(mutate: Any) -> str:
    body = hashedrekord(b"p", "c2ln", PEM)
    mutate(body)
    return b64(json.dumps(body).encode())


@pytest.mark.parametrize(
    "body",
    [
        "!!!",
        b64(b"not json"),
        b64(b"[]"),
        _body(lambda b: b.update(kind="helm")),
        _body(lambda b: b.update(apiVersion="0.0.2")),
        _body(lambda b: b.update(spec=[])),
        _body(lambda b: b["spec"].pop("signature")),
        _body(lambda b: b["spec"]["data"].update(hash="x")),
        _body(lambda b: b["spec"]["signature"].update(content=5)),
        _body(lambda b: b["spec"]["signature"]["publicKey"].update(content="***")),
        b64(json.dumps({**dsse_entry(b"e", PEM), "spec": {"envelopeHash": {}}}).encode()),
        b64(json.dumps({**dsse_entry(b"e", PEM), "spec": {"signatures": []}}).encode()),
    ],
)
def test_decode_body_rejects(body: str) -> None:
    with pytest.raises(MalformedData):
        decode_body(body)


@pytest.mark.parametrize(
    "raw",
    [
        "garbage",
        "[]",
        '{"SignedEntryTimestamp":"MEUCIQ=="}',
        '{"SignedEntryTimestamp":"***","Payload":{}}',
        annotation(body=""),
        annotation(body=5),
        annotation(logID="C0D2"),
        annotation(logID=LOG_ID.upper()),
        annotation(integratedTime="1674251859"),
        annotation(integratedTime=True),
        annotation(logIndex=-1),
    ],
)
def test_parse_rejects(raw: str) -> None:
    with pytest.raises(MalformedData):
        RekorBundle.parse(raw)

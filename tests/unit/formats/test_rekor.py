"""cosign's Rekor bundle annotation, and the entry bodies it carries."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealgate.errors import MalformedData
from sealgate.formats.rekor import RekorBundle
from sealgate.formats.rekor_body import parse_rekor_body
from tests.unit.checks._keys import b64, dsse_entry, hashedrekord, intoto_entry

LOG_ID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
_KEY = ec.generate_private_key(ec.SECP256R1()).public_key()
PEM = _KEY.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
spki = _KEY.public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)


def annotation(**payload_changes: Any) -> str:
    payload: dict[str, Any] = {
        "body": b64(
            json.dumps(hashedrekord(b"p", base64.b64encode(b"sig").decode(), PEM)).encode()
        ),
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


def body_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


SIG = base64.b64encode(b"sig").decode()
ENVELOPE = json.dumps(
    {"payloadType": "x", "payload": b64(b"{}"), "signatures": [{"keyid": "", "sig": SIG}]}
).encode()


def test_hashedrekord_entry() -> None:
    bundle = RekorBundle.parse(annotation())
    entry = parse_rekor_body(base64.b64decode(bundle.body))
    assert (entry.kind, entry.version) == ("hashedrekord", "0.0.1")
    assert entry.data_digest == ("sha256", hashlib.sha256(b"p").digest())
    assert entry.signatures[0].signature == b"sig"
    assert entry.signatures[0].verifier_der == spki


def test_rekord_entry() -> None:
    body = hashedrekord(b"p", SIG, PEM)
    body["kind"] = "rekord"
    body["spec"]["signature"]["format"] = "x509"
    assert parse_rekor_body(body_bytes(body)).kind == "rekord"


def test_dsse_and_intoto_entries() -> None:
    dsse = parse_rekor_body(body_bytes(dsse_entry(ENVELOPE, PEM)))
    assert (dsse.kind, dsse.signatures[0].verifier_der) == ("dsse", spki)
    for version in ("0.0.1", "0.0.2"):
        entry = parse_rekor_body(body_bytes(intoto_entry(ENVELOPE, PEM, version)))
        assert (entry.kind, entry.version) == ("intoto", version)
        assert entry.payload_hash == dsse.payload_hash


def _body(mutate: Any) -> bytes:
    body = hashedrekord(b"p", SIG, PEM)
    mutate(body)
    return body_bytes(body)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        _body(lambda b: b.update(kind="helm")),
        _body(lambda b: b.update(apiVersion="0.0.9")),
        _body(lambda b: b.update(spec=[])),
        _body(lambda b: b["spec"].pop("signature")),
        _body(lambda b: b["spec"]["data"].update(hash="x")),
        _body(lambda b: b["spec"]["signature"].update(content=5)),
        _body(lambda b: b["spec"]["signature"]["publicKey"].update(content="***")),
        body_bytes({**dsse_entry(ENVELOPE, PEM), "spec": {"envelopeHash": {}}}),
        body_bytes({**dsse_entry(ENVELOPE, PEM), "spec": {"signatures": []}}),
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedData):
        parse_rekor_body(body)


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

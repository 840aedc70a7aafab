"""DSSE: PAE vectors, cosign v2 envelope layout, parsing, and securesystemslib interop."""

from __future__ import annotations

import base64
import json

import pytest
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import SSlibKey

from sealgate.errors import MalformedData
from sealgate.formats.dsse import DsseSignature, Envelope, build_envelope, pae, parse_envelope
from tests.unit.checks._keys import EcKey


def test_pae_spec_vector() -> None:
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_empty_and_utf8_lengths() -> None:
    assert pae("", b"") == b"DSSEv1 0  0 "
    assert pae("t\u00e9", b"\x00\xff") == b"DSSEv1 3 t\xc3\xa9 2 \x00\xff"


def test_build_envelope_v2_layout() -> None:
    raw = build_envelope("application/vnd.in-toto+json", b"{}", b"\x01\x02")
    assert raw == (
        b'{"payloadType":"application/vnd.in-toto+json","payload":"e30=",'
        b'"signatures":[{"keyid":"","sig":"AQI="}]}'
    )


def test_parse_round_trip() -> None:
    env = parse_envelope(build_envelope("t", b"payload", b"sig", keyid="k"))
    assert env == Envelope("t", b"payload", (DsseSignature(b"sig", "k"),))
    assert env.pae() == pae("t", b"payload")
    assert Envelope.parse(build_envelope("t", b"p", b"s")) == parse_envelope(
        build_envelope("t", b"p", b"s")
    )


def test_parse_url_safe_and_missing_keyid() -> None:
    payload = b"\xfb\xff\xfe"
    raw = json.dumps(
        {
            "payload": base64.urlsafe_b64encode(payload).decode(),
            "payloadType": "t",
            "signatures": [{"sig": base64.urlsafe_b64encode(b"\xfb\xef").decode()}],
        }
    ).encode()
    env = parse_envelope(raw)
    assert env.payload == payload
    assert env.signatures == (DsseSignature(b"\xfb\xef", ""),)


def test_parse_null_keyid() -> None:
    raw = b'{"payload":"","payloadType":"t","signatures":[{"keyid":null,"sig":"AQ=="}]}'
    assert parse_envelope(raw).signatures[0].keyid == ""


@pytest.mark.parametrize(
    "raw",
    [
        b"nope",
        b"[]",
        b'{"payload":"e30=","signatures":[{"sig":"AQ=="}]}',
        b'{"payload":"e30=","payloadType":1,"signatures":[{"sig":"AQ=="}]}',
        b'{"payload":"e30","payloadType":"t","signatures":[{"sig":"AQ=="}]}',
        b'{"payload":"e30=","payloadType":"t","signatures":[]}',
        b'{"payload":"e30=","payloadType":"t"}',
        b'{"payload":"e30=","payloadType":"t","signatures":[{"sig":""}]}',
        b'{"payload":"e30=","payloadType":"t","signatures":[{"sig":"**"}]}',
        b'{"payload":"e30=","payloadType":"t","signatures":[{"keyid":5,"sig":"AQ=="}]}',
        b'{"payload":"e30=","payloadType":"t","signatures":["AQ=="]}',
    ],
)
def test_parse_rejects(raw: bytes) -> None:
    with pytest.raises(MalformedData):
        parse_envelope(raw)


def test_securesystemslib_verifies_our_envelope() -> None:
    key = EcKey()
    sslib_key = SSlibKey.from_crypto(key.private.public_key(), keyid="sealgate-test")
    payload = b'{"_type":"https://in-toto.io/Statement/v0.1"}'
    payload_type = "application/vnd.in-toto+json"
    raw = build_envelope(
        payload_type, payload, key.sign(pae(payload_type, payload)), keyid="sealgate-test"
    )
    envelope = SslibEnvelope.from_dict(json.loads(raw))
    assert envelope.pae() == pae(payload_type, payload)
    accepted = envelope.verify([sslib_key], 1)
    assert list(accepted) == ["sealgate-test"]

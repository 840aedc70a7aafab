"""Damaged key files fail with one KeyMaterialError line, never key bytes or passwords."""

from __future__ import annotations

import base64
import json

import pytest

from sealgate.errors import KeyMaterialError
from sealgate.keys import generate_key_pair, load_signer_pem, load_verifier_pem
from sealgate.keys.pem import decode_pem, encode_pem
from tests.unit.keys.helpers import PASSWORD

LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY"


def _body_pem(body: bytes) -> bytes:
    return encode_pem(LABEL, body)


def _cases() -> list[tuple[str, bytes]]:
    private_pem, _ = generate_key_pair(PASSWORD)
    lines = private_pem.splitlines(keepends=True)
    doc = json.loads(decode_pem(private_pem).body)
    bad_nonce = json.loads(json.dumps(doc))
    bad_nonce["cipher"]["nonce"] = base64.b64encode(b"short").decode()
    bad_salt = json.loads(json.dumps(doc))
    bad_salt["kdf"]["salt"] = "!!!not base64!!!"
    flipped = json.loads(json.dumps(doc))
    ct = bytearray(base64.b64decode(flipped["ciphertext"]))
    ct[-1] ^= 1
    flipped["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    float_n = decode_pem(private_pem).body.replace(b'"N":65536', b'"N":65536.0')
    return [
        ("empty", b""),
        ("not pem", b"just some text\n"),
        ("truncated", b"".join(lines[:3])),
        ("bad base64", lines[0] + b"@@@@ not base64 $$$$\n" + lines[-1]),
        ("json not object", _body_pem(b"[1, 2, 3]")),
        ("not json", _body_pem(b"\x00\xff garbage")),
        ("kdf missing", _body_pem(b'{"cipher":{},"ciphertext":""}')),
        ("short nonce", _body_pem(json.dumps(bad_nonce).encode())),
        ("bad salt", _body_pem(json.dumps(bad_salt).encode())),
        ("flipped ciphertext", _body_pem(json.dumps(flipped).encode())),
        ("float N", _body_pem(float_n)),
        ("binary junk", bytes(range(256)) * 4),
        ("deeply nested json", _body_pem(b"[" * 100_000)),
        (
            "huge integer N",
            _body_pem(b'{"kdf":{"name":"scrypt","params":{"N":' + b"9" * 5000 + b"}}}"),
        ),
    ]


@pytest.mark.parametrize(("name", "data"), _cases(), ids=[c[0] for c in _cases()])
def test_corrupted_private_key(name: str, data: bytes) -> None:
    with pytest.raises(KeyMaterialError) as info:
        load_signer_pem(data, PASSWORD)
    message = str(info.value)
    assert "\n" not in message
    assert PASSWORD.decode() not in message
    assert "Traceback" not in message
    assert info.value.__suppress_context__ or info.value.__context__ is None


@pytest.mark.parametrize(
    "data",
    [
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
        b"",
    ],
)
def test_corrupted_public_key(data: bytes) -> None:
    with pytest.raises(KeyMaterialError) as info:
        load_verifier_pem(data)
    assert "\n" not in str(info.value)


def test_private_key_error_does_not_echo_key_bytes() -> None:
    private_pem, _ = generate_key_pair(PASSWORD)
    body_line = private_pem.splitlines()[2].decode()
    with pytest.raises(KeyMaterialError) as info:
        load_signer_pem(private_pem, b"wrong")
    assert body_line not in str(info.value)


def test_public_pem_for_private_loader_is_rejected() -> None:
    _, public_pem = generate_key_pair(PASSWORD)
    with pytest.raises(KeyMaterialError, match="unsupported pem type"):
        load_signer_pem(public_pem, PASSWORD)

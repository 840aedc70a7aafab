"""Merkle inclusion proofs, signed checkpoints (Rekor v1 and C2SP), SETs, and entry binding."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sealgate.errors import MalformedData, TlogInvalid
from sealgate.formats.dsse import DsseSignature, Envelope
from sealgate.formats.rekor_body import parse_rekor_body
from sealgate.formats.tlog_entry import TlogEntry
from sealgate.sigstore_checks import (
    SignedContent,
    check_entry_binding,
    hash_leaf,
    verify_checkpoint,
    verify_inclusion,
    verify_set,
)
from sealgate.sigstore_checks.checkpoint import note_key_hash
from sealgate.sigstore_checks.merkle import hash_children
from sealgate.trust import LogKey, TimeRange
from tests.support.pki import T0


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two below n
    return hash_children(_root(leaves[:split]), _root(leaves[split:]))


def _path(leaves: list[bytes], index: int) -> list[bytes]:
    if len(leaves) == 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*_path(leaves[:split], index), _root(leaves[split:])]
    return [*_path(leaves[split:], index - split), _root(leaves[:split])]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17])
def test_every_inclusion_proof_of_small_trees(size: int) -> None:
    leaves = [hash_leaf(bytes([i])) for i in range(size)]
    root = _root(leaves)
    for index in range(size):
        verify_inclusion(index, size, leaves[index], _path(leaves, index), root)
        if size > 1:
            with pytest.raises(TlogInvalid):
                verify_inclusion(
                    (index + 1) % size, size, leaves[index], _path(leaves, index), root
                )


def test_malformed_proofs() -> None:
    leaves = [hash_leaf(bytes([i])) for i in range(5)]
    proof = _path(leaves, 2)
    for index, size, path in [
        (5, 5, proof),
        (-1, 5, proof),
        (2, 5, proof[:-1]),
        (2, 5, [b"x", *proof[1:]]),
    ]:
        with pytest.raises(TlogInvalid):
            verify_inclusion(index, size, leaves[2], path, _root(leaves))


ORIGIN = "log.example.dev"


def _ed_log() -> tuple[ed25519.Ed25519PrivateKey, LogKey]:
    private = ed25519.Ed25519PrivateKey.generate()
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return private, LogKey.from_der(der, base_url=f"https://{ORIGIN}")


def _note(text: str, *lines: tuple[str, bytes, bytes]) -> str:
    sigs = "".join(
        f"\u2014 {name} {base64.b64encode(hint + sig).decode()}\n" for name, hint, sig in lines
    )
    return text + "\n" + sigs


def test_c2sp_checkpoint_with_witnesses_and_origin() -> None:
    private, key = _ed_log()
    text = f"{ORIGIN}\n10\n{base64.b64encode(b'r' * 32).decode()}\n"
    hint = note_key_hash(ORIGIN, key)
    good = (ORIGIN, hint, private.sign(text.encode()))
    witness = ("witness.example", b"\x01\x02\x03\x04", b"w" * 72)
    checkpoint = verify_checkpoint(_note(text, witness, good), key)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == (ORIGIN, 10, b"r" * 32)
    with pytest.raises(TlogInvalid, match="no signature by the log"):
        verify_checkpoint(_note(text, witness), key)
    with pytest.raises(TlogInvalid, match="does not verify"):
        verify_checkpoint(_note(text, (ORIGIN, hint, b"x" * 64)), key)
    other = f"other.dev\n10\n{base64.b64encode(b'r' * 32).decode()}\n"
    with pytest.raises(TlogInvalid, match="origin"):
        verify_checkpoint(_note(other, (ORIGIN, hint, private.sign(other.encode()))), key)
    for broken in (
        "no blank line\n",
        text + "\n\u2014 bad\n",
        text + "\n" + "x\n",
        "\x01" + text + "\n",
    ):
        with pytest.raises(TlogInvalid):
            verify_checkpoint(broken, key)


def test_rekor_v1_checkpoint_key_hint_binds_the_log() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    key = LogKey.from_der(
        private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    text = f"rekor.example - 1234\n3\n{base64.b64encode(b'h' * 32).decode()}\nTimestamp: 1\n"
    sig = private.sign(text.encode(), ec.ECDSA(hashes.SHA256()))
    verify_checkpoint(_note(text, ("rekor.example", key.log_id[:4], sig)), key)
    with pytest.raises(TlogInvalid, match="key hint"):
        verify_checkpoint(_note(text, ("rekor.example", b"\0\0\0\0", sig)), key)


def _set_entry(private: ec.EllipticCurvePrivateKey, key: LogKey, time: int) -> TlogEntry:
    entry = TlogEntry(7, key.log_id, "hashedrekord", "0.0.1", b'{"body":1}', integrated_time=time)
    payload = json.dumps(
        {
            "body": base64.b64encode(entry.canonicalized_body).decode(),
            "integratedTime": time,
            "logID": key.log_id.hex(),
            "logIndex": 7,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    sig = private.sign(payload, ec.ECDSA(hashes.SHA256()))
    return TlogEntry(**{**entry.__dict__, "signed_entry_timestamp": sig})


def test_set_verifies_only_inside_the_key_window() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    start = int(T0.timestamp())
    key = LogKey.from_der(der, valid_for=TimeRange(T0, T0.replace(year=2026)))
    assert verify_set(_set_entry(private, key, start), key) == T0
    with pytest.raises(TlogInvalid, match="not valid at the integrated time"):
        verify_set(_set_entry(private, key, start - 1), key)
    tampered = _set_entry(private, key, start)
    with pytest.raises(TlogInvalid):
        verify_set(TlogEntry(**{**tampered.__dict__, "log_index": 8}), key)


def _pem(der: bytes, label: str) -> str:
    body = base64.b64encode(der).decode()
    return base64.b64encode(
        f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode()
    ).decode()


def test_binding_compares_der_not_pem_and_every_field() -> None:
    key_der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    digest = hashlib.sha256(b"artifact").digest()
    body = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
            "signature": {
                "content": base64.b64encode(b"sig").decode(),
                "publicKey": {"content": _pem(key_der, "PUBLIC KEY")},
            },
        },
    }
    entry = parse_rekor_body(json.dumps(body).encode())
    good = SignedContent(b"sig", key_der, False, digest=("sha256", digest))
    check_entry_binding(entry, good)
    for bad in (
        SignedContent(b"sig2", key_der, False, digest=("sha256", digest)),
        SignedContent(b"sig", key_der, False, digest=("sha256", b"\0" * 32)),
        SignedContent(b"sig", key_der, True, digest=("sha256", digest)),
        SignedContent(
            b"sig", key_der, False, envelope=Envelope("t", b"p", (DsseSignature(b"sig"),))
        ),
    ):
        with pytest.raises(TlogInvalid):
            check_entry_binding(entry, bad)


def test_dsse_binding_payload_hash_and_signatures() -> None:
    key_der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    envelope = Envelope("application/vnd.in-toto+json", b"{}", (DsseSignature(b"s1"),))
    body = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(b"{}").hexdigest()},
            "envelopeHash": {"algorithm": "sha256", "value": "00" * 32},
            "signatures": [
                {
                    "signature": base64.b64encode(b"s1").decode(),
                    "verifier": _pem(key_der, "PUBLIC KEY"),
                }
            ],
        },
    }
    entry = parse_rekor_body(json.dumps(body).encode())
    check_entry_binding(entry, SignedContent(b"s1", key_der, False, envelope=envelope))
    with pytest.raises(TlogInvalid, match="envelope hash"):  # only when the exact bytes are known
        check_entry_binding(
            entry, SignedContent(b"s1", key_der, False, envelope=envelope, envelope_bytes=b"{}")
        )
    other = Envelope(envelope.payload_type, b"{ }", envelope.signatures)
    with pytest.raises(TlogInvalid, match="payload hash"):
        check_entry_binding(entry, SignedContent(b"s1", key_der, False, envelope=other))
    resigned = Envelope(envelope.payload_type, b"{}", (DsseSignature(b"s2"),))
    with pytest.raises(TlogInvalid, match="signatures"):
        check_entry_binding(entry, SignedContent(b"s2", key_der, False, envelope=resigned))


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"kind": "alpine", "apiVersion": "0.0.1", "spec": {}}',
        b'{"kind": "rekord", "apiVersion": "0.0.1", "spec": {"signature": {"format": "pgp"}}}',
        b'{"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {"signature": {}}}',
        b'{"kind": "dsse", "apiVersion": "0.0.1", "spec": {"signatures": []}}',
    ],
)
def test_unsupported_or_malformed_bodies(body: bytes) -> None:
    with pytest.raises(MalformedData):
        parse_rekor_body(body)

"""Builders for key test inputs, independent of the code under test."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

import nacl.secret

from sealgate.keys.pem import encode_pem

PASSWORD = b"correct horse battery staple"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def craft_encrypted_pem(
    plaintext: bytes,
    password: bytes,
    *,
    params: tuple[int, int, int] = (32768, 8, 1),
    label: str = "ENCRYPTED SIGSTORE PRIVATE KEY",
    kdf_name: str = "scrypt",
    cipher_name: str = "nacl/secretbox",
    derive: bool = True,
) -> bytes:
    """Build an encrypted key independently of the code under test (any plaintext)."""
    salt, nonce = os.urandom(32), os.urandom(24)
    if derive:
        n, r, p = params
        key = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=2**28, dklen=32)
    else:  # parameters the KDF must never be asked to run
        key = bytes(32)
    sealed = nacl.secret.SecretBox(key).encrypt(plaintext, nonce).ciphertext
    doc: dict[str, Any] = {
        "kdf": {
            "name": kdf_name,
            "params": {"N": params[0], "r": params[1], "p": params[2]},
            "salt": b64(salt),
        },
        "cipher": {"name": cipher_name, "nonce": b64(nonce)},
        "ciphertext": b64(sealed),
    }
    return encode_pem(label, json.dumps(doc, separators=(",", ":")).encode())

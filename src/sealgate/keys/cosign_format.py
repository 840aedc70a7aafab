"""cosign's encrypted private-key container: scrypt + NaCl secretbox inside a PEM block.

Wire format (go-securesystemslib ``encrypted/encrypted.go``, pinned by cosign): the PEM
body is compact JSON in Go struct field order::

    {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64 32B>"},
     "cipher":{"name":"nacl/secretbox","nonce":"<b64 24B>"},"ciphertext":"<b64>"}

The key is ``scrypt(password, salt, N, r, p, 32)``; the ciphertext is
``secretbox.Seal(PKCS#8 DER)`` (16-byte Poly1305 tag, then XSalsa20 data).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any, Final

import nacl.exceptions
import nacl.secret

from sealgate.errors import KeyMaterialError
from sealgate.keys.pem import decode_pem, encode_pem, is_pkcs8

__all__ = [
    "COSIGN_PRIVATE_KEY_PEM_TYPE",
    "ENCRYPTED_PEM_TYPES",
    "SCRYPT_LEGACY",
    "SCRYPT_OWASP",
    "SCRYPT_STANDARD",
    "SIGSTORE_PRIVATE_KEY_PEM_TYPE",
    "decrypt_private_key",
    "decrypt_private_key_pem",
    "encrypt_private_key",
]

SIGSTORE_PRIVATE_KEY_PEM_TYPE: Final = "ENCRYPTED SIGSTORE PRIVATE KEY"
COSIGN_PRIVATE_KEY_PEM_TYPE: Final = "ENCRYPTED COSIGN PRIVATE KEY"  # legacy, still accepted
ENCRYPTED_PEM_TYPES: Final = frozenset({SIGSTORE_PRIVATE_KEY_PEM_TYPE, COSIGN_PRIVATE_KEY_PEM_TYPE})

# The only (N, r, p) sets go-securesystemslib accepts. Whitelisting them also bounds the
# work an attacker-supplied key file can make us do (no KDF denial of service).
SCRYPT_LEGACY: Final = (32768, 8, 1)
SCRYPT_STANDARD: Final = (65536, 8, 1)
SCRYPT_OWASP: Final = (131072, 8, 1)
_SCRYPT_ALLOWED: Final = frozenset({SCRYPT_LEGACY, SCRYPT_STANDARD, SCRYPT_OWASP})

_KEY_LEN: Final = 32
_SALT_LEN: Final = 32
# hashlib's default maxmem (32 MiB) is below what N=131072, r=8 needs (128 MiB).
_SCRYPT_MAXMEM: Final = 256 * 1024 * 1024


def _derive_key(password: bytes, salt: bytes, params: tuple[int, int, int]) -> bytes:
    n, r, p = params
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=_KEY_LEN)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encrypt_private_key(
    pkcs8_der: bytes,
    password: bytes,
    *,
    scrypt_params: tuple[int, int, int] = SCRYPT_STANDARD,
) -> bytes:
    """Wrap a PKCS#8 DER private key as cosign's ``ENCRYPTED SIGSTORE PRIVATE KEY`` PEM.

    Args:
        pkcs8_der: The private key, PKCS#8 ``PrivateKeyInfo`` DER.
        password: The password; empty is allowed (cosign still encrypts).
        scrypt_params: ``(N, r, p)``; one of the three sets cosign can decrypt.
            Current cosign writes :data:`SCRYPT_STANDARD`.

    Returns:
        The PEM text, wrapped and terminated as cosign writes it.

    Raises:
        KeyMaterialError: ``pkcs8_der`` is not PKCS#8 or the parameters are unsupported.
    """
    if not is_pkcs8(pkcs8_der):
        raise KeyMaterialError("private key to encrypt is not PKCS#8 DER")
    if tuple(scrypt_params) not in _SCRYPT_ALLOWED:
        raise KeyMaterialError("unsupported scrypt parameters")
    salt = os.urandom(_SALT_LEN)
    nonce = os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(_derive_key(password, salt, scrypt_params))
    sealed = box.encrypt(pkcs8_der, nonce).ciphertext
    n, r, p = scrypt_params
    # Insertion order reproduces Go's struct field order; separators give Go's compact form.
    document = {
        "kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": _b64(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": _b64(nonce)},
        "ciphertext": _b64(sealed),
    }
    body = json.dumps(document, separators=(",", ":")).encode("ascii")
    return encode_pem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, body)


def _field(obj: dict[str, Any], name: str) -> Any:
    """Look a JSON field up the way Go's ``json.Unmarshal`` does (exact, then any case)."""
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if key.lower() == lowered:
            return value
    return None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise KeyMaterialError(f"encrypted private key: {what} is not a JSON object")
    return value


def _bytes_field(obj: dict[str, Any], name: str, what: str) -> bytes:
    value = _field(obj, name)
    if value is None:
        return b""  # Go leaves a missing []byte nil; the length checks below catch it.
    if not isinstance(value, str):
        raise KeyMaterialError(f"encrypted private key: {what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"encrypted private key: {what} is not valid base64") from None


def _int_field(obj: dict[str, Any], name: str) -> int:
    value = _field(obj, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise KeyMaterialError("unsupported scrypt parameters")
    return value


def decrypt_private_key(body: bytes, password: bytes) -> bytes:
    """Decrypt the JSON body of an encrypted cosign key and return PKCS#8 DER.

    Args:
        body: The PEM body (the JSON document, already base64-decoded).
        password: The password to try.

    Returns:
        The PKCS#8 ``PrivateKeyInfo`` DER.

    Raises:
        KeyMaterialError: Malformed JSON, unknown KDF or cipher, parameters outside the
            whitelist, a wrong password (indistinguishable from corruption), or a
            plaintext that is not PKCS#8.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
        raise KeyMaterialError("encrypted private key: body is not valid JSON") from None
    document = _object(document, "document")
    kdf = _object(_field(document, "kdf"), "kdf")
    cipher = _object(_field(document, "cipher"), "cipher")
    if _field(kdf, "name") != "scrypt":
        raise KeyMaterialError("encrypted private key: unsupported KDF (only scrypt is known)")
    if _field(cipher, "name") != "nacl/secretbox":
        raise KeyMaterialError(
            "encrypted private key: unsupported cipher (only nacl/secretbox is known)"
        )
    params = _object(_field(kdf, "params"), "kdf params")
    scrypt_params = (_int_field(params, "N"), _int_field(params, "r"), _int_field(params, "p"))
    if scrypt_params not in _SCRYPT_ALLOWED:
        raise KeyMaterialError("unsupported scrypt parameters")
    salt = _bytes_field(kdf, "salt", "salt")
    nonce = _bytes_field(cipher, "nonce", "nonce")
    sealed = _bytes_field(document, "ciphertext", "ciphertext")
    if len(nonce) != nacl.secret.SecretBox.NONCE_SIZE:
        raise KeyMaterialError("encrypted private key: nonce must be 24 bytes")
    if len(sealed) < nacl.secret.SecretBox.MACBYTES:
        raise KeyMaterialError("encrypted private key: ciphertext is too short")
    box = nacl.secret.SecretBox(_derive_key(password, salt, scrypt_params))
    try:
        plaintext: bytes = box.decrypt(sealed, nonce)
    except nacl.exceptions.CryptoError:
        # Poly1305 cannot tell a wrong password from a damaged file; say both.
        raise KeyMaterialError(
            "cannot decrypt private key: wrong password or corrupted key"
        ) from None
    if not is_pkcs8(plaintext):
        raise KeyMaterialError(
            "decrypted private key is not PKCS#8 (cosign rejects SEC1/PKCS#1 plaintext)"
        )
    return plaintext


def decrypt_private_key_pem(pem: bytes, password: bytes) -> bytes:
    """Decrypt a cosign ``ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY`` PEM to PKCS#8 DER.

    Args:
        pem: The key file contents.
        password: The password to try.

    Returns:
        The PKCS#8 ``PrivateKeyInfo`` DER.

    Raises:
        KeyMaterialError: Not such a PEM block, or :func:`decrypt_private_key` fails.
    """
    block = decode_pem(pem)
    if block.label not in ENCRYPTED_PEM_TYPES:
        raise KeyMaterialError(f"unsupported pem type {block.label!r} for an encrypted key")
    return decrypt_private_key(block.body, password)

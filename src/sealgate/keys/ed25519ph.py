"""Ed25519ph (RFC 8032 section 5.1: SHA-512 prehash, empty context) through libsodium.

``cryptography`` implements pure Ed25519 only; libsodium, through PyNaCl (already a
dependency for cosign's encrypted keys), implements Ed25519ph as
``crypto_sign_ed25519ph_*``. cosign signs Ed25519ph for ``sign``/``attest --key`` since
v2.6 (``pkg/cosign/keys.go`` ``GetDefaultLoadOptions``), so verifying it is required;
signing it is offered for callers that must produce what cosign produces.

The secret key never leaves :class:`Ed25519phSigningKey`; it is not in its ``repr`` and no
message here quotes key material.
"""

from __future__ import annotations

from typing import Final

from nacl import bindings
from nacl.exceptions import BadSignatureError, CryptoError

__all__ = ["Ed25519phSigningKey", "verify_ed25519ph"]

_PUBLIC_KEY_BYTES: Final = bindings.crypto_sign_PUBLICKEYBYTES
_SIGNATURE_BYTES: Final = bindings.crypto_sign_BYTES
_SEED_BYTES: Final = bindings.crypto_sign_SEEDBYTES


def _prehash_state(message: bytes) -> bindings.crypto_sign_ed25519ph_state:
    state = bindings.crypto_sign_ed25519ph_state()
    bindings.crypto_sign_ed25519ph_update(state, message)
    return state


def verify_ed25519ph(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Check an Ed25519ph signature (empty context) over ``message``.

    Args:
        public_key: The 32-byte encoded public key.
        signature: The 64-byte signature.
        message: The message; libsodium prehashes it with SHA-512, as Ed25519ph specifies.

    Returns:
        True if and only if the signature is valid.
    """
    if len(public_key) != _PUBLIC_KEY_BYTES or len(signature) != _SIGNATURE_BYTES:
        return False
    try:
        return bool(
            bindings.crypto_sign_ed25519ph_final_verify(
                _prehash_state(message), signature, public_key
            )
        )
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False


class Ed25519phSigningKey:
    """An Ed25519 private key that signs Ed25519ph (empty context) with libsodium."""

    __slots__ = ("_public_key", "_secret_key")

    def __init__(self, seed: bytes) -> None:
        """Derive the key pair from the 32-byte RFC 8032 private key (the seed).

        Args:
            seed: The raw private key, as ``cryptography``'s ``Raw`` private format gives it.

        Raises:
            ValueError: ``seed`` is not 32 bytes.
        """
        if len(seed) != _SEED_BYTES:
            raise ValueError(f"an Ed25519 private key is {_SEED_BYTES} bytes")
        self._public_key, self._secret_key = bindings.crypto_sign_seed_keypair(seed)

    def __repr__(self) -> str:
        return f"Ed25519phSigningKey(public_key={self._public_key.hex()})"

    @property
    def public_key(self) -> bytes:
        """The 32-byte encoded public key."""
        return bytes(self._public_key)

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` with Ed25519ph; deterministic, as RFC 8032 specifies.

        Args:
            message: The message; prehashed with SHA-512 by libsodium.

        Returns:
            The 64-byte signature.
        """
        signature: bytes = bindings.crypto_sign_ed25519ph_final_create(
            _prehash_state(message), self._secret_key
        )
        return signature

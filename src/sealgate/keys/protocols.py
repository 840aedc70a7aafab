"""What the rest of sealgate needs from a key: sign bytes, verify bytes, show the public PEM."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Signer", "Verifier"]


@runtime_checkable
class Verifier(Protocol):
    """A public key that checks signatures over raw bytes."""

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise :class:`sealgate.errors.SignatureInvalid` unless ``signature`` is valid."""

    def public_pem(self) -> bytes:
        """The PKIX ``PUBLIC KEY`` PEM, byte-identical to what cosign writes."""


@runtime_checkable
class Signer(Protocol):
    """A private key that signs raw bytes (ECDSA: ASN.1 DER over SHA-256 for P-256)."""

    def sign(self, data: bytes) -> bytes:
        """Return the raw signature bytes."""

    def verifier(self) -> Verifier:
        """The matching public key."""

"""Keys in cosign's format: load, generate, sign, verify."""

from sealgate.keys.protocols import Signer, Verifier

__all__ = ["Signer", "Verifier"]

"""``import-key-pair``: a plain PEM private key re-wrapped in cosign's encrypted format.

cosign (``pkg/cosign/keys.go`` ``ImportKeyPair``) reads an unencrypted ``EC PRIVATE KEY``,
``RSA PRIVATE KEY`` or PKCS#8 ``PRIVATE KEY`` PEM and writes it as an ``ENCRYPTED SIGSTORE
PRIVATE KEY`` with the public key beside it.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from sealgate.errors import KeyMaterialError
from sealgate.keys.cosign_format import encrypt_private_key
from sealgate.keys.crypto import signer_from_private_key

__all__ = ["import_key_pair"]

_LABELS = (b"EC PRIVATE KEY", b"RSA PRIVATE KEY", b"PRIVATE KEY")


def import_key_pair(pem: bytes, password: bytes) -> tuple[bytes, bytes]:
    """Re-wrap a plain PEM private key as cosign's encrypted key file.

    Args:
        pem: The PEM text of an unencrypted EC (P-256/384/521), RSA or Ed25519 private key.
        password: Encrypts the new key file (may be empty, as in cosign).

    Returns:
        ``(ENCRYPTED SIGSTORE PRIVATE KEY PEM, PUBLIC KEY PEM)``.

    Raises:
        KeyMaterialError: not a PEM private key of a supported kind, or encrypted.
    """
    if not any(b"-----BEGIN " + label + b"-----" in pem for label in _LABELS):
        raise KeyMaterialError(
            "not an unencrypted PEM private key (EC PRIVATE KEY, RSA PRIVATE KEY or PRIVATE KEY)"
        )
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise KeyMaterialError("the PEM private key is encrypted; decrypt it first") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyMaterialError("cannot parse the PEM private key") from None
    signer = signer_from_private_key(key)  # refuses unsupported kinds
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return encrypt_private_key(der, password), signer.verifier().public_pem()

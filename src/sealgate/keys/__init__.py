"""Keys in cosign's format: load, generate, sign, verify."""

from sealgate.keys.cosign_format import (
    SCRYPT_LEGACY,
    SCRYPT_OWASP,
    SCRYPT_STANDARD,
    decrypt_private_key_pem,
    encrypt_private_key,
)
from sealgate.keys.crypto import (
    fingerprint,
    generate_key_pair,
    load_signer_pem,
    load_verifier_pem,
)
from sealgate.keys.importing import import_key_pair
from sealgate.keys.password import password_from_env_or_prompt
from sealgate.keys.protocols import Signer, Verifier
from sealgate.keys.refs import MAX_KEY_BYTES, load_signer, load_verifier, read_key_ref

__all__ = [
    "MAX_KEY_BYTES",
    "SCRYPT_LEGACY",
    "SCRYPT_OWASP",
    "SCRYPT_STANDARD",
    "Signer",
    "Verifier",
    "decrypt_private_key_pem",
    "encrypt_private_key",
    "fingerprint",
    "generate_key_pair",
    "import_key_pair",
    "load_signer",
    "load_signer_pem",
    "load_verifier",
    "load_verifier_pem",
    "password_from_env_or_prompt",
    "read_key_ref",
]

"""Key references as ``--key`` takes them: a file path, ``env://VAR``, or a PKCS#11 URI.

``pkcs11:token=...;object=...`` (RFC 7512, cosign's form) names a key pair in a token:
:func:`load_signer` logs in and signs there (:mod:`sealgate.keys.pkcs11`), :func:`load_verifier`
reads its public key. cosign also resolves ``k8s://``, ``gitlab://``, ``http(s)://`` and KMS
URIs; sealgate does not (the keys layer must not talk to the network), and says so instead
of misreading such a reference as a file name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from sealgate.errors import KeyMaterialError, UsageError
from sealgate.files import read_capped
from sealgate.keys.crypto import load_signer_pem, load_verifier_pem
from sealgate.keys.pkcs11_uri import is_pkcs11_uri, parse_pkcs11_uri
from sealgate.keys.protocols import Signer, Verifier

__all__ = ["MAX_KEY_BYTES", "load_signer", "load_verifier", "read_key_ref"]

#: No key, certificate or certificate chain we accept comes close; a bigger file is
#: a mistake (or an attack) and must not be read into memory whole.
MAX_KEY_BYTES: Final = 1024 * 1024

_ENV_PREFIX: Final = "env://"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _read_env(name: str) -> bytes:
    if not _ENV_NAME.match(name):
        raise UsageError(f"invalid environment variable name in key reference env://{name[:64]}")
    value = os.environ.get(name)
    if value is None:
        raise KeyMaterialError(f"env var ${name} not found")
    data = os.fsencode(value)
    if len(data) > MAX_KEY_BYTES:
        raise KeyMaterialError(f"env var ${name} is larger than {MAX_KEY_BYTES} bytes")
    return data


def _read_file(path: str) -> bytes:
    # Links are followed: Kubernetes mounts secrets as symbolic links into ``..data/``.
    return read_capped(Path(path), MAX_KEY_BYTES, error=KeyMaterialError, name=f"key file {path}")


def read_key_ref(ref: str) -> bytes:
    """Return the bytes a key reference points at.

    Args:
        ref: A file path, or ``env://VAR`` to take the key text from variable ``VAR``.

    Returns:
        The raw contents (at most :data:`MAX_KEY_BYTES`).

    Raises:
        KeyMaterialError: The file is missing, unreadable or too large, or the variable
            is unset.
        UsageError: Empty reference, or a scheme sealgate does not resolve (KMS,
            ``k8s://``, ``http(s)://``, ``pkcs11:``...).
    """
    if not ref:
        raise UsageError("empty key reference")
    if ref.startswith(_ENV_PREFIX):
        return _read_env(ref[len(_ENV_PREFIX) :])
    if is_pkcs11_uri(ref):
        raise UsageError("a pkcs11: reference names a key in a token, not a key file to read")
    scheme = _SCHEME.match(ref)
    if scheme is not None:
        name = scheme.group(1)
        raise UsageError(
            f"key reference scheme {name!r} is not supported (use a file path or env://VAR)"
        )
    return _read_file(ref)


def load_signer(
    ref: str, password: Callable[[], bytes], *, env: Mapping[str, str] | None = None
) -> Signer:
    """Load a private key from a reference.

    Args:
        ref: See :func:`read_key_ref`, or a ``pkcs11:`` URI.
        password: Called only if the key is encrypted (never for a token key).
        env: Environment for ``COSIGN_PKCS11_*`` (default: the process environment).

    Returns:
        The signer. A token key's signer holds a session: call its ``close()`` when done
        (it also closes when the process ends).

    Raises:
        KeyMaterialError: Unreadable reference, unsupported key, or wrong password or PIN;
            no such token or key.
        UsageError: Unsupported reference scheme, or a malformed PKCS#11 URI.
    """
    if is_pkcs11_uri(ref):
        from sealgate.keys.pkcs11 import open_token_signer

        return open_token_signer(parse_pkcs11_uri(ref, os.environ if env is None else env))
    return load_signer_pem(read_key_ref(ref), password)


def load_verifier(ref: str, *, env: Mapping[str, str] | None = None) -> Verifier:
    """Load a public key (or a certificate's key) from a reference.

    Args:
        ref: See :func:`read_key_ref`, or a ``pkcs11:`` URI (its public key object).
        env: Environment for ``COSIGN_PKCS11_*`` (default: the process environment).

    Returns:
        The verifier.

    Raises:
        KeyMaterialError: Unreadable reference or unsupported key.
        UsageError: Unsupported reference scheme.
    """
    if is_pkcs11_uri(ref):
        from sealgate.keys.pkcs11 import token_verifier

        return token_verifier(parse_pkcs11_uri(ref, os.environ if env is None else env))
    return load_verifier_pem(read_key_ref(ref))

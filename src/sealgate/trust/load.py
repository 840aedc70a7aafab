"""Where trust material comes from: a file, the copy shipped with sigstore-python, PEM files.

* ``--trusted-root FILE``: :func:`load_trusted_root`.
* The Sigstore public-good (or staging) root that sigstore-python ships as package data:
  :func:`bundled_trusted_root`. Read offline from the installed distribution's files, without
  importing ``sigstore`` (which would pull its HTTP and OIDC machinery into every start-up).
* A legacy Rekor or CT log public key PEM (cosign's ``SIGSTORE_REKOR_PUBLIC_KEY``,
  ``SIGSTORE_CT_LOG_PUBLIC_KEY_FILE``): :func:`load_log_key`.
* Bring-your-own PKI (cosign ``--ca-roots`` / ``--ca-intermediates``): :func:`load_ca_set`, a
  root with CAs only: no Fulcio, CT log or Rekor.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Literal

from cryptography import x509

from sealgate.errors import ConfigError
from sealgate.files import read_capped
from sealgate.trust.logkeys import LogKey
from sealgate.trust.model import CertificateAuthority, TrustedRoot
from sealgate.trust.trusted_root import parse_trusted_root

__all__ = [
    "MAX_TRUST_FILE_BYTES",
    "bundled_trusted_root",
    "load_ca_set",
    "load_log_key",
    "load_trusted_root",
    "parse_ca_set",
]

MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024
_MAX_CERTS = 100
_BUNDLED = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}


def load_trusted_root(path: Path) -> TrustedRoot:
    """Read and parse a ``TrustedRoot`` JSON file.

    Args:
        path: The file (``--trusted-root``).

    Returns:
        The trust material.

    Raises:
        ConfigError: If the file is unreadable, too large or malformed.
    """
    raw = read_capped(path, MAX_TRUST_FILE_BYTES, error=ConfigError, name=f"trusted root {path}")
    return parse_trusted_root(raw, source=str(path))


def bundled_trusted_root(
    instance: Literal["production", "staging"] = "production",
) -> TrustedRoot:
    """The trusted root sigstore-python ships for the public-good (or staging) instance.

    This is an offline snapshot (refresh it with :func:`sealgate.trust.tuf.initialize`).

    Args:
        instance: ``production`` (public good) or ``staging``.

    Returns:
        The trust material.

    Raises:
        ConfigError: If sigstore-python is not installed or its data file is missing.
    """
    relative = f"sigstore/_store/{_BUNDLED[instance]}/trusted_root.json"
    try:
        located = metadata.distribution("sigstore").locate_file(relative)
    except metadata.PackageNotFoundError as exc:
        raise ConfigError("sigstore-python is not installed: no bundled trusted root") from exc
    path = Path(str(located))
    if not path.is_file():
        raise ConfigError(f"the installed sigstore-python has no {instance} trusted root")
    raw = read_capped(path, MAX_TRUST_FILE_BYTES, error=ConfigError, name="bundled trusted root")
    return parse_trusted_root(raw, source=f"sigstore-python {instance} trusted root")


def load_log_key(path: Path, *, base_url: str = "") -> LogKey:
    """Read a Rekor or CT log ``PUBLIC KEY`` PEM (ECDSA, Ed25519 or RSA).

    Args:
        path: The PEM file.
        base_url: The log's URL, if known (needed for Rekor v2 checkpoints).

    Returns:
        The key, valid at all times, with the RFC 6962 log ID (SHA-256 of its SPKI).

    Raises:
        ConfigError: If the file is unreadable or too large.
        KeyMaterialError: If it is not a supported public key.
    """
    pem = read_capped(path, 1024 * 1024, error=ConfigError, name=f"log key {path}")
    return LogKey.from_pem(pem, base_url=base_url)


def _pem_certificates(pem: bytes, what: str) -> list[x509.Certificate]:
    if not pem.strip():
        return []  # cryptography refuses an empty list; no intermediates is a valid answer
    if pem.count(b"-----BEGIN") > _MAX_CERTS:
        raise ConfigError(f"{what}: more than {_MAX_CERTS} certificates")
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise ConfigError(f"{what}: not a PEM certificate list") from exc
    return certs


def parse_ca_set(roots_pem: bytes, intermediates_pem: bytes = b"") -> TrustedRoot:
    """A bring-your-own PKI: each root is a trust anchor, the intermediates serve every root.

    Args:
        roots_pem: PEM certificates (``--ca-roots``).
        intermediates_pem: PEM certificates (``--ca-intermediates``), possibly empty.

    Returns:
        A trusted root with certificate authorities only (no CT log, no Rekor, no TSA).

    Raises:
        ConfigError: If a PEM list is malformed or there is no root.
    """
    roots = _pem_certificates(roots_pem, "CA roots")
    intermediates = tuple(_pem_certificates(intermediates_pem, "CA intermediates"))
    if not roots:
        raise ConfigError("CA roots: no certificate found")
    return TrustedRoot(
        certificate_authorities=tuple(
            CertificateAuthority(root=root, intermediates=intermediates, uri="") for root in roots
        ),
        source="CA roots",
    )


def load_ca_set(roots: Path, intermediates: Path | None = None) -> TrustedRoot:
    """Read ``--ca-roots`` and ``--ca-intermediates`` PEM files.

    Args:
        roots: The roots PEM file.
        intermediates: The intermediates PEM file, if any.

    Returns:
        See :func:`parse_ca_set`.

    Raises:
        ConfigError: If a file is unreadable, too large or malformed.
    """
    roots_pem = read_capped(roots, MAX_TRUST_FILE_BYTES, error=ConfigError, name=str(roots))
    inter_pem = (
        b""
        if intermediates is None
        else read_capped(intermediates, MAX_TRUST_FILE_BYTES, error=ConfigError)
    )
    return parse_ca_set(roots_pem, inter_pem)

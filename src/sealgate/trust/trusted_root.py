"""Parse a Sigstore ``TrustedRoot`` JSON document (protobuf-specs ``trustroot/v1``).

Semantics follow sigstore-go ``root.NewTrustedRootFromProtobuf``: one media type; tlogs must use
SHA2_256 Merkle hashing and carry a log ID, a key and a ``validFor`` with a start; a CA chain is
``[intermediates..., root]``; a TSA chain is ``[leaf?, intermediates..., root]``. Stricter than
sigstore-go on one point the conformance suite pins: every ``validFor`` must have a start (a
missing start is a malformed root, never "valid since the beginning of time"). A log key whose
type we cannot use is skipped, as sigstore-go and sigstore-python do: it can verify nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography import x509

from sealgate.errors import ConfigError, KeyMaterialError
from sealgate.trust.logkeys import LogKey
from sealgate.trust.model import CertificateAuthority, TimestampAuthority, TrustedRoot
from sealgate.trust.timerange import TimeRange

__all__ = ["CLIENT_TRUST_CONFIG_MEDIA_TYPE", "TRUSTED_ROOT_MEDIA_TYPE", "parse_trusted_root"]

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
# A ClientTrustConfig wraps a trusted root and a signing config; only the root matters here.
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
_MAX_ENTRIES = 64  # per list; public-good roots have a handful


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{what} is not a JSON object")
    return value


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{what} is not a JSON list")
    if len(value) > _MAX_ENTRIES:
        raise ConfigError(f"{what} has more than {_MAX_ENTRIES} entries")
    return value


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} is missing")
    try:
        # protobuf JSON accepts both alphabets and missing padding.
        text = value.replace("-", "+").replace("_", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{what} is not valid base64") from exc


def _certificates(value: object, what: str) -> list[x509.Certificate]:
    chain = _obj(value, f"{what}.certChain")
    raw = _list(chain.get("certificates"), f"{what}.certChain.certificates")
    if not raw:
        raise ConfigError(f"{what}: certificate chain is empty")
    certs = []
    for index, item in enumerate(raw):
        der = _b64(_obj(item, f"{what} certificate {index}").get("rawBytes"), f"{what} cert")
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise ConfigError(f"{what}: certificate {index} cannot be parsed") from exc
    return certs


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def _uri(doc: dict[str, Any]) -> str:
    uri = doc.get("uri", "")
    return uri if isinstance(uri, str) else ""


def _authority(value: object, what: str) -> CertificateAuthority:
    doc = _obj(value, what)
    certs = _certificates(doc.get("certChain"), what)
    return CertificateAuthority(
        root=certs[-1],
        intermediates=tuple(certs[:-1]),
        valid_for=TimeRange.parse(doc.get("validFor"), what),
        uri=_uri(doc),
    )


def _timestamp_authority(value: object, what: str) -> TimestampAuthority:
    doc = _obj(value, what)
    certs = _certificates(doc.get("certChain"), what)
    leaf = certs[0] if len(certs) > 1 and not _is_ca(certs[0]) else None
    middle = certs[1:-1] if leaf is not None else certs[:-1]
    return TimestampAuthority(
        root=certs[-1],
        intermediates=tuple(middle),
        leaf=leaf,
        valid_for=TimeRange.parse(doc.get("validFor"), what),
        uri=_uri(doc),
    )


def _log(value: object, what: str) -> LogKey | None:
    doc = _obj(value, what)
    if doc.get("hashAlgorithm", "SHA2_256") != "SHA2_256":
        raise ConfigError(f"{what}: Merkle hash algorithm {doc.get('hashAlgorithm')} unsupported")
    log_id = _b64(_obj(doc.get("logId"), f"{what}.logId").get("keyId"), f"{what}.logId.keyId")
    key = _obj(doc.get("publicKey"), f"{what}.publicKey")
    valid_for = TimeRange.parse(key.get("validFor"), f"{what}.publicKey")
    raw = _b64(key.get("rawBytes"), f"{what}.publicKey.rawBytes")
    details = key.get("keyDetails")
    if details is not None and not isinstance(details, str):
        raise ConfigError(f"{what}.publicKey.keyDetails is not a string")
    base_url = doc.get("baseUrl", "")
    try:
        return LogKey.from_der(
            raw,
            key_details=details,
            log_id=log_id,
            valid_for=valid_for,
            base_url=base_url if isinstance(base_url, str) else "",
        )
    except KeyMaterialError:
        return None  # an unusable key type verifies nothing; the rest of the root still counts


def parse_trusted_root(raw: bytes, *, source: str = "trusted root") -> TrustedRoot:
    """Parse a ``TrustedRoot`` JSON document (or the trusted root of a ``ClientTrustConfig``).

    Args:
        raw: The JSON bytes.
        source: Where it came from, for messages.

    Returns:
        The trust material.

    Raises:
        ConfigError: If the JSON, the media type, a certificate, a log entry or a validity
            window is malformed.
    """
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{source}: not valid JSON") from exc
    doc = _obj(doc, source)
    if doc.get("mediaType") == CLIENT_TRUST_CONFIG_MEDIA_TYPE:
        doc = _obj(doc.get("trustedRoot"), f"{source}: trustedRoot")
    if doc.get("mediaType") != TRUSTED_ROOT_MEDIA_TYPE:
        raise ConfigError(f"{source}: unsupported media type {str(doc.get('mediaType'))[:80]}")
    tlogs = [
        _log(v, f"{source}: tlogs[{i}]") for i, v in enumerate(_list(doc.get("tlogs"), "tlogs"))
    ]
    ctlogs = [
        _log(v, f"{source}: ctlogs[{i}]") for i, v in enumerate(_list(doc.get("ctlogs"), "ctlogs"))
    ]
    cas = _list(doc.get("certificateAuthorities"), "certificateAuthorities")
    tsas = _list(doc.get("timestampAuthorities"), "timestampAuthorities")
    return TrustedRoot(
        certificate_authorities=tuple(
            _authority(v, f"{source}: certificateAuthorities[{i}]") for i, v in enumerate(cas)
        ),
        tlogs=tuple(key for key in tlogs if key is not None),
        ctlogs=tuple(key for key in ctlogs if key is not None),
        timestamp_authorities=tuple(
            _timestamp_authority(v, f"{source}: timestampAuthorities[{i}]")
            for i, v in enumerate(tsas)
        ),
        source=source,
    )

"""PEM framing the way Go's ``encoding/pem`` does it, plus a PKCS#8 shape check.

cosign writes keys with Go's ``pem.Encode`` (64-character base64 lines, a trailing
newline) and reads them with ``pem.Decode`` (first block wins, text before it is
ignored, headers are skipped). The private-key labels cosign uses are not ones the
``cryptography`` PEM loaders know, so we frame PEM ourselves and hand DER onwards.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from sealgate.errors import KeyMaterialError

__all__ = ["PemBlock", "decode_pem", "encode_pem", "is_pkcs8"]

# Go's pem.Encode line length; cosign.pub / cosign.key files use it byte for byte.
_LINE = 64

# Labels are bounded so an error message quoting one stays short.
_BEGIN = re.compile(rb"-----BEGIN ([\x20-\x7e]{1,100}?)-----[ \t]*\r?\n")


@dataclass(frozen=True)
class PemBlock:
    """One decoded PEM block: its label and its DER (or other binary) body."""

    label: str
    body: bytes


def encode_pem(label: str, body: bytes) -> bytes:
    """Encode ``body`` as a PEM block byte-identical to Go's ``pem.EncodeToMemory``.

    Args:
        label: The PEM type, e.g. ``PUBLIC KEY``.
        body: The binary content.

    Returns:
        The PEM text, ending with a newline.
    """
    b64 = base64.b64encode(body)
    lines = [b64[i : i + _LINE] for i in range(0, len(b64), _LINE)]
    head = f"-----BEGIN {label}-----\n".encode("ascii")
    tail = f"-----END {label}-----\n".encode("ascii")
    return head + b"".join(line + b"\n" for line in lines) + tail


def decode_pem(data: bytes) -> PemBlock:
    """Return the first PEM block in ``data``, as Go's ``pem.Decode`` would.

    Args:
        data: Text that contains a PEM block, possibly after other text.

    Returns:
        The label and decoded body of the first well-formed block.

    Raises:
        KeyMaterialError: No complete PEM block, or its body is not valid base64.
    """
    match = _BEGIN.search(data)
    if match is None:
        raise KeyMaterialError("invalid PEM block: no '-----BEGIN ...-----' line found")
    label_bytes = match.group(1)
    end_marker = b"-----END " + label_bytes + b"-----"
    end = data.find(end_marker, match.end())
    if end < 0:
        raise KeyMaterialError("invalid PEM block: missing END line (truncated file?)")
    label = label_bytes.decode("ascii")
    lines = data[match.end() : end].splitlines()
    # Go skips RFC 1421 headers ("Key: value" lines up to a blank line); base64 has no ':'.
    if lines and b":" in lines[0]:
        while lines and lines[0].strip():
            lines.pop(0)
    body_b64 = b"".join(b"".join(line.split()) for line in lines)
    try:
        body = base64.b64decode(body_b64, validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"invalid PEM block {label!r}: body is not valid base64") from None
    if not body:
        raise KeyMaterialError(f"invalid PEM block {label!r}: empty body")
    return PemBlock(label=label, body=body)


def _read_tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """Read one DER tag-length header at ``pos``.

    Returns:
        ``(tag, content_start, content_end)``.

    Raises:
        ValueError: The header is malformed or runs past the buffer.
    """
    if pos + 2 > len(der):
        raise ValueError("short")
    tag = der[pos]
    first = der[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(der):
            raise ValueError("bad length")
        length = int.from_bytes(der[pos : pos + count], "big")
        pos += count
    if pos + length > len(der):
        raise ValueError("overrun")
    return tag, pos, pos + length


def is_pkcs8(der: bytes) -> bool:
    """Tell PKCS#8 ``PrivateKeyInfo`` apart from SEC1 ``ECPrivateKey`` and PKCS#1 keys.

    All three start ``SEQUENCE { INTEGER ...``; only PKCS#8 follows the version with
    an ``AlgorithmIdentifier`` SEQUENCE. cosign parses the decrypted plaintext with Go's
    ``x509.ParsePKCS8PrivateKey`` and so rejects the other two; we must as well.

    Args:
        der: Candidate DER bytes.

    Returns:
        True when the structure has the PKCS#8 shape.
    """
    try:
        tag, start, end = _read_tlv(der, 0)
        if tag != 0x30 or end != len(der):
            return False
        tag, _, version_end = _read_tlv(der, start)
        if tag != 0x02:
            return False
        tag, _, _ = _read_tlv(der, version_end)
    except ValueError:
        return False
    return tag == 0x30

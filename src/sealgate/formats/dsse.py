"""DSSE envelopes (secure-systems-lab/dsse v1.0.2; docs/formats.md §2.2).

Signatures cover ``PAE(payloadType, payload)``. Envelopes are parsed from the exact stored
bytes (standard or URL-safe base64, ``keyid`` optional) and built in cosign v2's byte layout
(go-securesystemslib ``dsse.Envelope``), which is also what Rekor's ``envelopeHash`` covers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sealgate.errors import MalformedData
from sealgate.formats import _gojson

__all__ = ["DsseSignature", "Envelope", "build_envelope", "pae", "parse_envelope"]


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding.

    Args:
        payload_type: The envelope's ``payloadType``.
        payload: The decoded payload bytes.

    Returns:
        ``b"DSSEv1 <len(type)> <type> <len(payload)> <payload>"`` (lengths in bytes, decimal).
    """
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


@dataclass(frozen=True)
class DsseSignature:
    """One envelope signature.

    Attributes:
        sig: Raw signature bytes.
        keyid: Optional key hint; unset is ``""``.
    """

    sig: bytes
    keyid: str = ""


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope.

    Attributes:
        payload_type: ``payloadType``.
        payload: Decoded payload bytes.
        signatures: At least one signature.
    """

    payload_type: str
    payload: bytes
    signatures: tuple[DsseSignature, ...]

    def pae(self) -> bytes:
        """The bytes every signature of this envelope must cover."""
        return pae(self.payload_type, self.payload)

    @classmethod
    def parse(cls, raw: bytes) -> Envelope:
        """Parse an envelope. Same as :func:`parse_envelope`.

        Args:
            raw: The envelope JSON bytes.

        Returns:
            The envelope.

        Raises:
            MalformedData: See :func:`parse_envelope`.
        """
        return parse_envelope(raw)


def _parse_signature(index: int, raw: object) -> DsseSignature:
    if not isinstance(raw, dict):
        raise MalformedData(f"DSSE signature {index} is not a JSON object")
    keyid = raw.get("keyid", "")
    if keyid is None:
        keyid = ""
    if not isinstance(keyid, str):
        raise MalformedData(f"DSSE signature {index} keyid is not a string")
    sig = _gojson.b64decode(raw.get("sig"), f"DSSE signature {index}", url_safe=True)
    if not sig:
        raise MalformedData(f"DSSE signature {index} is empty")
    return DsseSignature(sig=sig, keyid=keyid)


def parse_envelope(raw: bytes) -> Envelope:
    """Parse a DSSE envelope JSON document.

    Args:
        raw: The exact envelope bytes (e.g. a ``.att`` layer blob).

    Returns:
        The envelope.

    Raises:
        MalformedData: If it is not JSON, ``payloadType`` is not a string, ``payload`` or a
            ``sig`` is not base64, or there are no signatures.
    """
    doc = _gojson.loads(raw, "DSSE envelope")
    if not isinstance(doc, dict):
        raise MalformedData("DSSE envelope is not a JSON object")
    payload_type = doc.get("payloadType")
    if not isinstance(payload_type, str):
        raise MalformedData("DSSE envelope payloadType is not a string")
    payload = _gojson.b64decode(doc.get("payload"), "DSSE payload", url_safe=True)
    signatures = doc.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise MalformedData("DSSE envelope has no signatures")
    return Envelope(
        payload_type=payload_type,
        payload=payload,
        signatures=tuple(_parse_signature(i, s) for i, s in enumerate(signatures)),
    )


def build_envelope(payload_type: str, payload: bytes, sig: bytes, *, keyid: str = "") -> bytes:
    """Serialize a one-signature envelope in cosign v2's byte layout.

    Args:
        payload_type: ``payloadType`` (cosign: ``application/vnd.in-toto+json``).
        payload: The payload bytes (signed via :func:`pae`).
        sig: Raw signature bytes over ``pae(payload_type, payload)``.
        keyid: Key hint; cosign writes ``""``.

    Returns:
        ``{"payloadType":…,"payload":…,"signatures":[{"keyid":"","sig":…}]}`` (standard base64).
    """
    return _gojson.dumps(
        {
            "payloadType": payload_type,
            "payload": base64.b64encode(payload).decode("ascii"),
            "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode("ascii")}],
        }
    )

"""RFC 3161 timestamp requests a signer sends, and the first checks of what comes back.

The request (rfc3161-client's builder) asks for a SHA-256 imprint of the signature bytes, a
random nonce and the TSA certificate (``certReq``), as sigstore-go's timestamping does. The
answer must grant the request (status ``granted`` or ``grantedWithMods``, RFC 3161 §2.4.2),
carry our nonce and imprint: a TSA that answers for something else is not trusted to have
timestamped our signature. Whether the TSA itself is trusted is
:func:`sealgate.sigstore_checks.verify_rfc3161_timestamp`'s.
"""

from __future__ import annotations

import hashlib

from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, decode_timestamp_response

from sealgate.errors import MalformedData, ServiceRefused

__all__ = ["TimestampRequest", "build_timestamp_request", "check_timestamp_response"]

_GRANTED = (0, 1)  # granted, grantedWithMods


class TimestampRequest:
    """A DER ``TimeStampReq`` and what its answer must echo."""

    def __init__(self, data: bytes) -> None:
        request = (
            TimestampRequestBuilder()
            .data(data)
            .hash_algorithm(HashAlgorithm.SHA256)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
        self.der: bytes = request.as_bytes()
        self.nonce: int = int(request.nonce) if request.nonce is not None else 0
        self.imprint = hashlib.sha256(data).digest()


def build_timestamp_request(data: bytes) -> TimestampRequest:
    """A request to timestamp ``data`` (a signature's bytes)."""
    return TimestampRequest(data)


def check_timestamp_response(der: bytes, request: TimestampRequest) -> bytes:
    """Check that a ``TimeStampResp`` grants ``request``; return it unchanged.

    Raises:
        ServiceRefused: the TSA did not grant the request (its status and text, capped).
        MalformedData: the answer cannot be parsed, or carries another nonce or imprint.
    """
    try:
        response = decode_timestamp_response(der)
        status = int(response.status)
        if status not in _GRANTED:
            text = " ".join(str(s) for s in response.status_string)[:200]
            raise ServiceRefused(
                f"the timestamp authority refused the request (status {status}"
                + (f": {text})" if text else ")")
            )
        info = response.tst_info
        imprint = info.message_imprint.message
        nonce = info.nonce
    except (ValueError, TypeError) as exc:
        raise MalformedData("the timestamp authority's answer cannot be parsed") from exc
    if imprint != request.imprint:
        raise MalformedData("the timestamp authority timestamped other bytes than the signature")
    if nonce != request.nonce:
        raise MalformedData("the timestamp authority's answer carries another nonce")
    return der

"""RFC 3161 timestamp authority client: ``POST`` a ``TimeStampReq``, read a ``TimeStampResp``.

The request and the answer are DER (``application/timestamp-query`` and
``application/timestamp-reply``, RFC 3161 §3.4); building and checking them is
:mod:`sealgate.formats.rfc3161`'s. The URL is the full endpoint, as cosign's
``--timestamp-server-url`` takes it (Sigstore's TSA: ``.../api/v1/timestamp``).
"""

from __future__ import annotations

from sealgate.deadline import Deadline
from sealgate.sigstore_services.transport import ServiceTransport

__all__ = ["MAX_TIMESTAMP_RESPONSE", "TimestampClient"]

#: Timestamp responses are a few KiB; sealgate's verifier refuses more than 64 KiB.
MAX_TIMESTAMP_RESPONSE = 64 * 1024


class TimestampClient:
    """One timestamp authority."""

    def __init__(self, transport: ServiceTransport, url: str) -> None:
        self._transport = transport
        self.url = url

    def timestamp(self, request_der: bytes, *, deadline: Deadline) -> bytes:
        """Send a ``TimeStampReq``; return the DER ``TimeStampResp``.

        Raises:
            ServiceRefused: the TSA refused the request (4xx).
            ServiceError: the TSA failed (5xx).
            CheckFailed: the TSA could not be reached in time, or answered too much.
        """
        answer = self._transport.request(
            "timestamp authority",
            "POST",
            self.url,
            deadline=deadline,
            max_bytes=MAX_TIMESTAMP_RESPONSE,
            content=request_der,
            headers={
                "Content-Type": "application/timestamp-query",
                "Accept": "application/timestamp-reply",
            },
            accept=(200, 201),
        )
        return answer.body

"""cosign 2's Rekor "bundle" layer annotation (docs/formats.md §4.4).

``dev.sigstore.cosign/bundle`` holds ``{"SignedEntryTimestamp": b64, "Payload": {"body": b64,
"integratedTime": int, "logIndex": int, "logID": hex}}``. The body (a base64 canonical Rekor
entry) is decoded by :mod:`sealgate.formats.rekor_body`; the annotation becomes a log entry in
:func:`sealgate.checks.tlog.legacy_tlog_entry` and is verified like any other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sealgate.errors import MalformedData
from sealgate.formats import _gojson

__all__ = ["RekorBundle"]

_LOG_ID_RE = re.compile(r"^[0-9a-f]{64}$")


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedData(f"Rekor bundle: {what} is not a non-negative integer")
    return value


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedData(f"Rekor entry: {what} is not a JSON object")
    return value


@dataclass(frozen=True)
class RekorBundle:
    """A parsed ``dev.sigstore.cosign/bundle`` annotation.

    Attributes:
        signed_entry_timestamp: The raw SET bytes (ASN.1 DER ECDSA signature).
        signed_entry_timestamp_b64: The SET exactly as written in the annotation.
        body: ``Payload.body``: base64 of the canonical Rekor entry.
        integrated_time: Unix seconds at which Rekor integrated the entry.
        log_index: The entry's index in the log.
        log_id: Lowercase hex SHA-256 of the Rekor key's DER SubjectPublicKeyInfo.
    """

    signed_entry_timestamp: bytes
    signed_entry_timestamp_b64: str
    body: str
    integrated_time: int
    log_index: int
    log_id: str

    @classmethod
    def parse(cls, annotation: str | bytes) -> RekorBundle:
        """Parse the annotation value.

        Args:
            annotation: The JSON text of the annotation.

        Returns:
            The bundle (the body is validated lazily by :meth:`entry`).

        Raises:
            MalformedData: If the JSON or any field is malformed.
        """
        doc = _gojson.loads(annotation, "Rekor bundle")
        if not isinstance(doc, dict):
            raise MalformedData("Rekor bundle is not a JSON object")
        payload = doc.get("Payload")
        if not isinstance(payload, dict):
            raise MalformedData("Rekor bundle has no Payload object")
        set_b64 = doc.get("SignedEntryTimestamp")
        signed_entry_timestamp = _gojson.b64decode(set_b64, "Rekor SignedEntryTimestamp")
        body = payload.get("body")
        if not isinstance(body, str) or not body:
            raise MalformedData("Rekor bundle body is not a string")
        log_id = payload.get("logID")
        if not isinstance(log_id, str) or not _LOG_ID_RE.match(log_id):
            raise MalformedData("Rekor bundle logID is not a hex SHA-256")
        return cls(
            signed_entry_timestamp=signed_entry_timestamp,
            signed_entry_timestamp_b64=str(set_b64),
            body=body,
            integrated_time=_int(payload.get("integratedTime"), "integratedTime"),
            log_index=_int(payload.get("logIndex"), "logIndex"),
            log_id=log_id,
        )

    def canonical_payload(self) -> bytes:
        """The bytes the SET signs: RFC 8785 JSON of ``{body, integratedTime, logID, logIndex}``.

        Returns:
            Sorted-key, whitespace-free JSON (all values are ASCII, so this equals JCS).
        """
        payload = {
            "body": self.body,
            "integratedTime": self.integrated_time,
            "logID": self.log_id,
            "logIndex": self.log_index,
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("ascii")

    def to_json_obj(self) -> dict[str, Any]:
        """The bundle as cosign prints it under ``optional.Bundle`` (Go struct order).

        Returns:
            ``{"SignedEntryTimestamp": b64, "Payload": {body, integratedTime, logIndex, logID}}``.
        """
        return {
            "SignedEntryTimestamp": self.signed_entry_timestamp_b64,
            "Payload": {
                "body": self.body,
                "integratedTime": self.integrated_time,
                "logIndex": self.log_index,
                "logID": self.log_id,
            },
        }

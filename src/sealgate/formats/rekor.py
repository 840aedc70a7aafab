"""The Rekor "bundle" layer annotation and the Rekor entry bodies it carries (SPEC §4.4).

``dev.sigstore.cosign/bundle`` holds ``{"SignedEntryTimestamp": b64, "Payload": {"body": b64,
"integratedTime": int, "logIndex": int, "logID": hex}}``. The body is a base64 canonical Rekor
entry; we decode the kinds cosign understands (hashedrekord 0.0.1, rekord 0.0.1, dsse 0.0.1,
intoto 0.0.1/0.0.2) far enough for ``VerifyBundle``'s consistency checks. Verification of the
SET itself lives in :mod:`sealgate.checks.tlog`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sealgate.errors import MalformedData
from sealgate.formats import _gojson

__all__ = ["RekorBundle", "RekorEntry", "decode_body"]

_LOG_ID_RE = re.compile(r"^[0-9a-f]{64}$")


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedData(f"Rekor bundle: {what} is not a non-negative integer")
    return value


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedData(f"Rekor entry: {what} is not a JSON object")
    return value


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedData(f"Rekor entry: {what} is not a string")
    return value


@dataclass(frozen=True)
class RekorEntry:
    """The parts of a Rekor entry body that cosign's ``VerifyBundle`` compares.

    Attributes:
        kind: ``hashedrekord``, ``rekord``, ``dsse`` or ``intoto``.
        api_version: The entry's ``apiVersion``.
        hash_algorithm: Algorithm of the artifact hash (``sha256`` expected).
        hash_value: Hex hash compared with sha256(layer payload): data hash for (hashed)rekord,
            ``envelopeHash`` for dsse, ``content.hash`` for intoto.
        signature_b64: The logged signature (hashedrekord/rekord); None for dsse/intoto.
        public_key_pem: The logged public key or certificate PEM (first signature's for dsse).
    """

    kind: str
    api_version: str
    hash_algorithm: str
    hash_value: str
    signature_b64: str | None
    public_key_pem: bytes


def _hash(container: dict[str, Any], what: str) -> tuple[str, str]:
    hashed = _obj(container.get("hash"), f"{what}.hash")
    return _str(hashed.get("algorithm"), f"{what}.hash.algorithm"), _str(
        hashed.get("value"), f"{what}.hash.value"
    )


def _pem(value: object, what: str) -> bytes:
    return _gojson.b64decode(_str(value, what), f"Rekor entry {what}")


def _first(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, list) or not value:
        raise MalformedData(f"Rekor entry: {what} is not a non-empty list")
    return _obj(value[0], f"{what}[0]")


def decode_body(body_b64: str) -> RekorEntry:
    """Decode a Rekor entry body (base64 of the canonical entry JSON).

    Args:
        body_b64: ``Payload.body`` from the bundle.

    Returns:
        The fields needed for the bundle consistency checks.

    Raises:
        MalformedData: If the body is not base64 JSON, or its kind/version is not one of
            hashedrekord 0.0.1, rekord 0.0.1, dsse 0.0.1, intoto 0.0.1/0.0.2.
    """
    doc = _obj(
        _gojson.loads(_gojson.b64decode(body_b64, "Rekor entry body"), "Rekor entry"), "body"
    )
    kind, version = _str(doc.get("kind"), "kind"), _str(doc.get("apiVersion"), "apiVersion")
    spec = _obj(doc.get("spec"), "spec")
    if kind in ("hashedrekord", "rekord") and version == "0.0.1":
        signature = _obj(spec.get("signature"), "spec.signature")
        algorithm, value = _hash(_obj(spec.get("data"), "spec.data"), "spec.data")
        public_key = _obj(signature.get("publicKey"), "spec.signature.publicKey")
        return RekorEntry(
            kind,
            version,
            algorithm,
            value,
            _str(signature.get("content"), "spec.signature.content"),
            _pem(public_key.get("content"), "spec.signature.publicKey.content"),
        )
    if kind == "dsse" and version == "0.0.1":
        algorithm, value = _hash({"hash": spec.get("envelopeHash")}, "spec.envelopeHash")
        first = _first(spec.get("signatures"), "spec.signatures")
        return RekorEntry(
            kind, version, algorithm, value, None, _pem(first.get("verifier"), "verifier")
        )
    if kind == "intoto" and version in ("0.0.1", "0.0.2"):
        content = _obj(spec.get("content"), "spec.content")
        algorithm, value = _hash(content, "spec.content")
        if version == "0.0.1":
            key = spec.get("publicKey")
        else:
            envelope = _obj(content.get("envelope"), "spec.content.envelope")
            key = _first(envelope.get("signatures"), "envelope.signatures").get("publicKey")
        return RekorEntry(kind, version, algorithm, value, None, _pem(key, "publicKey"))
    raise MalformedData(f"Rekor entry kind {kind} {version} is not supported")


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

    def entry(self) -> RekorEntry:
        """Decode the entry body.

        Returns:
            The decoded entry.

        Raises:
            MalformedData: See :func:`decode_body`.
        """
        return decode_body(self.body)

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

"""Test-only key helpers: a Verifier adapter over ``cryptography`` and a fake Rekor log."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sealgate.errors import SignatureInvalid
from sealgate.trust import LogKey


class EcVerifier:
    """Implements sealgate.keys.protocols.Verifier for an ECDSA P-256 public key."""

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        self.key = key

    def verify(self, signature: bytes, data: bytes) -> None:
        try:
            self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise SignatureInvalid("signature does not verify") from exc

    def public_pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class EcKey:
    """A throwaway ECDSA P-256 signing key."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    def sign_b64(self, data: bytes) -> str:
        return base64.b64encode(self.sign(data)).decode()

    def verifier(self) -> EcVerifier:
        return EcVerifier(self.private.public_key())

    def public_pem(self) -> bytes:
        return self.verifier().public_pem()

    def certificate_pem(self) -> bytes:
        """A self-signed certificate for this key (stands in for a Fulcio leaf)."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
        now = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private.public_key())
            .serial_number(1)
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(minutes=10))
            .sign(self.private, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)


class FakeRekor:
    """Signs Rekor bundles like the public-good log would, with a throwaway key."""

    def __init__(self) -> None:
        self.key = EcKey()
        self.trusted = LogKey.from_pem(self.key.public_pem())

    def bundle(self, body: dict[str, Any], *, integrated_time: int = 1700000000) -> str:
        payload = {
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "integratedTime": integrated_time,
            "logIndex": 42,
            "logID": self.trusted.log_id_hex,
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return json.dumps(
            {"SignedEntryTimestamp": self.key.sign_b64(canonical), "Payload": payload}
        )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hashedrekord(payload: bytes, signature_b64: str, public_pem: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
            "signature": {"content": signature_b64, "publicKey": {"content": b64(public_pem)}},
        },
    }


def _envelope_parts(envelope: bytes) -> tuple[str, list[str]]:
    """The payload hash and signatures a log records for an envelope (as Rekor computes them)."""
    doc = json.loads(envelope)
    payload = base64.b64decode(doc["payload"])
    return hashlib.sha256(payload).hexdigest(), [s["sig"] for s in doc["signatures"]]


def dsse_entry(envelope: bytes, public_pem: bytes) -> dict[str, Any]:
    payload_hash, signatures = _envelope_parts(envelope)
    return {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(envelope).hexdigest()},
            "payloadHash": {"algorithm": "sha256", "value": payload_hash},
            "signatures": [{"signature": sig, "verifier": b64(public_pem)} for sig in signatures],
        },
    }


def intoto_entry(envelope: bytes, public_pem: bytes, version: str = "0.0.2") -> dict[str, Any]:
    payload_hash, signatures = _envelope_parts(envelope)
    content: dict[str, Any] = {
        "hash": {"algorithm": "sha256", "value": hashlib.sha256(envelope).hexdigest()},
        "payloadHash": {"algorithm": "sha256", "value": payload_hash},
    }
    spec: dict[str, Any] = {"content": content}
    if version == "0.0.1":
        spec["publicKey"] = b64(public_pem)
    else:
        content["envelope"] = {
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [
                {"sig": b64(sig.encode()), "publicKey": b64(public_pem)} for sig in signatures
            ],
        }
    return {"apiVersion": version, "kind": "intoto", "spec": spec}

"""A Rekor-compatible transparency log on loopback (Rekor API v1, real crypto).

Written from the public Rekor sources, independently of sealgate's verifier (its Merkle code is
not reused here): ``POST /api/v1/log/entries`` accepts ``hashedrekord`` 0.0.1 and ``dsse`` 0.0.1
proposals, verifies their signatures, canonicalizes the entry (RFC 8785, as Rekor's
``CanonicalizeEntry``), appends ``SHA-256(0x00 || body)`` to an RFC 6962 Merkle tree, and answers
201 with the entry: body, integrated time, log ID, index, a SET (ECDSA over the RFC 8785 JSON of
``{body, integratedTime, logID, logIndex}``) and an inclusion proof against a checkpoint signed as
a Rekor v1 note (origin ``<host> - <tree ID>``, key hint = first 4 bytes of SHA-256 of the key's
SubjectPublicKeyInfo). A duplicate answers 409. ``GET /api/v1/log/entries/{uuid}``,
``GET /api/v1/log/entries?logIndex=N``, ``GET /api/v1/log`` and ``/api/v1/log/publicKey`` read.

Failure modes beyond the common ones: ``bad_set`` (SET over other bytes), ``other_entry`` (the
answer is an entry for another signature), ``refuse`` (400).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from tests.support.sigstore_services.http import HttpError, LoopbackService, Request, Response

__all__ = ["RekorLog", "inclusion_path", "merkle_root"]

TREE_ID = 1193050959916656506


def _leaf(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (RFC 6962 §2.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 PATH(m, D[n]), leaf to root."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_path(index, leaves[:k]), merkle_root(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), merkle_root(leaves[:k])]


def _load_verifier(pem: bytes) -> Any:
    try:
        if b"CERTIFICATE" in pem:
            return x509.load_pem_x509_certificate(pem).public_key()
        return serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise HttpError(400, "verifier is not a PEM key or certificate") from exc


def _verify(key: Any, signature: bytes, data: bytes, *, prehashed: bool = False) -> None:
    algorithm: Any = Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        else:
            raise HttpError(400, "unsupported key type")
    except InvalidSignature as exc:
        raise HttpError(400, "signature does not verify") from exc


def _b64(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HttpError(400, f"{what} is not base64") from exc


@dataclass
class _Entry:
    body: bytes
    integrated_time: int
    index: int


class RekorLog:
    """The log state and its HTTP service."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.log_id = hashlib.sha256(self.spki).digest()
        self.entries: list[_Entry] = []
        self._by_uuid: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.service = LoopbackService(
            "rekor",
            {
                ("POST", "/api/v1/log/entries"): self._create,
                ("GET", "/api/v1/log/entries/"): self._get_by_uuid,
                ("GET", "/api/v1/log/entries"): self._get_by_index,
                ("GET", "/api/v1/log/publicKey"): self._public_key,
                ("GET", "/api/v1/log"): self._log_info,
            },
        )
        self.hostname = urlsplit(self.service.url).netloc

    # --- canonicalization ---------------------------------------------------------------------

    def _hashedrekord(self, spec: dict[str, Any]) -> dict[str, Any]:
        try:
            digest = spec["data"]["hash"]
            signature = spec["signature"]
            pem = _b64(signature["publicKey"]["content"], "publicKey")
        except (KeyError, TypeError) as exc:
            raise HttpError(400, "hashedrekord spec is malformed") from exc
        if digest.get("algorithm") != "sha256":
            raise HttpError(400, "only sha256 digests")
        raw_digest = bytes.fromhex(str(digest.get("value")))
        _verify(
            _load_verifier(pem),
            _b64(signature.get("content"), "signature"),
            raw_digest,
            prehashed=True,
        )
        return {
            "data": {"hash": {"algorithm": "sha256", "value": raw_digest.hex()}},
            "signature": {
                "content": signature["content"],
                "publicKey": {"content": base64.b64encode(pem).decode()},
            },
        }

    def _dsse(self, spec: dict[str, Any]) -> dict[str, Any]:
        try:
            envelope_text = spec["proposedContent"]["envelope"]
            verifiers = [_b64(v, "verifier") for v in spec["proposedContent"]["verifiers"]]
            envelope = json.loads(envelope_text)
            payload = _b64(envelope["payload"], "payload")
            payload_type = envelope["payloadType"]
            sigs = [str(s["sig"]) for s in envelope["signatures"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise HttpError(400, "dsse spec is malformed") from exc
        pae = b"DSSEv1 %d %b %d %b" % (
            len(payload_type.encode()),
            payload_type.encode(),
            len(payload),
            payload,
        )
        signatures = []
        for sig in sorted(sigs):
            for pem in verifiers:
                try:
                    _verify(_load_verifier(pem), _b64(sig, "sig"), pae)
                except HttpError:
                    continue
                signatures.append({"signature": sig, "verifier": base64.b64encode(pem).decode()})
                break
            else:
                raise HttpError(400, "a DSSE signature verifies with no verifier")
        return {
            "envelopeHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(envelope_text.encode()).hexdigest(),
            },
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": signatures,
        }

    def canonical_body(self, proposed: dict[str, Any]) -> bytes:
        kind, version = proposed.get("kind"), proposed.get("apiVersion")
        spec = proposed.get("spec")
        if not isinstance(spec, dict):
            raise HttpError(400, "entry has no spec")
        if (kind, version) == ("hashedrekord", "0.0.1"):
            canonical = self._hashedrekord(spec)
        elif (kind, version) == ("dsse", "0.0.1"):
            canonical = self._dsse(spec)
        else:
            raise HttpError(400, f"unsupported entry {kind} {version}")
        return bytes(rfc8785.dumps({"apiVersion": version, "kind": kind, "spec": canonical}))

    # --- log ----------------------------------------------------------------------------------

    def _checkpoint(self, size: int, root: bytes) -> str:
        origin = f"{self.hostname} - {TREE_ID}"
        note = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
        signature = self.key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        hint = hashlib.sha256(self.spki).digest()[:4]
        return f"{note}\n\u2014 {self.hostname} {base64.b64encode(hint + signature).decode()}\n"

    def _set(self, payload: dict[str, Any]) -> str:
        data = bytes(rfc8785.dumps(payload))
        if self.service.mode == "bad_set":
            data += b" "
        return base64.b64encode(self.key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()

    def _answer(self, entry: _Entry) -> dict[str, Any]:
        leaves = [_leaf(e.body) for e in self.entries]
        root = merkle_root(leaves)
        payload = {
            "body": base64.b64encode(entry.body).decode(),
            "integratedTime": entry.integrated_time,
            "logID": self.log_id.hex(),
            "logIndex": entry.index,
        }
        proof = {
            "checkpoint": self._checkpoint(len(leaves), root),
            "hashes": [h.hex() for h in inclusion_path(entry.index, leaves)],
            "logIndex": entry.index,
            "rootHash": root.hex(),
            "treeSize": len(leaves),
        }
        uuid = f"{TREE_ID:016x}" + _leaf(entry.body).hex()
        return {
            uuid: {
                **payload,
                "verification": {
                    "inclusionProof": proof,
                    "signedEntryTimestamp": self._set(payload),
                },
            }
        }

    @staticmethod
    def _decoy(body: bytes) -> bytes:
        """A well-formed entry for another signature (hashedrekord) or payload (dsse)."""
        doc = json.loads(body)
        spec = doc["spec"]
        if "signature" in spec:
            spec["signature"]["content"] = base64.b64encode(b"another signature").decode()
        else:
            spec["payloadHash"]["value"] = hashlib.sha256(b"another payload").hexdigest()
        return bytes(rfc8785.dumps(doc))

    def answer(self, index: int) -> dict[str, Any]:
        """The API answer for the entry at ``index``, with a proof against the current tree."""
        with self._lock:
            return self._answer(self.entries[index])

    def _create(self, request: Request) -> Response:
        if self.service.mode == "refuse":
            raise HttpError(400, "entry refused (test failure mode)")
        proposed = request.json()
        if not isinstance(proposed, dict):
            raise HttpError(400, "entry is not a JSON object")
        body = self.canonical_body(proposed)
        with self._lock:
            uuid = _leaf(body).hex()
            if uuid in self._by_uuid:
                location = f"/api/v1/log/entries/{TREE_ID:016x}{uuid}"
                message = f"an equivalent entry already exists with UUID {uuid}"
                raise HttpError(409, message, Location=location)
            entry = _Entry(body, int(time.time()), len(self.entries))
            self.entries.append(entry)
            self._by_uuid[uuid] = entry
            if self.service.mode == "other_entry":
                entry = _Entry(self._decoy(body), entry.integrated_time, entry.index)
            answer = self._answer(entry)
        location = f"/api/v1/log/entries/{next(iter(answer))}"
        return Response.json(201, answer, ETag=next(iter(answer)), Location=location)

    def _get_by_uuid(self, request: Request) -> Response:
        uuid = request.path.rsplit("/", 1)[-1][-64:]
        with self._lock:
            entry = self._by_uuid.get(uuid)
            if entry is None:
                raise HttpError(404, "entry not found")
            return Response.json(200, self._answer(entry))

    def _get_by_index(self, request: Request) -> Response:
        try:
            index = int(request.query["logIndex"][0])
        except (KeyError, ValueError) as exc:
            raise HttpError(400, "logIndex required") from exc
        with self._lock:
            if not 0 <= index < len(self.entries):
                raise HttpError(404, "entry not found")
            return Response.json(200, self._answer(self.entries[index]))

    def _log_info(self, request: Request) -> Response:
        del request
        with self._lock:
            leaves = [_leaf(e.body) for e in self.entries]
            root = merkle_root(leaves) if leaves else hashlib.sha256(b"").digest()
            info = {
                "rootHash": root.hex(),
                "treeSize": len(leaves),
                "signedTreeHead": self._checkpoint(len(leaves), root),
                "treeID": str(TREE_ID),
                "inactiveShards": [],
            }
        return Response.json(200, info)

    def _public_key(self, request: Request) -> Response:
        del request
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return Response(200, pem, "application/x-pem-file")

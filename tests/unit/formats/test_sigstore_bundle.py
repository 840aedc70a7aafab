"""Sigstore bundle parsing: versions, both 0.3 media types, content kinds, structural rules."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from sealgate.errors import MalformedData
from sealgate.formats.sigstore_bundle import SigstoreBundle, parse_sigstore_bundle
from tests.interop.conftest import interop_dir

CONFORMANCE = interop_dir() / "sigstore-conformance" / "test" / "assets" / "bundle-verify"


def _load(case: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((CONFORMANCE / case / "bundle.sigstore.json").read_text())
    return doc


def _parse(doc: dict[str, Any]) -> SigstoreBundle:
    return parse_sigstore_bundle(json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("case", "version", "material"),
    [
        ("happy-path-v0.1", "0.1", "chain"),
        ("happy-path-v0.2", "0.2", "chain"),
        ("happy-path-v0.3", "0.3", "certificate"),
        ("happy-path-v0.3-new-mediaType", "0.3", "certificate"),
        ("managed-key-happy-path", "0.3", "key"),
    ],
)
def test_versions_and_material(case: str, version: str, material: str) -> None:
    bundle = _parse(_load(case))
    assert bundle.version == version
    assert (bundle.certificate is None) == (material == "key")
    assert (bundle.public_key_hint is not None) == (material == "key")
    assert bundle.message_signature is not None and bundle.dsse_envelope is None
    assert bundle.signature == bundle.message_signature.signature
    entry = bundle.tlog_entries[0]
    assert entry.kind == "hashedrekord" and entry.inclusion_proof is not None


def test_dsse_content_and_timestamps() -> None:
    bundle = _parse(_load("rekor2-dsse-happy-path"))
    assert bundle.dsse_envelope is not None
    assert bundle.dsse_envelope.payload_type == "application/vnd.in-toto+json"
    assert bundle.signature == bundle.dsse_envelope.signatures[0].sig
    assert len(bundle.rfc3161_timestamps) == 1
    assert bundle.tlog_entries[0].integrated_time is None


def _material(doc: dict[str, Any]) -> dict[str, Any]:
    material: dict[str, Any] = doc["verificationMaterial"]
    return material


@pytest.mark.parametrize(
    ("case", "mutate", "message"),
    [
        (
            "happy-path-v0.3",
            lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle.v0.4+json"),
            "media type",
        ),
        ("happy-path-v0.3", lambda d: d.pop("mediaType"), "media type"),
        (
            "happy-path-v0.1",
            lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle+json;version=0.3"),
            "single certificate",
        ),
        ("happy-path-v0.3", lambda d: d.update(dsseEnvelope={}), "one message signature"),
        ("happy-path-v0.3", lambda d: d.pop("messageSignature"), "one message signature"),
        ("happy-path-v0.3", lambda d: _material(d).pop("certificate"), "exactly one"),
        ("happy-path-v0.3", lambda d: _material(d).update(publicKey={"hint": "x"}), "exactly one"),
        (
            "happy-path-v0.3",
            lambda d: _material(d)["tlogEntries"][0].update(logIndex="-3"),
            "negative",
        ),
        (
            "happy-path-v0.3",
            lambda d: _material(d)["tlogEntries"][0].update(logIndex="1e3"),
            "integer",
        ),
        (
            "happy-path-v0.3",
            lambda d: _material(d)["tlogEntries"][0]["inclusionProof"].pop("checkpoint"),
            "checkpoint",
        ),
        (
            "happy-path-v0.3",
            lambda d: _material(d)["tlogEntries"][0].pop("inclusionProof"),
            "inclusion proof",
        ),
        (
            "happy-path-v0.1",
            lambda d: _material(d)["tlogEntries"][0].pop("inclusionPromise"),
            "inclusion promise",
        ),
        (
            "happy-path-v0.3",
            lambda d: _material(d)["certificate"].update(rawBytes="AAAA"),
            "DER certificate",
        ),
        (
            "happy-path-v0.3",
            lambda d: d["messageSignature"]["messageDigest"].update(algorithm="MD5"),
            "algorithm",
        ),
        ("happy-path-v0.3", lambda d: _material(d).update(tlogEntries=[{}] * 33), "more than 32"),
    ],
)
def test_malformed_bundles(
    case: str, mutate: Callable[[dict[str, Any]], object], message: str
) -> None:
    doc = copy.deepcopy(_load(case))
    mutate(doc)
    with pytest.raises(MalformedData, match=message):
        _parse(doc)


def test_protobuf_json_value_forms() -> None:
    doc = _load("happy-path-v0.3")
    entry = _material(doc)["tlogEntries"][0]
    entry["logIndex"] = int(entry["logIndex"])  # a JSON number is also an int64
    signature = base64.b64decode(doc["messageSignature"]["signature"])
    # URL-safe alphabet without padding, and line-wrapped standard base64, are both bytes.
    doc["messageSignature"]["signature"] = base64.urlsafe_b64encode(signature).decode().rstrip("=")
    raw = base64.b64encode(base64.b64decode(_material(doc)["certificate"]["rawBytes"])).decode()
    _material(doc)["certificate"]["rawBytes"] = "\n".join(
        raw[i : i + 64] for i in range(0, len(raw), 64)
    )
    bundle = _parse(doc)
    assert bundle.signature == signature
    assert bundle.tlog_entries[0].log_index == 79571823


def test_not_json_and_too_big() -> None:
    with pytest.raises(MalformedData, match="not valid JSON"):
        parse_sigstore_bundle(b"{")
    with pytest.raises(MalformedData, match="larger"):
        parse_sigstore_bundle(b" " * (16 * 1024 * 1024 + 1))
    with pytest.raises(MalformedData, match="JSON object"):
        parse_sigstore_bundle(b"[]")

"""cosign's ``oci-attestation.sigstore.json`` (interop README §2; docs/formats.md §2.2, §9).

The DSSE PAE signature verifies with the leaf certificate's key; Rekor's ``envelopeHash`` equals
sha256 of our cosign-v2-layout re-serialization; and the whole legacy ``.att`` pipeline accepts a
layer rebuilt from it (SET checked with the Rekor key from ``trusted_root_pgi.json``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealgate.checks.tlog import RekorKey, TlogInvalid, TlogPolicy
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    DSSE_LAYER_MEDIA_TYPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
)
from sealgate.formats.dsse import build_envelope, pae, parse_envelope
from sealgate.formats.predicates import CUSTOM_PREDICATE_TYPE
from sealgate.policy import NoMatchingAttestations
from tests.interop.conftest import TestVerifier, cosign_testdata, interop_dir
from tests.support.policies import (
    verified_log_entries,
    verify_attestation_layer,
    verify_attestation_set,
)

SUBJECT_DIGEST = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    path = cosign_testdata() / "oci-attestation.sigstore.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


@pytest.fixture(scope="module")
def cert_pem(vector: dict[str, Any]) -> bytes:
    der = base64.b64decode(vector["verificationMaterial"]["certificate"]["rawBytes"])
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def leaf_key(cert_pem: bytes) -> TestVerifier:
    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    return TestVerifier(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@pytest.fixture(scope="module")
def rekor_key() -> RekorKey:
    root = json.loads((cosign_testdata() / "trusted_root_pgi.json").read_text())
    (tlog,) = [t for t in root["tlogs"] if t["baseUrl"] == "https://rekor.sigstore.dev"]
    return RekorKey.from_der(base64.b64decode(tlog["publicKey"]["rawBytes"]))


def v2_envelope(vector: dict[str, Any]) -> bytes:
    env = vector["dsseEnvelope"]
    return build_envelope(
        env["payloadType"],
        base64.b64decode(env["payload"]),
        base64.b64decode(env["signatures"][0]["sig"]),
    )


def legacy_bundle(vector: dict[str, Any]) -> str:
    """The tlog entry as a legacy ``dev.sigstore.cosign/bundle`` annotation."""
    entry = vector["verificationMaterial"]["tlogEntries"][0]
    return json.dumps(
        {
            "SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
            "Payload": {
                "body": entry["canonicalizedBody"],
                "integratedTime": int(entry["integratedTime"]),
                "logIndex": int(entry["logIndex"]),
                "logID": base64.b64decode(entry["logId"]["keyId"]).hex(),
            },
        }
    )


def test_dsse_pae_signature_verifies_with_leaf_key(
    vector: dict[str, Any], leaf_key: TestVerifier
) -> None:
    envelope = parse_envelope(json.dumps(vector["dsseEnvelope"]).encode())
    assert envelope.signatures[0].keyid == ""
    leaf_key.verify(envelope.signatures[0].sig, pae(envelope.payload_type, envelope.payload))


def test_envelope_hash_matches_v2_layout(vector: dict[str, Any]) -> None:
    entry = vector["verificationMaterial"]["tlogEntries"][0]
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    assert body["kind"] == "dsse"
    ours = v2_envelope(vector)
    assert ours.startswith(b'{"payloadType":"application/vnd.in-toto+json","payload":"')
    assert b'"signatures":[{"keyid":"","sig":"' in ours
    assert body["spec"]["envelopeHash"]["value"] == hashlib.sha256(ours).hexdigest()
    payload = base64.b64decode(vector["dsseEnvelope"]["payload"])
    assert body["spec"]["payloadHash"]["value"] == hashlib.sha256(payload).hexdigest()


def test_set_and_bundle_consistency(
    vector: dict[str, Any], rekor_key: RekorKey, cert_pem: bytes
) -> None:
    layer = SignatureLayer(
        DSSE_LAYER_MEDIA_TYPE,
        v2_envelope(vector),
        {
            SIGNATURE_ANNOTATION: "",
            CERTIFICATE_ANNOTATION: cert_pem.decode(),
            BUNDLE_ANNOTATION: legacy_bundle(vector),
        },
    )
    (entry,) = verified_log_entries(layer, [rekor_key], attestation=True)
    assert entry.body.kind == "dsse"
    # The v3 protobuf layout (keyid omitted) does not hash to envelopeHash.
    v3_layout = json.dumps(vector["dsseEnvelope"], separators=(",", ":")).encode()
    v3_layer = SignatureLayer(DSSE_LAYER_MEDIA_TYPE, v3_layout, dict(layer.annotations))
    with pytest.raises(TlogInvalid, match="envelope hash"):
        verified_log_entries(v3_layer, [rekor_key], attestation=True)


def _layer(vector: dict[str, Any], cert_pem: bytes) -> SignatureLayer:
    return SignatureLayer(
        media_type=DSSE_LAYER_MEDIA_TYPE,
        payload=v2_envelope(vector),
        annotations={
            SIGNATURE_ANNOTATION: "",
            PREDICATE_TYPE_ANNOTATION: CUSTOM_PREDICATE_TYPE,
            CERTIFICATE_ANNOTATION: cert_pem.decode(),
            BUNDLE_ANNOTATION: legacy_bundle(vector),
        },
    )


def test_full_attestation_pipeline(
    vector: dict[str, Any], cert_pem: bytes, leaf_key: TestVerifier, rekor_key: RekorKey
) -> None:
    verified = verify_attestation_layer(
        _layer(vector, cert_pem),
        verifiers=[leaf_key],
        image_digest=SUBJECT_DIGEST,
        tlog=TlogPolicy(rekor_keys=(rekor_key,)),
    )
    claims = verified.claims
    assert claims is not None
    assert claims.predicate_type == CUSTOM_PREDICATE_TYPE
    assert claims.subjects[0].name == "127.0.0.1:60943/repo"
    assert claims.predicate == {
        "Data": '{"foo": "bar"}\n',
        "Timestamp": "2025-02-28T19:18:11Z",
    }
    assert verified.accepted[0].bundle is not None
    assert verified.accepted[0].bundle.log_index == 175508996


def test_type_filter_on_vector(
    vector: dict[str, Any], cert_pem: bytes, leaf_key: TestVerifier, rekor_key: RekorKey
) -> None:
    kwargs: dict[str, Any] = {
        "verifiers": [leaf_key],
        "image_digest": SUBJECT_DIGEST,
        "tlog": TlogPolicy(rekor_keys=(rekor_key,)),
    }
    layers = [_layer(vector, cert_pem)]
    assert len(verify_attestation_set(layers, **kwargs)) == 1  # default --type custom
    with pytest.raises(NoMatchingAttestations, match=r"found: https://cosign\.sigstore\.dev"):
        verify_attestation_set(layers, predicate_type="cyclonedx", **kwargs)


def test_vendored_vectors_are_present_with_their_licences() -> None:
    root = interop_dir()
    for folder in ("containers-image", "cosign", "sigstore-python"):
        assert (root / folder / "LICENSE").is_file(), folder
    assert (root / "README.md").is_file()
    assert cosign_testdata() == root / "cosign" / "pkg" / "cosign" / "testdata"

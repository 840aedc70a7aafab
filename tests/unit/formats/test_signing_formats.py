"""Pure writers for keyless signing: bundles v0.3, Rekor answers, referrer manifests, TSA checks."""

from __future__ import annotations

import base64
import json

import pytest

from sealgate.errors import MalformedData, ServiceRefused
from sealgate.formats.dsse import DsseSignature, Envelope
from sealgate.formats.referrers import add_to_referrers_index, build_referrer_manifest
from sealgate.formats.rekor_api import cosign_bundle_annotation, parse_log_entry
from sealgate.formats.rfc3161 import build_timestamp_request, check_timestamp_response
from sealgate.formats.sigstore_bundle import parse_sigstore_bundle
from sealgate.formats.sigstore_bundle_writer import build_sigstore_bundle
from sealgate.formats.tlog_entry import InclusionProof, TlogEntry
from sealgate.oci.mediatypes import OCI_INDEX, SIGSTORE_BUNDLE, digest_of
from tests.support.pki import make_ca, make_leaf
from tests.support.sigstore_services import SigstoreServices

BODY = json.dumps(
    {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": "ab" * 32}},
            "signature": {
                "content": base64.b64encode(b"sig").decode(),
                "publicKey": {
                    "content": base64.b64encode(
                        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
                    ).decode()
                },
            },
        },
    }
).encode()
ENTRY = TlogEntry(
    log_index=7,
    log_id=bytes(32),
    kind="hashedrekord",
    version="0.0.1",
    canonicalized_body=BODY,
    integrated_time=1_700_000_000,
    signed_entry_timestamp=b"set",
    inclusion_proof=InclusionProof(3, b"r" * 32, 4, (b"h" * 32,), "origin\n4\nroot\n\n- sig\n"),
)


def test_bundle_round_trips_through_the_reader() -> None:
    leaf = make_leaf(make_ca("root")).cert
    from cryptography.hazmat.primitives.serialization import Encoding

    envelope = Envelope("application/vnd.in-toto+json", b"{}", (DsseSignature(b"s1", "k"),))
    raw = build_sigstore_bundle(
        certificate_der=leaf.public_bytes(Encoding.DER),
        tlog_entries=[ENTRY],
        rfc3161_timestamps=[b"ts"],
        dsse_envelope=envelope,
    )
    doc = json.loads(raw)
    assert doc["verificationMaterial"]["tlogEntries"][0]["logIndex"] == "7"  # int64 as string
    parsed = parse_sigstore_bundle(raw)
    assert parsed.version == "0.3" and parsed.certificate == leaf
    assert parsed.tlog_entries == (ENTRY,)
    assert parsed.rfc3161_timestamps == (b"ts",)
    assert parsed.dsse_envelope == envelope


def test_key_signed_message_bundle() -> None:
    raw = build_sigstore_bundle(
        public_key_hint="aGludA==", tlog_entries=[ENTRY], message_signature=(b"sig", b"d" * 32)
    )
    parsed = parse_sigstore_bundle(raw)
    assert parsed.public_key_hint == "aGludA==" and parsed.certificate is None
    assert parsed.message_signature is not None and parsed.message_signature.digest == b"d" * 32


@pytest.mark.parametrize(
    "options",
    [
        {"message_signature": (b"s", b"d")},  # neither certificate nor key hint
        {"public_key_hint": "", "certificate_der": b"x", "message_signature": (b"s", b"d")},
        {"public_key_hint": ""},  # no content
        {
            "public_key_hint": "",
            "message_signature": (b"s", b"d"),
            "tlog_entries": [TlogEntry(1, bytes(32), "hashedrekord", "0.0.1", BODY)],
        },  # no proof
    ],
)
def test_bundle_writer_refuses_incomplete_bundles(options: dict[str, object]) -> None:
    with pytest.raises(MalformedData):
        build_sigstore_bundle(**options)  # type: ignore[arg-type]


def test_rekor_answer_becomes_a_tlog_entry_and_a_cosign_annotation() -> None:
    answer = {
        "2b" * 40: {
            "body": base64.b64encode(BODY).decode(),
            "integratedTime": 1_700_000_000,
            "logID": "00" * 32,
            "logIndex": 7,
            "verification": {
                "signedEntryTimestamp": base64.b64encode(b"set").decode(),
                "inclusionProof": {
                    "checkpoint": "origin\n4\nroot\n\n- sig\n",
                    "hashes": [(b"h" * 32).hex()],
                    "logIndex": 3,
                    "rootHash": (b"r" * 32).hex(),
                    "treeSize": 4,
                },
            },
        }
    }
    assert parse_log_entry(answer) == ENTRY
    annotation = json.loads(cosign_bundle_annotation(ENTRY))
    assert list(annotation) == ["SignedEntryTimestamp", "Payload"]
    assert list(annotation["Payload"]) == ["body", "integratedTime", "logIndex", "logID"]
    with pytest.raises(MalformedData):
        parse_log_entry({"a": {"body": "!!", "logID": "00"}})
    with pytest.raises(MalformedData):
        parse_log_entry({"a": {}, "b": {}})


def test_referrer_manifest_and_fallback_index() -> None:
    subject = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + "1" * 64,
        "size": 9,
    }
    notes = {
        "dev.sigstore.bundle.predicateType": "p",
        "dev.sigstore.bundle.content": "dsse-envelope",
    }
    manifest = build_referrer_manifest(
        artifact_type=SIGSTORE_BUNDLE,
        layer=b"{}",
        layer_media_type=SIGSTORE_BUNDLE,
        subject=subject,
        annotations=notes,
    )
    doc = json.loads(manifest)
    assert list(doc) == [
        "schemaVersion",
        "mediaType",
        "config",
        "layers",
        "annotations",
        "subject",
        "artifactType",
    ]
    assert doc["config"]["digest"] == digest_of(b"{}") and doc["subject"] == subject
    index = add_to_referrers_index(None, manifest, artifact_type=SIGSTORE_BUNDLE, annotations=notes)
    assert index is not None
    listed = json.loads(index)
    assert listed["mediaType"] == OCI_INDEX
    assert listed["manifests"][0]["annotations"] == dict(sorted(notes.items()))
    assert listed["manifests"][0]["artifactType"] == SIGSTORE_BUNDLE
    # Adding the same manifest again changes nothing; another one is appended in digest order.
    assert (
        add_to_referrers_index(index, manifest, artifact_type=SIGSTORE_BUNDLE, annotations=notes)
        is None
    )
    other = manifest.replace(b'"p"', b'"q"')
    both = json.loads(
        add_to_referrers_index(index, other, artifact_type=SIGSTORE_BUNDLE, annotations={}) or b""
    )
    digests = [m["digest"] for m in both["manifests"]]
    assert digests == sorted(digests) and len(digests) == 2
    with pytest.raises(MalformedData):
        add_to_referrers_index(
            b'{"mediaType":"application/vnd.oci.image.manifest.v1+json"}',
            manifest,
            artifact_type=SIGSTORE_BUNDLE,
            annotations={},
        )


def test_timestamp_answer_must_grant_our_request(sigstore_services: SigstoreServices) -> None:
    tsa = sigstore_services.tsa
    request = build_timestamp_request(b"signature")
    assert check_timestamp_response(tsa.response(request.der), request)
    other = build_timestamp_request(b"signature")
    with pytest.raises(MalformedData, match="nonce"):
        check_timestamp_response(tsa.response(other.der), request)
    tsa.service.fail("reject")
    with pytest.raises(ServiceRefused, match="status 2"):
        check_timestamp_response(tsa.response(request.der), request)
    tsa.service.fail("wrong_imprint")
    with pytest.raises(MalformedData, match="other bytes"):
        check_timestamp_response(tsa.response(request.der), request)
    with pytest.raises(MalformedData):
        check_timestamp_response(b"\x30\x00", request)

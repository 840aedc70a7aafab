"""Attachment manifest: ggcr byte layout (formats.md §1.2, §1.8), dedupe (§1.6), strict parsing."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import pytest

from sealgate.errors import IntegrityError, LimitExceeded, MalformedData
from sealgate.formats.cosign_manifest import (
    LayerDescriptor,
    SignatureLayer,
    append_layer,
    build_attachment_manifest,
    build_config,
    check_digest,
    parse_attachment_manifest,
    sha256_digest,
)
from sealgate.formats.cosign_types import SIGNATURE_ANNOTATION, SIMPLESIGNING_MEDIA_TYPE
from sealgate.formats.simplesigning import build_payload
from tests.unit.checks._keys import EcKey

PAYLOAD = build_payload(
    "192.168.64.2:5000/cosign-signed-single-sample",
    "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00",
)
SIG = (
    "MEYCIQDmtamqYPjMg81nqeBhptrPls44aA/r7PwLmspINJY4MwIhANKRpqe2E9UCBtGFdPoz/8jAbaQm4uP4h+"
    "IpwKTE6ClR"
)
WORKED_EXAMPLE = (
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
    '"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,'
    '"digest":"sha256:be321600a5bd794947dce257829a2f08c21b05dde3edf84706faf6f2ae0f5f60"},'
    '"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":261,'
    '"digest":"sha256:cf482371b51a7633b3f02e29b87fc3f4a18b3f127af61cb114af5f2c04fcdd75",'
    f'"annotations":{{"dev.cosignproject.cosign/signature":"{SIG}"}}}}]}}'
).encode()


def layer(payload: bytes = PAYLOAD, /, **annotations: str) -> SignatureLayer:
    return SignatureLayer(SIMPLESIGNING_MEDIA_TYPE, payload, annotations)


def test_worked_example_byte_exact() -> None:
    manifest, config = build_attachment_manifest([layer(**{SIGNATURE_ANNOTATION: SIG})])
    assert manifest == WORKED_EXAMPLE
    assert len(config) == 233
    assert sha256_digest(config) == (
        "sha256:be321600a5bd794947dce257829a2f08c21b05dde3edf84706faf6f2ae0f5f60"
    )


def test_config_two_layers_golden() -> None:
    first, second = layer(b"one"), layer(b"two")
    diff1 = "sha256:" + hashlib.sha256(b"one").hexdigest()
    diff2 = "sha256:" + hashlib.sha256(b"two").hexdigest()
    assert (
        build_config([first, second])
        == (
            '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":'
            '"0001-01-01T00:00:00Z"},{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":'
            f'{{"type":"layers","diff_ids":["{diff1}","{diff2}"]}},"config":{{}}}}'
        ).encode()
    )


def test_empty_config_omits_history() -> None:
    assert build_config([]) == (
        b'{"architecture":"","created":"0001-01-01T00:00:00Z","os":"",'
        b'"rootfs":{"type":"layers","diff_ids":[]},"config":{}}'
    )


def test_docker_media_types_and_no_annotations() -> None:
    manifest, _ = build_attachment_manifest([layer(b"sbom")], docker_media_types=True)
    doc = json.loads(manifest)
    assert doc["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert doc["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert doc["layers"][0]["mediaType"] == SIMPLESIGNING_MEDIA_TYPE
    assert "annotations" not in doc["layers"][0]
    assert list(doc["layers"][0]) == ["mediaType", "size", "digest"]


def test_layer_annotations_sorted() -> None:
    manifest, _ = build_attachment_manifest([layer(b"x", z="1", a="2")])
    assert b'"annotations":{"a":"2","z":"1"}' in manifest


# --- dedupe / append (docs/formats.md §1.6) ------------------------------------------------


def signed(key: EcKey, payload: bytes = PAYLOAD, /, **extra: str) -> SignatureLayer:
    return layer(payload, **{SIGNATURE_ANNOTATION: key.sign_b64(payload)}, **extra)


def test_signing_twice_does_not_duplicate() -> None:
    key = EcKey()
    first = signed(key)
    layers = append_layer([], first, key.verifier())
    # ECDSA signatures differ each time, but the existing one verifies: duplicate.
    again = append_layer(layers, signed(key), key.verifier())
    assert again == [first]


def test_new_signature_goes_last() -> None:
    old, new = EcKey(), EcKey()
    existing = [signed(old), signed(old, b"other")]
    result = append_layer(existing, signed(new), new.verifier())
    assert result[:2] == existing
    assert (
        result[2].annotations[SIGNATURE_ANNOTATION] != existing[0].annotations[SIGNATURE_ANNOTATION]
    )
    assert len(result) == 3


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: signed(k, b"different payload"),
        lambda k: signed(k, **{"dev.sigstore.cosign/bundle": "{}"}),
        lambda k: SignatureLayer("text/plain", PAYLOAD, signed(k).annotations),
    ],
    ids=["payload", "annotation", "media-type"],
)
def test_not_duplicate_when_anything_differs(mutate: Callable[[EcKey], SignatureLayer]) -> None:
    key = EcKey()
    assert len(append_layer([signed(key)], mutate(key), key.verifier())) == 2


def test_no_dedupe_without_verifier_or_with_bad_existing_signature() -> None:
    key = EcKey()
    assert len(append_layer([signed(key)], signed(key), None)) == 2
    broken = layer(**{SIGNATURE_ANNOTATION: "!!notbase64"})
    assert len(append_layer([broken], signed(key), key.verifier())) == 2


# --- parsing -------------------------------------------------------------------------------


def test_parse_worked_example() -> None:
    (descriptor,) = parse_attachment_manifest(WORKED_EXAMPLE, max_layers=1000)
    assert descriptor == LayerDescriptor(
        SIMPLESIGNING_MEDIA_TYPE,
        "sha256:cf482371b51a7633b3f02e29b87fc3f4a18b3f127af61cb114af5f2c04fcdd75",
        261,
        {SIGNATURE_ANNOTATION: SIG},
    )
    rebuilt = SignatureLayer.from_descriptor(descriptor, PAYLOAD)
    assert rebuilt.annotations == {SIGNATURE_ANNOTATION: SIG}
    with pytest.raises(IntegrityError):
        SignatureLayer.from_descriptor(descriptor, PAYLOAD + b" ")


def test_parse_limit() -> None:
    manifest, _ = build_attachment_manifest([layer(b"a"), layer(b"b"), layer(b"c")])
    assert len(parse_attachment_manifest(manifest, max_layers=3)) == 3
    with pytest.raises(LimitExceeded):
        parse_attachment_manifest(manifest, max_layers=2)


def _doc(**changes: object) -> bytes:
    doc = json.loads(WORKED_EXAMPLE)
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


def _layer_doc(**changes: object) -> bytes:
    entry = json.loads(WORKED_EXAMPLE)["layers"][0]
    entry.update(changes)
    return _doc(layers=[entry])


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        _doc(schemaVersion=1),
        _doc(schemaVersion=True),
        _doc(mediaType="application/vnd.oci.image.index.v1+json"),
        _doc(layers=None),
        _doc(layers={}),
        _doc(layers=[5]),
        _layer_doc(digest="sha256:abc"),
        _layer_doc(digest="md5:" + "0" * 32),
        _layer_doc(digest="SHA256:" + "0" * 64),
        _layer_doc(size=-1),
        _layer_doc(size=True),
        _layer_doc(size="261"),
        _layer_doc(mediaType=""),
        _layer_doc(annotations={"a": 1}),
        _layer_doc(annotations=["x"]),
    ],
)
def test_parse_rejects(data: bytes) -> None:
    with pytest.raises(MalformedData):
        parse_attachment_manifest(data, max_layers=1000)


def test_parse_accepts_missing_media_type_and_null_annotations() -> None:
    data = _layer_doc(annotations=None)
    doc = json.loads(data)
    del doc["mediaType"]
    (descriptor,) = parse_attachment_manifest(json.dumps(doc).encode(), max_layers=10)
    assert descriptor.annotations == {}


def test_check_digest() -> None:
    assert check_digest("sha256:" + "a" * 64) == "sha256:" + "a" * 64
    # go-containerregistry's v1.Hash knows sha256 only; cosign cannot have written another.
    with pytest.raises(MalformedData):
        check_digest("sha512:" + "a" * 128)
    with pytest.raises(MalformedData, match="thing is not a valid digest"):
        check_digest(None, "thing")
    assert base64.b64decode(SIG)  # the golden signature annotation is valid base64


def test_parse_rejects_empty_list_annotations() -> None:
    with pytest.raises(MalformedData):
        parse_attachment_manifest(_layer_doc(annotations=[]), max_layers=10)


def test_replace_attestation_layers() -> None:
    from sealgate.formats.cosign_manifest import replace_attestation_layers
    from sealgate.formats.cosign_types import DSSE_LAYER_MEDIA_TYPE
    from sealgate.formats.dsse import build_envelope
    from sealgate.formats.intoto import build_statement

    def att(predicate_type: str, marker: str) -> SignatureLayer:
        statement = build_statement("r", "ab" * 32, predicate_type, {"m": marker})
        envelope = build_envelope("application/vnd.in-toto+json", statement, b"sig")
        return SignatureLayer(DSSE_LAYER_MEDIA_TYPE, envelope, {SIGNATURE_ANNOTATION: ""})

    old_bom, vuln, garbage = (
        att("https://cyclonedx.org/bom", "1"),
        att("https://v", "2"),
        layer(b"x"),
    )
    new_bom = att("https://cyclonedx.org/bom", "3")
    result = replace_attestation_layers(
        [old_bom, vuln, garbage], new_bom, "https://cyclonedx.org/bom"
    )
    assert result == [new_bom, vuln, garbage]


def test_media_type_of_another_json_type_is_malformed() -> None:
    # A list used to raise TypeError (unhashable) out of the parser: exit 70 instead of 3.
    for media_type in (["application/vnd.oci.image.manifest.v1+json"], {"a": 1}, 7):
        data = json.dumps({"schemaVersion": 2, "mediaType": media_type, "layers": []}).encode()
        with pytest.raises(MalformedData, match="not an image manifest"):
            parse_attachment_manifest(data, max_layers=10)

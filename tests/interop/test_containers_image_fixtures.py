"""containers/image cosign fixtures (interop README §1): every key-based case's outcome."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sealgate.checks.pipeline import SignatureResult
from sealgate.checks.signatures import render_cosign_json
from sealgate.checks.tlog import (
    NO_TLOG_MESSAGE,
    RekorKey,
    TlogInvalid,
    TlogPolicy,
)
from sealgate.errors import (
    DigestMismatch,
    NoMatchingSignatures,
    NoSignaturesFound,
    SignatureInvalid,
)
from sealgate.formats.cosign_manifest import (
    SignatureLayer,
    build_attachment_manifest,
    parse_attachment_manifest,
    sha256_digest,
)
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.simplesigning import SimpleSigningPayload, build_payload, parse_payload
from tests.interop.conftest import TestVerifier, load_signature_file
from tests.support.policies import verified_log_entries, verify_signature_set

IGNORE_TLOG = TlogPolicy(insecure_ignore_tlog=True)


def layers_of(case: Path) -> list[SignatureLayer]:
    return [load_signature_file(p) for p in sorted(case.glob("signature-*"))]


def digest_of(case: Path) -> str:
    return "sha256:" + hashlib.sha256((case / "manifest.json").read_bytes()).hexdigest()


def key(fixtures: Path, name: str) -> TestVerifier:
    return TestVerifier((fixtures / name).read_bytes())


def rekor_policy(fixtures: Path, name: str = "rekor.pub") -> TlogPolicy:
    return TlogPolicy(rekor_keys=(RekorKey.from_pem((fixtures / name).read_bytes()),))


def verify_case(
    fixtures: Path, case: str, pub: str = "cosign.pub", tlog: TlogPolicy = IGNORE_TLOG
) -> list[SignatureResult[SimpleSigningPayload]]:
    directory = fixtures / case
    return verify_signature_set(
        layers_of(directory),
        verifiers=[key(fixtures, pub)],
        image_digest=digest_of(directory),
        tlog=tlog,
    )


def test_valid(fixtures_dir: Path) -> None:
    verified = verify_case(fixtures_dir, "dir-img-cosign-valid")
    assert len(verified) == 1
    sig = verified[0]
    claims = sig.claims
    assert claims is not None
    assert claims.docker_reference == "192.168.64.2:5000/cosign-signed-single-sample"
    assert claims.manifest_digest == digest_of(fixtures_dir / "dir-img-cosign-valid")
    assert claims.optional is None
    assert sig.accepted[0].bundle is None
    assert [a.name for a in sig.accepted] == ["key0"]
    assert len(sig.accepted[0].authority) == len("key:sha256:") + 64
    output = json.loads(render_cosign_json(verified))
    assert output[0]["optional"] is None
    assert output[0]["critical"]["type"] == "cosign container image signature"


def test_valid_rebuilds_payload_and_worked_example(fixtures_dir: Path) -> None:
    """formats.md §1.8: payload byte-identical to ours; config is 233 bytes, sha256:be321600..."""
    (layer,) = layers_of(fixtures_dir / "dir-img-cosign-valid")
    parsed = parse_payload(layer.payload)
    rebuilt = build_payload(parsed.docker_reference, parsed.manifest_digest, None)
    assert rebuilt == layer.payload
    manifest, config = build_attachment_manifest([layer])
    assert len(config) == 233
    assert sha256_digest(config) == (
        "sha256:be321600a5bd794947dce257829a2f08c21b05dde3edf84706faf6f2ae0f5f60"
    )
    (descriptor,) = parse_attachment_manifest(manifest, max_layers=1000)
    assert descriptor.size == 261
    assert descriptor.digest == (
        "sha256:cf482371b51a7633b3f02e29b87fc3f4a18b3f127af61cb114af5f2c04fcdd75"
    )
    assert SignatureLayer.from_descriptor(descriptor, layer.payload) == layer


def test_valid_requires_tlog_by_default(fixtures_dir: Path) -> None:
    with pytest.raises(NoMatchingSignatures) as info:
        verify_case(fixtures_dir, "dir-img-cosign-valid", tlog=rekor_policy(fixtures_dir))
    assert NO_TLOG_MESSAGE in info.value.message
    assert isinstance(info.value.failures[0], TlogInvalid)


def test_valid_2_has_two_signatures(fixtures_dir: Path) -> None:
    assert len(verify_case(fixtures_dir, "dir-img-cosign-valid-2")) == 2


def test_valid_with_tag_keeps_optional(fixtures_dir: Path) -> None:
    (sig,) = verify_case(fixtures_dir, "dir-img-cosign-valid-with-tag")
    assert sig.claims is not None
    assert sig.claims.docker_reference == "192.168.64.2:5000/skopeo-signed:tag"
    assert sig.claims.optional == {
        "creator": "containers/image 5.21.2-dev",
        "timestamp": 1657296609,
    }
    element = json.loads(render_cosign_json([sig]))[0]
    assert element["optional"]["timestamp"] == 1657296609


def test_key_rekor_valid_with_set(fixtures_dir: Path) -> None:
    (sig,) = verify_case(
        fixtures_dir, "dir-img-cosign-key-rekor-valid", "cosign2.pub", rekor_policy(fixtures_dir)
    )
    assert sig.accepted[0].bundle is not None
    assert sig.accepted[0].bundle.log_index == 11608800
    assert sig.accepted[0].bundle.integrated_time == 1674251859
    element = json.loads(render_cosign_json([sig]))[0]
    assert element["optional"]["Bundle"]["Payload"]["logIndex"] == 11608800
    assert list(element["optional"]["Bundle"]["Payload"]) == [
        "body",
        "integratedTime",
        "logIndex",
        "logID",
    ]


def _with_annotations(case: Path, **changes: str | None) -> list[SignatureLayer]:
    out = []
    for layer in layers_of(case):
        annotations = dict(layer.annotations)
        for name, value in changes.items():
            real = {"bundle": BUNDLE_ANNOTATION, "signature": SIGNATURE_ANNOTATION}[name]
            if value is None:
                annotations.pop(real, None)
            else:
                annotations[real] = value
        out.append(dataclasses.replace(layer, annotations=annotations))
    return out


@pytest.mark.parametrize(
    "bundle",
    [None, "garbage", '{"SignedEntryTimestamp":"","Payload":{}}'],
    ids=["missing", "garbage", "empty"],
)
def test_key_rekor_rejects_bad_bundle(fixtures_dir: Path, bundle: str | None) -> None:
    case = fixtures_dir / "dir-img-cosign-key-rekor-valid"
    with pytest.raises(NoMatchingSignatures):
        verify_signature_set(
            _with_annotations(case, bundle=bundle),
            verifiers=[key(fixtures_dir, "cosign2.pub")],
            image_digest=digest_of(case),
            tlog=rekor_policy(fixtures_dir),
        )


def test_key_rekor_rejects_wrong_rekor_key(fixtures_dir: Path) -> None:
    with pytest.raises(NoMatchingSignatures) as info:
        verify_case(
            fixtures_dir,
            "dir-img-cosign-key-rekor-valid",
            "cosign2.pub",
            rekor_policy(fixtures_dir, "cosign.pub"),
        )
    assert isinstance(info.value.failures[0], TlogInvalid)


def test_rsa_rekor_key_is_refused(fixtures_dir: Path) -> None:
    # Upstream uses an RSA key as a wrong Rekor key: it is not the log that signed the SET
    # (and a SET is an ECDSA signature), so the signature has no valid log entry.
    with pytest.raises(NoMatchingSignatures, match="untrusted log"):
        verify_case(
            fixtures_dir,
            "dir-img-cosign-key-rekor-valid",
            "cosign2.pub",
            rekor_policy(fixtures_dir, "some-rsa-key.pub"),
        )


def test_key_rekor_wrong_signing_key(fixtures_dir: Path) -> None:
    with pytest.raises(NoMatchingSignatures):
        verify_case(
            fixtures_dir, "dir-img-cosign-key-rekor-valid", "cosign.pub", rekor_policy(fixtures_dir)
        )


def test_key_rekor_bundle_is_for_another_signature(fixtures_dir: Path) -> None:
    """A valid SET about another entry must not vouch for this layer (CVE-2022-36056 class)."""
    case = fixtures_dir / "dir-img-cosign-key-rekor-valid"
    other_bundle = (fixtures_dir / "rekor-set").read_text()
    with pytest.raises(NoMatchingSignatures) as info:
        verify_signature_set(
            _with_annotations(case, bundle=other_bundle),
            verifiers=[key(fixtures_dir, "cosign2.pub")],
            image_digest=digest_of(case),
            tlog=rekor_policy(fixtures_dir),
        )
    assert isinstance(info.value.failures[0], TlogInvalid)


def test_mixed_accepts_the_valid_one(fixtures_dir: Path) -> None:
    verified = verify_case(fixtures_dir, "dir-img-cosign-mixed")
    assert len(verified) == 1
    valid_payload = layers_of(fixtures_dir / "dir-img-cosign-valid")[0].payload
    assert verified[0].thing is not None
    assert verified[0].thing.payload == valid_payload


def test_modified_manifest_is_digest_mismatch(fixtures_dir: Path) -> None:
    with pytest.raises(NoMatchingSignatures) as info:
        verify_case(fixtures_dir, "dir-img-cosign-modified-manifest")
    assert isinstance(info.value.failures[0], DigestMismatch)
    assert info.value.reason == "digest-mismatch"


def test_manifest_digest_error_is_rejected(fixtures_dir: Path) -> None:
    with pytest.raises(NoMatchingSignatures) as info:
        verify_case(fixtures_dir, "dir-img-cosign-manifest-digest-error")
    assert isinstance(info.value.failures[0], DigestMismatch)


def test_no_manifest_case_has_only_a_signature(fixtures_dir: Path) -> None:
    case = fixtures_dir / "dir-img-cosign-no-manifest"
    assert not (case / "manifest.json").exists()
    (layer,) = layers_of(case)
    # Without the image manifest there is no digest to check against: any digest fails.
    with pytest.raises(NoMatchingSignatures):
        verify_signature_set(
            [layer],
            verifiers=[key(fixtures_dir, "cosign.pub")],
            image_digest="sha256:" + "0" * 64,
            tlog=IGNORE_TLOG,
        )


def test_other_attachment_is_not_a_signature(fixtures_dir: Path) -> None:
    with pytest.raises(NoSignaturesFound):
        verify_case(fixtures_dir, "dir-img-cosign-other-attachment")


def test_unknown_key_is_rejected(fixtures_dir: Path) -> None:
    layer = load_signature_file(fixtures_dir / "unknown-cosign-key.signature")
    payload = parse_payload(layer.payload)
    with pytest.raises(NoMatchingSignatures) as info:
        verify_signature_set(
            [layer],
            verifiers=[key(fixtures_dir, "cosign.pub")],
            image_digest=payload.manifest_digest,
            tlog=IGNORE_TLOG,
        )
    assert isinstance(info.value.failures[0], SignatureInvalid)
    assert info.value.exit_code == 12


def test_key_rotation_window_any_key_matches(fixtures_dir: Path) -> None:
    directory = fixtures_dir / "dir-img-cosign-valid"
    (sig,) = verify_signature_set(
        layers_of(directory),
        verifiers=[key(fixtures_dir, "cosign2.pub"), key(fixtures_dir, "cosign.pub")],
        image_digest=digest_of(directory),
        tlog=IGNORE_TLOG,
    )
    assert [a.name for a in sig.accepted] == ["key1"]


@pytest.mark.parametrize("case", ["dir-img-cosign-valid-2", "dir-img-cosign-mixed"])
def test_rebuilt_manifest_round_trips(fixtures_dir: Path, case: str) -> None:
    layers = layers_of(fixtures_dir / case)
    manifest, config = build_attachment_manifest(layers)
    descriptors = parse_attachment_manifest(manifest, max_layers=1000)
    assert [d.digest for d in descriptors] == [layer.digest for layer in layers]
    assert json.loads(config)["rootfs"]["diff_ids"] == [layer.digest for layer in layers]
    assert len(json.loads(config)["history"]) == len(layers)


# --- keyless cases: only the transparency-log part is in scope ------------------------------


def test_fulcio_rekor_valid_set_and_bundle(fixtures_dir: Path) -> None:
    (layer,) = layers_of(fixtures_dir / "dir-img-cosign-fulcio-rekor-valid")
    rekor = RekorKey.from_pem((fixtures_dir / "rekor.pub").read_bytes())
    assert rekor.log_id_hex == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    (entry,) = verified_log_entries(layer, [rekor])
    assert entry.integrated_time is not None
    assert int(entry.integrated_time.timestamp()) == 1674247893
    assert entry.body.kind == "hashedrekord"


def _loose_layer(fixtures_dir: Path, payload: bytes) -> SignatureLayer:
    return SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE,
        payload,
        {
            SIGNATURE_ANNOTATION: (fixtures_dir / "rekor-sig").read_text().strip(),
            CERTIFICATE_ANNOTATION: (fixtures_dir / "fulcio-cert").read_text(),
            BUNDLE_ANNOTATION: (fixtures_dir / "rekor-set").read_text(),
        },
    )


def test_loose_rekor_files_set(fixtures_dir: Path) -> None:
    rekor = RekorKey.from_pem((fixtures_dir / "rekor.pub").read_bytes())
    payload = (fixtures_dir / "rekor-payload").read_bytes()
    (entry,) = verified_log_entries(_loose_layer(fixtures_dir, payload), [rekor])
    assert entry.integrated_time is not None
    assert int(entry.integrated_time.timestamp()) == 1670870899
    assert entry.body.data_digest == ("sha256", hashlib.sha256(payload).digest())
    with pytest.raises(TlogInvalid, match="another artifact"):
        verified_log_entries(_loose_layer(fixtures_dir, b"a different payload"), [rekor])
    wrong = RekorKey.from_pem((fixtures_dir / "cosign.pub").read_bytes())
    with pytest.raises(TlogInvalid, match="untrusted log"):
        verified_log_entries(_loose_layer(fixtures_dir, payload), [wrong])


def test_pki_signature_wrapped_at_76_columns_verifies_with_the_leaf_key(
    fixtures_dir: Path,
) -> None:
    # The BYO-PKI signature annotation is base64 wrapped at 76 columns; Go (and so cosign)
    # ignores the line breaks. Checked here with the leaf's own key: the certificate path is
    # the keyless verifier's.
    from cryptography import x509

    directory = fixtures_dir / "dir-img-cosign-pki-valid"
    (layer,) = layers_of(directory)
    assert "\n" in layer.annotations[SIGNATURE_ANNOTATION]
    leaf = x509.load_pem_x509_certificate(layer.annotations[CERTIFICATE_ANNOTATION].encode())
    leaf_pem = leaf.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (sig,) = verify_signature_set(
        [layer],
        verifiers=[TestVerifier(leaf_pem)],
        image_digest=digest_of(directory),
        tlog=IGNORE_TLOG,
    )
    assert sig.ok

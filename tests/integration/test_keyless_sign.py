"""Keyless signing end to end: loopback Fulcio, Rekor and TSA, the real docker-registry.

What sealgate stores is checked by two independent verifiers: sigstore-python's ``Verifier``
(bundles, and the legacy layout rebuilt into a bundle with the entry read back from Rekor) and
sealgate's own pure building blocks composed as the interop drivers do.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sigstore.models import Bundle
from sigstore.models import TrustedRoot as SigstorePythonRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

from sealgate.checks.signed import public_key_der
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    RFC3161_ANNOTATION,
    SIGNATURE_ANNOTATION,
)
from sealgate.formats.intoto import parse_statement
from sealgate.formats.rekor import RekorBundle
from sealgate.formats.rekor_api import parse_log_entry
from sealgate.formats.rekor_body import parse_rekor_body
from sealgate.formats.sigstore_bundle_writer import build_sigstore_bundle
from sealgate.oci import SIGSTORE_BUNDLE, Reference, RegistryClient
from sealgate.sigstore_checks import IdentityPolicy, verify_rfc3161_timestamp
from sealgate.trust import TrustedRoot, parse_trusted_root
from sealgate.workflows.attachments import fetch_attachment_layers
from sealgate.workflows.targets import attachment_ref
from tests.integration.conftest import RunningRegistry
from tests.interop.keyless_driver import verify_bundle
from tests.interop.legacy_keyless_driver import LegacySignature, verify_legacy_keyless
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image
from tests.support.sigstore_services import TEST_EMAIL, SigstoreServices


def _image(client: RegistryClient, registry: RunningRegistry, repo: str) -> Reference:
    ref = registry.ref(repo, "v1")
    digest = push_image(client, ref, build_image())
    return ref.with_digest(digest)


def _services_flags(services: SigstoreServices, root: Path, *, tsa: bool = True) -> list[str]:
    flags = ["--fulcio-url", services.fulcio_url, "--rekor-url", services.rekor_url]
    flags += ["--trusted-root", str(root), "--yes"]
    return [*flags, "--timestamp-server-url", services.tsa_url] if tsa else flags


def _sign(
    registry: RunningRegistry,
    image: Reference,
    *extra: str,
    env: dict[str, str] | None = None,
    home: Path,
) -> Result:
    args = ["sign", "--insecure-registry", registry.host, *extra, str(image)]
    return run(args, env or {}, home=str(home))


@pytest.fixture
def root_file(sigstore_services: SigstoreServices, tmp_path: Path) -> Path:
    return sigstore_services.write_trusted_root(tmp_path)


def _roots(services: SigstoreServices, root_file: Path) -> tuple[TrustedRoot, Verifier]:
    ours = parse_trusted_root(services.trusted_root_json())
    theirs = Verifier(trusted_root=SigstorePythonRoot.from_file(str(root_file)))
    return ours, theirs


def _identity(services: SigstoreServices) -> tuple[IdentityPolicy, Identity]:
    issuer = services.oidc.email.issuer
    return IdentityPolicy(identity=TEST_EMAIL, issuer=issuer), Identity(
        identity=TEST_EMAIL, issuer=issuer
    )


def _rebuilt_bundle(
    services: SigstoreServices, layer_notes: Mapping[str, str], payload: bytes
) -> str:
    """A v0.3 bundle from a legacy layer and its Rekor entry read back with a proof."""
    annotation = RekorBundle.parse(layer_notes[BUNDLE_ANNOTATION])
    answer = services.rekor.answer(annotation.log_index)
    leaf = x509.load_pem_x509_certificate(layer_notes[CERTIFICATE_ANNOTATION].encode())
    signature = base64.b64decode(layer_notes[SIGNATURE_ANNOTATION])
    raw = build_sigstore_bundle(
        certificate_der=leaf.public_bytes(Encoding.DER),
        tlog_entries=[parse_log_entry(answer)],
        message_signature=(signature, hashlib.sha256(payload).digest()),
    )
    return raw.decode()


def test_keyless_sign_legacy_layout(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    root_file: Path,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    token = sigstore_services.mint_token()
    flags = _services_flags(sigstore_services, root_file)
    result = _sign(registry, image, "--identity-token", token, *flags, home=tmp_path)
    assert result.code == 0, result.err
    assert token not in result.err + result.out
    assert f"Signing as {TEST_EMAIL}" in result.err
    layers = fetch_attachment_layers(client, attachment_ref(image, "sig"))
    assert len(layers) == 1
    notes = layers[0].annotations
    assert {CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, BUNDLE_ANNOTATION, RFC3161_ANNOTATION} <= set(
        notes
    )
    # cosign's RekorBundle JSON layout, key for key.
    bundle_doc = json.loads(notes[BUNDLE_ANNOTATION])
    assert list(bundle_doc) == ["SignedEntryTimestamp", "Payload"]
    assert list(bundle_doc["Payload"]) == ["body", "integratedTime", "logIndex", "logID"]
    ours, theirs = _roots(sigstore_services, root_file)
    policy, identity = _identity(sigstore_services)
    verify_legacy_keyless(
        LegacySignature.from_layer(layers[0]),
        ours,
        policy,
        image_digest=image.digest,
        reference_time=datetime.now(UTC),
    )
    stamp = base64.b64decode(json.loads(notes[RFC3161_ANNOTATION])["SignedRFC3161Timestamp"])
    signature = base64.b64decode(notes[SIGNATURE_ANNOTATION])
    verify_rfc3161_timestamp(stamp, signature, ours.timestamp_authorities)
    rebuilt = _rebuilt_bundle(sigstore_services, notes, layers[0].payload)
    theirs.verify_artifact(layers[0].payload, Bundle.from_json(rebuilt), identity)


def test_keyless_sign_bundle_referrer(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    root_file: Path,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    flags = _services_flags(sigstore_services, root_file)
    out = tmp_path / "bundle.json"
    result = _sign(
        registry,
        image,
        "--new-bundle-format",
        "--bundle",
        str(out),
        "-a",
        "team=payments",
        *flags,
        env={"SIGSTORE_ID_TOKEN": sigstore_services.mint_token()},
        home=tmp_path,
    )
    assert result.code == 0, result.err
    assert client.get_manifest_or_none(attachment_ref(image, "sig")) is None
    referrers = client.referrers(image, artifact_type=SIGSTORE_BUNDLE)
    assert len(referrers) == 1
    assert referrers[0].annotations is not None
    assert referrers[0].annotations["dev.sigstore.bundle.predicateType"] == (
        "https://sigstore.dev/cosign/sign/v1"
    )
    manifest = json.loads(client.get_manifest(image.with_digest(referrers[0].digest)).data)
    assert manifest["subject"]["digest"] == image.digest
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert manifest["annotations"]["dev.sigstore.bundle.content"] == "dsse-envelope"
    layer = manifest["layers"][0]
    raw = client.get_blob(image, layer["digest"], max_bytes=1 << 20)
    assert raw == out.read_bytes()
    ours, theirs = _roots(sigstore_services, root_file)
    policy, identity = _identity(sigstore_services)
    payload_type, payload = theirs.verify_dsse(Bundle.from_json(raw), identity)
    statement = parse_statement(payload)
    assert payload_type == "application/vnd.in-toto+json"
    assert statement.has_subject_digest(str(image.digest))
    assert statement.subjects[0].annotations == {"team": "payments"}
    digest_hex = str(image.digest).removeprefix("sha256:")
    outcome = verify_bundle(raw, b"", ours, policy=policy, subject_sha256=digest_hex)
    assert len(outcome.times) == 2  # the SET and the RFC 3161 timestamp


def test_keyless_attest_both_layouts(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    root_file: Path,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    predicate = tmp_path / "predicate.json"
    predicate.write_text('{"buildType": "test"}')
    flags = _services_flags(sigstore_services, root_file)
    env = {"SIGSTORE_ID_TOKEN": sigstore_services.mint_token()}
    base = ["attest", "--insecure-registry", registry.host, "--type", "slsaprovenance1"]
    for layout in ([], ["--new-bundle-format"]):
        args = [*base, "--predicate", str(predicate), *flags, *layout, str(image)]
        result = run(args, env, home=str(tmp_path))
        assert result.code == 0, result.err
    layers = fetch_attachment_layers(client, attachment_ref(image, "att"))
    assert len(layers) == 1 and BUNDLE_ANNOTATION in layers[0].annotations
    ours, theirs = _roots(sigstore_services, root_file)
    policy, identity = _identity(sigstore_services)
    referrers = client.referrers(image, artifact_type=SIGSTORE_BUNDLE)
    manifest = json.loads(client.get_manifest(image.with_digest(referrers[0].digest)).data)
    raw = client.get_blob(image, manifest["layers"][0]["digest"], max_bytes=1 << 20)
    _, payload = theirs.verify_dsse(Bundle.from_json(raw), identity)
    assert parse_statement(payload).predicate_type == "https://slsa.dev/provenance/v1"
    verify_bundle(raw, b"", ours, policy=policy, subject_sha256=str(image.digest)[7:])


def test_key_signing_can_log_to_rekor(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    root_file: Path,
    tmp_path: Path,
) -> None:
    from tests.integration.conftest import PASSWORD

    image = _image(client, registry, repo)
    args = [
        "--key",
        str(keys["first"]),
        "--tlog-upload",
        "--rekor-url",
        sigstore_services.rekor_url,
    ]
    result = _sign(
        registry,
        image,
        *args,
        "--trusted-root",
        str(root_file),
        env={"COSIGN_PASSWORD": PASSWORD},
        home=tmp_path,
    )
    assert result.code == 0, result.err
    notes = fetch_attachment_layers(client, attachment_ref(image, "sig"))[0].annotations
    assert BUNDLE_ANNOTATION in notes and CERTIFICATE_ANNOTATION not in notes
    bundle = RekorBundle.parse(notes[BUNDLE_ANNOTATION])
    entry = parse_rekor_body(base64.b64decode(bundle.body))
    assert entry.kind == "hashedrekord"
    assert entry.signatures[0].verifier_der == public_key_der(keys["first.pub"].read_bytes())


def test_sign_blob_keyless_bundle_verifies_with_sigstore_python(
    sigstore_services: SigstoreServices, root_file: Path, tmp_path: Path
) -> None:
    blob = tmp_path / "artifact.tar"
    blob.write_bytes(b"release artifact" * 100)
    bundle = tmp_path / "artifact.sigstore.json"
    cert = tmp_path / "cert.pem"
    args = [
        "sign-blob",
        "--new-bundle-format",
        "--bundle",
        str(bundle),
        "--output-certificate",
        str(cert),
        *_services_flags(sigstore_services, root_file),
        str(blob),
    ]
    result = run(args, {"SIGSTORE_ID_TOKEN": sigstore_services.mint_token()}, home=str(tmp_path))
    assert result.code == 0, result.err
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    ours, theirs = _roots(sigstore_services, root_file)
    policy, identity = _identity(sigstore_services)
    theirs.verify_artifact(blob.read_bytes(), Bundle.from_json(bundle.read_bytes()), identity)
    verify_bundle(bundle.read_bytes(), blob.read_bytes(), ours, policy=policy)


def test_attest_blob_legacy_bundle(
    sigstore_services: SigstoreServices, root_file: Path, tmp_path: Path
) -> None:
    blob = tmp_path / "artifact.bin"
    blob.write_bytes(b"\x00\x01")
    predicate = tmp_path / "p.json"
    predicate.write_text("{}")
    bundle = tmp_path / "legacy.json"
    args = [
        "attest-blob",
        "--predicate",
        str(predicate),
        "--type",
        "https://example.com/p/v1",
        "--bundle",
        str(bundle),
        *_services_flags(sigstore_services, root_file, tsa=False),
        str(blob),
    ]
    result = run(args, {"SIGSTORE_ID_TOKEN": sigstore_services.mint_token()}, home=str(tmp_path))
    assert result.code == 0, result.err
    doc = json.loads(bundle.read_bytes())
    assert list(doc) == ["base64Signature", "cert", "rekorBundle"]
    envelope = json.loads(base64.b64decode(doc["base64Signature"]))
    statement = parse_statement(base64.b64decode(envelope["payload"]))
    assert statement.subjects[0].name == "artifact.bin"
    logged = RekorBundle.parse(json.dumps(doc["rekorBundle"]))
    assert parse_rekor_body(base64.b64decode(logged.body)).kind == "dsse"

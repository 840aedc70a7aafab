"""attest / verify-attestation / copy / tree / download, and skopeo as a layout peer."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import SSlibKey

from sealgate.oci import Reference, RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.integration.test_cli_sign_verify import pushed_image, sign, verify
from tests.support.cli import Result, run
from tests.support.images import build_index, push_index

SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "components": [
        {
            "type": "library",
            "name": "openssl",
            "version": "3.0.11",
            "licenses": [{"license": {"id": "Apache-2.0"}}],
        },
    ],
}


def attest(registry: RunningRegistry, key: Path, image: str, *extra: str, home: Path) -> Result:
    return run(
        ["attest", "--key", str(key), "--insecure-registry", registry.host, *extra, image],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(home),
    )


def verify_att(registry: RunningRegistry, pub: Path, image: str, *extra: str, home: Path) -> Result:
    return run(
        [
            "verify-attestation",
            "--key",
            str(pub),
            "--insecure-ignore-tlog",
            "--insecure-registry",
            registry.host,
            *extra,
            image,
        ],
        home=str(home),
    )


@pytest.fixture
def sbom_file(tmp_path: Path) -> Path:
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(SBOM))
    return path


def test_attest_cyclonedx_and_verify_with_conditions(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    sbom_file: Path,
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    done = attest(
        registry,
        keys["first"],
        image,
        "--type",
        "cyclonedx",
        "--predicate",
        str(sbom_file),
        home=tmp_path,
    )
    assert done.code == 0, done.err
    ok = verify_att(
        registry,
        keys["first.pub"],
        image,
        "--type",
        "cyclonedx",
        "--condition",
        "length(predicate.components) > `0`",
        home=tmp_path,
    )
    assert ok.code == 0, ok.err
    [line] = ok.out.strip().splitlines()
    envelope = json.loads(line)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    # cosign's default --type is custom: a CycloneDX attestation does not match it.
    default = verify_att(registry, keys["first.pub"], image, home=tmp_path)
    assert default.code == 1
    failing = verify_att(
        registry,
        keys["first.pub"],
        image,
        "--type",
        "cyclonedx",
        "--condition",
        "!contains(predicate.components[].licenses[].license.id, 'Apache-2.0')",
        home=tmp_path,
    )
    assert failing.code == 1 and "condition" in failing.err
    wrong_key = verify_att(
        registry, keys["second.pub"], image, "--type", "cyclonedx", home=tmp_path
    )
    assert wrong_key.code == 1
    typo = verify_att(
        registry,
        keys["first.pub"],
        image,
        "--type",
        "cyclonedx",
        "--condition",
        "length(",
        home=tmp_path,
    )
    assert typo.code == 64


def test_our_dsse_envelope_verifies_with_securesystemslib(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    sbom_file: Path,
    tmp_path: Path,
) -> None:
    """An independent DSSE implementation accepts the envelope we stored in the registry."""
    image = pushed_image(client, registry, repo)
    assert (
        attest(
            registry,
            keys["first"],
            image,
            "--type",
            "cyclonedx",
            "--predicate",
            str(sbom_file),
            home=tmp_path,
        ).code
        == 0
    )
    downloaded = run(
        ["download", "attestation", "--insecure-registry", registry.host, image], home=str(tmp_path)
    )
    assert downloaded.code == 0
    raw = json.loads(downloaded.out.strip().splitlines()[0])
    for signature in raw["signatures"]:
        signature["keyid"] = "sealgate-test"
    envelope = SslibEnvelope.from_dict(raw)
    public_key = load_pem_public_key(keys["first.pub"].read_bytes())
    key = SSlibKey.from_crypto(public_key, keyid="sealgate-test")
    verified = envelope.verify([key], 1)
    assert "sealgate-test" in verified
    statement = json.loads(base64.b64decode(raw["payload"]))
    digest = client.resolve(Reference.parse(image)).digest
    assert statement["subject"][0]["digest"]["sha256"] == digest.removeprefix("sha256:")
    assert statement["predicateType"] == "https://cyclonedx.org/bom"


def test_attest_rejects_bad_predicate_and_blocking_scan(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    bad = tmp_path / "bad.json"
    bad.write_text("not json {")
    result = attest(
        registry,
        keys["first"],
        image,
        "--type",
        "cyclonedx",
        "--predicate",
        str(bad),
        home=tmp_path,
    )
    assert result.code == 65 and "JSON" in result.err
    trivy = tmp_path / "trivy.json"
    trivy.write_text(
        json.dumps(
            {
                "SchemaVersion": 2,
                "Results": [
                    {
                        "Target": "x",
                        "Vulnerabilities": [
                            {
                                "VulnerabilityID": "CVE-2024-0001",
                                "PkgName": "openssl",
                                "InstalledVersion": "3.0.1",
                                "Severity": "CRITICAL",
                            }
                        ],
                    }
                ],
            }
        )
    )
    good = tmp_path / "bom.json"
    good.write_text(json.dumps(SBOM))
    blocked = attest(
        registry,
        keys["first"],
        image,
        "--type",
        "cyclonedx",
        "--predicate",
        str(good),
        "--scan-report",
        str(trivy),
        "--fail-on",
        "critical",
        home=tmp_path,
    )
    assert blocked.code == 1 and "CVE-2024-0001" in blocked.err
    # Nothing was attested by mistake.
    assert (
        verify_att(registry, keys["first.pub"], image, "--type", "cyclonedx", home=tmp_path).code
        == 1
    )
    grype = tmp_path / "grype.json"
    digest = client.resolve(Reference.parse(image)).digest
    grype.write_text(
        json.dumps(
            {
                "matches": [
                    {
                        "vulnerability": {"id": "GHSA-xxxx", "severity": "Medium"},
                        "artifact": {"name": "left-pad", "version": "1.0.0"},
                    }
                ],
                "source": {"type": "image", "target": {"manifestDigest": digest}},
            }
        )
    )
    allowed = attest(
        registry,
        keys["first"],
        image,
        "--type",
        "cyclonedx",
        "--predicate",
        str(good),
        "--scan-report",
        str(grype),
        "--fail-on",
        "HIGH",
        home=tmp_path,
    )
    assert allowed.code == 0, allowed.err
    assert (
        verify_att(registry, keys["first.pub"], image, "--type", "cyclonedx", home=tmp_path).code
        == 0
    )


def test_copy_carries_signatures_and_attestations_across_repositories(
    registry: RunningRegistry,
    tls_registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    sbom_file: Path,
    tmp_path: Path,
) -> None:
    built = build_index()
    src = registry.ref(repo, "multi")
    push_index(client, src, built)
    assert sign(registry, keys["first"], str(src), "--recursive", home=tmp_path).code == 0
    assert (
        attest(
            registry,
            keys["first"],
            str(src),
            "--type",
            "cyclonedx",
            "--predicate",
            str(sbom_file),
            home=tmp_path,
        ).code
        == 0
    )
    dst = f"{tls_registry.host}/mirror/{repo.rsplit('/', maxsplit=1)[-1]}:multi"
    flags = ["--insecure-registry", registry.host, "--registry-cacert", str(tls_registry.ca_bundle)]
    copied = run(["copy", *flags, str(src), dst], home=str(tmp_path))
    assert copied.code == 0, copied.err
    again = run(["copy", *flags, str(src), dst], home=str(tmp_path))
    assert again.code == 0 and "Already present" in again.err
    for target in [dst, *(f"{dst.rsplit(':', 1)[0]}@{i.digest}" for i in built.images)]:
        result = run(
            ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog", *flags, target],
            home=str(tmp_path),
        )
        assert result.code == 0, (target, result.err)
    att = run(
        [
            "verify-attestation",
            "--key",
            str(keys["first.pub"]),
            "--insecure-ignore-tlog",
            "--type",
            "cyclonedx",
            *flags,
            dst,
        ],
        home=str(tmp_path),
    )
    assert att.code == 0, att.err
    tree = run(["tree", *flags, dst], home=str(tmp_path))
    assert "Signatures for an image tag" in tree.out and "Attestations" in tree.out


def test_copy_refuses_to_overwrite_a_different_image_without_force(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    first = pushed_image(client, registry, repo, "a")
    second = pushed_image(client, registry, repo, "b")
    flags = ["--insecure-registry", registry.host]
    dst = f"{registry.host}/{repo}-copy:x"
    assert run(["copy", *flags, first, dst], home=str(tmp_path)).code == 0
    refused = run(["copy", *flags, second, dst], home=str(tmp_path))
    assert refused.code == 64 and "-f" in refused.err
    assert run(["copy", "-f", *flags, second, dst], home=str(tmp_path)).code == 0


def test_skopeo_copies_image_and_sig_tag_and_copy_still_verifies(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    """skopeo (a layout peer, not a verifier) moves our .sig tag; sealgate still verifies it."""
    image = pushed_image(client, registry, repo)
    assert sign(registry, keys["first"], image, home=tmp_path).code == 0
    digest = client.resolve(Reference.parse(image)).digest
    sig_tag = digest.replace(":", "-") + ".sig"
    dest_repo = f"{registry.host}/{repo}-skopeo"
    for src, dst in [
        (f"{registry.host}/{repo}@{digest}", f"{dest_repo}:v1"),
        (f"{registry.host}/{repo}:{sig_tag}", f"{dest_repo}:{sig_tag}"),
    ]:
        copied = subprocess.run(
            [
                "skopeo",
                "copy",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--preserve-digests",
                f"docker://{src}",
                f"docker://{dst}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert copied.returncode == 0, copied.stderr
    result = verify(registry, [keys["first.pub"]], f"{dest_repo}:v1", home=tmp_path)
    assert result.code == 0, result.err


def test_conditions_apply_to_every_attestation_not_just_one(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    """An old passing SBOM attestation must not hide a newer failing one (cosign --policy)."""
    image = pushed_image(client, registry, repo)
    good, empty = tmp_path / "good.json", tmp_path / "empty.json"
    good.write_text(json.dumps(SBOM))
    empty.write_text(json.dumps({**SBOM, "components": []}))
    condition = ["--type", "cyclonedx", "--condition", "length(predicate.components) > `0`"]
    assert (
        attest(
            registry,
            keys["first"],
            image,
            "--type",
            "cyclonedx",
            "--predicate",
            str(good),
            home=tmp_path,
        ).code
        == 0
    )
    assert verify_att(registry, keys["first.pub"], image, *condition, home=tmp_path).code == 0
    assert (
        attest(
            registry,
            keys["first"],
            image,
            "--type",
            "cyclonedx",
            "--predicate",
            str(empty),
            home=tmp_path,
        ).code
        == 0
    )
    failing = verify_att(registry, keys["first.pub"], image, *condition, home=tmp_path)
    assert failing.code == 1
    assert "1 of 2" in failing.err

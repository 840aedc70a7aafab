"""A scan report vouches for the image it names, and an SBOM that misses packages says so.

A clean Trivy report of another image used to let a vulnerable image be signed; a cataloger
that crashed was a warning and the SBOM was attested as if complete.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from sealgate.cli.main import build_parser
from sealgate.oci import Reference, RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.cli import Result, run
from tests.support.images import (
    build_image,
    build_index,
    image_from_layers,
    make_layer,
    push_image,
    push_index,
)


def _sign(registry: RunningRegistry, keys: Any, image: str, *extra: str, home: Path) -> Result:
    return run(
        ["sign", "--key", str(keys["first"]), "--insecure-registry", registry.host, *extra, image],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(home),
    )


def _signed(registry: RunningRegistry, keys: Any, image: str, home: Path) -> bool:
    result = run(
        [
            "verify",
            "--key",
            str(keys["first.pub"]),
            "--insecure-ignore-tlog",
            "--insecure-registry",
            registry.host,
            image,
        ],
        home=str(home),
    )
    assert result.code in (0, 10), result.err
    return result.code == 0


def _trivy(path: Path, *, repo_digests: list[str], image_id: str | None = None) -> Path:
    metadata: dict[str, Any] = {"RepoDigests": repo_digests}
    if image_id:
        metadata["ImageID"] = image_id
    path.write_text(
        json.dumps(
            {
                "SchemaVersion": 2,
                "ArtifactName": "registry.example/app:1.0",
                "ArtifactType": "container_image",
                "Metadata": metadata,
                "Results": [{"Target": "app (debian 12)", "Vulnerabilities": []}],
            }
        )
    )
    return path


def _help(command: str) -> str:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return str(subparsers.choices[command].format_help())


def _one_line(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    return lines[0]


def test_a_clean_report_of_another_image_does_not_sign_this_one(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    vulnerable = registry.ref(repo, "vulnerable")
    push_image(client, vulnerable, build_image())
    clean_digest = push_image(client, registry.ref(repo, "clean"), build_image())
    report = _trivy(
        tmp_path / "trivy.json", repo_digests=[f"{registry.host}/{repo}@{clean_digest}"]
    )
    refused = _sign(
        registry, keys, str(vulnerable), "--scan-report", str(report), "--fail-on", "HIGH",
        home=tmp_path,
    )  # fmt: skip
    assert refused.code == 65
    line = _one_line(refused)
    assert f"is about {clean_digest}, not " in line and "refusing it" in line
    assert not _signed(registry, keys, str(vulnerable), tmp_path)
    # --scan-report-unbound does not override a report that names another image.
    still = _sign(
        registry, keys, str(vulnerable), "--scan-report", str(report), "--scan-report-unbound",
        home=tmp_path,
    )  # fmt: skip
    assert still.code == 65
    assert not _signed(registry, keys, str(vulnerable), tmp_path)


def test_a_report_naming_the_image_signs_it(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    ref = registry.ref(repo, "v1")
    digest = push_image(client, ref, build_image())
    # Scanned in another registry: digests name content, wherever it is stored.
    report = _trivy(tmp_path / "trivy.json", repo_digests=[f"staging.example/app@{digest}"])
    signed = _sign(registry, keys, str(ref), "--scan-report", str(report), home=tmp_path)
    assert signed.code == 0, signed.err
    assert _signed(registry, keys, str(ref), tmp_path)


def test_an_image_id_binds_when_no_manifest_digest_does(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    built = build_image()
    ref = registry.ref(repo, "v1")
    push_image(client, ref, built)
    config_digest = json.loads(built.manifest)["config"]["digest"]
    report = tmp_path / "grype.json"
    target = {"userInput": "app:1.0", "imageID": config_digest, "repoDigests": []}
    report.write_text(json.dumps({"matches": [], "source": {"type": "image", "target": target}}))
    signed = _sign(registry, keys, str(ref), "--scan-report", str(report), home=tmp_path)
    assert signed.code == 0, signed.err
    other = _trivy(tmp_path / "other.json", repo_digests=[], image_id="sha256:" + "e" * 64)
    refused = _sign(registry, keys, str(ref), "--scan-report", str(other), home=tmp_path)
    assert refused.code == 65 and "is about sha256:eeee" in refused.err


def test_a_report_of_one_platform_binds_its_index(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    built = build_index()
    ref = registry.ref(repo, "multi")
    push_index(client, ref, built)
    report = tmp_path / "grype.json"
    target = {"manifestDigest": built.images[1].digest}  # grype scans one platform
    report.write_text(json.dumps({"matches": [], "source": {"type": "image", "target": target}}))
    signed = _sign(registry, keys, str(ref), "--scan-report", str(report), home=tmp_path)
    assert signed.code == 0, signed.err


def test_a_report_naming_no_image_needs_an_explicit_flag(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    ref = registry.ref(repo, "v1")
    push_image(client, ref, build_image())
    report = tmp_path / "fs-scan.json"
    report.write_text(json.dumps({"SchemaVersion": 2, "ArtifactType": "filesystem", "Results": []}))
    refused = _sign(registry, keys, str(ref), "--scan-report", str(report), home=tmp_path)
    assert refused.code == 65
    assert "names no image digest" in _one_line(refused)
    assert "--scan-report-unbound" in refused.err
    assert not _signed(registry, keys, str(ref), tmp_path)
    allowed = _sign(
        registry, keys, str(ref), "--scan-report", str(report), "--scan-report-unbound",
        home=tmp_path,
    )  # fmt: skip
    assert allowed.code == 0, allowed.err
    assert "names no image digest; used as --scan-report-unbound says" in allowed.err
    assert _signed(registry, keys, str(ref), tmp_path)
    usage = _sign(registry, keys, str(ref), "--scan-report-unbound", home=tmp_path)
    assert usage.code == 64
    for command in ("sign", "attest"):
        assert "--scan-report-unbound" in _help(command)


@pytest.fixture
def crashing_npm_cataloger(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(raw: bytes) -> list[Any]:
        raise RuntimeError("cataloger bug")

    monkeypatch.setattr("sealgate.sbom.catalog.parse_package_json", crash)


@pytest.mark.usefixtures("crashing_npm_cataloger")
def test_attest_sbom_refuses_an_incomplete_sbom_unless_allowed(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    ref = registry.ref(repo, "v1")
    package = json.dumps({"name": "express", "version": "4.18.2"}).encode()
    push_image(
        client,
        ref,
        image_from_layers([make_layer({"app/node_modules/express/package.json": package})]),
    )
    flags = ["attest", "--key", str(keys["first"]), "--sbom", "--insecure-registry", registry.host]
    refused = run([*flags, str(ref)], {"COSIGN_PASSWORD": PASSWORD}, home=str(tmp_path))
    assert refused.code == 3
    errors = [line for line in refused.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in refused.err
    assert "is incomplete: app/node_modules/express/package.json" in errors[0]
    assert "--allow-incomplete-sbom" in errors[0]
    digest = client.resolve(ref).digest
    att = Reference(ref.registry, ref.repository, tag=f"sha256-{digest[7:]}.att")
    assert client.get_manifest_or_none(att) is None
    allowed = run(
        [*flags, "--allow-incomplete-sbom", str(ref)],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(tmp_path),
    )
    assert allowed.code == 0, allowed.err
    assert "attesting an incomplete SBOM" in allowed.err
    downloaded = run(
        ["download", "attestation", "--insecure-registry", registry.host, str(ref)],
        home=str(tmp_path),
    )
    envelope = json.loads(downloaded.out.strip().splitlines()[0])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    compositions = statement["predicate"]["compositions"]
    assert compositions[0]["aggregate"] == "incomplete"

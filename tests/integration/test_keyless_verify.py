"""Keyless round trip through the CLI: what ``sealgate sign`` signs keyless (loopback Fulcio,
Rekor and TSA; both storage layouts), ``sealgate verify``, ``verify-attestation`` and the gate
verify with an identity, and refuse with another.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sealgate.oci import Reference, RegistryClient
from tests.integration.conftest import RunningRegistry
from tests.integration.test_cli_attest_copy import SBOM
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image
from tests.support.sigstore_services import TEST_EMAIL, SigstoreServices


@pytest.fixture
def root_file(sigstore_services: SigstoreServices, tmp_path: Path) -> Path:
    return sigstore_services.write_trusted_root(tmp_path)


def _image(client: RegistryClient, registry: RunningRegistry, repo: str, tag: str) -> Reference:
    ref = registry.ref(repo, tag)
    return ref.with_digest(push_image(client, ref, build_image()))


def _keyless(
    command: str,
    services: SigstoreServices,
    registry: RunningRegistry,
    root: Path,
    home: Path,
    *args: str,
) -> Result:
    flags = ["--identity-token", services.mint_token(), "--fulcio-url", services.fulcio_url]
    flags += ["--rekor-url", services.rekor_url, "--trusted-root", str(root), "--yes"]
    result = run([command, "--insecure-registry", registry.host, *flags, *args], home=str(home))
    assert result.code == 0, result.err
    return result


def _verify(registry: RunningRegistry, root: Path, home: Path, *args: str) -> Result:
    return run(
        ["--insecure-registry", registry.host, "--trusted-root", str(root), *args],
        home=str(home),
    )


@pytest.mark.parametrize("layout", ["legacy", "bundle"])
def test_keyless_signature_verifies_by_identity(
    layout: str,
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    root_file: Path,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo, layout)
    extra = ["--new-bundle-format"] if layout == "bundle" else []
    _keyless("sign", sigstore_services, registry, root_file, tmp_path, *extra, str(image))
    issuer = sigstore_services.oidc.email.issuer
    ok = run(
        [
            "verify",
            "--certificate-identity",
            TEST_EMAIL,
            "--certificate-oidc-issuer",
            issuer,
            "--trusted-root",
            str(root_file),
            "--insecure-registry",
            registry.host,
            str(image),
        ],
        home=str(tmp_path),
    )
    assert ok.code == 0, ok.err
    [element] = json.loads(ok.out)
    assert element["critical"]["image"]["docker-manifest-digest"] == image.digest
    assert element["optional"]["Subject"] == TEST_EMAIL
    assert "certificate authority" in ok.err
    for flags, why in (
        (
            ["--certificate-identity", "mallory@example.com", "--certificate-oidc-issuer", issuer],
            "identity",
        ),
        (
            [
                "--certificate-identity",
                TEST_EMAIL,
                "--certificate-oidc-issuer",
                "https://other.example",
            ],
            "issuer",
        ),
    ):
        refused = run(
            [
                "verify",
                *flags,
                "--trusted-root",
                str(root_file),
                "--insecure-registry",
                registry.host,
                str(image),
            ],
            home=str(tmp_path),
        )
        assert refused.code != 0
        assert why in refused.err
    # Another trust root (the public-good one) does not know the loopback CA or log.
    other = run(
        [
            "verify",
            "--certificate-identity",
            TEST_EMAIL,
            "--certificate-oidc-issuer",
            issuer,
            "--insecure-registry",
            registry.host,
            str(image),
        ],
        home=str(tmp_path),
    )
    assert other.code != 0


def test_keyless_attestation_and_gate_with_identities(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    root_file: Path,
    tmp_path: Path,
) -> None:
    signed = _image(client, registry, repo, "signed")
    unsigned = _image(client, registry, repo, "unsigned")
    sbom = tmp_path / "bom.json"
    sbom.write_text(json.dumps(SBOM))
    _keyless(
        "sign", sigstore_services, registry, root_file, tmp_path, "--new-bundle-format", str(signed)
    )
    _keyless(
        "attest",
        sigstore_services,
        registry,
        root_file,
        tmp_path,
        "--type",
        "cyclonedx",
        "--predicate",
        str(sbom),
        str(signed),
    )
    issuer = sigstore_services.oidc.email.issuer
    attested = run(
        [
            "verify-attestation",
            "--type",
            "cyclonedx",
            "--certificate-identity",
            TEST_EMAIL,
            "--certificate-oidc-issuer",
            issuer,
            "--trusted-root",
            str(root_file),
            "--insecure-registry",
            registry.host,
            str(signed),
        ],
        home=str(tmp_path),
    )
    assert attested.code == 0, attested.err
    assert json.loads(attested.out.splitlines()[0])["payloadType"] == "application/vnd.in-toto+json"
    # The gate, with keyless identities as trusted signers (a sealgate ImagePolicy).
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "sealgate.dev/v1alpha1",
                "kind": "ImagePolicy",
                "metadata": {"name": "ci-keyless"},
                "spec": {
                    "images": [{"glob": f"{registry.host}/**"}],
                    "authorities": [
                        {
                            "name": "ci",
                            "keyless": {"identities": [{"issuer": issuer, "subject": TEST_EMAIL}]},
                        }
                    ],
                    "attestations": [{"predicateType": "cyclonedx"}],
                },
            }
        )
    )
    versions = tmp_path / "versions.yaml"
    versions.write_text(yaml.safe_dump({"signed": str(signed), "unsigned": str(unsigned)}))
    config = tmp_path / "sealgate.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "policies": [str(policy)],
                "insecureRegistries": [registry.host],
                "environments": {"prod": {"versions": str(versions)}},
            }
        )
    )
    gate = run(
        [
            "gate",
            "--env",
            "prod",
            "--config",
            str(config),
            "-o",
            "json",
            "--trusted-root",
            str(root_file),
        ],
        home=str(tmp_path),
    )
    assert "}" in gate.out, gate.err
    report = json.loads(gate.out[: gate.out.rindex("}") + 1])
    verdicts = {img["digest"]: (img["verdict"], img.get("reason")) for img in report["images"]}
    assert verdicts[signed.digest] == ("verified", None), gate.err
    assert verdicts[unsigned.digest][0] == "failed"
    assert gate.code == 2


def test_gate_config_identities_next_to_keys(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    root_file: Path,
    tmp_path: Path,
) -> None:
    legacy = _image(client, registry, repo, "legacy")
    bundle = _image(client, registry, repo, "bundle")
    unsigned = _image(client, registry, repo, "unsigned")
    assert legacy.digest and bundle.digest and unsigned.digest
    _keyless("sign", sigstore_services, registry, root_file, tmp_path, str(legacy))
    _keyless(
        "sign", sigstore_services, registry, root_file, tmp_path, "--new-bundle-format", str(bundle)
    )
    versions = tmp_path / "versions.yaml"
    versions.write_text(yaml.safe_dump({"a": str(legacy), "b": str(bundle), "c": str(unsigned)}))
    issuer = sigstore_services.oidc.email.issuer

    def gate_with(identity: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        config = tmp_path / "sealgate.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "identities": [identity],
                    "trustedRoot": str(root_file),
                    "insecureRegistries": [registry.host],
                    "environments": {"prod": {"versions": str(versions)}},
                }
            )
        )
        result = run(
            ["gate", "--env", "prod", "--config", str(config), "-o", "json"], home=str(tmp_path)
        )
        assert result.code == 2, result.err
        report = json.loads(result.out[: result.out.rindex("}") + 1])
        return {img["digest"]: (img["verdict"], img.get("reason")) for img in report["images"]}

    verdicts = gate_with({"issuer": issuer, "subjectRegExp": "@example\\.com$"})
    assert verdicts[legacy.digest] == ("verified", None)
    assert verdicts[bundle.digest] == ("verified", None)
    assert verdicts[unsigned.digest] == ("failed", "unsigned")
    wrong = gate_with({"issuer": issuer, "subject": "mallory@example.com"})
    assert wrong[legacy.digest] == ("failed", "wrong-identity")
    assert wrong[bundle.digest] == ("failed", "wrong-identity")

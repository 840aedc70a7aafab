"""The deploy gate end to end: staging (softFail) and production against the real registry.

Images: signed + SBOM-attested (passes), unsigned, signed by the wrong key, signed without an
SBOM attestation, and one on a registry that is not there. Exit codes, reports, pins, the
verdict cache and the audited emergency bypass are asserted.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sealgate.oci import Reference, RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.integration.test_cli_attest_copy import SBOM
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image


@dataclass
class Estate:
    config: Path
    images: dict[str, str]
    digests: dict[str, str]
    home: Path


def _sign(registry: RunningRegistry, key: Path, image: str, home: Path) -> None:
    result = run(
        ["sign", "--key", str(key), "--insecure-registry", registry.host, image],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(home),
    )
    assert result.code == 0, result.err


def _attest(registry: RunningRegistry, key: Path, image: str, sbom: Path, home: Path) -> None:
    result = run(
        [
            "attest",
            "--key",
            str(key),
            "--type",
            "cyclonedx",
            "--predicate",
            str(sbom),
            "--insecure-registry",
            registry.host,
            image,
        ],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(home),
    )
    assert result.code == 0, result.err


@pytest.fixture
def estate(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> Estate:
    images, digests = {}, {}
    for name in ("good", "unsigned", "wrongkey", "nosbom"):
        ref = registry.ref(f"{repo}/{name}", "1.0")
        push_image(client, ref, build_image(layers=1))
        images[name] = str(ref)
        digests[name] = client.resolve(ref).digest
    sbom = tmp_path / "bom.json"
    sbom.write_text(json.dumps(SBOM))
    _sign(registry, keys["first"], images["good"], tmp_path)
    _attest(registry, keys["first"], images["good"], sbom, tmp_path)
    _sign(registry, keys["second"], images["wrongkey"], tmp_path)
    _attest(registry, keys["second"], images["wrongkey"], sbom, tmp_path)
    _sign(registry, keys["first"], images["nosbom"], tmp_path)
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "prod-versions.yaml").write_text(
        yaml.safe_dump({"services": {"good": images["good"]}})
    )
    # Nested {repository, tag} shape, as many versions files write it.
    (deploy / "staging-versions.yaml").write_text(
        yaml.safe_dump(
            {
                "services": {
                    name: {"repository": image.rsplit(":", 1)[0], "tag": "1.0"}
                    for name, image in images.items()
                }
            }
        )
    )
    (deploy / "broken-versions.yaml").write_text(
        yaml.safe_dump(
            {"services": {"good": images["good"], "gone": "127.0.0.1:9/nothing/here:1.0"}}
        )
    )
    config = tmp_path / "sealgate.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "keys": [str(keys["first.pub"])],
                "tlog": False,
                "insecureRegistries": [registry.host, "127.0.0.1:9"],
                "attestations": [
                    {"type": "cyclonedx", "conditions": ["length(predicate.components) > `0`"]}
                ],
                "cache": {"dir": str(tmp_path / "cache"), "ttl": 3600},
                "auditLog": str(tmp_path / "audit.jsonl"),
                "environments": {
                    "staging2": {
                        "versions": "deploy/staging-versions.yaml",
                        "softFail": True,
                        "tier": "staging",
                    },
                    "app-eu2": {
                        "versions": "deploy/prod-versions.yaml",
                        "softFail": False,
                        "tier": "production",
                        "allowBypass": False,
                    },
                    "consol": {
                        "versions": "deploy/staging-versions.yaml",
                        "softFail": False,
                        "tier": "production",
                    },
                    "broken": {
                        "versions": "deploy/broken-versions.yaml",
                        "softFail": False,
                        "tier": "production",
                    },
                },
            }
        )
    )
    return Estate(config, images, digests, tmp_path)


def gate(estate: Estate, env: str, *extra: str, environ: dict[str, str] | None = None) -> Result:
    return run(
        ["gate", "--env", env, "--config", str(estate.config), "--timeout", "3", *extra],
        environ,
        home=str(estate.home),
    )


def test_production_with_only_verified_images_passes_and_pins(estate: Estate) -> None:
    pins = estate.home / "pins.json"
    result = gate(estate, "app-eu2", "-o", "json", "--pin-output", str(pins))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["decision"] == "verified"
    [image] = report["images"]
    assert image["digest"] == estate.digests["good"]
    pinned = json.loads(pins.read_text())
    assert any(v.endswith(estate.digests["good"]) for v in pinned.values())


def test_production_blocks_with_exit_2_and_reason_classes(estate: Estate) -> None:
    junit = estate.home / "junit.xml"
    markdown = estate.home / "summary.md"
    result = gate(
        estate, "consol", "-o", "json", "--junit", str(junit), "--markdown", str(markdown), "--vso"
    )
    assert result.code == 2, result.err
    report = json.loads(result.out[: result.out.rindex("}") + 1])
    reasons = {img["ref"].split("/")[-1]: img.get("reason") for img in report["images"]}
    verdicts = {img["ref"].split("/")[-1]: img["verdict"] for img in report["images"]}
    assert verdicts["good:1.0"] == "verified"
    assert reasons["unsigned:1.0"] == "unsigned"
    assert reasons["wrongkey:1.0"] == "wrong-key"
    assert reasons["nosbom:1.0"] == "attestation-missing"
    suite = ET.parse(junit).getroot()  # noqa: S314 - our own report, written by this test
    assert "3" in {suite.get("failures"), *(s.get("failures") for s in suite.iter("testsuite"))}
    assert "unsigned" in markdown.read_text()
    assert "##vso[task.logissue type=error" in result.out


def test_staging_soft_fails_with_warnings_and_exit_0(estate: Estate) -> None:
    result = gate(estate, "staging2")
    assert result.code == 0, result.err
    assert "unsigned" in result.err + result.out


def test_unreachable_registry_fails_closed(estate: Estate) -> None:
    result = gate(estate, "broken", "-o", "json")
    assert result.code == 2
    report = json.loads(result.out[: result.out.rindex("}") + 1])
    gone = next(img for img in report["images"] if "nothing" in img["ref"])
    assert gone["verdict"] == "failed"
    assert gone["reason"] == "unreachable"


def test_warm_run_uses_the_cache_and_still_resolves_tags(
    estate: Estate, registry: RunningRegistry, client: RegistryClient
) -> None:
    assert gate(estate, "app-eu2").code == 0
    cache_files = list((estate.home / "cache").rglob("*"))
    assert cache_files, "a verified image must be cached"
    # The tag moves to an unsigned image: the cache (keyed by digest) must not hide that.
    push_image(client, Reference.parse(estate.images["good"]), build_image(layers=1))
    assert gate(estate, "app-eu2").code == 2


def test_bypass_is_audited_and_can_be_forbidden(estate: Estate) -> None:
    ci = {
        "COSIGN_VERIFY_DISABLED": "true",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_RUN_ID": "42",
        "GITHUB_TOKEN": "ghp_supersecret",
    }
    forbidden = gate(estate, "app-eu2", environ=ci)
    assert forbidden.code == 2
    assert "forbidden" in forbidden.err + forbidden.out
    allowed = gate(estate, "consol", "-o", "json", environ=ci)
    assert allowed.code == 0, allowed.err
    assert "BYPASS" in allowed.err.upper()
    report = json.loads(allowed.out[: allowed.out.rindex("}") + 1])
    assert report["bypass"]["environment"] == "consol"
    lines = (estate.home / "audit.jsonl").read_text().strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert any(r.get("environment") == "consol" for r in records)
    assert "ghp_supersecret" not in (estate.home / "audit.jsonl").read_text()
    assert "ghp_supersecret" not in allowed.out + allowed.err
    assert "octocat" in (estate.home / "audit.jsonl").read_text()
    # Later normal runs keep reminding until a fully verified run.
    later = gate(estate, "consol")
    assert later.code == 2
    assert "bypass" in (later.err + later.out).lower()


def test_unknown_env_and_bad_versions_file_are_config_errors(estate: Estate) -> None:
    unknown = gate(estate, "nope")
    assert unknown.code == 78 and "app-eu2" in unknown.err
    (estate.home / "deploy" / "prod-versions.yaml").write_text("a: &x [*x, *x]\n: : :\n")
    bad = gate(estate, "app-eu2")
    assert bad.code == 78
    assert "prod-versions.yaml" in bad.err
    assert "Traceback" not in bad.err


def test_manifests_from_stdin_and_helm_postrender(estate: Estate) -> None:
    manifest = yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "good"},
            "spec": {
                "template": {
                    "spec": {
                        "initContainers": [{"name": "i", "image": estate.images["good"]}],
                        "containers": [{"name": "c", "image": estate.images["good"]}],
                    }
                }
            },
        }
    )
    result = run(
        ["helm-postrender", "--env", "app-eu2", "--config", str(estate.config)],
        stdin=manifest.encode(),
        home=str(estate.home),
    )
    assert result.code == 0, result.err
    rendered = yaml.safe_load(result.out)
    spec = rendered["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"].endswith("@" + estate.digests["good"])
    assert spec["initContainers"][0]["image"].endswith("@" + estate.digests["good"])
    bad = manifest.replace(estate.images["good"], estate.images["unsigned"])
    blocked = run(
        ["helm-postrender", "--env", "app-eu2", "--config", str(estate.config)],
        stdin=bad.encode(),
        home=str(estate.home),
    )
    assert blocked.code == 2
    assert blocked.out == ""


def test_pinned_digest_that_does_not_exist_is_not_found(estate: Estate) -> None:
    missing = estate.images["good"].rsplit(":", 1)[0] + "@sha256:" + "0" * 64
    (estate.home / "deploy" / "prod-versions.yaml").write_text(
        yaml.safe_dump({"services": {"ghost": missing}})
    )
    result = gate(estate, "app-eu2", "-o", "json")
    assert result.code == 2
    [image] = json.loads(result.out[: result.out.rindex("}") + 1])["images"]
    assert image["reason"] == "not-found"


_PROD = "keys: [k.pub]\nenvironments:\n  prod: {versions: v.yaml}\n"


@pytest.mark.parametrize(
    ("config", "versions", "where"),
    [
        (
            "environments:\n  prod: {versions: v.yaml}\nkeys: [k\x07.pub]\n",
            "a: r.io/a:1\n",
            "yaml:3",
        ),
        ("keys: [k.pub]\nenvironments:\n  prod:\n    versions: !!int x\n", "", "sealgate.yaml:4"),
        (_PROD, "a: !!int x\n", "v.yaml:1"),
        (_PROD, "a: r.io/\x1b:1\n", "v.yaml:1"),
    ],
)
def test_yaml_the_library_rejects_is_a_config_error_not_a_crash(
    tmp_path: Path, config: str, versions: str, where: str
) -> None:
    (tmp_path / "sealgate.yaml").write_text(config)
    (tmp_path / "v.yaml").write_text(versions)
    result = run(["gate", "--env", "prod", "--config", str(tmp_path / "sealgate.yaml")])
    assert result.code == 78, result.err
    assert where in result.err and "invalid YAML" in result.err
    assert "Traceback" not in result.err


def test_gate_evaluates_cluster_image_policies_like_the_webhook(estate: Estate) -> None:
    # One policy engine: the same ClusterImagePolicy a cluster enforces decides the gate.
    registry_host = estate.images["good"].split("/")[0]
    config = yaml.safe_load(estate.config.read_text())
    public_key = Path(config["keys"][0]).read_text()
    policy = estate.home / "policies" / "cip.yaml"
    policy.parent.mkdir()
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "policy.sigstore.dev/v1beta1",
                "kind": "ClusterImagePolicy",
                "metadata": {"name": "signed-by-ci"},
                "spec": {
                    "images": [{"glob": f"{registry_host}/**"}],
                    "authorities": [{"name": "ci", "key": {"data": public_key}}],
                },
            }
        )
    )
    result = gate(estate, "consol", "--policy", str(policy.parent), "-o", "json")
    assert result.code == 2, result.err
    report = json.loads(result.out[: result.out.rindex("}") + 1])
    verdicts = {img["ref"].split("/")[-1]: img["verdict"] for img in report["images"]}
    reasons = {img["ref"].split("/")[-1]: img.get("reason") for img in report["images"]}
    # The CIP asks for signatures only: the SBOM-less image passes it, others fail as before.
    assert verdicts["good:1.0"] == "verified"
    assert verdicts["nosbom:1.0"] == "verified"
    assert reasons["unsigned:1.0"] == "unsigned"
    assert reasons["wrongkey:1.0"] == "wrong-key"
    # The same files named in the config decide without the flag.
    config["environments"]["consol"]["policies"] = [str(policy.parent)]
    estate.config.write_text(yaml.safe_dump(config))
    again = gate(estate, "consol", "-o", "json", "--no-cache")
    assert again.code == 2, again.err
    assert '"signed-by-ci"' in again.out or "ClusterImagePolicy/signed-by-ci" in again.out
    # An image no policy matches is denied (no-match-policy: deny), as policy-controller does.
    other = estate.home / "policies" / "cip.yaml"
    other.write_text(policy.read_text().replace(f"{registry_host}/**", "elsewhere.example/**"))
    denied = gate(estate, "consol", "-o", "json", "--no-cache")
    report = json.loads(denied.out[: denied.out.rindex("}") + 1])
    assert {img["reason"] for img in report["images"]} == {"policy-denied"}
    assert "no matching policies" in denied.out

"""Key rotation end to end against the real registry: sign with A, rotate to B, audit, resign,
retire A in the gate config; the gate then passes only re-signed images (seed 000).

Estate (repository ``app``, every tag audited):
* ``legacy``: signed by A and SBOM-attested by A on ``.sig``/``.att`` tags;
* ``bundle``: signed and SBOM-attested by A as cosign 3 bundle referrers;
* ``fresh``: signed and SBOM-attested by B (after the rotation started);
* ``stranger``: signed by a key nobody trusts;
* ``bare``: unsigned.
A second repository (``other/old``), signed by A, is left out of the re-signing, so it stays
old-only and the gate must block it once A is retired.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sealgate.oci import Reference, RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.integration.test_cli_attest_copy import SBOM
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image


@dataclass
class Estate:
    registry: RunningRegistry
    repo: str
    images: dict[str, str]
    keys: dict[str, Path]
    home: Path

    def flags(self) -> list[str]:
        return ["--insecure-registry", self.registry.host]

    def cli(self, *args: str) -> Result:
        return run(list(args), {"COSIGN_PASSWORD": PASSWORD}, home=str(self.home))

    def config(self, keys: list[str], retired: list[str], versions: list[str]) -> Path:
        deploy = self.home / "deploy.yaml"
        deploy.write_text(yaml.safe_dump({"services": {n: self.images[n] for n in versions}}))
        path = self.home / "sealgate.yaml"
        trust: dict[str, object] = {"keys": [str(self.keys[f"{k}.pub"]) for k in keys]}
        if retired:
            trust["retiredKeys"] = [str(self.keys[f"{k}.pub"]) for k in retired]
        path.write_text(
            yaml.safe_dump(
                {
                    **trust,
                    "tlog": False,
                    "insecureRegistries": [self.registry.host],
                    "attestations": [{"type": "cyclonedx"}],
                    "cache": {"enabled": False},
                    "auditLog": str(self.home / "audit.jsonl"),
                    "environments": {"prod": {"versions": "deploy.yaml"}},
                }
            )
        )
        return path

    def gate(self, config: Path) -> Result:
        return self.cli("gate", "--config", str(config), "--env", "prod", "-o", "json")

    def audit(self, *extra: str) -> dict[str, dict[str, Any]]:
        result = self.cli(
            "audit",
            "--key",
            str(self.keys["b.pub"]),
            "--retired-key",
            str(self.keys["a.pub"]),
            "--insecure-ignore-tlog",
            "--repository",
            f"{self.registry.host}/{self.repo}/app",
            "-o",
            "json",
            *self.flags(),
            *extra,
        )
        assert result.code == 0, result.err
        doc = json.loads(result.out)
        return {image["tags"][0]: image for image in doc["images"]}


def _sign(estate: Estate, key: str, image: str, *extra: str) -> None:
    signed = estate.cli("sign", "--key", str(estate.keys[key]), *extra, *estate.flags(), image)
    assert signed.code == 0, signed.err
    sbom = estate.home / "bom.json"
    sbom.write_text(json.dumps(SBOM))
    attested = estate.cli(
        "attest",
        "--key",
        str(estate.keys[key]),
        "--type",
        "cyclonedx",
        "--predicate",
        str(sbom),
        *extra,
        *estate.flags(),
        image,
    )
    assert attested.code == 0, attested.err


@pytest.fixture
def estate(registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path) -> Estate:
    keys: dict[str, Path] = {}
    for name in ("a", "b", "c"):
        made = run(
            ["generate-key-pair", "--output-key-prefix", str(tmp_path / name)],
            {"COSIGN_PASSWORD": PASSWORD},
        )
        assert made.code == 0, made.err
        keys[name] = tmp_path / f"{name}.key"
        keys[f"{name}.pub"] = tmp_path / f"{name}.pub"
    images = {}
    for tag in ("legacy", "bundle", "fresh", "stranger", "bare"):
        ref = registry.ref(f"{repo}/app", tag)
        push_image(client, ref, build_image(layers=1))
        images[tag] = str(ref)
    old = registry.ref(f"{repo}/other/old", "1.0")
    push_image(client, old, build_image(layers=1))
    images["old"] = str(old)
    estate = Estate(registry, repo, images, keys, tmp_path)
    _sign(estate, "a", images["legacy"])
    _sign(estate, "a", images["bundle"], "--new-bundle-format", "--tlog-upload=false")
    _sign(estate, "b", images["fresh"])
    signed = estate.cli("sign", "--key", str(keys["c"]), *estate.flags(), images["stranger"])
    assert signed.code == 0, signed.err
    _sign(estate, "a", images["old"])
    return estate


def test_rotation_from_a_to_b(estate: Estate) -> None:
    signed = ["legacy", "bundle", "fresh", "old"]
    # Rotation window: both keys trusted, every signed image passes.
    window = estate.config(["a", "b"], [], signed)
    gate = estate.gate(window)
    assert gate.code == 0, gate.out + gate.err

    # Audit with B trusted and A retired: who signed what, in both storage formats.
    before = estate.audit()
    assert {tag: image["status"] for tag, image in before.items()} == {
        "legacy": "retired",
        "bundle": "retired",
        "fresh": "signed",
        "stranger": "untrusted",
        "bare": "unsigned",
    }
    assert before["bundle"]["signatures"][0]["storage"] == "bundle"
    assert before["legacy"]["signatures"][0]["storage"] == "legacy"
    assert before["legacy"]["sbom"] == "retired"
    assert before["fresh"]["sbom"] == "trusted"
    assert before["stranger"]["signatures"][0]["signer"] == "unknown key"
    assert before["stranger"]["signatures"][0]["status"] == "unknown"

    # A dry run says what it would do and writes nothing.
    app = f"{estate.registry.host}/{estate.repo}/app"
    resign = [
        "resign", "--old-key", str(estate.keys["a.pub"]), "--key", str(estate.keys["b"]),
        "--insecure-ignore-tlog", "--repository", app, "-o", "json", *estate.flags(),
    ]  # fmt: skip
    dry = estate.cli(*resign, "--dry-run")
    assert dry.code == 0, dry.err
    planned = {i["tags"][0]: i for i in json.loads(dry.out)["images"]}
    assert planned["legacy"]["status"] == "would-resign"
    assert (planned["legacy"]["signatures"], planned["legacy"]["attestations"]) == (1, 1)
    assert planned["bundle"]["status"] == "would-resign"
    for tag in ("fresh", "stranger", "bare"):
        assert planned[tag]["status"] == "not-signed-by-old-key"
    assert estate.audit() == before

    done = estate.cli(*resign)
    assert done.code == 0, done.err
    assert {i["tags"][0]: i["status"] for i in json.loads(done.out)["images"]}["legacy"] == (
        "resigned"
    )
    again = estate.cli(*resign)
    statuses = {i["tags"][0]: i["status"] for i in json.loads(again.out)["images"]}
    assert statuses["legacy"] == statuses["bundle"] == "up-to-date"

    after = estate.audit()
    for tag in ("legacy", "bundle"):
        assert after[tag]["status"] == "signed"
        assert after[tag]["sbom"] == "trusted"
        stored = {f["storage"] for f in after[tag]["signatures"] if f["status"] == "trusted"}
        assert stored == {"legacy" if tag == "legacy" else "bundle"}

    # A retired in the gate config: re-signed images pass, the old-only one is blocked.
    retired = estate.config(["b"], ["a"], ["legacy", "bundle", "fresh"])
    passed = estate.gate(retired)
    assert passed.code == 0, passed.out + passed.err
    blocked = estate.gate(estate.config(["b"], ["a"], ["legacy", "old"]))
    assert blocked.code == 2, blocked.out + blocked.err
    verdicts = {i["ref"]: i for i in json.loads(blocked.out)["images"]}
    assert verdicts[estate.images["old"]]["verdict"] == "failed"
    assert verdicts[estate.images["legacy"]]["verdict"] == "verified"

    # The audit of the same environment (keys and retiredKeys from the config) agrees.
    by_config = estate.cli(
        "audit", "--config", str(estate.home / "sealgate.yaml"), "--env", "prod", "-o", "json"
    )
    assert by_config.code == 0, by_config.err
    doc = json.loads(by_config.out)
    by_repo = {i["repository"].rsplit("/", 1)[-1]: i["status"] for i in doc["images"]}
    assert by_repo == {"app": "signed", "old": "retired"}
    assert doc["trust"]["retired"] == [str(estate.keys["a.pub"])]


def test_audit_bad_input_is_one_line(estate: Estate, tmp_path: Path) -> None:
    key = ["--key", str(estate.keys["b.pub"]), "--insecure-ignore-tlog"]
    missing = estate.cli(
        "audit", *key, "--repository", f"{estate.registry.host}/does/not/exist", *estate.flags()
    )
    assert missing.code == 11
    assert missing.err.strip().endswith("not found (or it has no image tags)")
    assert missing.err.count("\n") == 1
    unreachable = estate.cli(
        "audit", *key, "--repository", "127.0.0.1:9/nothing/here", "--insecure-registry",
        "127.0.0.1:9", "--timeout", "2",
    )  # fmt: skip
    assert unreachable.code == 3, unreachable.err
    assert unreachable.err.count("\n") == 1, unreachable.err
    assert "Traceback" not in unreachable.err
    # A named image on an unreachable registry: the rest of the audit still runs.
    mixed = estate.cli(
        "audit", *key, estate.images["fresh"], "127.0.0.1:9/nothing/here:1", *estate.flags(),
        "--insecure-registry", "127.0.0.1:9", "--timeout", "2", "-o", "json",
    )  # fmt: skip
    assert mixed.code == 3
    statuses = sorted(i["status"] for i in json.loads(mixed.out)["images"])
    assert statuses == ["error", "signed"]
    assert mixed.err.startswith("error: 1 of 2 image(s) could not be checked")
    assert mixed.err.count("\n") == 1
    nothing = estate.cli("audit", *key)
    assert nothing.code == 64
    assert "name images" in nothing.err
    no_trust = estate.cli("audit", estate.images["fresh"], *estate.flags())
    assert no_trust.code == 64


def test_audit_catalog_covers_every_repository(
    tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Path], tmp_path: Path
) -> None:
    from sealgate.config import ClientConfig
    from tests.support.registry_server import start_registry

    # A registry of its own: the session registry's catalog holds every other test's images.
    server = start_registry(tmp_path_factory.mktemp("catalog-registry"))
    try:
        config = ClientConfig(
            insecure_registries=frozenset({server.host}),
            docker_config=tmp_path / "none.json",
            auth_file=tmp_path / "none-auth.json",
        )
        images = [f"{server.host}/team/api:1", f"{server.host}/team/api:2", f"{server.host}/db:1"]
        with RegistryClient(config) as client:
            for image in images:
                push_image(client, Reference.parse(image), build_image(layers=1))
        flags = ["--insecure-registry", server.host]
        signed = run(
            ["sign", "--key", str(keys["first"]), *flags, images[0]], {"COSIGN_PASSWORD": PASSWORD}
        )
        assert signed.code == 0, signed.err
        audit = run(
            [
                "audit",
                "--key",
                str(keys["first.pub"]),
                "--insecure-ignore-tlog",
                "--catalog",
                server.host,
                "-o",
                "json",
                *flags,
            ]
        )
        assert audit.code == 0, audit.err
        doc = json.loads(audit.out)
        assert [r["repository"] for r in doc["repositories"]] == [
            f"{server.host}/db",
            f"{server.host}/team/api",
        ]
        # The .sig tag written by `sign` is an attachment, not an image.
        assert doc["summary"]["images"] == 3
        assert doc["summary"]["signed"] == 1
    finally:
        server.stop()

"""``sealgate mirror`` end to end: a plain upstream registry, an htpasswd-protected mirror.

Upstream images are built here and signed by the ``first`` key (the "vendor"); the mirror
signs with the ``second`` key. What the mirror writes is checked with sealgate's own
``verify`` and with the registry client directly.
"""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

from sealgate.config import ClientConfig
from sealgate.formats.cosign_types import CERTIFICATE_ANNOTATION
from sealgate.oci import SIGSTORE_BUNDLE, Reference, RegistryClient
from sealgate.workflows.attachments import fetch_attachment_layers
from sealgate.workflows.targets import attachment_ref
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.cli import Result, run
from tests.support.images import build_image, build_index, push_image, push_index
from tests.support.sigstore_services import SigstoreServices


def write_auth(home: Path, registry: RunningRegistry) -> None:
    """A docker config holding the mirror registry's credentials (and nothing else)."""
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    (home / ".docker").mkdir(parents=True, exist_ok=True)
    (home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {registry.host: {"auth": token}}})
    )


def cip(path: Path, host: str, pub: Path) -> Path:
    """A ClusterImagePolicy trusting ``pub`` for everything on registry ``host``."""
    pem = textwrap.indent(pub.read_text(), " " * 14)
    path.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: policy.sigstore.dev/v1beta1
            kind: ClusterImagePolicy
            metadata: {{name: vendor}}
            spec:
              images: [{{glob: "{host}/**"}}]
              authorities:
                - name: vendor
                  key:
                    data: |
            """
        )
        + pem
    )
    return path


def mirror(
    *args: str, home: Path, key: Path | None = None, env: dict[str, str] | None = None
) -> Result:
    signing = ["--key", str(key)] if key else []
    return run(
        ["mirror", *signing, "-o", "json", *args],
        {"COSIGN_PASSWORD": PASSWORD, **(env or {})},
        home=str(home),
    )


def results(done: Result) -> list[dict[str, object]]:
    images: list[dict[str, object]] = json.loads(done.out)["images"]
    return images


def sign_upstream(
    registry: RunningRegistry, key: Path, image: str, home: Path, *extra: str
) -> None:
    done = run(
        ["sign", "--key", str(key), "--insecure-registry", registry.host, *extra, image],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(home),
    )
    assert done.code == 0, done.err


def verify(target: RunningRegistry, pub: Path, image: str, home: Path) -> Result:
    return run(
        ["verify", "--key", str(pub), "--insecure-ignore-tlog", image],
        home=str(home),
    )


def mirror_client(target: RunningRegistry, tmp_path: Path) -> RegistryClient:
    return RegistryClient(
        ClientConfig(
            username=target.username,
            password=target.password,
            docker_config=tmp_path / "none.json",
            auth_file=tmp_path / "none-auth.json",
        )
    )


def test_one_image_verified_copied_signed_then_skipped(
    registry: RunningRegistry,
    auth_registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    source = registry.ref(repo, "1.0")
    upstream_digest = push_index(client, source, build_index())
    sign_upstream(registry, keys["first"], str(source), tmp_path)
    write_auth(tmp_path, auth_registry)
    policy = cip(tmp_path / "vendor.yaml", registry.host, keys["first.pub"])
    target = f"{auth_registry.host}/mirror/{repo.rsplit('/', 1)[-1]}"

    done = mirror(
        str(source), target, "--policy", str(policy), "--copy-signatures",
        home=tmp_path, key=keys["second"],
    )  # fmt: skip
    assert done.code == 0, done.err
    [result] = results(done)
    assert result["status"] == "mirrored", result
    assert result["digest"] == result["upstreamDigest"] == upstream_digest
    assert result["signaturesCopied"] == 1

    # The tag names the upstream digest, and both the vendor's and the mirror's keys verify it.
    with mirror_client(auth_registry, tmp_path) as target_client:
        tagged = Reference.parse(f"{target}:1.0")
        assert target_client.resolve(tagged).digest == upstream_digest
    assert verify(auth_registry, keys["second.pub"], f"{target}:1.0", tmp_path).code == 0
    assert verify(auth_registry, keys["first.pub"], f"{target}:1.0", tmp_path).code == 0
    assert verify(auth_registry, keys["second.pub"], str(source), tmp_path).code != 0

    again = mirror(str(source), target, "--copy-signatures", home=tmp_path, key=keys["second"])
    assert again.code == 0, again.err
    [second] = results(again)
    assert second["status"] == "skipped"
    assert "already mirrored and signed by this key" in str(second["message"])


def test_unverified_upstream_is_refused_and_nothing_is_written(
    registry: RunningRegistry,
    auth_registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    source = registry.ref(repo, "v1")
    digest = push_image(client, source, build_image())
    sign_upstream(registry, keys["second"], str(source), tmp_path)  # not the vendor's key
    write_auth(tmp_path, auth_registry)
    policy = cip(tmp_path / "vendor.yaml", registry.host, keys["first.pub"])
    target = f"{auth_registry.host}/mirror/{repo.rsplit('/', 1)[-1]}"

    done = mirror(str(source), target, "--policy", str(policy), home=tmp_path, key=keys["first"])
    assert done.code == 1, done.err
    [result] = results(done)
    assert result["status"] == "refused"
    assert result["reason"] == "wrong-key"
    assert "upstream not verified" in str(result["message"])
    with mirror_client(auth_registry, tmp_path) as target_client:
        assert target_client.get_manifest_or_none(Reference.parse(f"{target}:v1")) is None
        pinned = Reference.parse(f"{target}@{digest}")
        assert target_client.get_manifest_or_none(pinned) is None
        assert fetch_attachment_layers(target_client, attachment_ref(pinned, "sig")) == []


def test_config_platforms_sbom_and_a_missing_image(
    registry: RunningRegistry,
    auth_registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    multi = registry.ref(repo + "-multi", "2.0")
    index_digest = push_index(client, multi, build_index())
    single = registry.ref(repo + "-single", "3.0")
    push_image(client, single, build_image())
    write_auth(tmp_path, auth_registry)
    base = f"{auth_registry.host}/mirror/{repo.rsplit('/', 1)[-1]}"
    config = tmp_path / "mirror.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: sealgate.dev/v1alpha1
            kind: MirrorConfig
            defaults: {{sbom: false}}
            images:
              - source: {multi}
                target: {base}-multi
                platforms: [linux/arm64]
              - source: {single}
                target: {base}-single:stable
                sbom: true
              - source: {registry.host}/{repo}-missing:1.0
                target: {base}-missing
            """
        )
    )
    done = mirror("--config", str(config), "--concurrency", "3", home=tmp_path, key=keys["first"])
    assert done.code == 1, done.err
    by_source = {str(r["source"]).rsplit("/", 1)[-1]: r for r in results(done)}
    filtered = by_source[f"{repo.rsplit('/', 1)[-1]}-multi:2.0"]
    assert filtered["status"] == "mirrored"
    assert filtered["digest"] != index_digest and filtered["upstreamDigest"] == index_digest
    sbom = by_source[f"{repo.rsplit('/', 1)[-1]}-single:3.0"]
    assert sbom["status"] == "mirrored" and sbom["sbomAttested"] is True
    missing = by_source[f"{repo.rsplit('/', 1)[-1]}-missing:1.0"]
    assert missing["status"] == "failed" and missing["reason"] == "not-found"
    assert f"{config}:" in str(missing["where"])

    with mirror_client(auth_registry, tmp_path) as target_client:
        index = target_client.get_manifest(Reference.parse(f"{base}-multi:2.0")).json()
        assert [m["platform"]["architecture"] for m in index["manifests"]] == ["arm64"]
    assert verify(auth_registry, keys["first.pub"], f"{base}-multi:2.0", tmp_path).code == 0
    attested = run(
        [
            "verify-attestation", "--key", str(keys["first.pub"]), "--type", "cyclonedx",
            "--insecure-ignore-tlog", f"{base}-single:stable",
        ],
        home=str(tmp_path),
    )  # fmt: skip
    assert attested.code == 0, attested.err


def test_bundle_referrers_are_copied(
    registry: RunningRegistry,
    auth_registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    source = registry.ref(repo, "v1")
    digest = push_image(client, source, build_image())
    sign_upstream(registry, keys["first"], str(source), tmp_path, "--new-bundle-format")
    write_auth(tmp_path, auth_registry)
    target = f"{auth_registry.host}/mirror/{repo.rsplit('/', 1)[-1]}"
    done = mirror(str(source), target, "--copy-signatures", home=tmp_path, key=keys["second"])
    assert done.code == 0, done.err
    with mirror_client(auth_registry, tmp_path) as target_client:
        referrers = target_client.referrers(Reference.parse(f"{target}@{digest}"))
        assert [r.artifact_type for r in referrers] == [SIGSTORE_BUNDLE]
    assert verify(auth_registry, keys["first.pub"], f"{target}:v1", tmp_path).code == 0


def test_keyless_mirror_signature_and_rerun_skips(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
) -> None:
    source = registry.ref(repo, "v1")
    digest = push_image(client, source, build_image())
    root = sigstore_services.write_trusted_root(tmp_path)
    flags = [
        "--fulcio-url", sigstore_services.fulcio_url, "--rekor-url", sigstore_services.rekor_url,
        "--trusted-root", str(root), "--yes",
    ]  # fmt: skip
    target = f"{registry.host}/{repo}-mirror"
    token = sigstore_services.mint_token()
    done = mirror(str(source), target, "--identity-token", token, *flags, home=tmp_path)
    assert done.code == 0, done.err
    assert token not in done.out + done.err
    layers = fetch_attachment_layers(
        client, attachment_ref(Reference.parse(f"{target}@{digest}"), "sig")
    )
    assert len(layers) == 1 and CERTIFICATE_ANNOTATION in layers[0].annotations

    again = mirror(str(source), target, "--identity-token", token, *flags, home=tmp_path)
    assert again.code == 0, again.err
    assert results(again)[0]["status"] == "skipped"

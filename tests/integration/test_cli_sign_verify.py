"""sign / verify end to end: the CLI against the real registry, with cosign's exit codes."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from sealgate.formats.cosign_manifest import parse_attachment_manifest
from sealgate.oci import Reference, RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.cli import Result, run
from tests.support.images import build_image, build_index, push_image, push_index


def pushed_image(
    client: RegistryClient, registry: RunningRegistry, repo: str, tag: str = "v1"
) -> str:
    """Push a fresh sample image to ``registry``; return its reference text."""
    ref = registry.ref(repo, tag)
    push_image(client, ref, build_image())
    return str(ref)


def _flags(registry: RunningRegistry, home: Path) -> list[str]:
    return ["--insecure-registry", registry.host]


def sign(registry: RunningRegistry, key: Path, image: str, *extra: str, home: Path) -> Result:
    return run(
        ["sign", "--key", str(key), *_flags(registry, home), *extra, image],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(home),
    )


def verify(
    registry: RunningRegistry, pubs: list[Path], image: str, *extra: str, home: Path
) -> Result:
    keys = [arg for pub in pubs for arg in ("--key", str(pub))]
    return run(
        ["verify", *keys, "--insecure-ignore-tlog", *_flags(registry, home), *extra, image],
        home=str(home),
    )


def test_generated_private_key_is_0600_and_encrypted(keys: dict[str, Path]) -> None:
    assert keys["first"].stat().st_mode & 0o777 == 0o600
    text = keys["first"].read_text()
    assert text.startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    assert PASSWORD not in text
    assert keys["first.pub"].read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_sign_then_verify_prints_cosign_shaped_json(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    signed = sign(registry, keys["first"], image, home=tmp_path)
    assert signed.code == 0, signed.err
    digest = client.resolve(Reference.parse(image)).digest
    assert f"{digest.replace(':', '-')}.sig" in signed.err

    result = verify(registry, [keys["first.pub"]], image, home=tmp_path)
    assert result.code == 0, result.err
    assert f"Verification for {image}" in result.err
    [element] = json.loads(result.out)
    assert element["critical"]["image"]["docker-manifest-digest"] == digest
    assert element["critical"]["identity"]["docker-reference"] == f"{registry.host}/{repo}"
    assert element["critical"]["type"] == "cosign container image signature"
    assert element["optional"] is None


def test_signature_manifest_has_cosign_layout(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    assert sign(registry, keys["first"], image, home=tmp_path).code == 0
    digest = client.resolve(Reference.parse(image)).digest
    sig_ref = Reference.parse(f"{registry.host}/{repo}:{digest.replace(':', '-')}.sig")
    manifest = client.get_manifest(sig_ref)
    assert manifest.media_type == "application/vnd.oci.image.manifest.v1+json"
    document = json.loads(manifest.data)
    assert document["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert document["config"]["size"] == 233  # formats.md §1.2: ggcr's config for one signature
    [layer] = document["layers"]
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert list(layer) == ["mediaType", "size", "digest", "annotations"]
    assert list(layer["annotations"]) == ["dev.cosignproject.cosign/signature"]


def test_signature_verifies_with_openssl(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    """An independent implementation accepts what we signed: openssl over the payload blob."""
    image = pushed_image(client, registry, repo)
    assert sign(registry, keys["first"], image, home=tmp_path).code == 0
    digest = client.resolve(Reference.parse(image)).digest
    sig_ref = Reference.parse(f"{registry.host}/{repo}:{digest.replace(':', '-')}.sig")
    [layer] = parse_attachment_manifest(client.get_manifest(sig_ref).data, max_layers=10)
    payload = client.get_blob(sig_ref, layer.digest, max_bytes=1 << 20)
    signature = base64.b64decode(layer.annotations["dev.cosignproject.cosign/signature"])
    (tmp_path / "payload").write_bytes(payload)
    (tmp_path / "sig.der").write_bytes(signature)
    checked = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(keys["first.pub"]),
            "-signature",
            str(tmp_path / "sig.der"),
            str(tmp_path / "payload"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
    assert "Verified OK" in checked.stdout


def test_signing_twice_never_duplicates_and_second_key_appends(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    assert sign(registry, keys["first"], image, home=tmp_path).code == 0
    again = sign(registry, keys["first"], image, home=tmp_path)
    assert again.code == 0 and "already present" in again.err
    assert sign(registry, keys["second"], image, home=tmp_path).code == 0
    digest = client.resolve(Reference.parse(image)).digest
    sig_ref = Reference.parse(f"{registry.host}/{repo}:{digest.replace(':', '-')}.sig")
    layers = parse_attachment_manifest(client.get_manifest(sig_ref).data, max_layers=10)
    assert len(layers) == 2
    # Any-of: either key alone verifies, both together verify.
    for pubs in (
        [keys["first.pub"]],
        [keys["second.pub"]],
        [keys["first.pub"], keys["second.pub"]],
    ):
        assert verify(registry, pubs, image, home=tmp_path).code == 0


def test_wrong_key_exits_12_unsigned_exits_10_missing_tag_exits_11(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    unsigned = verify(registry, [keys["first.pub"]], image, home=tmp_path)
    assert unsigned.code == 10, unsigned.err
    assert sign(registry, keys["first"], image, home=tmp_path).code == 0
    wrong = verify(registry, [keys["second.pub"]], image, home=tmp_path)
    assert wrong.code == 12 and "no matching signatures" in wrong.err
    assert wrong.out == ""
    missing = verify(registry, [keys["first.pub"]], f"{registry.host}/{repo}:nope", home=tmp_path)
    assert missing.code == 11, missing.err


def test_retagged_image_is_rejected(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    """The tag moved to other content after signing: the new digest carries no signature."""
    image = pushed_image(client, registry, repo)
    assert sign(registry, keys["first"], image, home=tmp_path).code == 0
    push_image(client, Reference.parse(image), build_image())
    result = verify(registry, [keys["first.pub"]], image, home=tmp_path)
    assert result.code == 10


def test_signature_copied_onto_another_digest_is_a_digest_mismatch(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    """A valid signature moved to another image's .sig tag: cosign's claim check rejects it."""
    signed_image = pushed_image(client, registry, repo, "signed")
    other_image = pushed_image(client, registry, repo, "other")
    assert sign(registry, keys["first"], signed_image, home=tmp_path).code == 0
    source_digest = client.resolve(Reference.parse(signed_image)).digest
    other_digest = client.resolve(Reference.parse(other_image)).digest
    src = Reference.parse(f"{registry.host}/{repo}:{source_digest.replace(':', '-')}.sig")
    dst = Reference.parse(f"{registry.host}/{repo}:{other_digest.replace(':', '-')}.sig")
    manifest = client.get_manifest(src)
    client.put_manifest(dst, manifest.data, manifest.media_type)
    result = verify(registry, [keys["first.pub"]], other_image, home=tmp_path)
    assert result.code == 12
    assert "signature is for" in result.err


def test_annotations_are_signed_and_required(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    assert (
        sign(
            registry, keys["first"], image, "-a", "env=prod", "-a", "team=core", home=tmp_path
        ).code
        == 0
    )
    ok = verify(registry, [keys["first.pub"]], image, "-a", "env=prod", home=tmp_path)
    assert ok.code == 0
    assert json.loads(ok.out)[0]["optional"] == {"env": "prod", "team": "core"}
    bad = verify(registry, [keys["first.pub"]], image, "-a", "env=dev", home=tmp_path)
    assert bad.code == 12


def test_recursive_signs_index_and_every_platform(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    built = build_index()
    ref = registry.ref(repo, "multi")
    push_index(client, ref, built)
    assert sign(registry, keys["first"], str(ref), "--recursive", home=tmp_path).code == 0
    for digest in [built.digest, *(image.digest for image in built.images)]:
        pinned = f"{registry.host}/{repo}@{digest}"
        assert verify(registry, [keys["first.pub"]], pinned, home=tmp_path).code == 0


def test_platform_not_signed_without_recursive(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    built = build_index()
    ref = registry.ref(repo, "multi")
    push_index(client, ref, built)
    assert sign(registry, keys["first"], str(ref), home=tmp_path).code == 0
    child = f"{registry.host}/{repo}@{built.images[0].digest}"
    assert verify(registry, [keys["first.pub"]], child, home=tmp_path).code == 10


def test_sign_soft_skips_when_cosign_private_key_is_empty(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    image = pushed_image(client, registry, repo)
    for env in ({}, {"COSIGN_PRIVATE_KEY": ""}, {"COSIGN_PRIVATE_KEY": "  \n"}):
        result = run(["sign", "--insecure-registry", registry.host, image], env, home=str(tmp_path))
        assert result.code == 0
        assert "COSIGN_PRIVATE_KEY is empty" in result.err
        assert "nothing was signed" in result.err
    explicit = run(
        ["sign", "--key", "env://COSIGN_PRIVATE_KEY", "--insecure-registry", registry.host, image],
        {"COSIGN_PRIVATE_KEY": ""},
        home=str(tmp_path),
    )
    assert explicit.code == 0 and "skipping" in explicit.err


def test_sign_with_key_in_environment(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    env = {"COSIGN_PRIVATE_KEY": keys["first"].read_text(), "COSIGN_PASSWORD": PASSWORD}
    result = run(["sign", "--insecure-registry", registry.host, image], env, home=str(tmp_path))
    assert result.code == 0, result.err
    assert verify(registry, [keys["first.pub"]], image, home=tmp_path).code == 0


def test_missing_key_file_and_wrong_password_are_errors_without_secrets(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    missing = run(
        ["sign", "--key", str(tmp_path / "nope.key"), "--insecure-registry", registry.host, image],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(tmp_path),
    )
    assert missing.code == 65
    assert "nope.key" in missing.err
    wrong = run(
        ["sign", "--key", str(keys["first"]), "--insecure-registry", registry.host, image],
        {"COSIGN_PASSWORD": "not-the-password"},
        home=str(tmp_path),
    )
    assert wrong.code == 65
    assert "not-the-password" not in wrong.err + wrong.out
    assert "Traceback" not in wrong.err
    assert len(wrong.err.strip().splitlines()) == 1


def test_sign_by_digest_file_without_asking_registry(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    digest = client.resolve(Reference.parse(image)).digest
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({"containerimage.digest": digest, "image.name": image}))
    result = sign(
        registry,
        keys["first"],
        f"{registry.host}/{repo}",
        "--digest-file",
        str(metadata),
        home=tmp_path,
    )
    assert result.code == 0, result.err
    assert verify(registry, [keys["first.pub"]], image, home=tmp_path).code == 0


def test_triangulate_prints_sig_reference(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    image = pushed_image(client, registry, repo)
    digest = client.resolve(Reference.parse(image)).digest
    result = run(["triangulate", "--insecure-registry", registry.host, image], home=str(tmp_path))
    assert result.code == 0
    assert result.out.strip() == f"{registry.host}/{repo}:{digest.replace(':', '-')}.sig"
    as_digest = run(
        ["triangulate", "--type", "digest", "--insecure-registry", registry.host, image],
        home=str(tmp_path),
    )
    assert as_digest.out.strip() == f"{registry.host}/{repo}@{digest}"


def test_unreachable_registry_is_could_not_check(keys: dict[str, Path], tmp_path: Path) -> None:
    result = run(
        [
            "verify",
            "--key",
            str(keys["first.pub"]),
            "--insecure-ignore-tlog",
            "--allow-insecure-registry",
            "--timeout",
            "2",
            "127.0.0.1:9/nothing:v1",
        ],
        home=str(tmp_path),
    )
    assert result.code == 3, result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "image",
    ["UPPER/Case:tag", "registry:5000/repo:tag:extra", "repo@sha256:short", "", "a b"],
)
def test_malformed_reference_is_usage_error(
    keys: dict[str, Path], image: str, tmp_path: Path
) -> None:
    result = run(
        ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog", image],
        home=str(tmp_path),
    )
    assert result.code == 64, result.err
    assert len(result.err.strip().splitlines()) == 1

"""mirror.yaml (schema, defaults, lines) and what the mirror writes for chosen platforms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealgate.errors import ConfigError, UsageError
from sealgate.oci import OCI_INDEX, Reference, RegistryClient
from sealgate.workflows.mirror_config import load_mirror_config, mirror_item
from sealgate.workflows.mirror_plan import plan_mirror
from tests.support.fake_registry import FakeRegistry
from tests.support.images import build_image, build_index, push_image, push_index


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mirror.yaml"
    path.write_text(text)
    return path


def test_defaults_apply_and_entries_override_them(tmp_path: Path) -> None:
    items = load_mirror_config(
        _write(
            tmp_path,
            "defaults: {copySignatures: true, platforms: [linux/amd64]}\n"
            "images:\n"
            "  - source: docker.io/library/nginx:1.27\n"
            "    target: registry.example.com/mirror/nginx\n"
            "  - source: ghcr.io/acme/api@sha256:" + "a" * 64 + "\n"
            "    target: registry.example.com/mirror/api:1.4\n"
            "    platforms: all\n"
            "    sbom: true\n",
        )
    )
    nginx, api = items
    assert str(nginx.source) == "index.docker.io/library/nginx:1.27"
    assert str(nginx.target) == "registry.example.com/mirror/nginx:1.27"
    assert nginx.platforms == ("linux/amd64",) and nginx.copy_signatures and not nginx.sbom
    assert api.platforms is None and api.sbom and api.target.tag == "1.4"
    assert nginx.where == f"{tmp_path / 'mirror.yaml'}:3"


def test_a_digest_only_source_without_a_target_tag_is_pushed_by_digest() -> None:
    item = mirror_item("ghcr.io/acme/api@sha256:" + "a" * 64, "registry.example.com/m/api")
    assert item.target.tag is None and item.target.digest is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("images: []\n", "should be non-empty"),
        ("images:\n  - {source: a.example/x:1}\n", "'target' is a required property"),
        ("images:\n  - {source: a.example/x:1, target: b.example/y, extra: 1}\n", "extra"),
        (
            "images:\n  - {source: a.example/x:1, target: b.example/y, platforms: [linux]}\n",
            "linux",
        ),
        (
            "defaults: {sboms: true}\nimages:\n  - {source: a.example/x:1, target: b.example/y}\n",
            "sboms",
        ),
        (
            "images:\n  - {source: 'a.example/X:1', target: b.example/y}\n",
            "invalid image reference",
        ),
        (
            "images:\n  - {source: a.example/x:1, target: 'b.example/y@sha256:" + "a" * 64 + "'}\n",
            "repository",
        ),
        (
            "images:\n  - {source: a.example/x:1, target: b.example/y}\n"
            "  - {source: a.example/z:1, target: b.example/y:1}\n",
            "already written",
        ),
        (
            "kind: Other\nimages:\n  - {source: a.example/x:1, target: b.example/y}\n",
            "MirrorConfig",
        ),
        ("- a\n", "must be a mapping"),
    ],
)
def test_invalid_configs_name_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_mirror_config(path)
    assert expected in error.value.message
    assert str(path) in error.value.message


@pytest.fixture
def client() -> RegistryClient:
    return RegistryClient(backend=FakeRegistry())


def test_all_platforms_keep_the_upstream_bytes(client: RegistryClient) -> None:
    ref = Reference.parse("up.example/app:v1")
    digest = push_index(client, ref, build_index())
    pinned = ref.with_digest(digest)
    manifest = client.get_manifest(pinned)
    assert plan_mirror(client, pinned, manifest, None).manifest is manifest
    both = plan_mirror(client, pinned, manifest, ["linux/amd64", "linux/arm64"])
    assert both.digest == digest and not both.filtered


def test_a_platform_subset_is_a_new_deterministic_index(client: RegistryClient) -> None:
    ref = Reference.parse("up.example/app:v1")
    built = build_index((("linux", "amd64"), ("linux", "arm64"), ("windows", "amd64")))
    digest = push_index(client, ref, built)
    pinned = ref.with_digest(digest)
    manifest = client.get_manifest(pinned)
    plan = plan_mirror(client, pinned, manifest, ["linux/arm64"])
    again = plan_mirror(client, pinned, manifest, ["linux/arm64"])
    assert plan.filtered and plan.digest != digest and plan.digest == again.digest
    document = json.loads(plan.manifest.data)
    assert document["mediaType"] == OCI_INDEX
    assert [m["digest"] for m in document["manifests"]] == [built.images[1].digest]
    assert [c.digest for c in plan.children] == [built.images[1].digest]
    with pytest.raises(UsageError, match=r"has no platform linux/s390x \(it has linux/amd64"):
        plan_mirror(client, pinned, manifest, ["linux/s390x"])


def test_a_single_platform_image_must_be_one_of_the_platforms(client: RegistryClient) -> None:
    ref = Reference.parse("up.example/one:v1")
    digest = push_image(client, ref, build_image(arch="arm64"))
    pinned = ref.with_digest(digest)
    manifest = client.get_manifest(pinned)
    assert plan_mirror(client, pinned, manifest, ["linux/arm64"]).digest == digest
    with pytest.raises(UsageError, match="single-platform image for linux/arm64"):
        plan_mirror(client, pinned, manifest, ["linux/amd64"])


def test_the_documented_schema_is_the_shipped_one() -> None:
    import jsonschema  # type: ignore[import-untyped,unused-ignore]

    from sealgate.workflows.mirror_config import mirror_schema

    documented = json.loads(
        (Path(__file__).parents[3] / "docs/mirror-config.schema.json").read_text()
    )
    assert documented == mirror_schema()
    jsonschema.Draft202012Validator.check_schema(documented)

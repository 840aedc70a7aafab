"""The oci: layout backend through the same RegistryClient API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealgate.errors import CheckFailed, ImageNotFound, IntegrityError, InternalError, RegistryError
from sealgate.oci import OCI_INDEX, OCI_MANIFEST, Reference, RegistryClient, digest_of
from tests.support.images import build_image, build_index, push_image, write_layout


@pytest.fixture
def client() -> RegistryClient:
    return RegistryClient()


def test_write_and_read_layout(tmp_path: Path, client: RegistryClient) -> None:
    image = build_image()
    ref = write_layout(tmp_path / "img", image, "v1")
    assert json.loads((tmp_path / "img" / "oci-layout").read_text()) == {
        "imageLayoutVersion": "1.0.0"
    }
    index = json.loads((tmp_path / "img" / "index.json").read_text())
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "v1"}
    assert (tmp_path / "img" / "blobs" / "sha256" / image.digest[7:]).is_file()

    desc = client.resolve(ref)
    assert (desc.digest, desc.media_type, desc.size) == (
        image.digest,
        OCI_MANIFEST,
        len(image.manifest),
    )
    assert client.get_manifest(ref).data == image.manifest
    assert client.get_blob(ref, digest_of(image.config), max_bytes=1 << 20) == image.config
    assert client.list_tags(ref) == ["v1"]


def test_sig_tag_in_layout(tmp_path: Path, client: RegistryClient) -> None:
    image = build_image(layers=1)
    ref = write_layout(tmp_path / "img", image, "v1")
    sig = build_image(layers=1)
    sig_ref = ref.with_tag(f"sha256-{image.digest[7:]}.sig")
    push_image(client, sig_ref, sig)
    assert client.get_manifest(sig_ref).digest == sig.digest
    assert sorted(client.list_tags(ref)) == sorted(["v1", sig_ref.tag or ""])
    # Re-tagging replaces the entry instead of adding a second one.
    newer = build_image(layers=1)
    push_image(client, sig_ref, newer)
    assert client.get_manifest(sig_ref).digest == newer.digest
    assert len(client.list_tags(ref)) == 2


def test_bare_layout_reference_picks_the_only_image(tmp_path: Path, client: RegistryClient) -> None:
    image = build_image(layers=1)
    write_layout(tmp_path / "img", image, "v1")
    assert client.get_manifest(Reference.parse(f"oci:{tmp_path / 'img'}")).digest == image.digest
    push_image(client, Reference.parse(f"oci:{tmp_path / 'img'}:v2"), build_image(layers=1))
    with pytest.raises(ImageNotFound):
        client.get_manifest(Reference.parse(f"oci:{tmp_path / 'img'}"))


def test_index_children_by_digest(tmp_path: Path, client: RegistryClient) -> None:
    built = build_index()
    ref = write_layout(tmp_path / "idx", built, "multi")
    assert client.get_manifest(ref).media_type == OCI_INDEX
    child = built.images[0]
    assert client.get_manifest(ref.with_digest(child.digest)).data == child.manifest


def test_missing_things(tmp_path: Path, client: RegistryClient) -> None:
    ref = Reference.parse(f"oci:{tmp_path / 'nothing'}:v1")
    with pytest.raises(ImageNotFound):
        client.get_manifest(ref)
    assert client.list_tags(ref) == []
    assert client.referrers(ref.with_digest("sha256:" + "a" * 64)) == []
    with pytest.raises(RegistryError) as info:
        client.get_blob(ref, "sha256:" + "a" * 64, max_bytes=10)
    assert info.value.status == 404


def test_tampered_layout_blob(tmp_path: Path, client: RegistryClient) -> None:
    image = build_image(layers=1)
    ref = write_layout(tmp_path / "img", image, "v1")
    (tmp_path / "img" / "blobs" / "sha256" / image.digest[7:]).write_bytes(image.manifest + b" ")
    with pytest.raises(IntegrityError):
        client.get_manifest(ref)


def test_delete_and_untagged_push(tmp_path: Path, client: RegistryClient) -> None:
    image = build_image(layers=1)
    ref = write_layout(tmp_path / "img", image, "v1")
    extra = build_image(layers=1)
    push_image(client, Reference("", ref.repository, digest=extra.digest, layout=True), extra)
    push_image(client, Reference("", ref.repository, digest=extra.digest, layout=True), extra)
    entries = json.loads((tmp_path / "img" / "index.json").read_text())["manifests"]
    assert [e["digest"] for e in entries] == [image.digest, extra.digest]
    client.delete_manifest(ref)
    with pytest.raises(ImageNotFound):
        client.get_manifest(ref)
    with pytest.raises(ImageNotFound):
        client.delete_manifest(ref.with_digest(image.digest))


def test_referrers_fallback_tag_in_layout(tmp_path: Path, client: RegistryClient) -> None:
    image = build_image(layers=1)
    ref = write_layout(tmp_path / "img", image, "v1")
    child = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "b" * 64, "size": 3}
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child]}).encode()
    client.put_manifest(ref.with_tag("sha256-" + image.digest[7:]), index, OCI_INDEX)
    assert [d.digest for d in client.referrers(ref)] == [child["digest"]]


def test_malformed_index_json(tmp_path: Path, client: RegistryClient) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "index.json").write_text("[1, 2")
    from sealgate.errors import MalformedData

    with pytest.raises(MalformedData):
        client.get_manifest(Reference.parse(f"oci:{tmp_path / 'bad'}:v1"))


def test_unreadable_layout_blob_is_a_check_failure_not_a_bug(tmp_path: Path) -> None:
    # An OSError while reading a layout is an expected failure the backend maps itself.
    layout = Reference.parse(f"oci:{tmp_path / 'img'}")
    digest = "sha256:" + "ab" * 32
    (tmp_path / "img" / "blobs" / "sha256" / ("ab" * 32)).mkdir(parents=True)
    with RegistryClient() as client:
        # The cap is above a directory's st_size, so the failure is the read itself.
        with pytest.raises(CheckFailed) as info:
            client.get_blob(layout, digest, max_bytes=1 << 20)
        assert not isinstance(info.value, InternalError)
        with pytest.raises(CheckFailed), client.open_blob(layout, digest, max_bytes=1 << 20) as f:
            f.read()

"""RegistryClient against the real distribution registry on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sealgate.config import ClientConfig
from sealgate.errors import (
    ImageNotFound,
    IntegrityError,
    LimitExceeded,
    RegistryError,
    RegistryUnreachable,
    Unauthorized,
)
from sealgate.oci import OCI_INDEX, OCI_MANIFEST, Reference, RegistryClient, digest_of
from tests.integration.conftest import RunningRegistry
from tests.support.images import (
    build_image,
    build_index,
    push_image,
    push_index,
    skopeo_copy,
    write_layout,
)

pytestmark = pytest.mark.registry


def _config(tmp_path: Path, **kwargs: object) -> ClientConfig:
    settings: dict[str, object] = {
        "timeout_s": 10.0,
        "backoff_s": 0.01,
        "docker_config": tmp_path / "none.json",
        "auth_file": tmp_path / "none-auth.json",
    }
    settings.update(kwargs)
    return ClientConfig(**settings)  # type: ignore[arg-type]


def test_push_and_pull_image(client: RegistryClient, registry: RunningRegistry, repo: str) -> None:
    ref = registry.ref(repo, "v1")
    image = build_image()
    digest = push_image(client, ref, image)
    assert digest == image.digest

    desc = client.resolve(ref)
    assert (desc.digest, desc.size, desc.media_type) == (digest, len(image.manifest), OCI_MANIFEST)
    fetched = client.get_manifest(ref)
    assert fetched.data == image.manifest and fetched.digest == digest
    assert client.get_manifest(ref.with_digest(digest)).data == image.manifest
    for blob in image.blobs():
        assert client.blob_exists(ref, digest_of(blob))
        assert client.get_blob(ref, digest_of(blob), max_bytes=1 << 20) == blob
        with client.open_blob(ref, digest_of(blob), max_bytes=1 << 20) as stream:
            assert stream.read() == blob


def test_resolve_digest_reference(
    client: RegistryClient, registry: RunningRegistry, repo: str
) -> None:
    ref = registry.ref(repo, "v1")
    digest = push_image(client, ref, build_image(layers=1))
    pinned = Reference(ref.registry, ref.repository, digest=digest)
    assert client.resolve(pinned).digest == digest


def test_index_push_and_children(
    client: RegistryClient, registry: RunningRegistry, repo: str
) -> None:
    ref = registry.ref(repo, "multi")
    built = build_index()
    digest = push_index(client, ref, built)
    fetched = client.get_manifest(ref)
    assert fetched.media_type == OCI_INDEX and fetched.digest == digest
    children = json.loads(fetched.data)["manifests"]
    assert {c["platform"]["architecture"] for c in children} == {"amd64", "arm64"}
    for child in children:
        pinned = Reference(ref.registry, ref.repository, digest=child["digest"])
        assert client.get_manifest(pinned).media_type == OCI_MANIFEST


def test_missing_manifest_maps_to_image_not_found(
    client: RegistryClient, registry: RunningRegistry, repo: str
) -> None:
    with pytest.raises(ImageNotFound):
        client.get_manifest(registry.ref(repo, "nope"))
    with pytest.raises(ImageNotFound):
        client.resolve(registry.ref(repo, "nope"))
    assert client.get_manifest_or_none(registry.ref(repo, "nope")) is None
    push_image(client, registry.ref(repo, "v1"), build_image(layers=1))
    with pytest.raises(ImageNotFound):
        client.get_manifest(registry.ref(repo).with_digest("sha256:" + "0" * 64))


def test_missing_blob_is_registry_error(
    client: RegistryClient, registry: RunningRegistry, repo: str
) -> None:
    push_image(client, registry.ref(repo, "v1"), build_image(layers=1))
    with pytest.raises(RegistryError) as info:
        client.get_blob(registry.ref(repo), "sha256:" + "0" * 64, max_bytes=100)
    assert info.value.status == 404
    assert not client.blob_exists(registry.ref(repo), "sha256:" + "0" * 64)


def test_list_tags(client: RegistryClient, registry: RunningRegistry, repo: str) -> None:
    # distribution 2.8 ignores ?n= on tags/list (pagination arrived in v3), so Link-header
    # pagination and its cap are covered by the MockTransport unit tests instead.
    image = build_image(layers=1)
    ref = registry.ref(repo, "t0")
    push_image(client, ref, image)
    tags = [f"t{n}" for n in range(7)]
    for tag in tags[1:]:
        client.put_manifest(ref.with_tag(tag), image.manifest, OCI_MANIFEST)
    assert sorted(client.list_tags(ref)) == tags
    assert client.list_tags(registry.ref(repo + "-unknown")) == []


def test_delete_manifest(client: RegistryClient, registry: RunningRegistry, repo: str) -> None:
    ref = registry.ref(repo, "gone")
    push_image(client, ref, build_image(layers=1))
    client.delete_manifest(ref)
    with pytest.raises(ImageNotFound):
        client.get_manifest(ref)


def test_referrers_fallback_tag(
    client: RegistryClient, registry: RunningRegistry, repo: str
) -> None:
    ref = registry.ref(repo, "v1")
    subject = push_image(client, ref, build_image(layers=1))
    assert client.referrers(ref) == []  # registry 2.8 has no API, no fallback tag yet

    artifact = build_image(layers=1)
    artifact_digest = push_image(
        client, Reference(ref.registry, ref.repository, digest=artifact.digest), artifact
    )
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": artifact_digest,
                    "size": len(artifact.manifest),
                    "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                }
            ],
        }
    ).encode()
    client.put_manifest(ref.with_tag("sha256-" + subject[7:]), index, OCI_INDEX)
    found = client.referrers(ref.with_digest(subject))
    assert [d.digest for d in found] == [artifact_digest]
    assert found[0].artifact_type == "application/vnd.dev.sigstore.bundle.v0.3+json"


def test_blob_over_cap_is_refused_without_reading(
    client: RegistryClient, registry: RunningRegistry, repo: str
) -> None:
    ref = registry.ref(repo, "big")
    big = b"\0" * (3 << 20)
    digest = client.put_blob(ref, big)
    with pytest.raises(LimitExceeded):
        client.get_blob(ref, digest, max_bytes=1 << 20)
    with pytest.raises(LimitExceeded), client.open_blob(ref, digest, max_bytes=1024) as f:
        f.read()


def test_manifest_over_cap(registry: RunningRegistry, repo: str, tmp_path: Path) -> None:
    config = _config(
        tmp_path, insecure_registries=frozenset({registry.host}), max_manifest_bytes=64
    )
    with RegistryClient(config) as client:
        ref = registry.ref(repo, "v1")
        push_image(client, ref, build_image(layers=1))
        with pytest.raises(LimitExceeded):
            client.get_manifest(ref)


def test_concurrent_workers_share_one_client(
    client: RegistryClient, registry: RunningRegistry, repo: str
) -> None:
    images = [build_image(layers=1) for _ in range(16)]

    def push_and_read(n: int) -> str:
        ref = registry.ref(repo, f"w{n}")
        push_image(client, ref, images[n])
        return client.get_manifest(ref).digest

    with ThreadPoolExecutor(max_workers=16) as pool:
        digests = list(pool.map(push_and_read, range(16)))
    assert digests == [image.digest for image in images]


# --- TLS ----------------------------------------------------------------------------------


def test_tls_with_custom_ca(tls_registry: RunningRegistry, repo: str, tmp_path: Path) -> None:
    config = _config(tmp_path, ca_bundle=tls_registry.ca_bundle)
    with RegistryClient(config) as client:
        ref = tls_registry.ref(repo, "v1")
        digest = push_image(client, ref, build_image(layers=1))
        assert client.resolve(ref).digest == digest


def test_tls_without_ca_is_unreachable(
    tls_registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    with RegistryClient(_config(tmp_path)) as client, pytest.raises(RegistryUnreachable) as info:
        client.get_manifest(tls_registry.ref(repo, "v1"))
    assert "TLS" in str(info.value) or "certificate" in str(info.value).lower()


# --- basic auth ---------------------------------------------------------------------------


def test_basic_auth_right_credentials(
    auth_registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    config = _config(
        tmp_path,
        insecure_registries=frozenset({auth_registry.host}),
        username=auth_registry.username,
        password=auth_registry.password,
    )
    with RegistryClient(config) as client:
        ref = auth_registry.ref(repo, "v1")
        digest = push_image(client, ref, build_image(layers=1))
        assert client.get_manifest(ref).digest == digest


def test_basic_auth_from_docker_config(
    auth_registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    import base64

    docker_config = tmp_path / "config.json"
    token = base64.b64encode(f"{auth_registry.username}:{auth_registry.password}".encode()).decode()
    docker_config.write_text(json.dumps({"auths": {auth_registry.host: {"auth": token}}}))
    config = _config(
        tmp_path, insecure_registries=frozenset({auth_registry.host}), docker_config=docker_config
    )
    with RegistryClient(config) as client:
        assert client.list_tags(auth_registry.ref(repo)) == []


def test_basic_auth_wrong_credentials(
    auth_registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    wrong = "definitely-Wrong-pw-123"
    config = _config(
        tmp_path,
        insecure_registries=frozenset({auth_registry.host}),
        username=auth_registry.username,
        password=wrong,
    )
    with RegistryClient(config) as client, pytest.raises(Unauthorized) as info:
        client.get_manifest(auth_registry.ref(repo, "v1"))
    assert info.value.status == 401 and info.value.reason == "unauthorized"
    assert wrong not in str(info.value) and "Basic" not in str(info.value)
    assert auth_registry.host in str(info.value)


def test_anonymous_on_auth_registry(
    auth_registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, insecure_registries=frozenset({auth_registry.host}))
    with RegistryClient(config) as client, pytest.raises(Unauthorized) as info:
        client.get_manifest(auth_registry.ref(repo, "v1"))
    assert info.value.status == 401


# --- failure modes ------------------------------------------------------------------------


@pytest.fixture
def hung_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_hung_registry_times_out(hung_server: str, tmp_path: Path) -> None:
    config = _config(tmp_path, insecure_registries=frozenset({hung_server}), timeout_s=1.0)
    start = time.monotonic()
    with RegistryClient(config) as client, pytest.raises(RegistryUnreachable, match="timed out"):
        client.get_manifest(Reference.parse(f"{hung_server}/some/repo:v1"))
    assert time.monotonic() - start < 5.0


def test_nothing_listening_is_unreachable(tmp_path: Path) -> None:
    from tests.support.registry_server import free_port

    host = f"127.0.0.1:{free_port()}"
    config = _config(tmp_path, insecure_registries=frozenset({host}), max_attempts=2)
    with RegistryClient(config) as client, pytest.raises(RegistryUnreachable):
        client.resolve(Reference.parse(f"{host}/some/repo:v1"))


def test_tampered_blob_on_disk_is_integrity_error(
    client: RegistryClient, registry: RunningRegistry, repo: str
) -> None:
    ref = registry.ref(repo, "v1")
    data = b"original layer content"
    digest = client.put_blob(ref, data)
    blob_files = list(
        registry.server.storage.rglob(f"blobs/sha256/{digest[7:9]}/{digest[7:]}/data")
    )
    assert blob_files, "blob not found in registry storage"
    blob_files[0].write_bytes(b"tampered layer content")  # same length, other bytes
    with pytest.raises(IntegrityError):
        client.get_blob(ref, digest, max_bytes=1024)


# --- layouts and skopeo -------------------------------------------------------------------


def test_layout_copied_by_skopeo_is_readable(
    client: RegistryClient, registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    image = build_image()
    layout = write_layout(tmp_path / "layout", image, "v1")
    skopeo_copy(layout, f"{registry.host}/{repo}:v1")
    fetched = client.get_manifest(registry.ref(repo, "v1"))
    assert fetched.digest == image.digest

"""The transport against the real registry: streamed uploads, lying and flaky fronts.

Fronts (tests/support/registry_front.py) sit between the client and the real
docker-registry and rewrite or break exactly one thing, so each test shows one behaviour.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from sealgate.config import ClientConfig, MiB
from sealgate.errors import IntegrityError
from sealgate.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Reference, RegistryClient, digest_of
from sealgate.workflows.copy import CopyOptions, copy_image
from tests.integration.conftest import RunningRegistry
from tests.support.images import build_image, push_image
from tests.support.registry_front import Action, Forward, Reset, Truncate, running_front

BIG = 64 * MiB + 12345  # not a multiple of the chunk size: the last PATCH is short


def _config(tmp_path: Path, *hosts: str, **kwargs: object) -> ClientConfig:
    settings: dict[str, object] = {
        "insecure_registries": frozenset(hosts),
        "timeout_s": 30.0,
        "backoff_s": 0.01,
        "docker_config": tmp_path / "none.json",
        "auth_file": tmp_path / "none-auth.json",
    }
    settings.update(kwargs)
    return ClientConfig(**settings)  # type: ignore[arg-type]


def _random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` a MiB at a time; return their digest."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            piece = os.urandom(min(MiB, left))
            digest.update(piece)
            f.write(piece)
            left -= len(piece)
    return "sha256:" + digest.hexdigest()


def _peak_bytes(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _stored_digest(client: RegistryClient, ref: Reference, digest: str) -> str:
    hashed = hashlib.sha256()
    with client.open_blob(ref, digest, max_bytes=BIG) as blob:
        while piece := blob.read(MiB):
            hashed.update(piece)
    return "sha256:" + hashed.hexdigest()


@pytest.fixture
def big_blob(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("big") / "blob.bin"
    return path, _random_file(path, BIG)


def test_streamed_upload_of_a_64_mib_blob_holds_no_more_than_a_piece(
    client: RegistryClient, registry: RunningRegistry, repo: str, big_blob: tuple[Path, str]
) -> None:
    path, digest = big_blob
    ref = registry.ref(repo)
    with path.open("rb") as f:
        peak = _peak_bytes(lambda: client.put_blob_stream(ref, f, digest=digest, size=BIG))
    assert peak < 4 * MiB, f"peak {peak / MiB:.1f} MiB while streaming {BIG / MiB:.0f} MiB"
    assert _stored_digest(client, ref, digest) == digest


def test_copy_streams_layers_between_registries_in_bounded_memory(
    registry: RunningRegistry, repo: str, big_blob: tuple[Path, str], tmp_path: Path
) -> None:
    path, layer_digest = big_blob
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": BIG}],
        }
    ).encode()
    src = registry.ref(f"{repo}/src", "v1")
    dst = registry.ref(f"{repo}/dst", "v1")
    # Two clients: copy cannot mount across them, so every byte streams through us.
    with (
        RegistryClient(_config(tmp_path, registry.host)) as src_client,
        RegistryClient(_config(tmp_path, registry.host)) as dst_client,
    ):
        with path.open("rb") as f:
            src_client.put_blob_stream(src, f, digest=layer_digest, size=BIG)
        src_client.put_blob(src, config)
        src_client.put_manifest(src, manifest, OCI_MANIFEST)

        peak = _peak_bytes(lambda: copy_image(src_client, dst_client, src, dst, CopyOptions()))
        assert peak < 8 * MiB, f"copy peaked at {peak / MiB:.1f} MiB for a {BIG // MiB} MiB layer"
        assert dst_client.get_manifest(dst).digest == digest_of(manifest)
        assert _stored_digest(dst_client, dst, layer_digest) == layer_digest


def test_chunked_upload_with_a_wrong_digest_stores_nothing(
    registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    data = os.urandom(3 * MiB + 7)
    wrong = digest_of(data + b"!")
    ref = registry.ref(repo)
    config = _config(tmp_path, registry.host, upload_chunk_bytes=MiB)
    with RegistryClient(config) as client:
        with pytest.raises(IntegrityError, match="hashes to"):
            client.put_blob_stream(ref, io.BytesIO(data), digest=wrong, size=len(data))
        assert not client.blob_exists(ref, wrong)
        assert not client.blob_exists(ref, digest_of(data))
    storage = registry.server.storage / "docker" / "registry" / "v2"
    assert not list(storage.glob(f"blobs/sha256/*/{digest_of(data)[7:]}"))
    assert not list(storage.glob(f"blobs/sha256/*/{wrong[7:]}"))
    # Cancelled: the session's data is gone (registry 2.8 leaves an empty hashstate behind).
    uploads = storage / "repositories" / repo / "_uploads"
    assert not list(uploads.rglob("data")), "the upload session was not cancelled"


def test_a_tag_digest_is_the_hash_of_the_bytes_never_the_header(
    client: RegistryClient, registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    honest = registry.ref(repo, "v1")
    other = registry.ref(repo, "other")
    served = push_image(client, honest, build_image(layers=1))
    claimed = push_image(client, other, build_image(layers=1))

    def lie(method: str, path: str, n: int) -> Action:
        del method, n
        if path.endswith("/manifests/v1"):
            return Forward(set_headers={"Docker-Content-Digest": claimed})
        return Forward()

    with running_front(registry.host, lie) as front:
        ref = Reference.parse(f"{front.host}/{repo}:v1")
        with RegistryClient(_config(tmp_path, front.host)) as lied_to:
            with pytest.raises(IntegrityError, match="announced"):
                lied_to.resolve(ref)
            pinned = lied_to.resolve(ref.with_digest(served))
        assert pinned.digest == served
        assert ("HEAD", f"/v2/{repo}/manifests/v1", "Forward") not in front.log


def test_bodies_cut_short_are_fetched_again(
    client: RegistryClient, registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    image = build_image(layers=1)
    ref = registry.ref(repo, "v1")
    push_image(client, ref, image)
    layer = digest_of(image.layers[0])
    plan: dict[int, Action] = {0: Truncate(fraction=0.5), 1: Reset(after_fraction=0.3)}

    def flaky(method: str, path: str, n: int) -> Action:
        return plan.get(n, Forward()) if method == "GET" else Forward()

    with running_front(registry.host, flaky) as front:
        via = Reference.parse(f"{front.host}/{repo}:v1")
        with RegistryClient(_config(tmp_path, front.host)) as flaky_client:
            assert flaky_client.get_manifest(via).digest == image.digest
            assert flaky_client.get_blob(via, layer, max_bytes=1 << 20) == image.layers[0]
        gets = [entry for entry in front.log if entry[0] == "GET"]
    assert [kind for _, _, kind in gets] == ["Truncate", "Reset", "Forward"] * 2

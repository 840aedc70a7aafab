"""Hostile or broken registry content through the CLI: one line, non-zero, never allowed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sealgate.formats.cosign_manifest import SignatureLayer, build_attachment_manifest
from sealgate.formats.simplesigning import build_payload
from sealgate.oci import OCI_MANIFEST, Reference, RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.integration.test_cli_sign_verify import sign
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image


def _verify(registry: RunningRegistry, pub: Path, image: str, home: Path, **env: str) -> Result:
    return run(
        [
            "verify",
            "--key",
            str(pub),
            "--insecure-ignore-tlog",
            "--insecure-registry",
            registry.host,
            "--timeout",
            "3",
            image,
        ],
        env,
        home=str(home),
    )


def _one_line_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err


def test_signature_manifest_with_10000_layers_is_could_not_check(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    ref = registry.ref(repo, "v1")
    digest = push_image(client, ref, build_image())
    payload = build_payload(ref.name, digest, None)
    layer = SignatureLayer(
        "application/vnd.dev.cosign.simplesigning.v1+json",
        payload,
        {"dev.cosignproject.cosign/signature": "AAAA"},
    )
    manifest, config = build_attachment_manifest([layer] * 10_000)
    client.put_blob(ref, config)
    client.put_blob(ref, payload)
    sig = Reference.parse(f"{registry.host}/{repo}:{digest.replace(':', '-')}.sig")
    client.put_manifest(sig, manifest, OCI_MANIFEST)
    result = _verify(registry, keys["first.pub"], str(ref), tmp_path)
    assert result.code == 3, result.err
    assert "1000" in result.err
    _one_line_no_traceback(result)


def test_payload_over_the_attachment_cap_is_not_read(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = registry.ref(repo, "v1")
    push_image(client, image, build_image())
    annotations = [arg for i in range(40) for arg in ("-a", f"k{i}={'x' * 100}")]
    assert sign(registry, keys["first"], str(image), *annotations, home=tmp_path).code == 0
    result = _verify(
        registry, keys["first.pub"], str(image), tmp_path, COSIGN_MAX_ATTACHMENT_SIZE="1KiB"
    )
    assert result.code == 3, result.err
    _one_line_no_traceback(result)


def test_unknown_manifest_media_type_for_the_image_is_handled(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    """An artifact manifest (not an image) carries no signature: unsigned, not a crash."""
    ref = registry.ref(repo, "artifact")
    config = b"{}"
    client.put_blob(ref, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/x-unknown",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "size": 2,
                "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            },
            "layers": [],
        }
    ).encode()
    client.put_manifest(ref, manifest, OCI_MANIFEST)
    result = _verify(registry, keys["first.pub"], str(ref), tmp_path)
    assert result.code == 10
    _one_line_no_traceback(result)


@pytest.fixture
def hanging_registry() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def test_hanging_registry_ends_within_the_timeout(
    hanging_registry: str, keys: dict[str, Path], tmp_path: Path
) -> None:
    start = time.monotonic()
    result = run(
        [
            "verify",
            "--key",
            str(keys["first.pub"]),
            "--insecure-ignore-tlog",
            "--insecure-registry",
            hanging_registry,
            "--timeout",
            "1",
            f"{hanging_registry}/repo:v1",
        ],
        home=str(tmp_path),
    )
    assert time.monotonic() - start < 15
    assert result.code == 3, result.err
    _one_line_no_traceback(result)


def test_sign_refuses_an_image_with_critical_vulnerabilities(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = registry.ref(repo, "v1")
    push_image(client, image, build_image())
    report = tmp_path / "grype.json"
    report.write_text(
        json.dumps(
            {
                "matches": [
                    {
                        "vulnerability": {"id": "CVE-2024-9", "severity": "Critical"},
                        "artifact": {"name": "zlib", "version": "1.2"},
                    }
                ]
            }
        )
    )
    refused = run(
        [
            "sign",
            "--key",
            str(keys["first"]),
            "--insecure-registry",
            registry.host,
            "--scan-report",
            str(report),
            "--fail-on",
            "critical",
            str(image),
        ],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(tmp_path),
    )
    assert refused.code == 1 and "CVE-2024-9" in refused.err
    assert _verify(registry, keys["first.pub"], str(image), tmp_path).code == 10

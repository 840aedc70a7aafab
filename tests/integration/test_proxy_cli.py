"""``sealgate proxy`` as a process, its flags, and blobs streamed through it in bounded memory."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import httpx
import pytest

from sealgate.config import ClientConfig, MiB
from sealgate.oci import OCI_MANIFEST, Reference, RegistryClient
from tests.integration.conftest import RunningRegistry
from tests.integration.test_mirror import cip, sign_upstream
from tests.support.cli import run
from tests.support.images import build_image, push_image
from tests.support.proxy import running_proxy
from tests.support.registry_server import free_port

BIG = 64 * MiB


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"proxy exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            httpx.get(f"{url}/v2/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("proxy did not start")


def test_the_command_serves_refuses_and_stops_cleanly(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    signed = registry.ref(f"prod/{repo}", "v1")
    push_image(client, signed, build_image())
    sign_upstream(registry, keys["first"], str(signed), tmp_path)
    push_image(client, registry.ref(f"prod/{repo}", "unsigned"), build_image())
    policy = cip(tmp_path / "policy.yaml", registry.host, keys["first.pub"])
    port = free_port()
    command = [
        sys.executable, "-c", "from sealgate.cli.main import entrypoint; entrypoint()",
        "proxy", "--upstream", f"http://{registry.host}", "--policy", str(policy),
        "--protect", "prod/**", "--listen", f"127.0.0.1:{port}",
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / ".docker")}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, env=env)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", process)
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Accept": OCI_MANIFEST}
        ) as http:
            assert http.get(f"/v2/prod/{repo}/manifests/v1").status_code == 200
            assert http.get(f"/v2/prod/{repo}/manifests/unsigned").status_code == 412
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    text = err.decode()
    # uvicorn shuts down gracefully, then ends by the signal it caught, as supervisors expect.
    assert process.returncode == -signal.SIGTERM, text
    assert "Traceback" not in text
    assert f"http://127.0.0.1:{port} -> http://{registry.host}" in text
    assert "refused" in text and "(unsigned)" in text


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--upstream", "http://registry.example:5000"], "--allow-http-registry"),
        (["--upstream", "ftp://x"], "http(s)://host"),
        (["--upstream", "https://r.example", "--listen", "nowhere"], "HOST:PORT"),
        (["--upstream", "https://r.example", "--protect", "Prod/[x]"], "repository paths"),
        (["--upstream", "https://r.example", "--tls-cert", "/nonexistent"], "go together"),
    ],
)
def test_bad_flags_are_one_line_usage_errors(
    flags: list[str], expected: str, tmp_path: Path, keys: dict[str, Path]
) -> None:
    policy = cip(tmp_path / "policy.yaml", "r.example", keys["first.pub"])
    args = ["proxy", "--policy", str(policy), *flags]
    if "--protect" not in flags:
        args += ["--protect", "prod/**"]
    done = run(args, home=str(tmp_path))
    assert done.code == 64, done.err
    assert expected in done.err and "Traceback" not in done.err


def _digest_of_stream(client: RegistryClient, ref: Reference, digest: str) -> str:
    hashed = hashlib.sha256()
    with client.open_blob(ref, digest, max_bytes=BIG) as blob:
        while piece := blob.read(MiB):
            hashed.update(piece)
    return "sha256:" + hashed.hexdigest()


def test_blobs_stream_both_ways_in_bounded_memory(
    registry: RunningRegistry, keys: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "blob.bin"
    hashed = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(BIG // MiB):
            piece = os.urandom(MiB)
            hashed.update(piece)
            out.write(piece)
    digest = "sha256:" + hashed.hexdigest()
    policy = cip(tmp_path / "policy.yaml", registry.host, keys["first.pub"])
    config = ClientConfig(
        docker_config=tmp_path / "none.json",
        auth_file=tmp_path / "none-auth.json",
    )
    with running_proxy(f"http://{registry.host}", policy, ("prod/**",), config) as proxy:
        ref = Reference.parse(f"{proxy.host}/prod/big:v1")
        with RegistryClient(config) as through:
            tracemalloc.start()
            try:
                with path.open("rb") as source:
                    through.put_blob_stream(ref, source, digest=digest, size=BIG)
                assert _digest_of_stream(through, ref, digest) == digest
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB for {BIG // MiB} MiB up and down"

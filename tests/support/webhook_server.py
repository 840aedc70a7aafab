"""Start ``sealgate webhook serve`` as a real process on loopback over HTTPS, and talk to it.

The server gets a free port, a throw-away CA and server certificate (127.0.0.1), an empty
docker config, and its JSON log in ``<workdir>/webhook.log`` for failure messages. Requests
go over TLS verified against the test CA, as the API server would send them.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.registry_server import TlsMaterial, free_port, make_test_ca, stop_process

STARTUP_TIMEOUT_S = 30.0


@dataclass
class WebhookServer:
    """A running webhook; ``url`` is ``https://127.0.0.1:<port>``."""

    url: str
    workdir: Path
    tls: TlsMaterial
    process: subprocess.Popen[bytes]
    client: httpx.Client

    @property
    def log_path(self) -> Path:
        return self.workdir / "webhook.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_entries(self) -> list[dict[str, Any]]:
        """The JSON log lines so far."""
        entries = []
        for line in self.log().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def post(self, path: str, body: object | bytes, **headers: str) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(
            self.url + path,
            content=content,
            headers={"content-type": "application/json", **headers},
        )

    def review(self, path: str, body: object) -> dict[str, Any]:
        """POST an AdmissionReview and return its ``response`` (asserting HTTP 200)."""
        answer = self.post(path, body)
        assert answer.status_code == 200, (answer.status_code, answer.text)
        document = answer.json()
        assert document["kind"] == "AdmissionReview"
        response: dict[str, Any] = document["response"]
        return response

    def metric(self, name: str, **labels: str) -> float:
        """One sample of ``/metrics`` (0 when absent)."""
        text = self.client.get(self.url + "/metrics").text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        total = 0.0
        for line in text.splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            series, _, value = line.rpartition(" ")
            head, _, rest = series.partition("{")
            if head != name:
                continue
            found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
            if all(f'{k}="{v}"' in found for k, v in labels.items()) or wanted == found:
                total += float(value)
        return total

    def stop(self) -> None:
        self.client.close()
        stop_process(self.process, grace_s=15)


def start_webhook(
    workdir: Path,
    policies: Sequence[Path],
    extra: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> WebhookServer:
    """Start the server and wait until ``/readyz`` answers 200 (bounded)."""
    workdir.mkdir(parents=True, exist_ok=True)
    tls = make_test_ca(workdir / "tls")
    port = free_port()
    sealgate = shutil.which("sealgate", path=str(Path(sys.executable).parent)) or "sealgate"
    argv = [sealgate, "webhook", "serve", "--host", "127.0.0.1", "--port", str(port)]
    for policy in policies:
        argv += ["--policy", str(policy)]
    argv += ["--tls-cert", str(tls.server_cert), "--tls-key", str(tls.server_key), *extra]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COSIGN_", "SEALGATE_"))}
    environ.update({"HOME": str(workdir), "DOCKER_CONFIG": str(workdir / "docker")})
    environ.update(env or {})
    log = (workdir / "webhook.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environ)
    log.close()
    context = ssl.create_default_context(cafile=str(tls.ca_cert))
    client = httpx.Client(verify=context, timeout=30.0)
    server = WebhookServer(f"https://127.0.0.1:{port}", workdir, tls, process, client)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"webhook exited {process.returncode}: {server.log()[-3000:]}")
        try:
            if client.get(server.url + "/readyz").status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"webhook did not start: {server.log()[-3000:]}")

"""Admission webhook latency and throughput, over HTTPS on loopback, load from a second process.

Set-up: the real docker-registry, images signed by ``sealgate sign``, ``sealgate webhook
serve`` as its own process (memory cache), and a second one sharing Redis. The load generator
is this file run with ``--load`` in another process: keep-alive HTTP/1.1 over TLS on asyncio
streams, so the client costs little next to the server.

Figures (2-core machine; server and client share it):

* warm: a pod of 3 containers whose verifications are cached; p50/p99 latency at
  concurrency 1, reviews/s at concurrency 8; tags (resolved at every review) and digests;
* cold: a pod of 3 images never seen, each review verifies 3 signatures (p50/p99);
* the same with Redis: cold, warm, and "shared warm" (replica B reads A's verifications).

Run: ``.venv/bin/python benchmarks/webhook.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _common import ROOT  # noqa: F401 - puts the checkout on sys.path

# isort: split
# _common put the checkout on sys.path: the test helpers below import from it.
from tests.support.admission import pod_spec, review_body, workload
from tests.support.cli import run
from tests.support.images import build_image, push_image
from tests.support.redis_server import start_redis
from tests.support.registry_server import start_registry
from tests.support.webhook_server import WebhookServer, start_webhook

from sealgate.config import ClientConfig
from sealgate.oci import Reference, RegistryClient

PASSWORD = "benchmark"  # noqa: S105 - a throw-away key made by the benchmark


# --- load generator (second process) ---------------------------------------------------------


async def _connection(
    host: str, port: int, context: ssl.SSLContext, bodies: list[bytes], latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        for body in bodies:
            request = (
                f"POST /validate HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            payload = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if b'"allowed":true' not in payload:
                raise SystemExit(f"review not admitted: {payload[:300]!r}")
    finally:
        writer.close()


async def _load(url: str, ca: str, bodies: list[bytes], concurrency: int) -> dict[str, Any]:
    host, port = url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca)
    latencies: list[float] = []
    shares = [bodies[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection(host, int(port), context, share, latencies) for share in shares if share)
    )
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "elapsed": elapsed}


def load_main(argv: list[str]) -> None:
    url, ca, bodies_file, concurrency = argv
    bodies = [line.encode() for line in Path(bodies_file).read_text().splitlines() if line]
    result = asyncio.run(_load(url, ca, bodies, int(concurrency)))
    print(json.dumps(result))


def load(server: WebhookServer, bodies: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    """Run the load generator in another process."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for body in bodies:
            handle.write(json.dumps(body, separators=(",", ":")) + "\n")
    try:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--load",
                server.url,
                str(server.tls.ca_cert),
                handle.name,
                str(concurrency),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    finally:
        Path(handle.name).unlink()
    if done.returncode != 0:
        raise SystemExit(f"load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- orchestration ---------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _report(label: str, result: dict[str, Any]) -> None:
    latencies = result["latencies"]
    rate = len(latencies) / result["elapsed"]
    print(
        f"  {label:<46} p50 {_pct(latencies, 0.5):7.2f} ms  p99 {_pct(latencies, 0.99):7.2f} ms"
        f"  {rate:8.0f} reviews/s  (n={len(latencies)})"
    )


def _pods(images: list[str], count: int) -> list[dict[str, Any]]:
    return [
        review_body(workload("Pod", pod_spec(*images), name=f"p{i}"), uid=str(uuid.uuid4()))
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20, help="cold pods per server")
    parser.add_argument("--warm", type=int, default=3000, help="warm reviews per measurement")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sealgate-bench-webhook-"))
    registry = start_registry(work / "registry")
    redis = start_redis(work / "redis")
    servers: list[WebhookServer] = []
    try:
        host = registry.host
        made = run(
            ["generate-key-pair", "--output-key-prefix", str(work / "k")],
            {"COSIGN_PASSWORD": PASSWORD},
        )
        assert made.code == 0, made.err
        config = ClientConfig(insecure_registries=frozenset({host}), docker_config=work / "none")
        names = [f"bench/app{i}" for i in range(3 + 3 * 3 * args.rounds)]
        images: list[str] = []
        digests: list[str] = []
        with RegistryClient(config) as client:
            for name in names:
                ref = Reference.parse(f"{host}/{name}:v1")
                push_image(client, ref, build_image())
                images.append(str(ref))
                digests.append(client.resolve(ref).digest)
        started = time.perf_counter()
        for image in images:
            signed = run(
                ["sign", "--key", str(work / "k.key"), "--insecure-registry", host, image],
                {"COSIGN_PASSWORD": PASSWORD},
                home=str(work),
            )
            assert signed.code == 0, signed.err
        took = time.perf_counter() - started
        print(f"set-up: {len(images)} images pushed and signed in {took:.1f} s")
        policies = work / "policies"
        policies.mkdir()
        key = "\n".join("          " + line for line in (work / "k.pub").read_text().splitlines())
        (policies / "cip.yaml").write_text(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
            "metadata: {name: bench}\nspec:\n"
            f'  images: [{{glob: "{host}/bench/**"}}]\n'
            "  authorities:\n    - key:\n        data: |\n" + key + "\n"
        )
        flags = ["--insecure-registry", host]
        memory = start_webhook(work / "memory", [policies], flags)
        servers.append(memory)
        env = {"SEALGATE_CACHE_KEY": "ab" * 32}
        shared = [
            start_webhook(work / f"redis-{i}", [policies], [*flags, "--cache", redis.url], env=env)
            for i in range(2)
        ]
        servers += shared
        warm_tags = images[:3]
        warm_digests = [f"{i}@{d}" for i, d in zip(images[:3], digests[:3], strict=True)]
        cold = [images[3 + 3 * i : 6 + 3 * i] for i in range(3 * args.rounds)]

        print(f"webhook on loopback, load from a second process ({os.cpu_count()} cores)")
        for label, server, batches in (
            ("memory cache", memory, cold[: args.rounds]),
            ("redis cache (replica A)", shared[0], cold[args.rounds : 2 * args.rounds]),
        ):
            _report(
                f"cold, 3 new signed images [{label}]",
                load(server, [review_body(workload("Pod", pod_spec(*b))) for b in batches], 1),
            )
            load(server, _pods(warm_tags, 10), 1)  # verify once
            for what, pod in (("tags", warm_tags), ("digests", warm_digests)):
                _report(
                    f"warm, 3 containers by {what}, c=1 [{label}]",
                    load(server, _pods(pod, args.warm // 3), 1),
                )
                _report(
                    f"warm, 3 containers by {what}, c=8 [{label}]",
                    load(server, _pods(pod, args.warm), 8),
                )
        # Replica B has never verified A's images: memory misses, Redis hits.
        replayed = cold[args.rounds : 2 * args.rounds]
        _report(
            "shared warm: replica B reads A's verifications",
            load(shared[1], [review_body(workload("Pod", pod_spec(*b))) for b in replayed], 1),
        )
    finally:
        for server in servers:
            server.stop()
        redis.stop()
        registry.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main(sys.argv[2:])
    else:
        main()

"""Mirror and sign N images between two loopback registries, and the proxy's added latency.

    .venv/bin/python benchmarks/mirror.py [--images 100] [--runs 3] [--pulls 200]

Mirror: N upstream images (2 layers of --layer-kib random bytes each) are mirrored and signed
(``mirror_images``), next to the floor of copying the same bytes in the same run with the
same concurrency (``copy_image``: blobs streamed, manifests, nothing verified or signed).
Each run writes to fresh repositories so nothing is skipped; the medians are compared. Also
timed: the same mirror with an upstream policy check, and an idempotent re-run (all skipped).

Proxy: ``sealgate proxy`` runs as its own process in front of the upstream; one client pulls
manifests by tag, one at a time, directly and through the proxy (a protected repository,
cold then warm verdict cache, and an unprotected one). Reported per pull, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from _common import ROOT, best_of, parallel, peak_rss_mib, registry, timed

# isort: split
# _common put the checkout on sys.path: the test helpers below import from it.
import httpx
from tests.support.images import (
    BuiltImage,
    build_image,
    image_from_layers,
    make_layer,
    push_image,
)
from tests.support.registry_server import free_port

from sealgate.config import ClientConfig
from sealgate.gate import utc_now
from sealgate.keys import generate_key_pair, load_signer_pem
from sealgate.oci import OCI_MANIFEST, Reference, RegistryClient
from sealgate.policy.loaders import load_policy_set
from sealgate.workflows.copy import CopyOptions, copy_image
from sealgate.workflows.mirror import MirrorOptions, mirror_images
from sealgate.workflows.mirror_config import mirror_item
from sealgate.workflows.sign import SignOptions, sign_image
from sealgate.workflows.signing import Credential

CONCURRENCY = 8


def _image(layer_bytes: int) -> BuiltImage:
    return image_from_layers(
        [make_layer({f"data/{n}.bin": os.urandom(layer_bytes)}) for n in range(2)]
    )


def _policy(upstream: str, public_pem: bytes) -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: policy.sigstore.dev/v1beta1
        kind: ClusterImagePolicy
        metadata: {{name: vendor}}
        spec:
          images: [{{glob: "{upstream}/**"}}]
          authorities:
            - name: vendor
              key:
                data: |
        """
    ) + textwrap.indent(public_pem.decode(), " " * 14)


def _mirror_bench(args: argparse.Namespace, tmp: Path) -> None:
    n, runs = args.images, args.runs
    with registry(tmp / "up") as up, registry(tmp / "down") as down:
        hosts = frozenset({up.host, down.host})
        config = ClientConfig(insecure_registries=hosts, max_connections=32)
        private, public = generate_key_pair(b"bench")
        credential = Credential(load_signer_pem(private, b"bench"))
        policies = load_policy_set([("vendor.yaml", _policy(up.host, public))])
        sources = [Reference.parse(f"{up.host}/vendor/img{i}:v1") for i in range(n)]
        print(
            f"mirror: {n} images, {CONCURRENCY} at a time, {up.host} -> {down.host}",
            file=sys.stderr,
        )
        with RegistryClient(config) as client:
            timed(
                "push upstream",
                lambda: parallel(
                    sources, lambda r: push_image(client, r, _image(args.layer_kib * 1024))
                ),
            )
            timed(
                "sign upstream (vendor key)",
                lambda: parallel(
                    sources,
                    lambda r: sign_image(client, credential, r, SignOptions(annotations={})),
                ),
            )
            total = sum(
                len(b)
                for b in (
                    client.get_blob(sources[0], d, max_bytes=1 << 30)
                    for d in _layer_digests(client, sources[0])
                )
            )
            print(f"  {total * n / 1024 / 1024:.0f} MiB of layers in all", file=sys.stderr)
            attempt = iter(range(10_000))
            raw = RawCopier(up.host, down.host)

            def raw_floor() -> None:
                tag = next(attempt)
                parallel(
                    sources, lambda r: raw.copy(r, f"raw{tag}/{r.repository}"), workers=CONCURRENCY
                )

            def copy() -> None:
                tag = next(attempt)
                parallel(
                    sources,
                    lambda r: copy_image(
                        client,
                        client,
                        r,
                        Reference.parse(f"{down.host}/copy{tag}/{r.repository}:v1"),
                        CopyOptions(),
                    ),
                    workers=CONCURRENCY,
                )

            def mirror(with_policy: bool) -> list[Any]:
                tag = next(attempt)
                items = [
                    mirror_item(str(r), f"{down.host}/mirror{tag}/{r.repository}") for r in sources
                ]
                options = MirrorOptions(
                    credential=credential,
                    clock=utc_now,
                    policies=policies if with_policy else None,
                    concurrency=CONCURRENCY,
                )
                results = mirror_images(client, items, options)
                bad = [r for r in results if r.status != "mirrored"]
                assert not bad, bad[0]
                return items

            raw_floor()  # warm connections and the registries' first writes
            copy()
            # Interleaved, so that no variant always runs on a fuller or a warmer registry.
            times: dict[str, list[float]] = {"raw": [], "copy": [], "mirror": [], "verified": []}
            items: list[Any] = []
            for _ in range(runs):
                times["raw"].append(best_of(1, raw_floor))
                times["copy"].append(best_of(1, copy))
                times["mirror"].append(best_of(1, lambda: items.append(mirror(False))))
                times["verified"].append(best_of(1, lambda: mirror(True)))
            raw.close()
            options = MirrorOptions(credential=credential, clock=utc_now, concurrency=CONCURRENCY)
            rerun_s = best_of(runs, lambda: mirror_images(client, items[-1], options))
    raw_s, copy_s, mirror_s, verified_s = (
        statistics.median(times[k]) for k in ("raw", "copy", "mirror", "verified")
    )
    per = 1000 / n
    print(f"\nmirror ({n} images of {2 * args.layer_kib} KiB, median of {runs} interleaved runs)")
    print(f"  floor: bare copy       {raw_s * per:7.2f} ms/image  ({raw_s:.2f} s; GET, POST+PUT)")
    print(f"  sealgate copy          {copy_s * per:7.2f} ms/image  {copy_s / raw_s:5.2f}x floor")
    print(
        f"  mirror + sign          {mirror_s * per:7.2f} ms/image  {mirror_s / raw_s:5.2f}x floor"
    )
    ratio = verified_s / raw_s
    print(f"  verify + mirror + sign {verified_s * per:7.2f} ms/image  {ratio:5.2f}x floor")
    print(f"  re-run (all skipped)   {rerun_s * per:7.2f} ms/image")


class RawCopier:
    """Bytes across with a bare httpx client: GET each blob whole, one POST+PUT, the manifest."""

    def __init__(self, source: str, target: str) -> None:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        self.src = httpx.Client(base_url=f"http://{source}", limits=limits, timeout=60)
        self.dst = httpx.Client(base_url=f"http://{target}", limits=limits, timeout=60)

    def copy(self, ref: Reference, repository: str) -> None:
        accept = {"Accept": OCI_MANIFEST}
        manifest = self.src.get(f"/v2/{ref.repository}/manifests/v1", headers=accept).content
        document = json.loads(manifest)
        for blob in [document["config"], *document["layers"]]:
            data = self.src.get(f"/v2/{ref.repository}/blobs/{blob['digest']}").content
            start = self.dst.post(f"/v2/{repository}/blobs/uploads/")
            upload = httpx.URL(start.headers["location"]).copy_merge_params(
                {"digest": blob["digest"]}
            )
            done = self.dst.put(upload, content=data)
            done.raise_for_status()
        put = self.dst.put(
            f"/v2/{repository}/manifests/v1",
            content=manifest,
            headers={"Content-Type": OCI_MANIFEST},
        )
        put.raise_for_status()

    def close(self) -> None:
        self.src.close()
        self.dst.close()


def _layer_digests(client: RegistryClient, ref: Reference) -> list[str]:
    document = client.get_manifest(ref).json()
    return [layer["digest"] for layer in document["layers"]]


def _proxy_bench(args: argparse.Namespace, tmp: Path) -> None:
    pulls = args.pulls
    with registry(tmp / "proxied") as up:
        config = ClientConfig(insecure_registries=frozenset({up.host}), max_connections=32)
        private, public = generate_key_pair(b"bench")
        credential = Credential(load_signer_pem(private, b"bench"))
        policy = tmp / "policy.yaml"
        policy.write_text(_policy(up.host, public))
        prod = [Reference.parse(f"{up.host}/prod/img{i}:v1") for i in range(pulls)]
        public_refs = [Reference.parse(f"{up.host}/public/img{i}:v1") for i in range(pulls)]
        with RegistryClient(config) as client:
            parallel(
                prod + public_refs,
                lambda r: push_image(client, r, build_image(layers=1, file_size=256)),
            )
            parallel(prod, lambda r: sign_image(client, credential, r, SignOptions(annotations={})))
        port = free_port()
        command = [
            sys.executable, "-c", "from sealgate.cli.main import entrypoint; entrypoint()",
            "proxy", "--upstream", f"http://{up.host}", "--policy", str(policy),
            "--protect", "prod/**", "--listen", f"127.0.0.1:{port}",
        ]  # fmt: skip
        env = {**os.environ, "HOME": str(tmp), "PYTHONPATH": str(ROOT / "src")}
        proxy = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        try:
            _wait(f"http://127.0.0.1:{port}/v2/")
            headers = {"Accept": OCI_MANIFEST}
            with (
                httpx.Client(base_url=f"http://{up.host}", headers=headers) as direct,
                httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as through,
            ):

                def pull_all(http: httpx.Client, refs: list[Reference]) -> float:
                    start = time.perf_counter()
                    for ref in refs:
                        answer = http.get(f"/v2/{ref.repository}/manifests/v1")
                        assert answer.status_code == 200, answer.text
                    return (time.perf_counter() - start) * 1000 / len(refs)

                pull_all(direct, prod[:20])  # warm connections
                pull_all(through, public_refs[:20])
                cold = pull_all(through, prod)
                direct_ms = statistics.median(pull_all(direct, prod) for _ in range(args.runs))
                warm = statistics.median(pull_all(through, prod) for _ in range(args.runs))
                passthrough = statistics.median(
                    pull_all(through, public_refs) for _ in range(args.runs)
                )
        finally:
            proxy.terminate()
            proxy.wait(timeout=30)
    print(f"\nproxy ({pulls} manifest pulls by tag, one client, one at a time)")
    print(f"  direct                 {direct_ms:7.2f} ms/pull")
    print(f"  protected, warm cache  {warm:7.2f} ms/pull  (+{warm - direct_ms:.2f} ms; aim < 2 ms)")
    print(
        f"  protected, cold        {cold:7.2f} ms/pull  (+{cold - direct_ms:.2f} ms: verification)"
    )
    print(
        f"  unprotected            {passthrough:7.2f} ms/pull  (+{passthrough - direct_ms:.2f} ms)"
    )


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("the proxy did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument(
        "--layer-kib", type=int, default=8192, help="size of each of the 2 layers (KiB)"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--pulls", type=int, default=200, help="manifests pulled per proxy run")
    parser.add_argument("--only", choices=["mirror", "proxy"], help="run one half")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "proxy":
            _mirror_bench(args, Path(tmp))
        if args.only != "mirror":
            _proxy_bench(args, Path(tmp))
    print(f"  peak RSS               {peak_rss_mib():7.1f} MiB (benchmark process)")


if __name__ == "__main__":
    main()

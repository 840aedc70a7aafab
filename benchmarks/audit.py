"""``sealgate audit`` over N images next to the floor of fetching their attachments.

    .venv/bin/python benchmarks/audit.py [--images 1000] [--repositories 20]

N images spread over R repositories of a real registry on loopback: half signed by a retired
key A, a quarter signed by the trusted key B with a CycloneDX attestation, the rest unsigned.
Reports the wall time of ``sealgate audit --catalog`` (a real CLI subprocess, start-up
included, 16 workers) and the I/O floor measured in the same run by a bare concurrent httpx
client making the same requests without parsing or crypto: the catalog, every tag list, a
HEAD per tag, the ``.sig`` and ``.att`` manifests and their blobs, and the referrers lookup
(API, then the fallback tag) that reading cosign 3 bundles costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import WORKERS, PlainFetcher, best_of, parallel, registry, timed

# isort: split
# _common put the checkout on sys.path: the test helpers below import from it.
from tests.support.images import build_image, push_image

from sealgate.config import ClientConfig
from sealgate.keys import generate_key_pair, load_signer_pem
from sealgate.oci import MANIFEST_ACCEPT, OCI_MANIFEST, Reference, RegistryClient
from sealgate.workflows.attest import AttestOptions, attest_image
from sealgate.workflows.sign import SignOptions, sign_image

SBOM = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []})


def run_audit(host: str, tmp: Path) -> tuple[float, dict[str, int]]:
    sealgate = Path(sys.executable).with_name("sealgate")
    command = [
        str(sealgate), "audit", "--key", str(tmp / "b.pub"), "--retired-key", str(tmp / "a.pub"),
        "--insecure-ignore-tlog", "--catalog", host, "--insecure-registry", host,
        "--max-workers", str(WORKERS), "-o", "json", "--html", str(tmp / "audit.html"),
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"audit failed ({done.returncode}): {done.stderr[-2000:]}")
    summary: dict[str, int] = json.loads(done.stdout)["summary"]
    return elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repositories", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n, repos = args.images, args.repositories
    with tempfile.TemporaryDirectory() as tmp_name, registry(Path(tmp_name)) as server:
        tmp, host = Path(tmp_name), server.host
        signers = {}
        for name in ("a", "b"):
            private_pem, public_pem = generate_key_pair(b"bench")
            signers[name] = load_signer_pem(private_pem, b"bench")
            (tmp / f"{name}.pub").write_bytes(public_pem)
        refs = [Reference.parse(f"{host}/audit/repo{i % repos}:v{i}") for i in range(n)]
        print(f"audit: {n} images in {repos} repositories, registry {host}", file=sys.stderr)
        config = ClientConfig(insecure_registries=frozenset({host}), max_connections=WORKERS * 2)

        def sign(item: tuple[int, Reference]) -> None:
            i, ref = item
            if i % 4 in (0, 1):
                sign_image(client, signers["a"], ref, SignOptions(annotations={}))
            elif i % 4 == 2:
                sign_image(client, signers["b"], ref, SignOptions(annotations={}))
                attest_image(
                    client,
                    signers["b"],
                    ref,
                    SBOM.encode(),
                    AttestOptions(predicate_type="cyclonedx"),
                )

        with RegistryClient(config) as client:
            timed(
                "push images",
                lambda: parallel(
                    refs, lambda r: push_image(client, r, build_image(layers=1, file_size=128))
                ),
            )
            timed("sign (A or B) + attest SBOM (B)", lambda: parallel(enumerate(refs), sign))

        fetcher = PlainFetcher(host)
        accept = ", ".join(MANIFEST_ACCEPT)

        def floor_one(item: tuple[str, str]) -> None:
            name, tag = item
            digest = fetcher.head_manifest(name, tag, accept)
            for suffix in ("sig", "att"):
                where = f"/v2/{name}/manifests/{digest.replace(':', '-')}.{suffix}"
                answer = fetcher.client.get(where, headers={"Accept": OCI_MANIFEST})
                if answer.status_code == 200:
                    for layer in answer.json()["layers"]:
                        fetcher.get_blob(name, layer["digest"])
            fetcher.client.get(f"/v2/{name}/referrers/{digest}")
            fetcher.client.get(
                f"/v2/{name}/manifests/{digest.replace(':', '-')}",
                headers={"Accept": "application/vnd.oci.image.index.v1+json"},
            )

        def floor() -> None:
            # As the audit does: list everything first, then every image on the pool.
            names = fetcher.client.get("/v2/_catalog?n=1000").json()["repositories"]
            items = [
                (name, tag)
                for name in names
                for tag in fetcher.client.get(f"/v2/{name}/tags/list").json()["tags"]
                if not tag.startswith("sha256-")
            ]
            parallel(items, floor_one)

        floor()  # warm the registry's caches for both sides alike
        floor_s = best_of(args.runs, floor)
        fetcher.close()
        runs = [run_audit(host, tmp) for _ in range(args.runs)]
        startup_s = best_of(
            3,
            lambda: subprocess.run(
                [str(Path(sys.executable).with_name("sealgate")), "--version"],
                capture_output=True,
                check=True,
            ),
        )
        rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        html_kib = (tmp / "audit.html").stat().st_size / 1024

    times = sorted(elapsed for elapsed, _ in runs)
    audit_s = times[len(times) // 2]
    summary = runs[0][1]
    print(f"\nresults ({n} images, {repos} repositories; median of {args.runs})")
    print(f"  found: {json.dumps(summary)}")
    print(f"  I/O floor (bare httpx, same requests)  {floor_s:6.2f} s")
    print(f"  audit (CLI, --catalog, -o json --html) {audit_s:6.2f} s   {audit_s / floor_s:5.2f}x")
    print(
        f"  audit minus CLI start-up               {audit_s - startup_s:6.2f} s   "
        f"{(audit_s - startup_s) / floor_s:5.2f}x floor  (start-up {startup_s:.2f} s)"
    )
    print(f"  peak RSS of the audit process          {rss_mib:6.1f} MiB; HTML {html_kib:.0f} KiB")


if __name__ == "__main__":
    main()

"""The deploy gate over N distinct images, each signed and carrying an SBOM attestation.

    .venv/bin/python benchmarks/gate.py [--images 500]

Reports the `sealgate gate` wall time (a real CLI subprocess, start-up included) cold (empty
verdict cache) and warm (cache filled; tags are still re-resolved), its peak RSS, and two I/O
floors measured in the same run by a bare concurrent httpx client, no crypto: cold, the same
requests per image (GET the tag manifest and hash it, as a verifier must; GET .sig manifest and
blob; GET .att manifest and blob); warm, resolving the same tags and nothing else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from _common import WORKERS, PlainFetcher, best_of, parallel, registry, timed

# isort: split
# _common put the checkout on sys.path: the test helpers below import from it.
from tests.support.images import build_image, push_image

from sealgate.config import ClientConfig
from sealgate.keys import generate_key_pair, load_signer_pem
from sealgate.oci import MANIFEST_ACCEPT, OCI_MANIFEST, Reference, RegistryClient
from sealgate.workflows.attest import AttestOptions, attest_image
from sealgate.workflows.sign import SignOptions, sign_image

SBOM = json.dumps(
    {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "library", "name": "zlib", "version": "1.3"}],
    }
)


def run_gate(config: Path, env: str = "bench") -> tuple[float, int]:
    sealgate = Path(sys.executable).with_name("sealgate")
    start = time.perf_counter()
    done = subprocess.run(
        [str(sealgate), "gate", "--env", env, "--config", str(config), "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "COSIGN_VERIFY_DISABLED": ""},
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"gate failed ({done.returncode}): {done.stderr[-2000:]}")
    verified = sum(1 for i in json.loads(done.stdout)["images"] if i["verdict"] == "verified")
    return elapsed, verified


def profile_warm(config: Path) -> None:
    import contextlib
    import cProfile
    import io
    import pstats

    from sealgate.cli.main import main as cli_main

    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        profiler.runcall(cli_main, ["gate", "--env", "bench", "--config", str(config)])
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one warm run in-process")
    args = parser.parse_args()
    n = args.images
    with tempfile.TemporaryDirectory() as tmp_name, registry(Path(tmp_name)) as server:
        tmp, host = Path(tmp_name), server.host
        private_pem, public_pem = generate_key_pair(b"bench")
        signer = load_signer_pem(private_pem, b"bench")
        (tmp / "cosign.pub").write_bytes(public_pem)
        refs = [Reference.parse(f"{host}/gate/svc{i}:1.0") for i in range(n)]
        print(f"gate: {n} images, registry {host}", file=sys.stderr)
        config = ClientConfig(insecure_registries=frozenset({host}), max_connections=WORKERS * 2)
        with RegistryClient(config) as client:
            timed(
                "push images",
                lambda: parallel(
                    refs, lambda r: push_image(client, r, build_image(layers=1, file_size=128))
                ),
            )
            timed(
                "sign + attest SBOM",
                lambda: parallel(
                    refs,
                    lambda r: (
                        sign_image(client, signer, r, SignOptions(annotations={})),
                        attest_image(
                            client,
                            signer,
                            r,
                            SBOM.encode(),
                            AttestOptions(predicate_type="cyclonedx"),
                        ),
                    ),
                ),
            )
            pinned = [r.with_digest(client.resolve(r).digest) for r in refs]
        (tmp / "versions.yaml").write_text(
            yaml.safe_dump({"services": {f"svc{i}": str(ref) for i, ref in enumerate(refs)}})
        )
        # The same images pinned by digest: nothing to resolve, so a warm run is cache-only.
        (tmp / "pinned.yaml").write_text(
            yaml.safe_dump(
                {
                    "services": {
                        f"svc{i}": f"{ref.name}@{ref.digest}" for i, ref in enumerate(pinned)
                    }
                }
            )
        )
        gate_config = tmp / "sealgate.yaml"
        gate_config.write_text(
            yaml.safe_dump(
                {
                    "keys": ["cosign.pub"],
                    "tlog": False,
                    "insecureRegistries": [host],
                    "attestations": [{"type": "cyclonedx"}],
                    "concurrency": WORKERS,
                    "cache": {"dir": str(tmp / "cache"), "ttl": 3600},
                    "environments": {
                        "bench": {"versions": "versions.yaml", "softFail": False},
                        "pinned": {"versions": "pinned.yaml", "softFail": False},
                    },
                }
            )
        )

        fetcher = PlainFetcher(host)
        accept = ", ".join(MANIFEST_ACCEPT)

        def resolve_one(ref: Reference) -> str:
            # The digest of a tag is the hash of the bytes served (never a header).
            data = fetcher.get_manifest(ref.repository, "1.0", accept)
            return "sha256:" + hashlib.sha256(data).hexdigest()

        def floor_one(ref: Reference) -> None:
            digest = resolve_one(ref)
            for suffix in ("sig", "att"):
                tag = digest.replace(":", "-") + "." + suffix
                manifest = json.loads(fetcher.get_manifest(ref.repository, tag, OCI_MANIFEST))
                for layer in manifest["layers"]:
                    fetcher.get_blob(ref.repository, layer["digest"])

        parallel(refs, floor_one)  # warm the registry's own caches for both sides alike
        floor_s = best_of(args.runs, lambda: parallel(refs, floor_one))
        warm_floor_s = best_of(args.runs, lambda: parallel(refs, resolve_one))
        fetcher.close()

        colds = []
        for _ in range(args.runs):
            for item in (tmp / "cache").glob("**/*"):
                if item.is_file():
                    item.unlink()
            elapsed, verified = run_gate(gate_config)
            assert verified == n, f"only {verified} of {n} verified"
            colds.append(elapsed)
        warms = [run_gate(gate_config)[0] for _ in range(args.runs)]
        run_gate(gate_config, "pinned")  # fill nothing new: same digests, same policy
        warm_pinned = sorted(run_gate(gate_config, "pinned")[0] for _ in range(args.runs))
        if args.profile:
            profile_warm(gate_config)
        startup_s = best_of(
            3,
            lambda: subprocess.run(
                [str(Path(sys.executable).with_name("sealgate")), "--version"],
                capture_output=True,
                check=True,
            ),
        )
        rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    cold, warm = sorted(colds)[len(colds) // 2], sorted(warms)[len(warms) // 2]
    print(f"\nresults ({n} images, each signed + CycloneDX-attested; median of {args.runs})")
    print(f"  I/O floor (bare httpx, same requests)  {floor_s:6.2f} s")
    print(f"  gate cold (CLI, empty cache)           {cold:6.2f} s   {cold / floor_s:5.2f}x floor")
    print(
        f"  gate cold minus CLI start-up           {cold - startup_s:6.2f} s   "
        f"{(cold - startup_s) / floor_s:5.2f}x floor  (start-up {startup_s:.2f} s)"
    )
    print(f"  warm floor (resolve the same tags)     {warm_floor_s:6.2f} s")
    print(
        f"  gate warm (cache; tags re-resolved)    {warm:6.2f} s   "
        f"{(warm - startup_s) / warm_floor_s:5.2f}x warm floor without start-up (aim <= 1.2x)"
    )
    print(f"  gate warm, versions pinned by digest   {warm_pinned[len(warm_pinned) // 2]:6.2f} s")
    print(f"  peak RSS of the gate process           {rss_mib:6.1f} MiB")


if __name__ == "__main__":
    main()

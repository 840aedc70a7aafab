"""Sign then verify N images in the local registry, next to an I/O floor from the same run.

    .venv/bin/python benchmarks/sign_verify.py [--images 200] [--runs 3]

Floor: a bare concurrent httpx client doing exactly the requests `verify` needs per image
(HEAD the tag, GET the .sig manifest, GET its signature blob) with no parsing and no crypto.
Both sides use the same worker count and loopback registry. Reported as ms/image and ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _common import WORKERS, PlainFetcher, best_of, parallel, peak_rss_mib, registry, timed

# isort: split
# _common put the checkout on sys.path: the test helpers below import from it.
from tests.support.images import build_image, push_image

from sealgate.checks.authorities import KeyAuthority
from sealgate.checks.tlog import TlogPolicy
from sealgate.config import ClientConfig
from sealgate.gate import utc_now
from sealgate.keys import generate_key_pair, load_signer_pem, load_verifier_pem
from sealgate.oci import MANIFEST_ACCEPT, OCI_MANIFEST, Reference, RegistryClient
from sealgate.policy import Policy
from sealgate.workflows.sign import SignOptions, sign_image
from sealgate.workflows.verify import verify_signatures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions (median)")
    args = parser.parse_args()
    n = args.images
    with tempfile.TemporaryDirectory() as tmp, registry(Path(tmp)) as server:
        host = server.host
        config = ClientConfig(insecure_registries=frozenset({host}), max_connections=WORKERS * 2)
        private_pem, public_pem = generate_key_pair(b"bench")
        signer = load_signer_pem(private_pem, b"bench")
        policy = Policy(
            name="benchmark",
            authorities=(KeyAuthority.of(load_verifier_pem(public_pem)),),
            tlog=TlogPolicy(insecure_ignore_tlog=True),
        )
        refs = [Reference.parse(f"{host}/bench/img{i}:v1") for i in range(n)]
        print(f"sign_verify: {n} images, {WORKERS} workers, registry {host}", file=sys.stderr)
        with RegistryClient(config) as client:
            timed(
                "push images",
                lambda: parallel(
                    refs, lambda r: push_image(client, r, build_image(layers=1, file_size=256))
                ),
            )
            _, sign_s = timed(
                "sign (resolve + sign + push .sig)",
                lambda: parallel(
                    refs, lambda r: sign_image(client, signer, r, SignOptions(annotations={}))
                ),
            )

            def verify_all() -> None:
                parallel(
                    refs, lambda r: verify_signatures(client, r, policy, reference_time=utc_now())
                )

            verify_all()  # warm connections and the verifier once
            verify_s = best_of(args.runs, verify_all)

        fetcher = PlainFetcher(host)
        accept = ", ".join(MANIFEST_ACCEPT)

        def floor_one(ref: Reference) -> None:
            digest = fetcher.head_manifest(ref.repository, "v1", accept)
            sig_tag = digest.replace(":", "-") + ".sig"
            manifest = json.loads(fetcher.get_manifest(ref.repository, sig_tag, OCI_MANIFEST))
            for layer in manifest["layers"]:
                fetcher.get_blob(ref.repository, layer["digest"])

        def floor_all() -> None:
            parallel(refs, floor_one)

        floor_all()
        floor_s = best_of(args.runs, floor_all)
        fetcher.close()

    per = 1000 / n
    print(f"\nresults ({n} images, median of {args.runs} runs for verify and floor)")
    print(f"  sign          {sign_s * per:7.2f} ms/image (one run)")
    print(f"  verify        {verify_s * per:7.2f} ms/image")
    print(f"  I/O floor     {floor_s * per:7.2f} ms/image (bare httpx, same requests, no crypto)")
    print(f"  verify/floor  {verify_s / floor_s:7.2f}x  (aim <= 1.5x)")
    print(f"  peak RSS      {peak_rss_mib():7.1f} MiB")


if __name__ == "__main__":
    main()

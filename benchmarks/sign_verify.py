"""Sign then verify N images in the local registry, next to an I/O floor from the same run.

    .venv/bin/python benchmarks/sign_verify.py [--images 200] [--runs 3]

Floor: a bare concurrent httpx client doing exactly the requests `verify` needs per image
(GET the tag manifest, GET the .sig manifest, GET its signature blob) with no parsing and no
crypto. Both sides use the same worker count and loopback registry. Reported as ms/image and
ratio.

Keyless (the second half): the same images signed keyless by loopback Fulcio and Rekor
(tests/support/sigstore_services), once in cosign 2's legacy layout (certificate, chain and SET
annotations) and once as cosign 3 Sigstore bundle referrers; verified by identity against the
loopback trusted root (chain at the signing time, SCT, SET or inclusion proof and checkpoint,
identity). Their floors add the requests those layouts need: for bundles, the .sig probe,
the referrers API probe, the fallback index, the referrer manifest and the bundle blob.
"""

from __future__ import annotations

import argparse
import hashlib
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
from sealgate.deadline import Deadline
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
    parser.add_argument(
        "--keyless",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure keyless verification in both layouts (loopback Fulcio and Rekor)",
    )
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
            digest = _digest(fetcher.get_manifest(ref.repository, "v1", accept))
            sig_tag = digest.replace(":", "-") + ".sig"
            manifest = json.loads(fetcher.get_manifest(ref.repository, sig_tag, OCI_MANIFEST))
            for layer in manifest["layers"]:
                fetcher.get_blob(ref.repository, layer["digest"])

        def floor_all() -> None:
            parallel(refs, floor_one)

        floor_all()
        floor_s = best_of(args.runs, floor_all)
        fetcher.close()

        keyless = _keyless(args, host, config, tmp) if args.keyless else None

    per = 1000 / n
    print(f"\nresults ({n} images, median of {args.runs} runs for verify and floor)")
    print(f"  sign          {sign_s * per:7.2f} ms/image (one run)")
    print(f"  verify        {verify_s * per:7.2f} ms/image")
    print(f"  I/O floor     {floor_s * per:7.2f} ms/image (bare httpx, same requests, no crypto)")
    print(f"  verify/floor  {verify_s / floor_s:7.2f}x  (aim <= 1.5x)")
    if keyless is not None:
        for layout, (verify_k, floor_k) in keyless.items():
            print(
                f"  keyless {layout:6s} verify {verify_k * per:6.2f} ms/image, floor "
                f"{floor_k * per:6.2f} ms/image, {verify_k / floor_k:5.2f}x  (aim <= 1.5x)"
            )
    print(f"  peak RSS      {peak_rss_mib():7.1f} MiB")


def _digest(manifest: bytes) -> str:
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def _keyless(
    args: argparse.Namespace, host: str, config: ClientConfig, tmp: str
) -> dict[str, tuple[float, float]]:
    """Keyless verification in both layouts: (verify seconds, floor seconds) per layout."""
    from tests.support.sigstore_services import TEST_EMAIL, start_sigstore_services

    from sealgate.checks.keyless_identity import IdentitySpec, KeylessAuthority
    from sealgate.sigstore_services import FulcioClient, IdentityToken, RekorClient
    from sealgate.sigstore_services.transport import ServiceTransport
    from sealgate.trust import parse_trusted_root
    from sealgate.workflows.signing import SigningServices, keyless_credential

    n = args.images
    results: dict[str, tuple[float, float]] = {}
    with start_sigstore_services() as services, ServiceTransport() as http:
        root = parse_trusted_root(services.trusted_root_json())
        token = IdentityToken.parse(services.mint_token())
        credential = keyless_credential(
            FulcioClient(http, services.fulcio_url), token, deadline=Deadline.none()
        )
        signing = SigningServices(rekor=(RekorClient(http, services.rekor_url),))
        identity = IdentitySpec(issuer=services.oidc.email.issuer, subject=TEST_EMAIL)
        policy = Policy(
            name="keyless",
            authorities=(KeylessAuthority("ci", (identity,), trusted_root=root),),
            tlog=TlogPolicy(trusted_root=root),
        )
        fetcher = PlainFetcher(host)
        accept = ", ".join(MANIFEST_ACCEPT)
        with RegistryClient(config) as client:
            for layout in ("legacy", "bundle"):
                refs = [Reference.parse(f"{host}/keyless-{layout}/img{i}:v1") for i in range(n)]
                options = SignOptions(
                    annotations={}, services=signing, bundle_format=layout == "bundle"
                )
                parallel(refs, lambda r: push_image(client, r, build_image(layers=1)))

                def sign_all(refs: list[Reference] = refs, options: SignOptions = options) -> None:
                    parallel(refs, lambda r: sign_image(client, credential, r, options))

                timed(f"keyless sign ({layout})", sign_all)

                def verify_all(refs: list[Reference] = refs) -> None:
                    parallel(
                        refs,
                        lambda r: verify_signatures(client, r, policy, reference_time=utc_now()),
                    )

                def floor_one(ref: Reference, layout: str = layout) -> None:
                    digest = _digest(fetcher.get_manifest(ref.repository, "v1", accept))
                    sig_tag = digest.replace(":", "-")
                    if layout == "legacy":
                        manifest = json.loads(
                            fetcher.get_manifest(ref.repository, sig_tag + ".sig", OCI_MANIFEST)
                        )
                        for layer in manifest["layers"]:
                            fetcher.get_blob(ref.repository, layer["digest"])
                        return
                    fetcher.try_get(f"/v2/{ref.repository}/manifests/{sig_tag}.sig")
                    fetcher.try_get(f"/v2/{ref.repository}/referrers/{digest}")
                    index = json.loads(fetcher.get_manifest(ref.repository, sig_tag, accept))
                    for entry in index["manifests"]:
                        referrer = json.loads(
                            fetcher.get_manifest(ref.repository, entry["digest"], OCI_MANIFEST)
                        )
                        for layer in referrer["layers"]:
                            fetcher.get_blob(ref.repository, layer["digest"])

                verify_all()
                verify_s = best_of(args.runs, verify_all)
                parallel(refs, floor_one)

                def floor_all(refs: list[Reference] = refs) -> None:
                    parallel(refs, floor_one)

                floor_s = best_of(args.runs, floor_all)
                results[layout] = (verify_s, floor_s)
        fetcher.close()
    return results


if __name__ == "__main__":
    main()

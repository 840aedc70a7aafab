"""``sealgate mirror``: copy upstream images into your registry, verified, then signed.

Exit codes: 0 every image mirrored or already there; 1 an image refused by the policy or
failed; 3 every failure was "could not check" (unreachable, unauthorized, malformed); 64/78
bad flags or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from sealgate.cli.common import add_registry_flags, open_client
from sealgate.cli.signing import add_signing_flags, signing_setup
from sealgate.errors import ExitCode, UsageError

__all__ = ["register"]

_STATUS_STYLE = {"mirrored": "green", "skipped": "cyan", "refused": "red", "failed": "red"}


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "mirror",
        help="mirror images into your registry: verify upstream, copy, sign with the mirror key",
        description="Copy SRC to DST (one image), or every image of --config mirror.yaml "
        "(schema: docs/mirror-config.schema.json). With --policy the upstream digest must "
        "satisfy the policies first. Blobs and manifests are written by digest and read back; "
        "only then is the digest signed, and the tag written last. Idempotent: an image "
        "already mirrored and signed by this key is skipped.",
        epilog="examples:\n  sealgate mirror docker.io/library/nginx:1.27 "
        "registry.example.com/mirror/nginx --key env://MIRROR_KEY --policy upstream/\n"
        "  sealgate mirror --config mirror.yaml --key env://MIRROR_KEY --concurrency 8 -o json",
    )
    parser.add_argument("source", nargs="?", metavar="SRC", help="upstream image (tag or digest)")
    parser.add_argument("destination", nargs="?", metavar="DST", help="repository or repo:tag")
    parser.add_argument("--config", type=Path, metavar="FILE", help="mirror.yaml: many images")
    parser.add_argument(
        "--platform",
        action="append",
        metavar="OS/ARCH[/VARIANT]",
        help="with SRC DST: keep only these platforms (repeatable; default all, byte for byte)",
    )
    parser.add_argument(
        "--copy-signatures",
        action="store_true",
        help="with SRC DST: also copy upstream .sig/.att/.sbom tags and bundle referrers",
    )
    parser.add_argument(
        "--sbom", action="store_true", help="with SRC DST: attach a generated SBOM attestation"
    )
    parser.add_argument(
        "--allow-incomplete-sbom",
        action="store_true",
        help="with --sbom: attest an SBOM a cataloger could not complete (it says so)",
    )
    parser.add_argument(
        "--policy",
        action="append",
        type=Path,
        metavar="PATH",
        help="verify the upstream against these policy files or directories first "
        "(ClusterImagePolicy, Kyverno, sealgate ImagePolicy); repeatable",
    )
    parser.add_argument(
        "--no-match",
        choices=["deny", "warn", "allow"],
        help="with --policy: images no policy matches (default deny)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="images at once (default 4)")
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    add_signing_flags(parser)
    add_registry_flags(parser)
    parser.set_defaults(handler=_mirror)


def _items(args: argparse.Namespace) -> list[Any]:
    from sealgate.workflows.mirror_config import load_mirror_config, mirror_item

    if args.config is not None:
        if args.source or args.destination:
            raise UsageError("mirror: give SRC DST or --config, not both")
        if args.platform or args.copy_signatures or args.sbom or args.allow_incomplete_sbom:
            raise UsageError("mirror --config: platforms, signatures and sbom go in the file")
        return load_mirror_config(args.config)
    if not (args.source and args.destination):
        raise UsageError("mirror: give SRC and DST, or --config mirror.yaml")
    if args.allow_incomplete_sbom and not args.sbom:
        raise UsageError("--allow-incomplete-sbom applies to --sbom")
    return [
        mirror_item(
            args.source,
            args.destination,
            platforms=args.platform,
            copy_signatures=args.copy_signatures,
            sbom=args.sbom,
            allow_incomplete_sbom=args.allow_incomplete_sbom,
        )
    ]


def _policies(args: argparse.Namespace) -> Any:
    if not args.policy:
        if args.no_match:
            raise UsageError("--no-match applies to --policy")
        return None
    from sealgate.documents.sources import read_policy_sources
    from sealgate.policy.loaders import load_policy_set

    return load_policy_set(read_policy_sources(args.policy), no_match=args.no_match)


def _mirror(args: argparse.Namespace) -> int:
    from sealgate.gate import utc_now
    from sealgate.workflows.mirror import MirrorOptions

    items = _items(args)
    policies = _policies(args)
    setup = signing_setup(args, command="mirror")
    if setup is None:
        raise UsageError(
            "mirror signs every image it copies: give --key (or COSIGN_PRIVATE_KEY), or a "
            "keyless identity token"
        )
    with closing(setup), open_client(args) as client:
        options = MirrorOptions(
            credential=setup.credential,
            clock=utc_now,
            services=setup.services,
            policies=policies,
            bundle_format=args.new_bundle_format,
            concurrency=args.concurrency,
        )
        results = _run(client, items, options)
    return _report(results, args.output)


def _run(client: Any, items: list[Any], options: Any) -> list[Any]:
    from sealgate.cli.terminal import progress_display
    from sealgate.workflows.mirror import mirror_images

    if len(items) < 2:
        return mirror_images(client, items, options)
    with progress_display(total=len(items), description="mirroring") as progress:
        return mirror_images(client, items, options, progress=progress)


def _report(results: list[Any], output: str) -> int:
    counts = {s: sum(1 for r in results if r.status == s) for s in _STATUS_STYLE}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    if output == "json":
        document = {"summary": counts, "images": [r.as_json() for r in results]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        from rich.console import Console
        from rich.text import Text

        console = Console(stderr=False, highlight=False, soft_wrap=True)
        for result in results:
            line = Text(f"{result.status:<9}", style=_STATUS_STYLE[result.status])
            digest = f"@{result.digest[:19]}" if result.digest else ""
            line.append(f" {result.source} -> {result.target}{digest}: {result.message}")
            console.print(line)
        console.print(Text(f"mirror: {summary}"))
    bad = [r for r in results if r.status in ("refused", "failed")]
    if not bad:
        return ExitCode.OK
    return ExitCode.COULD_NOT_CHECK if all(r.could_not_check for r in bad) else ExitCode.FAILURE

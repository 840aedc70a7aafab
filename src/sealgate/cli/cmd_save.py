"""``save`` and ``load``: an image with its signatures and attestations, to and from a layout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sealgate.cli.common import add_registry_flags, open_client, parse_reference
from sealgate.errors import ExitCode

__all__ = ["register"]


def register(sub: Any) -> None:
    save = sub.add_parser(
        "save",
        help="save an image with its signatures and attestations to an OCI layout",
        description="Write IMAGE (every platform), its .sig/.att/.sbom tags and its OCI "
        "referrers (Sigstore bundles) into the OCI image layout DIR, for an air gap. "
        "Manifests are copied byte for byte: every signature still verifies after `load`.",
        epilog="example:\n  sealgate save --dir ./app-1.2 registry.example.com/app:1.2",
    )
    save.add_argument("--dir", type=Path, required=True, help="the OCI layout directory")
    add_registry_flags(save)
    save.add_argument("image", metavar="IMAGE")
    save.set_defaults(handler=_save)

    load = sub.add_parser(
        "load",
        help="load an image with its signatures and attestations from an OCI layout",
        description="Push the image `sealgate save` wrote to DIR, with its attachments and "
        "referrers, to IMAGE (its tag defaults to latest, as in cosign).",
        epilog="example:\n  sealgate load --dir ./app-1.2 mirror.internal/app:1.2",
    )
    load.add_argument("--dir", type=Path, required=True, help="the OCI layout directory")
    add_registry_flags(load)
    load.add_argument("image", metavar="IMAGE")
    load.set_defaults(handler=_load)


def _print(report: Any) -> None:
    copied = report.copy
    print(
        f"{len(copied.manifests_copied)} manifest(s) and {copied.blobs_copied} blob(s) copied, "
        f"{len(copied.manifests_skipped)} already there; {len(copied.attachments_copied)} "
        f"attachment tag(s), {len(report.referrers)} referrer manifest(s)",
        file=sys.stderr,
    )


def _save(args: argparse.Namespace) -> int:
    from sealgate.workflows.save import save_image

    ref = parse_reference(args.image)
    with open_client(args) as client:
        report = save_image(client, ref, args.dir)
    _print(report)
    print(f"Saved {ref} to {args.dir}", file=sys.stderr)
    return ExitCode.OK


def _load(args: argparse.Namespace) -> int:
    from sealgate.workflows.save import load_image

    ref = parse_reference(args.image)
    with open_client(args) as client:
        report = load_image(client, args.dir, ref)
    _print(report)
    print(f"Loaded {args.dir} into {ref}", file=sys.stderr)
    return ExitCode.OK

"""``sealgate attest``: in-toto attestations in DSSE on the ``.att`` tag (cosign 2.x layout)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from sealgate.cli.cmd_sign import add_key_flags, signer_from_args
from sealgate.cli.common import (
    add_registry_flags,
    add_scan_flags,
    check_scan_report,
    open_client,
    parse_reference,
    read_input,
    repository_override,
    truthy,
)
from sealgate.errors import ExitCode, UsageError
from sealgate.workflows.attest import AttestOptions, attest_image
from sealgate.workflows.sbom import image_sboms
from sealgate.workflows.targets import read_digest_file

__all__ = ["register"]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "attest",
        help="attest a predicate about an image digest (in-toto statement in DSSE)",
        description="Build an in-toto v0.1 statement about IMAGE's digest, sign it in a DSSE "
        "envelope, and append it to the image's .att tag. --sbom generates a CycloneDX SBOM "
        "from the image's layers and attests it (--type cyclonedx).",
    )
    add_key_flags(parser)
    parser.add_argument("--type", default=None, help="predicate type name or URI (default custom)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--predicate", type=Path, help="predicate file, or - for stdin")
    source.add_argument("--sbom", action="store_true", help="generate the SBOM and attest it")
    parser.add_argument("--replace", action="store_true", help="replace same-type attestations")
    add_scan_flags(parser)
    add_registry_flags(parser)
    parser.add_argument("image", metavar="IMAGE")
    parser.set_defaults(handler=_attest)


def _attest(args: argparse.Namespace) -> int:
    ref = parse_reference(args.image)
    digest = read_digest_file(args.digest_file) if args.digest_file else None
    predicate_type = args.type or ("cyclonedx" if args.sbom else "custom")
    if args.sbom and predicate_type != "cyclonedx":
        raise UsageError("--sbom attests a CycloneDX SBOM: use --type cyclonedx or leave it out")
    predicate = None if args.sbom else read_input(args.predicate)
    check_scan_report(args)
    signer = signer_from_args(args, command="attest")
    if signer is None:
        return ExitCode.OK
    options = AttestOptions(
        predicate_type=predicate_type,
        replace=args.replace,
        repository=repository_override(),
        docker_media_types=truthy(os.environ.get("COSIGN_DOCKER_MEDIA_TYPES")),
        upload=args.upload,
    )
    with open_client(args) as client:
        if predicate is None:
            top, sboms = image_sboms(client, ref.with_digest(digest) if digest else ref)
            # Each platform is attested with its own SBOM. An index (what versions files usually
            # pin, and so what the gate checks) gets its first platform's SBOM too.
            targets = [(s.image, s.result.document) for s in sboms]
            if all(s.image.digest != top.digest for s in sboms):
                targets.insert(0, (top, sboms[0].result.document))
            for warning in (w for s in sboms for w in s.result.warnings):
                print(f"WARNING: sbom: {warning}", file=sys.stderr)
        else:
            targets = [(ref, predicate)]
        for target, body in targets:
            outcome = attest_image(client, signer, target, body, options, digest=target.digest)
            print(f"Attestation pushed to: {outcome.attestation_tag}", file=sys.stderr)
    return ExitCode.OK

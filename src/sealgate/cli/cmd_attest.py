"""``sealgate attest``: in-toto attestations in DSSE: ``.att`` layers or Sigstore bundles."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealgate.cli.cmd_sign import add_key_flags
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
from sealgate.cli.cosign_compat import add_refused
from sealgate.cli.signing import SigningSetup, signing_setup
from sealgate.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from sealgate.formats.scan_reports import ScanReport
    from sealgate.oci import Reference, RegistryClient
    from sealgate.workflows.attest import AttestOptions

__all__ = ["register"]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "attest",
        help="attest a predicate about an image digest (in-toto statement in DSSE)",
        description="Build an in-toto v0.1 statement about IMAGE's digest, sign it in a DSSE "
        "envelope, and append it to the image's .att tag. --sbom generates a CycloneDX SBOM "
        "from the image's layers and attests it (--type cyclonedx).",
        epilog="example:\n  sealgate attest --key cosign.key --type cyclonedx --predicate "
        "sbom.cdx.json registry.example.com/app@sha256:...",
    )
    add_key_flags(parser)
    parser.add_argument("--type", default=None, help="predicate type name or URI (default custom)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--predicate", type=Path, help="predicate file, or - for stdin")
    source.add_argument("--sbom", action="store_true", help="generate the SBOM and attest it")
    parser.add_argument("--replace", action="store_true", help="replace same-type attestations")
    parser.add_argument(
        "--bundle", type=Path, help="with --new-bundle-format: also write the bundle here"
    )
    parser.add_argument(
        "--allow-incomplete-sbom",
        action="store_true",
        help="with --sbom: attest an SBOM even when a cataloger failed or a package database "
        "could not be read (the SBOM then says it is incomplete); default: refuse",
    )
    parser.add_argument(
        "--no-upload", action="store_true", help="do not push the attestation (cosign's flag)"
    )
    add_scan_flags(parser)
    add_registry_flags(parser)
    add_refused(
        parser,
        "--statement",
        "--rekor-entry-type",
        "--record-creation-timestamp",
        "--certificate",
        "--certificate-chain",
    )
    parser.add_argument("image", metavar="IMAGE")
    parser.set_defaults(handler=_attest)


def _sbom_targets(
    client: RegistryClient, image: Reference, *, allow_incomplete: bool
) -> list[tuple[Reference, bytes]]:
    """Each platform with its own SBOM; an index (what versions files usually pin, and so
    what the gate checks) gets its first platform's SBOM too.

    Raises:
        IncompleteSbom: an SBOM misses packages and ``allow_incomplete`` is false.
    """
    from sealgate.cli.terminal import progress_display
    from sealgate.workflows.sbom import IncompleteSbom, image_sboms

    with progress_display(description="reading layers") as progress:
        top, sboms = image_sboms(client, image, on_layer=progress)
    for warning in (w for s in sboms for w in s.result.warnings):
        print(f"WARNING: sbom: {warning}", file=sys.stderr)
    incomplete = [s for s in sboms if not s.result.complete]
    if incomplete and not allow_incomplete:
        first = incomplete[0]
        where = f" ({first.platform})" if first.platform else ""
        raise IncompleteSbom(
            f"the SBOM of {first.image}{where} is incomplete: {first.result.gaps[0]}; "
            "not attesting it (--allow-incomplete-sbom attests it marked incomplete)"
        )
    for sbom in incomplete:
        print(
            f"WARNING: sbom: attesting an incomplete SBOM of {sbom.image} "
            f"({len(sbom.result.gaps)} gap(s), recorded in the document)",
            file=sys.stderr,
        )
    targets = [(s.image, s.result.document) for s in sboms]
    if all(s.image.digest != top.digest for s in sboms):
        targets.insert(0, (top, sboms[0].result.document))
    return targets


def _check_predicate(path: Path, kind: str, predicate: bytes) -> None:
    """Refuse a predicate that is not what ``--type`` needs, naming the file.

    Raises:
        InputError: an unknown type, or a JSON predicate that does not parse (with position).
    """
    from sealgate.errors import InputError
    from sealgate.formats.predicates import load_predicate, resolve_predicate_type

    resolve_predicate_type(kind)
    try:
        load_predicate(kind, predicate)
    except InputError as err:
        where = "standard input" if str(path) == "-" else str(path)
        raise InputError(f"{where}: {err.message}") from err


def _attest(args: argparse.Namespace) -> int:
    from sealgate.workflows.targets import read_digest_file

    ref = parse_reference(args.image)
    digest = read_digest_file(args.digest_file) if args.digest_file else None
    predicate_type = args.type or ("cyclonedx" if args.sbom else "custom")
    if args.sbom and predicate_type != "cyclonedx":
        raise UsageError("--sbom attests a CycloneDX SBOM: use --type cyclonedx or leave it out")
    if args.allow_incomplete_sbom and not args.sbom:
        raise UsageError("--allow-incomplete-sbom applies to --sbom")
    if args.bundle and not args.new_bundle_format:
        raise UsageError("--bundle writes a Sigstore bundle: add --new-bundle-format")
    if args.no_upload:
        args.upload = False
    predicate = None if args.sbom else read_input(args.predicate)
    if predicate is not None:
        _check_predicate(args.predicate, predicate_type, predicate)
    report = check_scan_report(args)
    setup = signing_setup(args, command="attest")
    if setup is None:
        return ExitCode.OK
    with closing(setup):
        return _attest_with(
            args, setup, ref, digest=digest, kind=predicate_type, predicate=predicate, report=report
        )


def _attest_with(
    args: argparse.Namespace,
    setup: SigningSetup,
    ref: Reference,
    *,
    digest: str | None,
    kind: str,
    predicate: bytes | None,
    report: ScanReport | None,
) -> int:
    from sealgate.cli.terminal import progress_display
    from sealgate.workflows.attest import AttestOptions
    from sealgate.workflows.sign import bind_scan_report
    from sealgate.workflows.targets import resolve_image

    predicate_type = kind
    options = AttestOptions(
        predicate_type=predicate_type,
        replace=args.replace,
        repository=repository_override(),
        docker_media_types=truthy(os.environ.get("COSIGN_DOCKER_MEDIA_TYPES")),
        upload=args.upload,
        services=setup.services,
        bundle_format=args.new_bundle_format,
    )
    with open_client(args) as client:
        image = resolve_image(client, ref, digest=digest).ref
        if report is not None:
            bind_scan_report(client, image, report, allow_unbound=args.scan_report_unbound)
        if predicate is None:
            targets = _sbom_targets(client, image, allow_incomplete=args.allow_incomplete_sbom)
        else:
            targets = [(image, predicate)]
        with progress_display(total=len(targets), description="attesting") as progress:
            for done, (target, body) in enumerate(targets, start=1):
                _attest_one(args, setup, client, target, body=body, options=options)
                progress(done, len(targets))
    return ExitCode.OK


def _attest_one(
    args: argparse.Namespace,
    setup: SigningSetup,
    client: RegistryClient,
    target: Reference,
    *,
    body: bytes,
    options: AttestOptions,
) -> None:
    from sealgate.workflows.attest import attest_image

    outcome = attest_image(client, setup.credential, target, body, options)
    if options.upload:
        print(f"Attestation pushed to: {outcome.attestation_tag}", file=sys.stderr)
    else:
        print(f"Attested {target} (not uploaded)", file=sys.stderr)
    if args.bundle and outcome.bundle is not None:
        args.bundle.write_bytes(outcome.bundle)

"""``sealgate sign``: cosign ``sign`` flag for flag: key or keyless, ``.sig`` layers or bundles."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealgate.cli.common import (
    add_registry_flags,
    add_scan_flags,
    check_scan_report,
    open_client,
    parse_annotations,
    parse_reference,
    repository_override,
    truthy,
)
from sealgate.cli.cosign_compat import add_refused
from sealgate.cli.signing import SigningSetup, add_signing_flags, bool_flag, signing_setup
from sealgate.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from sealgate.formats.scan_reports import ScanReport
    from sealgate.oci import Reference
    from sealgate.workflows.sign import SignOutcome

__all__ = ["add_key_flags", "bool_flag", "register"]


def add_key_flags(parser: argparse.ArgumentParser) -> None:
    """Key/keyless flags (:func:`sealgate.cli.signing.add_signing_flags`) and digest/upload."""
    add_signing_flags(parser)
    parser.add_argument(
        "--digest-file",
        type=Path,
        help="take the digest from build metadata (sha256:... text or buildx metadata JSON)",
    )
    parser.add_argument(
        "--upload", type=bool_flag, default=True, help="push to the registry (default true)"
    )


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "sign",
        help="sign images by digest (.sig tag, or a Sigstore bundle referrer)",
        description="Resolve each IMAGE to its digest and sign the digest. With no --key the "
        "PEM in $COSIGN_PRIVATE_KEY is used; else keyless (Fulcio certificate, Rekor entry) "
        "with --identity-token, SIGSTORE_ID_TOKEN or SEALGATE_KEYLESS=true and a CI OIDC "
        "token; with none of them sign warns and exits 0, so builds without signing secrets "
        "stay green.",
        epilog="example:\n  sealgate sign --key cosign.key -a git_sha=$GIT_SHA "
        "registry.example.com/app@sha256:...\n"
        "  COSIGN_PRIVATE_KEY=... COSIGN_PASSWORD=... sealgate sign registry.example.com/app:1.2",
    )
    add_key_flags(parser)
    parser.add_argument(
        "-a", "--annotations", action="append", metavar="KEY=VALUE", help="signed annotations"
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="also sign every platform of an index"
    )
    parser.add_argument(
        "--sign-container-identity", metavar="REF", help="docker-reference to claim instead"
    )
    parser.add_argument("--output-signature", type=Path, help="write the base64 signature here")
    parser.add_argument("--output-payload", type=Path, help="write the signed payload here")
    parser.add_argument(
        "--output-certificate", type=Path, help="write the signing certificate (or key) here"
    )
    parser.add_argument(
        "--bundle", type=Path, help="with --new-bundle-format: also write the bundle here"
    )
    add_scan_flags(parser)
    add_registry_flags(parser)
    add_refused(
        parser,
        "--attachment",
        "--payload",
        "--record-creation-timestamp",
        "--certificate",
        "--certificate-chain",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.set_defaults(handler=_sign)


def print_outcome(outcome: SignOutcome, *, upload: bool) -> None:
    verb = "Pushing signature to" if outcome.added else "Signature already present on"
    if not upload:
        verb = "Signed (not uploaded)"
    print(f"{verb}: {outcome.signature_tag}", file=sys.stderr)


def _sign(args: argparse.Namespace) -> int:
    from sealgate.workflows.targets import read_digest_file

    annotations = parse_annotations(args.annotations)
    refs = [parse_reference(text) for text in args.images]
    digest = read_digest_file(args.digest_file) if args.digest_file else None
    if digest and len(refs) != 1:
        raise UsageError("--digest-file applies to exactly one IMAGE")
    if args.bundle and not args.new_bundle_format:
        raise UsageError("--bundle writes a Sigstore bundle: add --new-bundle-format")
    # Seed 004: an image whose scan report has blocking vulnerabilities is never signed.
    report = check_scan_report(args)
    setup = signing_setup(args, command="sign")
    if setup is None:
        return ExitCode.OK
    with closing(setup):
        return _sign_with(args, setup, refs, digest=digest, report=report, annotations=annotations)


def _sign_with(
    args: argparse.Namespace,
    setup: SigningSetup,
    refs: list[Reference],
    *,
    digest: str | None,
    report: ScanReport | None,
    annotations: dict[str, str],
) -> int:
    from sealgate.cli.terminal import progress_display
    from sealgate.workflows.sign import SignOptions, bind_scan_report, sign_image
    from sealgate.workflows.targets import resolve_image

    options = SignOptions(
        annotations=annotations,
        recursive=args.recursive,
        identity=args.sign_container_identity,
        repository=repository_override(),
        docker_media_types=truthy(os.environ.get("COSIGN_DOCKER_MEDIA_TYPES")),
        upload=args.upload,
        services=setup.services,
        bundle_format=args.new_bundle_format,
    )
    outcomes = []
    with (
        open_client(args) as client,
        progress_display(total=len(refs), description="signing") as progress,
    ):
        images = [resolve_image(client, ref, digest=digest).ref for ref in refs]
        if report is not None:  # every image is checked before anything is signed
            for image in images:
                bind_scan_report(client, image, report, allow_unbound=args.scan_report_unbound)
        for done, image in enumerate(images, start=1):
            for outcome in sign_image(client, setup.credential, image, options):
                print_outcome(outcome, upload=options.upload)
                outcomes.append(outcome)
            progress(done, len(images))
    if args.output_signature:
        args.output_signature.write_text("\n".join(o.signature_b64 for o in outcomes))
    if args.output_payload:
        args.output_payload.write_bytes(b"\n".join(o.payload for o in outcomes))
    if args.output_certificate:
        args.output_certificate.write_bytes(setup.credential.verifier_pem)
    if args.bundle:
        args.bundle.write_bytes(b"\n".join(o.bundle or b"" for o in outcomes))
    return ExitCode.OK

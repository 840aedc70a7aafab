"""``sealgate sign``: cosign ``sign --key`` flag for flag (key-based, legacy ``.sig`` layout)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

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
from sealgate.errors import ExitCode, UsageError
from sealgate.files import parse_go_bool
from sealgate.keys import Signer, load_signer, password_from_env_or_prompt
from sealgate.workflows.sign import SignOptions, bind_scan_report, sign_image
from sealgate.workflows.targets import read_digest_file, resolve_image

__all__ = ["add_key_flags", "bool_flag", "register", "signer_from_args"]

_SOFT_SKIP_VAR = "COSIGN_PRIVATE_KEY"


def bool_flag(value: str) -> bool:
    """``--flag=false`` style booleans: cosign's flags (pflag) parse them with ParseBool."""
    parsed = parse_go_bool(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a boolean (true or false)")
    return parsed


def add_key_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        help="private key: a path or env://VAR; default: the PEM in $COSIGN_PRIVATE_KEY",
    )
    parser.add_argument("-y", "--yes", action="store_true", help="accepted for cosign parity")
    parser.add_argument(
        "--tlog-upload",
        type=bool_flag,
        default=False,
        metavar="BOOL",
        help="upload to Rekor (not supported yet: signatures carry no tlog entry)",
    )
    parser.add_argument(
        "--digest-file",
        type=Path,
        help="take the digest from build metadata (sha256:... text or buildx metadata JSON)",
    )
    parser.add_argument(
        "--upload", type=bool_flag, default=True, metavar="BOOL", help="push to the registry"
    )


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "sign",
        help="sign images by digest (appends to the .sig tag)",
        description="Resolve each IMAGE to its digest and sign the digest. With no --key the "
        "PEM in $COSIGN_PRIVATE_KEY is used; when that variable is empty sign warns and exits 0 "
        "so builds without signing secrets stay green.",
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
    add_scan_flags(parser)
    add_registry_flags(parser)
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.set_defaults(handler=_sign)


def signer_from_args(args: argparse.Namespace, *, command: str) -> Signer | None:
    """The signer, or None when the documented soft-skip applies (empty COSIGN_PRIVATE_KEY).

    Raises:
        UsageError: Rekor upload requested.
        KeyMaterialError: the key is missing, unreadable, corrupted, or the password is wrong.
    """
    if args.tlog_upload:
        raise UsageError("--tlog-upload=true is not supported yet; sign with --tlog-upload=false")
    ref = args.key or f"env://{_SOFT_SKIP_VAR}"
    if ref == f"env://{_SOFT_SKIP_VAR}" and not os.environ.get(_SOFT_SKIP_VAR, "").strip():
        print(
            f"WARNING: {_SOFT_SKIP_VAR} is empty: skipping `sealgate {command}` "
            "(no signing key in this build; nothing was signed)",
            file=sys.stderr,
        )
        return None
    return load_signer(ref, lambda: password_from_env_or_prompt(confirm=False))


def _sign(args: argparse.Namespace) -> int:
    annotations = parse_annotations(args.annotations)
    refs = [parse_reference(text) for text in args.images]
    digest = read_digest_file(args.digest_file) if args.digest_file else None
    if digest and len(refs) != 1:
        raise UsageError("--digest-file applies to exactly one IMAGE")
    # Seed 004: an image whose scan report has blocking vulnerabilities is never signed.
    report = check_scan_report(args)
    signer = signer_from_args(args, command="sign")
    if signer is None:
        return ExitCode.OK
    options = SignOptions(
        annotations=annotations,
        recursive=args.recursive,
        identity=args.sign_container_identity,
        repository=repository_override(),
        docker_media_types=truthy(os.environ.get("COSIGN_DOCKER_MEDIA_TYPES")),
        upload=args.upload,
    )
    outcomes = []
    with open_client(args) as client:
        images = [resolve_image(client, ref, digest=digest).ref for ref in refs]
        if report is not None:  # every image is checked before anything is signed
            for image in images:
                bind_scan_report(client, image, report, allow_unbound=args.scan_report_unbound)
        for image in images:
            for outcome in sign_image(client, signer, image, options):
                verb = "Pushing signature to" if outcome.added else "Signature already present on"
                if not options.upload:
                    verb = "Signed (not uploaded)"
                print(f"{verb}: {outcome.signature_tag}", file=sys.stderr)
                outcomes.append(outcome)
    if args.output_signature:
        args.output_signature.write_text("\n".join(o.signature_b64 for o in outcomes))
    if args.output_payload:
        args.output_payload.write_bytes(b"\n".join(o.payload for o in outcomes))
    return ExitCode.OK

"""``sealgate sign-blob`` and ``attest-blob``: sign a file, or an in-toto statement about it.

As cosign: ``--bundle FILE`` (a Sigstore bundle with ``--new-bundle-format``, else cosign's
legacy blob bundle), ``--output-signature``, ``--output-certificate``, ``--rfc3161-timestamp``.
Key or keyless as ``sign`` (:mod:`sealgate.cli.signing`). Verification (``verify-blob``,
``verify-blob-attestation``) goes through the verification pipeline.
"""

from __future__ import annotations

import argparse
import base64
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealgate.cli.common import read_input
from sealgate.cli.cosign_compat import add_refused
from sealgate.cli.parsing import bool_flag
from sealgate.cli.signing import add_signing_flags, signing_setup
from sealgate.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from sealgate.workflows.blob import BlobSignature

__all__ = ["register"]


def _common(parser: argparse.ArgumentParser) -> None:
    add_signing_flags(parser)
    parser.add_argument("--bundle", type=Path, help="write the bundle (signature and evidence)")
    parser.add_argument(
        "--output-signature", "--output", type=Path, help="write the signature here"
    )
    parser.add_argument(
        "--output-certificate", type=Path, help="write the signing certificate (or key) here"
    )
    parser.add_argument(
        "--rfc3161-timestamp", type=Path, help="write the RFC 3161 timestamp (DER) here"
    )
    parser.add_argument("blob", type=Path, metavar="FILE", help="the file (- for stdin)")


def register(sub: Any) -> None:
    sign = sub.add_parser(
        "sign-blob",
        help="sign a file (key or keyless)",
        description="Sign FILE's bytes. Key or keyless exactly as `sign` decides.",
        epilog="example:\n  sealgate sign-blob --key cosign.key --bundle app.tgz.bundle app.tgz",
    )
    _common(sign)
    sign.add_argument(
        "--b64",
        type=bool_flag,
        default=True,
        help="base64-encode the signature written (default true; false writes raw bytes)",
    )
    sign.set_defaults(handler=_sign_blob)
    attest = sub.add_parser(
        "attest-blob",
        help="attest a predicate about a file (in-toto statement in DSSE)",
        description="Sign an in-toto statement whose subject is FILE (its name and SHA-256).",
        epilog="example:\n  sealgate attest-blob --key cosign.key --type slsaprovenance "
        "--predicate provenance.json --bundle app.tgz.att.bundle app.tgz",
    )
    _common(attest)
    add_refused(
        attest,
        "--hash",
        "--output-attestation",
        "--rfc3161-timestamp-bundle",
        "--statement",
        "--rekor-entry-type",
        "--certificate",
        "--certificate-chain",
    )
    attest.add_argument("--predicate", type=Path, required=True, help="predicate file")
    attest.add_argument("--type", default="custom", help="predicate type name or URI")
    attest.set_defaults(handler=_attest_blob)


def _write(args: argparse.Namespace, result: BlobSignature, signature_text: bytes) -> None:
    from sealgate.workflows.blob import legacy_blob_bundle

    if args.bundle:
        bundle = result.bundle if result.bundle is not None else legacy_blob_bundle(result)
        args.bundle.write_bytes(bundle)
        print(f"Wrote bundle to file {args.bundle}", file=sys.stderr)
    if args.output_signature:
        args.output_signature.write_bytes(signature_text)
    if args.output_certificate:
        args.output_certificate.write_bytes(result.credential.verifier_pem)
    if args.rfc3161_timestamp:
        if not result.evidence.timestamps:
            raise UsageError("--rfc3161-timestamp needs --timestamp-server-url")
        args.rfc3161_timestamp.write_bytes(result.evidence.timestamps[0])
    if not (args.bundle or args.output_signature):
        if getattr(args, "b64", True):
            sys.stdout.write(signature_text.decode("ascii", "replace") + "\n")
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(signature_text)


def _sign_blob(args: argparse.Namespace) -> int:
    from sealgate.workflows.blob import sign_blob

    blob = read_input(args.blob)
    setup = signing_setup(args, command="sign-blob")
    if setup is None:
        return ExitCode.OK
    with closing(setup):
        result = sign_blob(
            setup.credential, setup.services, blob, bundle_format=args.new_bundle_format
        )
    _write(args, result, base64.b64encode(result.signature) if args.b64 else result.signature)
    return ExitCode.OK


def _attest_blob(args: argparse.Namespace) -> int:
    from sealgate.formats.predicates import load_predicate, resolve_predicate_type
    from sealgate.workflows.blob import attest_blob

    blob = read_input(args.blob)
    predicate_uri = resolve_predicate_type(args.type)
    predicate = load_predicate(args.type, read_input(args.predicate))
    name = "-" if str(args.blob) == "-" else args.blob.name
    setup = signing_setup(args, command="attest-blob")
    if setup is None:
        return ExitCode.OK
    with closing(setup):
        result = attest_blob(
            setup.credential,
            setup.services,
            blob,
            name=name,
            predicate_type_uri=predicate_uri,
            predicate=predicate,
            bundle_format=args.new_bundle_format,
        )
    _write(args, result, result.envelope or b"")
    return ExitCode.OK

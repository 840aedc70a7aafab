"""``sealgate verify-blob`` and ``verify-blob-attestation`` (cosign's names and flags)."""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealgate.cli.common import read_input
from sealgate.cli.cosign_compat import add_refused
from sealgate.cli.parsing import bool_flag
from sealgate.cli.trust_flags import add_trust_flags, trust_policy_from_args
from sealgate.errors import ExitCode, InputError, UsageError

if TYPE_CHECKING:
    from cryptography import x509

    from sealgate.workflows.verify_blob import Blob

__all__ = ["register"]

_DIGEST_PREFIXES = ("sha256:", "sha384:", "sha512:")


def register(sub: Any) -> None:
    for name, dsse, summary in (
        ("verify-blob", False, "verify a blob's signature (cosign verify-blob)"),
        (
            "verify-blob-attestation",
            True,
            "verify a blob's in-toto attestation (cosign verify-blob-attestation)",
        ),
    ):
        parser = sub.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}. BLOB is a file, or sha256:<hex> "
            "to verify by digest alone. Example: sealgate verify-blob --bundle a.sigstore.json "
            "--certificate-identity me@example.com --certificate-oidc-issuer "
            "https://accounts.google.com a.txt",
        )
        add_trust_flags(parser)
        parser.add_argument("--bundle", type=Path, help="Sigstore bundle (cosign --bundle)")
        parser.add_argument(
            "--signature", help="raw signature: a file, or its base64 (without --bundle)"
        )
        parser.add_argument("--certificate", type=Path, help="PEM signing certificate")
        if dsse:
            parser.add_argument("--type", default=None, help="predicate type name or URI")
            parser.add_argument(
                "--check-claims",
                type=bool_flag,
                default=True,
                help="check the blob is a statement subject (always; =false is refused)",
            )
            add_refused(parser, "--digest", "--digestAlg")
        add_refused(parser, "--rfc3161-timestamp")
        parser.add_argument("blob", metavar="BLOB")
        parser.set_defaults(handler=_handler(dsse))


def _blob(text: str) -> Blob:
    from sealgate.workflows.verify_blob import Blob

    if text.startswith(_DIGEST_PREFIXES):
        return Blob.from_digest(text)
    return Blob(data=read_input(Path(text)))


def _signature(value: str) -> bytes:
    path = Path(value)
    raw = read_input(path).strip() if path.is_file() else value.encode("ascii", "replace")
    try:
        return base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError) as err:
        raise InputError("--signature is not base64 (a file or a value)") from err


def _certificate(path: Path | None) -> x509.Certificate | None:
    from cryptography import x509

    if path is None:
        return None
    try:
        return x509.load_pem_x509_certificate(read_input(path))
    except ValueError as err:
        raise InputError(f"{path} is not a PEM certificate") from err


def _handler(dsse: bool) -> Any:
    def run(args: argparse.Namespace) -> int:
        if not getattr(args, "check_claims", True):
            raise UsageError(
                "--check-claims=false is not supported: an attestation whose subject is not "
                "the blob proves nothing about it"
            )
        from sealgate.formats.predicates import resolve_predicate_type
        from sealgate.gate import utc_now
        from sealgate.workflows.verify_blob import verify_blob

        policy = trust_policy_from_args(args, {})
        result = verify_blob(
            policy,
            _blob(args.blob),
            reference_time=utc_now(),
            bundle=read_input(args.bundle) if args.bundle else None,
            signature=_signature(args.signature) if args.signature else None,
            certificate=_certificate(args.certificate),
            dsse=dsse,
        )
        if dsse and args.type is not None:
            wanted = resolve_predicate_type(args.type)
            statement = result.claims
            if statement is None or statement.predicate_type != wanted:
                found = statement.predicate_type if statement else "none"
                print(
                    f"error: the attestation's predicate type is {found}, not {wanted}",
                    file=sys.stderr,
                )
                return ExitCode.FAILURE
        print("Verified OK", file=sys.stderr)
        return ExitCode.OK

    return run

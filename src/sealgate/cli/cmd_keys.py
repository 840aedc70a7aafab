"""``sealgate generate-key-pair`` and ``public-key``: cosign's key files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from sealgate.cli.cosign_compat import add_refused
from sealgate.errors import ExitCode, InputError, UsageError
from sealgate.keys.pkcs11_uri import is_pkcs11_uri, parse_pkcs11_uri, redact_key_ref

__all__ = ["register"]


def register(sub: Any) -> None:
    gen = sub.add_parser(
        "generate-key-pair",
        help="write cosign.key (encrypted, mode 0600) and cosign.pub",
        description="Generate an ECDSA P-256 key pair in cosign's format. The password comes from "
        "COSIGN_PASSWORD when set (even empty), else a prompt, else standard input.",
        epilog="example:\n  COSIGN_PASSWORD=... sealgate generate-key-pair --output-key-prefix ci",
    )
    gen.add_argument(
        "--output-key-prefix", default="cosign", help="file name prefix (default: cosign)"
    )
    gen.add_argument("-f", "--force", action="store_true", help="overwrite existing files")
    gen.add_argument(
        "--kms",
        metavar="URI",
        help="create the key pair in a PKCS#11 token instead (pkcs11:token=...;object=...); "
        "only the public key is written (PREFIX.pub)",
    )
    gen.set_defaults(handler=_generate)

    imp = sub.add_parser(
        "import-key-pair",
        help="import a PEM private key as cosign.key and cosign.pub",
        description="Re-wrap an unencrypted PEM private key (EC, RSA, PKCS#8) in cosign's "
        "encrypted format; the new password comes from COSIGN_PASSWORD, a prompt or stdin.",
        epilog="example:\n  COSIGN_PASSWORD=... sealgate import-key-pair --key ec.pem "
        "--output-key-prefix imported",
    )
    imp.add_argument("-k", "--key", required=True, type=Path, help="the PEM private key file")
    imp.add_argument(
        "-o",
        "--output-key-prefix",
        default="import-cosign",
        help="file name prefix (default: import-cosign)",
    )
    imp.add_argument(
        "-y", "--yes", "-f", "--force", action="store_true", help="overwrite existing files"
    )
    imp.set_defaults(handler=_import)

    pub = sub.add_parser(
        "public-key",
        help="print the public key of a private key",
        description="Print (or write with --outfile) the public key of a private key.",
        epilog="example:\n  sealgate public-key --key cosign.key --outfile cosign.pub",
    )
    pub.add_argument("--key", required=True, help="private key: path, env://VAR or pkcs11:... URI")
    pub.add_argument("--outfile", type=Path, help="write here instead of stdout")
    add_refused(pub, "--sk", "--slot")
    pub.set_defaults(handler=_public_key)


def _write_new(path: Path, data: bytes, mode: int, *, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError as err:
        raise UsageError(f"{path} already exists; use --force to overwrite") from err
    except OSError as err:
        raise InputError(f"cannot write {path}: {err.strerror}") from err
    with os.fdopen(fd, "wb") as handle:
        # os.open's mode is masked by umask and ignored for existing files: set it explicitly.
        os.fchmod(handle.fileno(), mode)
        handle.write(data)


def _generate_in_token(args: argparse.Namespace, pub_path: Path) -> int:
    from sealgate.keys.pkcs11 import generate_token_key_pair

    if not is_pkcs11_uri(args.kms):
        raise UsageError("--kms: only pkcs11: URIs are supported (awskms://, gcpkms://... are not)")
    if not args.force and pub_path.exists():
        raise UsageError(f"{pub_path} already exists; use --force to overwrite")
    uri = parse_pkcs11_uri(args.kms, os.environ)
    public_pem = generate_token_key_pair(uri)
    _write_new(pub_path, public_pem, 0o644, force=args.force)
    print(f"Key pair created in the token: {redact_key_ref(args.kms)}", file=sys.stderr)
    print(f"Public key written to {pub_path}", file=sys.stderr)
    return ExitCode.OK


def _generate(args: argparse.Namespace) -> int:
    from sealgate.keys import generate_key_pair, password_from_env_or_prompt

    prefix = str(args.output_key_prefix)
    key_path, pub_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if args.kms:
        return _generate_in_token(args, pub_path)
    if not args.force:
        for path in (key_path, pub_path):
            if path.exists():
                raise UsageError(f"{path} already exists; use --force to overwrite")
    password = password_from_env_or_prompt(confirm=True)
    _warn_empty(password)
    private_pem, public_pem = generate_key_pair(password)
    _write_pair(key_path, pub_path, private_pem, public_pem, force=args.force)
    return ExitCode.OK


def _warn_empty(password: bytes) -> None:
    if not password:
        print(
            "WARNING: the private key is encrypted with an empty password; anyone who gets "
            "the file can sign with it (set COSIGN_PASSWORD to choose one)",
            file=sys.stderr,
        )


def _write_pair(
    key_path: Path, pub_path: Path, private_pem: bytes, public_pem: bytes, *, force: bool
) -> None:
    _write_new(key_path, private_pem, 0o600, force=force)
    _write_new(pub_path, public_pem, 0o644, force=force)
    print(f"Private key written to {key_path}", file=sys.stderr)
    print(f"Public key written to {pub_path}", file=sys.stderr)


def _import(args: argparse.Namespace) -> int:
    from sealgate.files import read_capped
    from sealgate.keys import MAX_KEY_BYTES, import_key_pair, password_from_env_or_prompt

    prefix = str(args.output_key_prefix)
    key_path, pub_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if not args.yes:
        for path in (key_path, pub_path):
            if path.exists():
                raise UsageError(f"{path} already exists; use -y to overwrite")
    pem = read_capped(args.key, MAX_KEY_BYTES, error=InputError, follow_symlinks=False)
    password = password_from_env_or_prompt(confirm=True)
    _warn_empty(password)
    private_pem, public_pem = import_key_pair(pem, password)
    _write_pair(key_path, pub_path, private_pem, public_pem, force=args.yes)
    return ExitCode.OK


def _public_key(args: argparse.Namespace) -> int:
    from sealgate.cli.signing import load_signing_key

    signer = load_signing_key(args.key)
    pem = signer.verifier().public_pem()
    close = getattr(signer, "close", None)
    if callable(close):
        close()
    if args.outfile:
        _write_new(args.outfile, pem, 0o644, force=True)
    else:
        sys.stdout.write(pem.decode())
    return ExitCode.OK

"""``sealgate generate-key-pair`` and ``public-key``: cosign's key files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealgate.errors import ExitCode, InputError, UsageError

if TYPE_CHECKING:
    pass

__all__ = ["register"]


def register(sub: Any) -> None:
    gen = sub.add_parser(
        "generate-key-pair",
        help="write cosign.key (encrypted, mode 0600) and cosign.pub",
        description="Generate an ECDSA P-256 key pair in cosign's format. The password comes from "
        "COSIGN_PASSWORD when set (even empty), else a prompt, else standard input.",
    )
    gen.add_argument(
        "--output-key-prefix", default="cosign", help="file name prefix (default: cosign)"
    )
    gen.add_argument("-f", "--force", action="store_true", help="overwrite existing files")
    gen.set_defaults(handler=_generate)

    pub = sub.add_parser("public-key", help="print the public key of a private key")
    pub.add_argument("--key", required=True, help="private key: path or env://VAR")
    pub.add_argument("--outfile", type=Path, help="write here instead of stdout")
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


def _generate(args: argparse.Namespace) -> int:
    from sealgate.keys import generate_key_pair, password_from_env_or_prompt

    prefix = str(args.output_key_prefix)
    key_path, pub_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if not args.force:
        for path in (key_path, pub_path):
            if path.exists():
                raise UsageError(f"{path} already exists; use --force to overwrite")
    password = password_from_env_or_prompt(confirm=True)
    private_pem, public_pem = generate_key_pair(password)
    _write_new(key_path, private_pem, 0o600, force=args.force)
    _write_new(pub_path, public_pem, 0o644, force=args.force)
    print(f"Private key written to {key_path}", file=sys.stderr)
    print(f"Public key written to {pub_path}", file=sys.stderr)
    return ExitCode.OK


def _public_key(args: argparse.Namespace) -> int:
    from sealgate.keys import load_signer, password_from_env_or_prompt

    signer = load_signer(args.key, lambda: password_from_env_or_prompt(confirm=False))
    pem = signer.verifier().public_pem()
    if args.outfile:
        _write_new(args.outfile, pem, 0o644, force=True)
    else:
        sys.stdout.write(pem.decode())
    return ExitCode.OK

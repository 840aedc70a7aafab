"""cosign commands sealgate does not have: each is refused with the reason, never "unknown"."""

from __future__ import annotations

import argparse
from typing import Any

from sealgate.errors import UsageError

__all__ = ["REFUSED", "register"]

_HSM = "hardware tokens are not supported yet; sign with a key file or keyless"
#: cosign command -> why sealgate does not have it and what to use.
REFUSED = {
    "bundle": "Sigstore bundles are written by sign --new-bundle-format and sign-blob --bundle",
    "dockerfile": "deprecated in cosign; verify each image named in the Dockerfile with verify",
    "manifest": "deprecated in cosign; `sealgate gate --manifests FILE` verifies every image "
    "of rendered manifests",
    "piv-tool": _HSM,
    "pkcs11-tool": _HSM,
    "signing-config": "write the SigningConfig JSON yourself and pass --signing-config FILE",
    "trusted-root": "use `sealgate initialize`, or --trusted-root FILE, or BYO PKI flags",
    "upload": "deprecated in cosign; push blobs and WASM modules with an OCI client (oras)",
}


def register(sub: Any) -> None:
    for name, reason in REFUSED.items():
        parser = sub.add_parser(
            name, help=argparse.SUPPRESS, description=f"Not supported: {reason}.", add_help=True
        )
        parser.add_argument("words", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        parser.set_defaults(handler=_refuse(name, reason))


def _refuse(name: str, reason: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        del args
        raise UsageError(f"`{name}` is not supported: {reason}")

    return run

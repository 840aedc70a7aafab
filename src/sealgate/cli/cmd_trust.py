"""``sealgate initialize``: refresh the Sigstore trusted root over TUF (cosign initialize)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sealgate.cli.cosign_compat import add_refused
from sealgate.cli.trust_flags import DEFAULT_TUF_CACHE, DEFAULT_TUF_MIRROR
from sealgate.errors import ExitCode

__all__ = ["register"]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "initialize",
        help="refresh the Sigstore trusted root over TUF (cosign initialize)",
        description="Fetch and verify the newest trusted root (Fulcio CAs, Rekor and CT logs, "
        "TSAs) from a TUF mirror into the cache that verify uses offline afterwards. "
        "Example: sealgate initialize --mirror https://tuf.example.internal --root root.json",
    )
    parser.add_argument("--mirror", default=DEFAULT_TUF_MIRROR, help="TUF repository URL")
    parser.add_argument("--root", type=Path, help="trusted root.json to start from")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_TUF_CACHE, help="where TUF metadata is kept"
    )
    add_refused(parser, "--root-checksum")
    parser.set_defaults(handler=_initialize)


def _initialize(args: argparse.Namespace) -> int:
    from sealgate.trust.tuf import initialize

    root = initialize(
        args.mirror,
        args.cache_dir.expanduser(),
        root=args.root,
        timeout_seconds=min(args.timeout or 30.0, 30.0),
    )
    print(
        f"trusted root from {args.mirror}: {len(root.certificate_authorities)} CA(s), "
        f"{len(root.tlogs)} transparency log(s), {len(root.ctlogs)} CT log(s), "
        f"{len(root.timestamp_authorities)} TSA(s)",
        file=sys.stderr,
    )
    return ExitCode.OK

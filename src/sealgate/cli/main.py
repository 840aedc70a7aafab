"""``sealgate`` entry point: parse flags, run one command, map the error tree to exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from sealgate import __version__
from sealgate.errors import ExitCode, SealgateError, UsageError

__all__ = ["EXIT_CODES_HELP", "build_parser", "entrypoint", "main"]

EXIT_CODES_HELP = """\
exit codes:
  0    success (gate: every image verified, or soft-fail environment)
  1    verification failed (signature, digest, attestation) or another failure
  2    gate/helm-postrender only: deploy blocked
  3    could not check (registry unreachable, timeout, malformed data, limit hit)
  10   verify: image has no signatures (cosign-compatible)
  11   verify: image or tag not found (cosign-compatible)
  12   verify: no signature passed every check (cosign-compatible)
  64   usage error (bad flags, malformed image reference)
  65   bad input data (unreadable key, wrong password, bad predicate or report file)
  70   internal error (a bug; never treated as an allow)
  78   configuration error (gate config, versions files)
  130  interrupted
"""

Handler = Callable[[argparse.Namespace], int]


#: Boolean flags that, as in cosign (pflag), stand alone for true or take ``=false``.
GO_BOOL_FLAGS = frozenset({"--new-bundle-format", "--tlog-upload", "--upload"})


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad flags; 2 means "deploy blocked" here, so raise UsageError."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # pflag reads a bare boolean flag as true and never takes the next word as its value.
        words = sys.argv[1:] if args is None else args
        args = [f"{a}=true" if a in GO_BOOL_FLAGS else a for a in words]
        return super().parse_known_args(args, namespace)


def build_parser() -> argparse.ArgumentParser:
    """The full command tree; each command group registers itself from its own module."""
    from sealgate.cli import (
        cmd_attest,
        cmd_blob,
        cmd_gate,
        cmd_keys,
        cmd_mirror,
        cmd_misc,
        cmd_policy,
        cmd_proxy,
        cmd_sign,
        cmd_trust,
        cmd_verify,
        cmd_verify_blob,
    )

    parser = _Parser(
        prog="sealgate",
        description="Sign container images and verify them before they run (cosign-compatible).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sealgate {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeat for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    modules = (
        cmd_keys,
        cmd_sign,
        cmd_verify,
        cmd_verify_blob,
        cmd_attest,
        cmd_blob,
        cmd_misc,
        cmd_gate,
        cmd_policy,
        cmd_trust,
        cmd_mirror,
        cmd_proxy,
    )
    for module in modules:
        module.register(sub)
    return parser


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # httpx logs full URLs at INFO; keep it quiet unless debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbosity > 2 else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code. Never raises, never prints a traceback."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        _configure_logging(args.verbose)
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
        return handler(args)
    except SealgateError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `sealgate ... | head` closed stdout early: not our failure to report.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.FAILURE
    except Exception as err:  # a bug must still end as one line and exit 70, never an allow
        if os.environ.get("SEALGATE_DEBUG"):
            raise
        print(
            f"error: internal error ({type(err).__name__}); this is a bug, nothing was allowed. "
            "Re-run with SEALGATE_DEBUG=1 for a traceback.",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL


def entrypoint() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())

"""``sealgate`` entry point: parse flags, run one command, map the error tree to exit codes.

Commands are registered from :data:`COMMANDS`, one line each: the command word, the module
whose ``register(sub)`` adds its parser (with ``set_defaults(handler=...)``), and the summary
``sealgate --help`` lists. Only the module of the command being run is imported, so start-up
does not pay for every command's dependencies; ``sealgate --help`` lists every command from the
table alone. A module may register several commands: give each its own line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import NamedTuple, NoReturn

from sealgate import __version__
from sealgate.cli.parsing import CommandParser, RootParser
from sealgate.errors import ExitCode, InputError, SealgateError

__all__ = [
    "COMMANDS",
    "EXIT_CODES_HELP",
    "REFUSED_COMMANDS",
    "Command",
    "build_parser",
    "command_word",
    "entrypoint",
    "main",
]

EXIT_CODES_HELP = """\
exit codes:
  0    success (gate: every image verified, or soft-fail environment)
  1    verification failed (signature, digest, attestation) or another failure
  2    gate/helm-postrender only: deploy blocked
  3    could not check (registry unreachable, timeout, malformed data, limit hit)
  10   verify: image has no signatures (cosign-compatible)
  11   verify: image or tag not found (cosign-compatible)
  12   verify: no signature passed every check (cosign-compatible)
  64   usage error (bad flags, malformed image reference, a flag sealgate refuses)
  65   bad input data (unreadable key, wrong password, bad predicate or report file)
  70   internal error (a bug; never treated as an allow)
  78   configuration error (gate config, versions files)
  130  interrupted
"""


class Command(NamedTuple):
    """One line of the command table."""

    name: str
    module: str
    summary: str


_CLI = "sealgate.cli."
#: Every command, in the order ``sealgate --help`` lists them. Add a command with one line.
COMMANDS: tuple[Command, ...] = (
    Command("sign", _CLI + "cmd_sign", "sign images by digest (.sig tag or bundle referrer)"),
    Command("verify", _CLI + "cmd_verify", "verify image signatures (cosign verify)"),
    Command("attest", _CLI + "cmd_attest", "attest a predicate about an image (in-toto, DSSE)"),
    Command("verify-attestation", _CLI + "cmd_verify", "verify image attestations"),
    Command("sign-blob", _CLI + "cmd_blob", "sign a file (key or keyless)"),
    Command("verify-blob", _CLI + "cmd_verify_blob", "verify a file's signature"),
    Command("attest-blob", _CLI + "cmd_blob", "attest a predicate about a file"),
    Command("verify-blob-attestation", _CLI + "cmd_verify_blob", "verify a file's attestation"),
    Command("generate-key-pair", _CLI + "cmd_keys", "write cosign.key and cosign.pub"),
    Command("import-key-pair", _CLI + "cmd_keys", "import a PEM key pair as cosign.key"),
    Command("public-key", _CLI + "cmd_keys", "print the public key of a private key"),
    Command("attach", _CLI + "cmd_attach", "attach a signature, attestation or SBOM"),
    Command("download", _CLI + "cmd_misc", "print attached signatures/attestations/SBOMs"),
    Command("tree", _CLI + "cmd_misc", "show what is attached to an image"),
    Command("triangulate", _CLI + "cmd_misc", "print where an image's signatures live"),
    Command("copy", _CLI + "cmd_misc", "copy an image with its signatures and attestations"),
    Command("save", _CLI + "cmd_save", "save an image and its signatures to an OCI layout"),
    Command("load", _CLI + "cmd_save", "load an image and its signatures from an OCI layout"),
    Command("clean", _CLI + "cmd_attach", "remove signatures/attestations/SBOMs of an image"),
    Command("generate", _CLI + "cmd_attach", "print the payload `sign` would sign"),
    Command("sbom", _CLI + "cmd_misc", "generate a CycloneDX SBOM from an image's layers"),
    Command("gate", _CLI + "cmd_gate", "verify an environment's images before deploy"),
    Command("helm-postrender", _CLI + "cmd_gate", "Helm post-renderer: pin and verify"),
    Command("ci", _CLI + "cmd_gate", "pipeline templates"),
    Command("policy", _CLI + "cmd_policy", "test policy documents without a cluster"),
    Command("audit", _CLI + "cmd_audit", "audit a registry's signatures (HTML/JSON report)"),
    Command("resign", _CLI + "cmd_audit", "re-sign images with a new key after rotation"),
    Command("initialize", _CLI + "cmd_trust", "refresh the Sigstore trusted root over TUF"),
    Command("webhook", _CLI + "cmd_webhook", "Kubernetes admission webhook: serve it, install it"),
    Command("mirror", _CLI + "cmd_mirror", "mirror images: verify upstream, copy, sign, tag last"),
    Command("proxy", _CLI + "cmd_proxy", "registry front that refuses unverified images (412)"),
    Command("login", _CLI + "cmd_env", "store registry credentials (docker config.json)"),
    Command("env", _CLI + "cmd_env", "print the environment variables sealgate reads"),
    Command("version", _CLI + "cmd_env", "print version information"),
    Command("completion", _CLI + "cmd_env", "shell completion script (bash, zsh, fish)"),
    Command("unsupported", _CLI + "cmd_unsupported", "cosign commands sealgate refuses"),
)
#: cosign commands that exist only to be refused with a reason (``cmd_unsupported``).
REFUSED_COMMANDS = (
    "bundle",
    "dockerfile",
    "manifest",
    "piv-tool",
    "pkcs11-tool",
    "signing-config",
    "trusted-root",
    "upload",
)

#: Global flags that take a value as the next word (for finding the command word).
_VALUE_FLAGS = frozenset({"--output-file", "-t", "--timeout"})


def command_word(words: Sequence[str]) -> str:
    """The command named on the command line, or ``""`` when there is none."""
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in _VALUE_FLAGS:
            skip = True
        elif word == "--":
            return ""
        elif not word.startswith("-"):
            return word
    return ""


def _table() -> dict[str, str]:
    table = {c.name: c.module for c in COMMANDS if c.name != "unsupported"}
    return table | dict.fromkeys(REFUSED_COMMANDS, _CLI + "cmd_unsupported")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command tree.

    Args:
        command: ``None`` registers every command in full (help of all, completion); a
            command word registers that command's module in full and the rest by name only;
            ``""`` registers every command by name only (``sealgate --help``).

    Returns:
        The root parser.
    """
    parser = RootParser(
        prog="sealgate",
        description="Sign container images and verify them before they run (cosign-compatible).",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"sealgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    table = _table()
    modules = dict.fromkeys(table.values()) if command is None else {}
    if command and command in table:
        modules = {table[command]: None}
    for module in modules:
        importlib.import_module(module).register(sub)
    for entry in COMMANDS:
        if entry.name not in sub.choices and entry.name != "unsupported":
            sub.add_parser(entry.name, help=entry.summary, add_help=False)
    return parser


def _parser_of(args: argparse.Namespace, root: argparse.ArgumentParser) -> argparse.ArgumentParser:
    found = getattr(args, "_parser", None)
    return found if isinstance(found, argparse.ArgumentParser) else root


def _configure_logging(verbosity: int) -> None:
    import logging

    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    # httpx logs full URLs at INFO; keep it quiet unless debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbosity > 2 else logging.WARNING)


@contextmanager
def _output(path: str | None) -> Iterator[None]:
    """cosign's ``--output-file``: what the command prints goes to this file."""
    if not path:
        yield
        return
    try:
        handle = Path(path).open("w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as err:
        raise InputError(f"cannot write --output-file {path}: {err.strerror}") from err
    with handle, redirect_stdout(handle):
        yield


def _run(words: list[str]) -> int:
    from sealgate.deadline import Deadline

    parser = build_parser(command_word(words))
    args, extras = parser.parse_known_args(words)
    if extras:
        chosen = _parser_of(args, parser)
        if isinstance(chosen, CommandParser):
            chosen.unknown_arguments(extras)
        if isinstance(parser, RootParser):
            parser.unknown_arguments(extras)
    _configure_logging(args.verbose)
    args.deadline = Deadline.after(args.timeout) if args.timeout > 0 else Deadline.none()
    handler = getattr(args, "handler", None)
    if handler is None:
        _parser_of(args, parser).print_help(sys.stderr)
        return ExitCode.USAGE
    with _output(args.output_file):
        return int(handler(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code. Never raises, never prints a traceback."""
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(words)
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

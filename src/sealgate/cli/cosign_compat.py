"""cosign flags sealgate accepts only to refuse, each with the reason, never "unrecognized".

A cosign user swaps the binary name and keeps their flags: a flag sealgate does not implement
is parsed like cosign parses it (a boolean or a value) and then refused with one line saying
why and what to do instead. A boolean given as ``=false`` asks for nothing and is accepted.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from sealgate.cli.parsing import bool_flag
from sealgate.errors import UsageError

__all__ = ["BOOLEAN_FLAGS", "REASONS", "RefusedFlag", "add_no_op", "add_refused"]

_NO_LOGIN = (
    "there is no interactive OIDC login; give a token with --identity-token or "
    "SIGSTORE_ID_TOKEN, or let a CI OIDC provider (GitHub Actions, Azure DevOps, Buildkite) "
    "supply it"
)
_NO_HARDWARE = "hardware security keys are not supported; sign with a key file or keyless"
_NO_TSA_MTLS = "mutual TLS to the timestamp authority is not supported"

#: Why each refused flag is refused.
REASONS: dict[str, str] = {
    "--sk": _NO_HARDWARE,
    "--slot": _NO_HARDWARE,
    "--fulcio-auth-flow": _NO_LOGIN,
    "--oidc-client-secret-file": _NO_LOGIN,
    "--oidc-redirect-url": _NO_LOGIN,
    "--oidc-provider": _NO_LOGIN,
    "--oidc-disable-ambient-providers": "ambient CI tokens are how keyless signing finds a "
    "token here; unset SEALGATE_KEYLESS and SIGSTORE_ID_TOKEN instead",
    "--insecure-skip-verify": "the SCT of a Fulcio certificate is always verified",
    "--issue-certificate": "a key and a Fulcio certificate at once is not supported; sign "
    "with --key or keyless",
    "--certificate": "attaching a certificate to a key signature is not supported; sign "
    "keyless for a certificate",
    "--certificate-chain": "attaching a certificate chain to a key signature is not supported",
    "--timestamp-client-cacert": _NO_TSA_MTLS,
    "--timestamp-client-cert": _NO_TSA_MTLS,
    "--timestamp-client-key": _NO_TSA_MTLS,
    "--timestamp-server-name": _NO_TSA_MTLS,
    "--use-signing-config": "a TUF-provided signing config is not fetched; give "
    "--signing-config FILE",
    "--attachment": "signing attachments is deprecated in cosign; sign the attached image's "
    "digest itself",
    "--payload": "a caller-made payload is not signed or verified here; sealgate builds and "
    "checks cosign's simple-signing payload itself",
    "--signature": "a detached signature is not verified for images; verify what is in the "
    "registry, or use verify-blob for files",
    "--record-creation-timestamp": "signature manifests keep cosign's default zero "
    "creation time, so re-signing stays reproducible",
    "--sct": "a detached SCT is not supported; the certificate must embed its SCT",
    "--statement": "a ready-made in-toto statement is not signed; give the predicate with "
    "--predicate and --type",
    "--hash": "give the file itself: its digest is computed here",
    "--output-attestation": "the attestation is printed on standard output; redirect it",
    "--rfc3161-timestamp-bundle": "use --bundle: it carries the timestamp",
    "--rfc3161-timestamp": "a detached RFC 3161 timestamp is not verified; use --bundle",
    "--digest": "give BLOB as sha256:<hex> to verify by digest",
    "--digestAlg": "give BLOB as sha256:<hex> to verify by digest",
    "--root-checksum": "give a root.json you trust with --root",
    "--rekor-response": "a detached Rekor response is not attached; sign with --tlog-upload",
    "--tsr": "a detached RFC 3161 response is not attached; sign with --timestamp-server-url",
    "--kms": "KMS and HSM keys are not supported yet; generate a key file",
    "--rekor-entry-type": "log entries are written as cosign's default types",
    "--signature-digest-algorithm": "signatures are checked with the digest of their key "
    "(SHA-256 for P-256)",
}

#: Refused flags that are booleans in cosign (bare, or ``=true|false``).
BOOLEAN_FLAGS = frozenset(
    {
        "--sk",
        "--oidc-disable-ambient-providers",
        "--insecure-skip-verify",
        "--issue-certificate",
        "--use-signing-config",
        "--record-creation-timestamp",
    }
)


class RefusedFlag(argparse.Action):
    """Parse a flag as cosign would, then refuse it with its reason."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.boolean = kwargs.pop("boolean", False)
        self.reason = kwargs.pop("reason", "not supported")
        if self.boolean:
            kwargs.update(nargs="?", const=True, type=bool_flag, metavar="BOOL")
        kwargs.setdefault("help", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if self.boolean and values is False:
            return  # --flag=false asks for nothing
        raise UsageError(f"{option_string} is not supported: {self.reason}")


def add_refused(parser: argparse.ArgumentParser, *flags: str) -> None:
    """Add each cosign flag not already on ``parser`` as a refused one (hidden from help)."""
    existing = {option for action in parser._actions for option in action.option_strings}
    for flag in flags:
        if flag in existing:
            continue
        parser.add_argument(
            flag,
            action=RefusedFlag,
            dest=f"refused_{flag.lstrip('-').replace('-', '_')}",
            default=None,
            boolean=flag in BOOLEAN_FLAGS,
            reason=REASONS[flag],
        )


def add_no_op(parser: Any, flag: str, *, boolean: bool, why: str) -> None:
    """A cosign flag whose job sealgate always does (or never needs): accepted, no effect."""
    dest = f"no_op_{flag.lstrip('-').replace('-', '_')}"
    if boolean:
        parser.add_argument(flag, action="store_true", dest=dest, help=f"accepted: {why}")
    else:
        parser.add_argument(flag, dest=dest, metavar="VALUE", help=f"accepted: {why}")

"""cosign's trust flags, read into the one policy model (key or keyless, trust roots, tlog).

Shared by ``verify``, ``verify-attestation``, ``verify-blob`` and ``verify-blob-attestation``.
Trust material, in cosign's order: ``--trusted-root`` (or ``SIGSTORE_ROOT_FILE``); a bring-your-
own PKI from ``--ca-roots``/``--ca-intermediates``/``--certificate-chain`` (no Fulcio, no CT, no
log); else the root ``sealgate initialize`` cached from TUF; else the public-good root shipped with
sigstore-python, used offline. ``--rekor-public-key``/``SIGSTORE_REKOR_PUBLIC_KEY`` name the
only trusted Rekor keys; ``SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`` adds a CT log key;
``--timestamp-certificate-chain`` adds a TSA.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sealgate.cli.common import read_input
from sealgate.cli.cosign_compat import add_no_op, add_refused
from sealgate.errors import ConfigError, InputError, UsageError

if TYPE_CHECKING:
    from sealgate.checks.authorities import Authority
    from sealgate.checks.keyless_identity import (
        IdentitySpec,
    )
    from sealgate.policy import AttestationRule, Policy
    from sealgate.trust import (
        LogKey,
        TrustedRoot,
    )

__all__ = [
    "DEFAULT_TUF_CACHE",
    "DEFAULT_TUF_MIRROR",
    "add_trust_flags",
    "default_trusted_root",
    "identity_from_args",
    "rekor_keys_from_args",
    "trust_policy_from_args",
    "trusted_root_from_args",
]

DEFAULT_TUF_MIRROR = "https://tuf-repo-cdn.sigstore.dev"
#: Where ``sealgate initialize`` keeps TUF metadata (cosign: ``~/.sigstore/root``).
DEFAULT_TUF_CACHE = Path("~/.sigstore/sealgate-tuf")

_GITHUB_FLAGS = ("trigger", "sha", "name", "repository", "ref")


def add_trust_flags(parser: argparse.ArgumentParser) -> None:
    """The flags cosign's verify commands share for keys, identities and trust material."""
    parser.add_argument(
        "--key",
        action="append",
        metavar="REF",
        help="public key (path or env://VAR); repeat for any-of (key rotation windows)",
    )
    identity = parser.add_argument_group("keyless identity (cosign's --certificate-* flags)")
    identity.add_argument("--certificate-identity", help="exact subject (email, URI) to accept")
    identity.add_argument(
        "--certificate-identity-regexp", help="subject regular expression (Go RE2, unanchored)"
    )
    identity.add_argument("--certificate-oidc-issuer", help="exact OIDC issuer to accept")
    identity.add_argument(
        "--certificate-oidc-issuer-regexp", help="issuer regular expression (Go RE2, unanchored)"
    )
    for name in _GITHUB_FLAGS:
        identity.add_argument(
            f"--certificate-github-workflow-{name}", help=f"GitHub workflow {name} to require"
        )
    trust = parser.add_argument_group("trust material")
    trust.add_argument("--trusted-root", type=Path, help="Sigstore TrustedRoot JSON file")
    trust.add_argument("--ca-roots", type=Path, help="PEM root CAs (bring your own PKI)")
    trust.add_argument("--ca-intermediates", type=Path, help="PEM intermediate CAs")
    trust.add_argument(
        "--certificate-chain", type=Path, help="PEM chain (intermediates then root) of the CA"
    )
    trust.add_argument(
        "--timestamp-certificate-chain", type=Path, help="PEM chain of a trusted RFC 3161 TSA"
    )
    trust.add_argument(
        "--insecure-ignore-sct",
        action="store_true",
        help="do not require an embedded SCT (a private CA without certificate transparency)",
    )
    trust.add_argument(
        "--insecure-ignore-tlog",
        "--private-infrastructure",
        action="store_true",
        help="accept signatures without a Rekor entry (private setups without a tlog)",
    )
    trust.add_argument(
        "--rekor-public-key",
        action="append",
        type=Path,
        metavar="PEM",
        help="trusted Rekor key (also $SIGSTORE_REKOR_PUBLIC_KEY)",
    )
    trust.add_argument(
        "--offline",
        action="store_true",
        help="never contact Rekor (sealgate always verifies offline; accepted for cosign)",
    )
    parser.add_argument("--max-workers", type=int, default=8, help="images verified at once")
    add_no_op(trust, "--experimental-oci11", boolean=True, why="OCI 1.1 referrers are always read")
    add_no_op(
        trust,
        "--new-bundle-format",
        boolean=True,
        why="Sigstore bundles and cosign's legacy layout are both read",
    )
    add_no_op(
        trust,
        "--rekor-url",
        boolean=False,
        why="log entries are verified offline against the trusted root's Rekor keys",
    )
    add_no_op(
        trust,
        "--use-signed-timestamps",
        boolean=True,
        why="signed timestamps are used whenever the trusted root has a TSA",
    )
    add_refused(parser, "--sct", "--signature-digest-algorithm", "--sk", "--slot")


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _read(path: Path, what: str) -> bytes:
    try:
        return read_input(path)
    except InputError as err:
        raise InputError(f"cannot read {what}: {err.message}") from err


def _byo_pki(args: argparse.Namespace) -> TrustedRoot | None:
    from sealgate.trust import parse_ca_set

    if not (args.ca_roots or args.certificate_chain):
        return None
    if args.certificate_chain and not args.ca_roots:
        # cosign: the chain's last certificate is the root, the others intermediates.
        pem = _read(args.certificate_chain, "--certificate-chain")
        return parse_ca_set(pem, pem)
    intermediates = (
        _read(args.ca_intermediates, "--ca-intermediates") if args.ca_intermediates else b""
    )
    return parse_ca_set(_read(args.ca_roots, "--ca-roots"), intermediates)


def default_trusted_root() -> TrustedRoot:
    """``SIGSTORE_ROOT_FILE``, else the TUF-cached root, else the bundled public-good root.

    Raises:
        ConfigError: A trust file is malformed.
    """
    from sealgate.trust import bundled_trusted_root, load_trusted_root
    from sealgate.trust.tuf import cached_trusted_root

    path = _env_path("SIGSTORE_ROOT_FILE")
    if path is not None:
        return load_trusted_root(path)

    try:
        return cached_trusted_root(DEFAULT_TUF_MIRROR, DEFAULT_TUF_CACHE.expanduser())
    except ConfigError:
        return bundled_trusted_root("production")


def trusted_root_from_args(args: argparse.Namespace) -> TrustedRoot:
    """The trust material the flags and cosign's environment variables name (module docstring).

    Raises:
        ConfigError: A trust file is malformed.
        InputError: A trust file cannot be read.
        KeyMaterialError: A log key is not a public key.
    """
    from sealgate.trust import (
        LogKey,
        TimestampAuthority,
        TrustedRoot,
        load_trusted_root,
        parse_ca_set,
    )

    path = args.trusted_root or _env_path("SIGSTORE_ROOT_FILE")
    root = _byo_pki(args)
    if path is not None:
        root = load_trusted_root(path)
    elif root is None:
        root = default_trusted_root()
    ct_key = _env_path("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE")
    if ct_key is not None:
        root = root.with_ctlogs([LogKey.from_pem(_read(ct_key, "CT log key"))])
    if args.timestamp_certificate_chain:
        chain = parse_ca_set(_read(args.timestamp_certificate_chain, "TSA chain"))
        tsas = tuple(TimestampAuthority(root=ca.root) for ca in chain.certificate_authorities)
        root = TrustedRoot(
            certificate_authorities=root.certificate_authorities,
            tlogs=root.tlogs,
            ctlogs=root.ctlogs,
            timestamp_authorities=(*root.timestamp_authorities, *tsas),
            source=root.source,
        )
    return root


def _rekor_keys(args: argparse.Namespace) -> tuple[LogKey, ...]:
    from sealgate.checks.tlog import load_rekor_keys

    paths = list(args.rekor_public_key or [])
    env_path = _env_path("SIGSTORE_REKOR_PUBLIC_KEY")
    if env_path is not None:
        paths.append(env_path)
    return load_rekor_keys([_read(path, "Rekor key") for path in paths])


def _identity(args: argparse.Namespace) -> IdentitySpec | None:
    from sealgate.checks.keyless_identity import IdentitySpec
    from sealgate.sigstore_checks import IdentityPolicy

    flags = (
        args.certificate_identity,
        args.certificate_identity_regexp,
        args.certificate_oidc_issuer,
        args.certificate_oidc_issuer_regexp,
    )
    if not any(flags):
        return None
    github = {
        f"github_workflow_{name}": getattr(args, f"certificate_github_workflow_{name}") or ""
        for name in _GITHUB_FLAGS
    }
    # cosign requires both a subject and an issuer criterion: IdentityPolicy says which is
    # missing, in cosign's words.
    IdentityPolicy(
        identity=args.certificate_identity or "",
        identity_regexp=args.certificate_identity_regexp or "",
        issuer=args.certificate_oidc_issuer or "",
        issuer_regexp=args.certificate_oidc_issuer_regexp or "",
        **github,
    )
    return IdentitySpec(
        issuer=args.certificate_oidc_issuer or "",
        subject=args.certificate_identity or "",
        issuer_regexp=args.certificate_oidc_issuer_regexp or "",
        subject_regexp=args.certificate_identity_regexp or "",
        **github,
    )


def trust_policy_from_args(
    args: argparse.Namespace,
    annotations: dict[str, str],
    attestations: tuple[AttestationRule, ...] = (),
    *,
    certificate: Path | None = None,
) -> Policy:
    """Who may sign (keys, or a keyless identity, or a given certificate) and the tlog rule.

    Raises:
        UsageError: No trust given, key and identity flags mixed, an incomplete identity or
            a regular expression that does not compile.
        KeyMaterialError: A key cannot be read.
        ConfigError: Trust material is malformed.
    """
    from sealgate.checks.authorities import KeyAuthority
    from sealgate.checks.keyless_identity import CertificateAuthority, KeylessAuthority
    from sealgate.checks.tlog import TlogPolicy
    from sealgate.keys import load_verifier
    from sealgate.keys.pkcs11_uri import redact_key_ref
    from sealgate.policy import Policy
    from sealgate.trust import TrustedRoot

    identity = _identity(args)
    if args.key and identity is not None:
        raise UsageError(
            "--key and --certificate-identity/--certificate-oidc-issuer exclude each other"
        )
    if args.max_workers < 1:
        raise UsageError("--max-workers must be at least 1")
    authorities: list[Authority] = [
        KeyAuthority.of(load_verifier(ref), name=redact_key_ref(ref)) for ref in args.key or ()
    ]
    needs_root = identity is not None or not args.insecure_ignore_tlog
    root = trusted_root_from_args(args) if needs_root else TrustedRoot()
    if identity is not None:
        authorities.append(
            KeylessAuthority(
                "certificate identity",
                (identity,),
                trusted_root=root,
                ignore_sct=args.insecure_ignore_sct or _byo_pki(args) is not None,
            )
        )
    if certificate is not None:
        cert_pem = _read(certificate, "--certificate")
        chain = (
            _read(args.certificate_chain, "--certificate-chain") if args.certificate_chain else None
        )
        try:
            authorities.append(CertificateAuthority("--certificate", cert_pem, chain))
        except ConfigError as err:
            raise InputError(err.message) from err
    if not authorities:
        raise UsageError(
            "say who may sign: --key, or --certificate-identity[-regexp] with "
            "--certificate-oidc-issuer[-regexp]"
        )
    # Rekor keys named explicitly replace the trusted root's logs, as SIGSTORE_REKOR_PUBLIC_KEY
    # does in cosign: a wrong key must not be rescued by the public-good one.
    rekor_keys = _rekor_keys(args)
    tlog = TlogPolicy(
        insecure_ignore_tlog=args.insecure_ignore_tlog,
        rekor_keys=rekor_keys,
        trusted_root=None if rekor_keys else root,
    )
    return Policy(
        name="command line",
        authorities=tuple(authorities),
        tlog=tlog,
        annotations=annotations,
        attestations=attestations,
    )


def identity_from_args(args: argparse.Namespace) -> IdentitySpec | None:
    """The keyless identity the ``--certificate-*`` flags name, or None.

    Raises:
        UsageError: An incomplete identity or a regular expression that does not compile.
    """
    return _identity(args)


def rekor_keys_from_args(args: argparse.Namespace) -> tuple[LogKey, ...]:
    """``--rekor-public-key`` and ``SIGSTORE_REKOR_PUBLIC_KEY``.

    Raises:
        InputError: A key file cannot be read.
        KeyMaterialError: Not a public key.
    """
    return _rekor_keys(args)

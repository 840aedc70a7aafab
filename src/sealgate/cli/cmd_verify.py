"""``sealgate verify`` and ``verify-attestation``: cosign's key-based checks, same output shape."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sealgate.checks.authorities import KeyAuthority
from sealgate.checks.conditions import compile_conditions
from sealgate.checks.signatures import render_cosign_json
from sealgate.checks.tlog import RekorKey, TlogPolicy, load_rekor_keys
from sealgate.cli.common import (
    add_registry_flags,
    open_client,
    parse_annotations,
    parse_reference,
    read_input,
    repository_override,
)
from sealgate.errors import ExitCode, InputError, SealgateError, UsageError
from sealgate.formats.predicates import resolve_predicate_type
from sealgate.gate import utc_now
from sealgate.keys import load_verifier
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import AttestationRule, Policy
from sealgate.workflows.verify import verify_attestations, verify_signatures

__all__ = ["add_trust_flags", "register", "trust_policy_from_args"]

T = TypeVar("T")

_CHECKS_KEY = [
    "The cosign claims were validated",
    "The signatures were verified against the specified public key",
]


def add_trust_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        action="append",
        metavar="REF",
        help="public key (path or env://VAR); repeat for any-of (key rotation windows)",
    )
    parser.add_argument(
        "--insecure-ignore-tlog",
        action="store_true",
        help="accept signatures without a Rekor entry (private setups without a tlog)",
    )
    parser.add_argument(
        "--rekor-public-key",
        action="append",
        type=Path,
        metavar="PEM",
        help="trusted Rekor key for SET checks (also $SIGSTORE_REKOR_PUBLIC_KEY)",
    )
    parser.add_argument("--certificate-identity", help="keyless verification (not supported yet)")
    parser.add_argument(
        "--certificate-oidc-issuer", help="keyless verification (not supported yet)"
    )
    parser.add_argument("--max-workers", type=int, default=8, help="images verified at once")


def _load_rekor_keys(args: argparse.Namespace) -> tuple[RekorKey, ...]:
    paths = list(args.rekor_public_key or [])
    env_path = os.environ.get("SIGSTORE_REKOR_PUBLIC_KEY")
    if env_path:
        paths.append(Path(env_path))
    pems = []
    for path in paths:
        try:
            pems.append(read_input(path))
        except InputError as err:
            raise InputError(f"cannot read Rekor key: {err.message}") from err
    return load_rekor_keys(pems)


def trust_policy_from_args(
    args: argparse.Namespace,
    annotations: dict[str, str],
    attestations: tuple[AttestationRule, ...] = (),
) -> Policy:
    """Keys, annotation requirements and tlog policy from the verify flags, as a policy.

    Raises:
        UsageError: no key, keyless flags, or a tlog requirement without a Rekor key.
        KeyMaterialError: a key cannot be read.
    """
    if args.certificate_identity or args.certificate_oidc_issuer:
        raise UsageError("keyless verification is not supported yet; verify with --key")
    if not args.key:
        raise UsageError("--key is required (keyless verification is not supported yet)")
    authorities = tuple(KeyAuthority.of(load_verifier(ref), name=ref) for ref in args.key)
    rekor_keys = _load_rekor_keys(args)
    if not args.insecure_ignore_tlog and not rekor_keys:
        raise UsageError(
            "no Rekor public key to check transparency-log entries: pass --rekor-public-key "
            "(or SIGSTORE_REKOR_PUBLIC_KEY), or --insecure-ignore-tlog for signatures made "
            "without a tlog"
        )
    if args.max_workers < 1:
        raise UsageError("--max-workers must be at least 1")
    return Policy(
        name="command line",
        authorities=authorities,
        tlog=TlogPolicy(insecure_ignore_tlog=args.insecure_ignore_tlog, rekor_keys=rekor_keys),
        annotations=annotations,
        attestations=attestations,
    )


def register(sub: Any) -> None:
    verify = sub.add_parser("verify", help="verify image signatures (cosign verify --key)")
    add_trust_flags(verify)
    verify.add_argument(
        "-a", "--annotations", action="append", metavar="KEY=VALUE", help="required annotations"
    )
    verify.add_argument("-o", "--output", choices=["json", "text"], default="json")
    add_registry_flags(verify)
    verify.add_argument("images", nargs="+", metavar="IMAGE")
    verify.set_defaults(handler=_verify)

    attest = sub.add_parser(
        "verify-attestation",
        help="verify attestations (cosign verify-attestation --key --type)",
        description="Verify DSSE attestations, keep those of --type (default: custom, as in "
        "cosign), and require every --condition (JMESPath over the statement) to hold.",
    )
    add_trust_flags(attest)
    attest.add_argument("--type", default="custom", help="predicate type name or URI")
    attest.add_argument(
        "--condition",
        action="append",
        default=[],
        metavar="JMESPATH",
        help="must be truthy on the statement, e.g. 'length(predicate.components) > `0`'",
    )
    add_registry_flags(attest)
    attest.add_argument("images", nargs="+", metavar="IMAGE")
    attest.set_defaults(handler=_verify_attestation)


def _run_all(
    args: argparse.Namespace,
    refs: list[Reference],
    work: Callable[[RegistryClient, Reference], T],
    report: Callable[[Reference, T], None],
) -> int:
    """Verify images concurrently; report in input order; exit with the first failure's code."""
    exit_code = ExitCode.OK
    with open_client(args) as client, ThreadPoolExecutor(args.max_workers) as pool:
        futures = [pool.submit(work, client, ref) for ref in refs]
        for ref, future in zip(refs, futures, strict=True):
            try:
                result = future.result()
            except SealgateError as err:
                print(f"error: {ref}: {err.message}", file=sys.stderr)
                if exit_code == ExitCode.OK:
                    exit_code = err.exit_code
                continue
            report(ref, result)
    return exit_code


def _header(ref: Reference, checks: list[str]) -> None:
    lines = [
        f"\nVerification for {ref} --",
        "The following checks were performed on each of these signatures:",
    ]
    lines += [f"  - {check}" for check in checks]
    print("\n".join(lines), file=sys.stderr)


def _verify(args: argparse.Namespace) -> int:
    annotations = parse_annotations(args.annotations)
    refs = [parse_reference(text) for text in args.images]
    policy = trust_policy_from_args(args, annotations)
    checks = (["The specified annotations were verified."] if annotations else []) + _CHECKS_KEY
    if policy.tlog.rekor_keys and not args.insecure_ignore_tlog:
        checks.insert(-1, "Existence of the claims in the transparency log was verified offline")

    def report(ref: Reference, result: Any) -> None:
        _header(ref, checks)
        verified = result.verdict.verified
        if args.output == "json":
            sys.stdout.write("\n" + render_cosign_json(verified).decode() + "\n")
        else:
            for signature in verified:
                payload = signature.thing.payload if signature.thing is not None else b""
                sys.stdout.write(payload.decode("utf-8", "replace") + "\n")

    repository = repository_override()

    def work(client: RegistryClient, ref: Reference) -> Any:
        return verify_signatures(
            client, ref, policy, reference_time=utc_now(), repository=repository
        )

    return _run_all(args, refs, work, report)


def _verify_attestation(args: argparse.Namespace) -> int:
    refs = [parse_reference(text) for text in args.images]
    rule = AttestationRule(
        name=args.type,
        predicate_type=resolve_predicate_type(args.type),
        # Compiled up front: a typo is a usage error, not a failed image.
        conditions=compile_conditions(args.condition),
    )
    policy = trust_policy_from_args(args, {}, (rule,))

    def report(ref: Reference, result: Any) -> None:
        checks = ["The cosign claims were validated"]
        if args.condition:
            checks.append(f"The {len(args.condition)} condition(s) were met")
        checks.append("The signatures were verified against the specified public key")
        _header(ref, checks)
        for attestation in result.verdicts[0].matching:
            # cosign prints each raw DSSE envelope, one per line.
            envelope = json.loads(attestation.thing.content)
            sys.stdout.write(json.dumps(envelope, separators=(",", ":")) + "\n")

    repository = repository_override()

    def work(client: RegistryClient, ref: Reference) -> Any:
        return verify_attestations(
            client, ref, policy, (rule,), reference_time=utc_now(), repository=repository
        )

    return _run_all(args, refs, work, report)

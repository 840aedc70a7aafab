"""``sealgate verify`` and ``verify-attestation``: cosign's key-based checks, same output shape."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from sealgate.cli.common import (
    add_registry_flags,
    open_client,
    parse_annotations,
    parse_reference,
    repository_override,
)
from sealgate.cli.trust_flags import add_trust_flags, trust_policy_from_args
from sealgate.errors import ExitCode, SealgateError

if TYPE_CHECKING:
    from sealgate.oci import Reference, RegistryClient
    from sealgate.policy import Policy

__all__ = ["register"]

T = TypeVar("T")


def _checks(policy: Policy, *, annotations: bool = False, conditions: int = 0) -> list[str]:
    """The lines cosign prints before the output (``PrintVerificationHeader``)."""
    from sealgate.checks.authorities import KeyAuthority
    from sealgate.checks.keyless_identity import KeylessAuthority

    checks = ["The specified annotations were verified."] if annotations else []
    checks.append("The cosign claims were validated")
    if conditions:
        checks.append(f"The {conditions} condition(s) were met")
    if not policy.tlog.insecure_ignore_tlog:
        checks.append("Existence of the claims in the transparency log was verified offline")
    if any(isinstance(a, KeylessAuthority) for a in policy.authorities):
        checks.append(
            "The code-signing certificate was verified using trusted certificate authority "
            "certificates"
        )
    if any(isinstance(a, KeyAuthority) for a in policy.authorities):
        checks.append("The signatures were verified against the specified public key")
    return checks


def register(sub: Any) -> None:
    verify = sub.add_parser(
        "verify",
        help="verify image signatures (cosign verify)",
        description="Verify the signatures of each image, stored as cosign 2 .sig tags or as "
        "cosign 3 Sigstore bundle referrers, with keys (--key) or keyless identities "
        "(--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]).",
    )
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
        help="verify attestations (cosign verify-attestation --type)",
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
    from sealgate.checks.signatures import render_cosign_json
    from sealgate.gate import utc_now
    from sealgate.workflows.verify import verify_signatures

    annotations = parse_annotations(args.annotations)
    refs = [parse_reference(text) for text in args.images]
    policy = trust_policy_from_args(args, annotations)
    checks = _checks(policy, annotations=bool(annotations))

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
    from sealgate.checks.conditions import compile_conditions
    from sealgate.formats.predicates import resolve_predicate_type
    from sealgate.gate import utc_now
    from sealgate.policy import AttestationRule
    from sealgate.workflows.verify import verify_attestations

    refs = [parse_reference(text) for text in args.images]
    rule = AttestationRule(
        name=args.type,
        predicate_type=resolve_predicate_type(args.type),
        # Compiled up front: a typo is a usage error, not a failed image.
        conditions=compile_conditions(args.condition),
    )
    policy = trust_policy_from_args(args, {}, (rule,))

    checks = _checks(policy, conditions=len(args.condition))

    def report(ref: Reference, result: Any) -> None:
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

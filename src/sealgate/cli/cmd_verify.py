"""``sealgate verify`` and ``verify-attestation``: cosign's key-based checks, same output shape."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sealgate.cli.common import (
    add_registry_flags,
    open_client,
    parse_annotations,
    parse_reference,
    read_input,
    repository_override,
)
from sealgate.cli.cosign_compat import add_refused
from sealgate.cli.parsing import bool_flag
from sealgate.cli.trust_flags import add_trust_flags, trust_policy_from_args
from sealgate.errors import ExitCode, SealgateError, UsageError

if TYPE_CHECKING:
    from sealgate.cli.terminal import ProgressUpdate
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
        epilog="examples:\n  sealgate verify --key cosign.pub registry.example.com/app:1.2\n"
        "  sealgate verify --certificate-identity-regexp '^https://github.com/org/' "
        "--certificate-oidc-issuer https://token.actions.githubusercontent.com "
        "registry.example.com/app@sha256:...",
    )
    add_trust_flags(verify)
    verify.add_argument(
        "-a", "--annotations", action="append", metavar="KEY=VALUE", help="required annotations"
    )
    verify.add_argument("-o", "--output", choices=["json", "text"], default="json")
    _common_flags(verify)
    add_refused(verify, "--attachment", "--payload", "--signature")
    verify.add_argument("images", nargs="+", metavar="IMAGE")
    verify.set_defaults(handler=_verify)

    attest = sub.add_parser(
        "verify-attestation",
        help="verify attestations (cosign verify-attestation --type)",
        description="Verify DSSE attestations, keep those of --type (default: custom, as in "
        "cosign), and require every --condition (JMESPath over the statement) and every "
        "--policy (Rego, package sigstore, rule isCompliant, input: the statement) to hold.",
        epilog="example:\n  sealgate verify-attestation --key cosign.pub --type cyclonedx "
        "--condition 'length(predicate.components) > `0`' registry.example.com/app:1.2",
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
    attest.add_argument(
        "--policy",
        action="append",
        default=[],
        type=Path,
        metavar="FILE.rego",
        help="Rego policy the statement must satisfy (cosign's --policy; CUE is refused)",
    )
    attest.add_argument(
        "-o",
        "--output",
        choices=["json", "text"],
        default="json",
        help="json: each DSSE envelope (cosign); text: each in-toto statement",
    )
    _common_flags(attest)
    attest.add_argument("images", nargs="+", metavar="IMAGE")
    attest.set_defaults(handler=_verify_attestation)


def _common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--certificate", type=Path, help="PEM signing certificate to verify against"
    )
    parser.add_argument(
        "--check-claims",
        type=bool_flag,
        default=True,
        help="check the payload names the image (always; =false is refused)",
    )
    parser.add_argument(
        "--local-image",
        action="store_true",
        help="IMAGE is an OCI image layout directory (as written by `sealgate save`)",
    )
    add_registry_flags(parser)


def _image_refs(args: argparse.Namespace) -> list[Reference]:
    """The IMAGE arguments; with ``--local-image``, layout directories."""
    if not args.check_claims:
        raise UsageError(
            "--check-claims=false is not supported: a signature that does not name the image's "
            "digest proves nothing about it"
        )
    texts = [f"oci:{text}" if args.local_image else text for text in args.images]
    return [parse_reference(text) for text in texts]


def _rego_policies(paths: list[Path]) -> tuple[Any, ...]:
    """``--policy`` files as conditions on the statement.

    Raises:
        UsageError: a CUE policy (not supported) or a file of another kind.
        ConfigError: the Rego does not parse, or regopy is not installed.
    """
    from sealgate.policy.rego import RegoPolicy

    policies = []
    for path in paths:
        if path.suffix == ".cue":
            raise UsageError(
                f"{path}: CUE policies are not supported; write the policy in Rego "
                "(package sigstore, rule isCompliant)"
            )
        if path.suffix != ".rego":
            raise UsageError(f"{path}: --policy takes a .rego file")
        text = read_input(path).decode("utf-8", "replace")
        policies.append(RegoPolicy.compile(f"--policy {path}", text))
    return tuple(policies)


def _run_all(
    args: argparse.Namespace,
    refs: list[Reference],
    work: Callable[[RegistryClient, Reference], T],
    report: Callable[[Reference, T], None],
    *,
    description: str,
) -> int:
    """Verify images concurrently; report in input order; exit with the first failure's code."""
    from sealgate.cli.terminal import progress_display

    exit_code = ExitCode.OK
    with (
        open_client(args) as client,
        ThreadPoolExecutor(args.max_workers) as pool,
        progress_display(total=len(refs), description=description) as progress,
    ):
        # Each worker sees this command's --attachment-tag-prefix (a context variable).
        futures = [pool.submit(copy_context().run, work, client, ref) for ref in refs]
        _count_completions(futures, progress)
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


def _count_completions(futures: list[Future[T]], progress: ProgressUpdate) -> None:
    """Advance ``progress`` as each image finishes, in whatever order the workers finish."""
    lock = threading.Lock()
    finished = 0

    def tick(_: Future[T]) -> None:
        nonlocal finished
        with lock:  # workers finish concurrently: the count never goes backwards
            finished += 1
            progress(finished, len(futures))

    for future in futures:
        future.add_done_callback(tick)


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
    refs = _image_refs(args)
    policy = trust_policy_from_args(args, annotations, certificate=args.certificate)
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

    return _run_all(args, refs, work, report, description="verifying signatures")


def _verify_attestation(args: argparse.Namespace) -> int:
    from sealgate.checks.conditions import compile_conditions
    from sealgate.formats.predicates import resolve_predicate_type
    from sealgate.gate import utc_now
    from sealgate.policy import AttestationRule
    from sealgate.workflows.verify import verify_attestations

    refs = _image_refs(args)
    rule = AttestationRule(
        name=args.type,
        predicate_type=resolve_predicate_type(args.type),
        # Compiled up front: a typo is a usage error, not a failed image.
        conditions=(*compile_conditions(args.condition), *_rego_policies(args.policy)),
    )
    policy = trust_policy_from_args(args, {}, (rule,), certificate=args.certificate)

    checks = _checks(policy, conditions=len(rule.conditions))

    def report(ref: Reference, result: Any) -> None:
        _header(ref, checks)
        for attestation in result.verdicts[0].matching:
            # cosign prints each raw DSSE envelope, one per line.
            envelope = json.loads(attestation.thing.content)
            if args.output == "text":
                payload = base64.b64decode(envelope.get("payload", ""))
                sys.stdout.write(payload.decode("utf-8", "replace").strip() + "\n")
            else:
                sys.stdout.write(json.dumps(envelope, separators=(",", ":")) + "\n")

    repository = repository_override()

    def work(client: RegistryClient, ref: Reference) -> Any:

        return verify_attestations(
            client, ref, policy, (rule,), reference_time=utc_now(), repository=repository
        )

    return _run_all(args, refs, work, report, description="verifying attestations")

"""``sealgate policy test``: which policies match an image, what each authority said, the decision.

Exit codes: 0 every image admitted (warnings included), 1 an image denied, 3 every denial
was "could not check" (registry unreachable...), 64/78 bad flags or policy files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from sealgate.cli.common import add_registry_flags, open_client, read_input
from sealgate.errors import ConfigError, ExitCode, InputError, UsageError

__all__ = ["register"]


def register(sub: Any) -> None:
    policy = sub.add_parser(
        "policy",
        help="policy documents: test them without a cluster",
        description="Test ClusterImagePolicy, Kyverno and sealgate policies against images.",
        epilog="example:\n  sealgate policy test --policy policies/ registry.example.com/app:1.2",
    )
    commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND")
    test = commands.add_parser(
        "test",
        help="judge images against ClusterImagePolicy, Kyverno and sealgate policies",
        description="Per image: which policies match, which authority passed or why each "
        "failed, and the decision. Matching, static authorities and the no-match rule need no "
        "registry; only requirements that need signatures read it.",
        epilog="example:\n  sealgate policy test --policy policies/ registry.example.com/app:1.2",
    )
    test.add_argument(
        "--policy",
        action="append",
        required=True,
        type=Path,
        metavar="PATH",
        help="policy file or directory of YAML files (repeatable; multi-document YAML)",
    )
    test.add_argument(
        "--resource", type=Path, metavar="MANIFEST", help="the resource the images come from"
    )
    test.add_argument(
        "--no-match",
        choices=["deny", "warn", "allow"],
        help="images no policy matches (default: a config-policy-controller ConfigMap's "
        "no-match-policy, else deny)",
    )
    test.add_argument(
        "--rekor-public-key",
        action="append",
        type=Path,
        metavar="PEM",
        help="trusted Rekor key for authorities that require the transparency log",
    )
    test.add_argument(
        "--trusted-root",
        type=Path,
        help="Sigstore TrustedRoot JSON for keyless authorities (default: SIGSTORE_ROOT_FILE, "
        "the root `sealgate initialize` cached, else the bundled public-good root)",
    )
    test.add_argument("-o", "--output", choices=["text", "json"], default="text")
    add_registry_flags(test)
    test.add_argument("images", nargs="*", metavar="IMAGE")
    test.set_defaults(handler=_test)
    policy.set_defaults(handler=lambda args: _usage(policy))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE


def _trusted_root(args: argparse.Namespace) -> Any:
    from sealgate.cli.trust_flags import default_trusted_root
    from sealgate.trust import load_trusted_root

    return load_trusted_root(args.trusted_root) if args.trusted_root else default_trusted_root()


def _rekor_keys(args: argparse.Namespace) -> tuple[Any, ...]:
    from sealgate.checks.tlog import load_rekor_keys

    paths = list(args.rekor_public_key or [])
    if os.environ.get("SIGSTORE_REKOR_PUBLIC_KEY"):
        paths.append(Path(os.environ["SIGSTORE_REKOR_PUBLIC_KEY"]))
    return load_rekor_keys([read_input(p) for p in paths])


def _resource(path: Path | None) -> tuple[Any, list[str]]:
    from sealgate.documents.yaml import parse_yaml
    from sealgate.policy.resources import IMPLICIT_POD, Resource, resource_images

    if path is None:
        return IMPLICIT_POD, []
    try:
        documents = [
            d for d in parse_yaml(read_input(path), source=str(path)) if d.data is not None
        ]
    except ConfigError as err:
        raise InputError(err.message) from None
    if len(documents) != 1:
        raise InputError(f"{path}: expected one resource, found {len(documents)} documents")
    manifest = documents[0].data
    return Resource.from_manifest(manifest, source=str(path)), resource_images(manifest)


def _test(args: argparse.Namespace) -> int:
    from sealgate.documents.sources import read_policy_sources
    from sealgate.gate import utc_now
    from sealgate.policy.explain import explain_all
    from sealgate.policy.loaders import LoadOptions, load_policy_set
    from sealgate.workflows.policy_test import judge_images

    sources = read_policy_sources(args.policy)
    policies = load_policy_set(
        sources,
        no_match=args.no_match,
        options=LoadOptions(_rekor_keys(args), trusted_root=_trusted_root(args)),
    )
    resource, manifest_images = _resource(args.resource)
    images = list(args.images) or manifest_images
    if not images:
        raise UsageError("policy test: give IMAGE arguments, or a --resource with containers")
    decisions = judge_images(
        images,
        policies,
        resource=resource,
        open_client=lambda: open_client(args),
        reference_time=utc_now(),
    )
    report = explain_all(decisions)
    if args.output == "json":
        print(json.dumps(report, indent=2))
    else:
        _print_text(report)
    denied = [d for d in decisions if not d.admitted]
    if not denied:
        return ExitCode.OK
    unsure = all(o.could_not_check for d in denied for o in d.matched if not o.passed) and all(
        d.matched for d in denied
    )
    return ExitCode.COULD_NOT_CHECK if unsure else ExitCode.FAILURE


def _print_text(report: dict[str, Any]) -> None:
    lines: list[str] = []
    for image in report["images"]:
        lines.append(f"{image['image']}: {image['decision'].upper()}")
        if not image["policies"]:
            lines.append("  no matching policies")
        for policy in image["policies"]:
            state = "pass" if policy["passed"] else "FAIL"
            lines.append(f"  {policy['name']} ({policy['mode']}): {state}")
            lines.extend(f"    {failure}" for failure in policy["failures"])
            for group in policy["groups"]:
                lines.append(f"    {group['label']}: {'pass' if group['passed'] else 'FAIL'}")
                for requirement in group["requirements"]:
                    mark = "pass" if requirement["passed"] else "FAIL"
                    lines.append(f"      {requirement['label']}: {mark}: {requirement['detail']}")
                    for authority in requirement["authorities"]:
                        verdict = "vouched" if authority["passed"] else "refused"
                        lines.append(
                            f"        - {authority['name']}: {verdict}: {authority['detail']}"
                        )
            lines.extend(f"    note: {note}" for note in policy["notes"])
        lines.extend(
            f"  not applied: {item['name']}: {item['why']}" for item in image["notApplied"]
        )
    lines.append(f"{report['admitted']} admitted, {report['denied']} denied")
    print("\n".join(lines))

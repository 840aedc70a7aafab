"""``gate``, ``helm-postrender`` and ``ci generate``: the deploy gate of seed 000."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sealgate.cli.common import add_registry_flags, open_client, repository_override
from sealgate.errors import ConfigError, InputError, UsageError
from sealgate.files import read_capped

if TYPE_CHECKING:
    from sealgate.gate import (
        EnvironmentConfig,
        GateReport,
    )
    from sealgate.trust import TrustedRoot

__all__ = ["register"]

_MAX_STDIN = 64 * 1024 * 1024


def _gate_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment name from the config")
    parser.add_argument(
        "--config", type=Path, default=Path("sealgate.yaml"), help="default ./sealgate.yaml"
    )
    parser.add_argument("--no-cache", action="store_true", help="ignore the verdict cache")
    parser.add_argument("--concurrency", type=int, help="images verified at once")
    parser.add_argument(
        "--policy",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="verify against these policy files or directories (ClusterImagePolicy, Kyverno, "
        "sealgate ImagePolicy) instead of the config's keys; repeatable",
    )
    parser.add_argument(
        "--trusted-root",
        type=Path,
        help="Sigstore TrustedRoot JSON for keyless policies (default: SIGSTORE_ROOT_FILE, the "
        "root `sealgate initialize` cached, else the bundled public-good root)",
    )
    add_registry_flags(parser)


def register(sub: Any) -> None:
    from sealgate.ci import CI_SYSTEMS, PARTS

    gate = sub.add_parser(
        "gate",
        help="verify every image of an environment before deploy (exit 2 blocks)",
        description="Verify every image of the environment's versions files (or of rendered "
        "manifests with --manifests) against the config's keys and required attestations. "
        "softFail environments print warnings and exit 0; others exit 2 on any failure. "
        "COSIGN_VERIFY_DISABLED=true skips verification with a banner and an audit record.",
        epilog="example:\n  sealgate gate --config sealgate.yaml --env staging2 "
        "--junit junit.xml --pin-output pins.yaml",
    )
    _gate_flags(gate)
    gate.add_argument(
        "--manifests", action="append", metavar="FILE", help="rendered manifests (- for stdin)"
    )
    gate.add_argument("--values", action="append", metavar="FILE", help="Helm values files")
    gate.add_argument("-o", "--output", choices=["table", "json"], default="table")
    gate.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    gate.add_argument(
        "--markdown", type=Path, help="write a Markdown summary (default: $GITHUB_STEP_SUMMARY)"
    )
    gate.add_argument(
        "--vso", action="store_true", help="Azure DevOps ##vso lines (default when TF_BUILD set)"
    )
    gate.add_argument("--pin-output", type=Path, help="write original -> pinned image map here")
    gate.set_defaults(handler=_gate)

    post = sub.add_parser(
        "helm-postrender",
        help="Helm post-renderer: pin images to verified digests, block unverified ones",
        description="Reads rendered manifests on stdin, verifies their images like `gate`, and "
        "writes them back with every image pinned by digest. Use: helm upgrade ... "
        "--post-renderer sealgate --post-renderer-args helm-postrender "
        "--post-renderer-args --env=NAME",
        epilog="example:\n  helm upgrade app ./chart --post-renderer sealgate "
        "--post-renderer-args helm-postrender --post-renderer-args --env=app-eu2",
    )
    _gate_flags(post)
    post.set_defaults(handler=_postrender)

    ci = sub.add_parser(
        "ci",
        help="pipeline templates",
        description="Pipeline templates that sign after the push and gate before deploys.",
        epilog="example:\n  sealgate ci generate --system github --part sign",
    )
    ci_sub = ci.add_subparsers(dest="ci_command", required=True)
    gen = ci_sub.add_parser(
        "generate",
        help="emit sign-and-attest and verify-before-deploy YAML",
        description="Print ready-to-commit YAML for Azure DevOps, GitHub Actions or GitLab CI.",
        epilog="example:\n  sealgate ci generate --system gitlab > .gitlab-ci.sealgate.yml",
    )
    gen.add_argument("--system", required=True, choices=list(CI_SYSTEMS))
    gen.add_argument("--part", choices=list(PARTS), default="pipeline")
    gen.set_defaults(handler=_ci_generate)


def _read_stdin() -> bytes:
    return read_capped(sys.stdin.buffer, _MAX_STDIN, error=InputError, name="standard input")


def _cache_secret() -> bytes:
    """The key that authenticates verdict-cache entries; never stored in the cache itself.

    ``SEALGATE_CACHE_KEY`` (hex, e.g. a CI secret shared by a runner pool), else a private
    per-user key file under ``$XDG_CACHE_HOME/sealgate`` created on first use.

    Raises:
        UsageError: SEALGATE_CACHE_KEY is set but not hex of at least 16 bytes.
    """
    configured = os.environ.get("SEALGATE_CACHE_KEY", "").strip()
    if configured:
        try:
            secret = bytes.fromhex(configured)
        except ValueError:
            secret = b""
        if len(secret) < 16:
            raise UsageError("SEALGATE_CACHE_KEY must be hex of at least 16 bytes")
        return secret
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sealgate"
    path = base / "verdict-cache.key"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    except FileExistsError:
        pass
    except OSError:
        return secrets.token_bytes(32)  # unwritable home: the cache serves this run only
    try:
        # Read at most 64 bytes: a key path pointed at a device or a huge file must not hang.
        with path.open("rb") as handle:
            secret = handle.read(64)
    except OSError:
        return secrets.token_bytes(32)
    return secret if len(secret) >= 16 else secrets.token_bytes(32)


def _run(
    args: argparse.Namespace, images_override: Any = None
) -> tuple[GateReport, EnvironmentConfig]:
    from sealgate.cli.terminal import gate_console, progress_display
    from sealgate.gate import (
        VerdictCache,
        collect_images,
        environment_images,
        environment_policy_set,
        evaluate_gate,
        load_config,
        read_audit_records,
        write_audit_records,
    )
    from sealgate.workflows.gate_verifier import RegistryImageVerifier

    if not args.config.exists():
        raise ConfigError(
            f"{args.config}: no such gate config; name it with --config FILE "
            "(default ./sealgate.yaml)"
        )
    config = load_config(args.config)
    env = config.environment(args.env)
    if images_override is not None:
        images = images_override(env)
    elif args.manifests or args.values:
        stdin = _read_stdin() if "-" in (args.manifests or []) else None
        paths = [*(args.manifests or []), *(args.values or [])]
        images = collect_images(paths, rules=env.image_rules, stdin=stdin)
    else:
        images = environment_images(env)
    cache = None
    if config.cache is not None and config.cache.enabled and not args.no_cache:
        cache = VerdictCache.from_settings(config.cache, secret=_cache_secret())
    # The gate decides; the audit log is read and appended here, at the edge.
    audit_records = read_audit_records(env.audit_log)
    console = gate_console(stderr=True)
    with (
        open_client(args, extra_insecure=tuple(config.insecure_registries)) as client,
        progress_display(console, total=len(images)) as progress,
    ):
        verifier = RegistryImageVerifier(
            client,
            lambda: environment_policy_set(
                env, args.policy, trusted_root=lambda: _trusted_root(args)
            ),
            repository=repository_override(),
        )
        outcome = evaluate_gate(
            env,
            images,
            verifier,
            environ=os.environ,
            audit_records=audit_records,
            concurrency=args.concurrency or config.concurrency,
            cache=cache,
            progress=progress,
        )
    return write_audit_records(env.audit_log, outcome), env


def _trusted_root(args: argparse.Namespace) -> TrustedRoot:
    from sealgate.cli.trust_flags import default_trusted_root
    from sealgate.trust import load_trusted_root

    return load_trusted_root(args.trusted_root) if args.trusted_root else default_trusted_root()


def _gate(args: argparse.Namespace) -> int:
    from sealgate.cli.terminal import gate_console, render_table
    from sealgate.reports import render_json, render_junit, render_markdown, render_pins, render_vso

    report, _ = _run(args)
    console = gate_console(stderr=args.output == "json")
    if args.output == "json":
        sys.stdout.write(render_json(report))
    render_table(report, console)
    if args.vso or os.environ.get("TF_BUILD"):
        for line in render_vso(report):
            print(line)
    if args.junit:
        args.junit.write_text(render_junit(report), encoding="utf-8")
    summary = args.markdown or (
        Path(os.environ["GITHUB_STEP_SUMMARY"]) if os.environ.get("GITHUB_STEP_SUMMARY") else None
    )
    if summary:
        with summary.open("a", encoding="utf-8") as handle:
            handle.write(render_markdown(report) + "\n")
    if args.pin_output:
        as_json = args.pin_output.suffix == ".json"
        pins = render_pins(report, "json") if as_json else render_pins(report, "yaml")
        args.pin_output.write_text(pins, encoding="utf-8")
    return report.exit_code


def _postrender(args: argparse.Namespace) -> int:
    from sealgate.cli.terminal import gate_console, render_table
    from sealgate.gate import images_from_text, postrender
    from sealgate.reports import pin_map

    manifests = _read_stdin()
    report, env = _run(
        args,
        images_override=lambda env: images_from_text(
            manifests, source="<helm manifests>", rules=env.image_rules, fmt="manifests"
        ),
    )
    # stdout belongs to Helm: every human line goes to stderr.
    render_table(report, gate_console(stderr=True))
    if not report.allowed:
        return report.exit_code
    if report.decision == "bypassed":
        # Audited emergency bypass: nothing was verified, so nothing can be pinned.
        sys.stdout.buffer.write(manifests)
        return report.exit_code
    sys.stdout.buffer.write(postrender(manifests, pin_map(report), rules=env.image_rules))
    return report.exit_code


def _ci_generate(args: argparse.Namespace) -> int:
    from sealgate.ci import generate

    sys.stdout.write(generate(args.system, part=args.part))
    return 0

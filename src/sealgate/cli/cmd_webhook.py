"""``sealgate webhook serve`` (the admission webhook) and ``sealgate webhook manifests``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from sealgate.cli.common import add_registry_flags, client_config_from_args, read_input
from sealgate.errors import ConfigError, ExitCode, UsageError

__all__ = ["register"]

_KINDS = (
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
)


def register(sub: Any) -> None:
    webhook = sub.add_parser("webhook", help="Kubernetes admission webhook: serve it, install it")
    commands = webhook.add_subparsers(dest="webhook_command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve AdmissionReview v1 on /validate and /mutate over HTTPS",
        description="Judge every image of Pods and pod controllers against the policies "
        "(ClusterImagePolicy, Kyverno verifyImages, sealgate ImagePolicy); deny what is not "
        "verified, warn for warn-mode policies, pin tags to verified digests on /mutate. "
        "Also /healthz, /readyz and Prometheus /metrics. Logs are JSON lines on stderr.",
        epilog="example:\n  sealgate webhook serve --policy /etc/sealgate/policies "
        "--tls-cert tls.crt --tls-key tls.key",
    )
    serve.add_argument("--policy", action="append", required=True, type=Path, metavar="PATH")
    serve.add_argument("--tls-cert", required=True, type=Path, metavar="FILE")
    serve.add_argument("--tls-key", required=True, type=Path, metavar="FILE")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on")  # noqa: S104
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument(
        "--webhook-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="the configurations' timeoutSeconds; reviews answer (deny) before it",
    )
    serve.add_argument(
        "--cache",
        metavar="redis://HOST:PORT/DB",
        help="share verifications between replicas in Redis (key: SEALGATE_CACHE_KEY or "
        "--cache-key-file); without it, each replica caches in memory",
    )
    serve.add_argument("--cache-key-file", type=Path, metavar="FILE", help="hex cache key")
    serve.add_argument("--cache-ttl", type=float, default=300.0, metavar="SECONDS")
    serve.add_argument(
        "--cache-failures", action="store_true", help="cache failed verifications (1 min max)"
    )
    serve.add_argument(
        "--mutate-kind",
        action="append",
        choices=[*_KINDS, "none"],
        help="kinds /mutate pins to digests when a policy asks (repeatable; default all)",
    )
    serve.add_argument(
        "--pull-secrets-dir",
        type=Path,
        metavar="DIR",
        help="imagePullSecrets as files: DIR/<namespace>/<secret>/.dockerconfigjson",
    )
    serve.add_argument("--no-match", choices=["deny", "warn", "allow"])
    serve.add_argument("--rekor-public-key", action="append", type=Path, metavar="PEM")
    serve.add_argument("--tls-reload-interval", type=float, default=10.0, metavar="SECONDS")
    serve.add_argument("--workers", type=int, default=32, help="threads verifying images")
    add_registry_flags(serve)
    serve.set_defaults(handler=_serve)
    from sealgate.cli import cmd_webhook_manifests

    cmd_webhook_manifests.register(commands)
    webhook.set_defaults(handler=lambda args: _usage(webhook))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE


def _cache_secret(args: argparse.Namespace) -> bytes | None:
    text = ""
    if args.cache_key_file is not None:
        text = read_input(args.cache_key_file).decode("ascii", "replace")
    elif os.environ.get("SEALGATE_CACHE_KEY"):
        text = os.environ["SEALGATE_CACHE_KEY"]
    if not text.strip():
        return None
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigError("the cache key must be hex (at least 32 hex digits)") from None
    if len(secret) < 16:
        raise ConfigError("the cache key must be at least 16 bytes (32 hex digits)")
    return secret


def _serve(args: argparse.Namespace) -> int:
    from sealgate.cli.cmd_policy import _rekor_keys
    from sealgate.cli.common import repository_override
    from sealgate.documents.sources import read_policy_sources
    from sealgate.policy.loaders import LoadOptions, load_policy_set

    try:
        from sealgate.webhook.logs import configure_json_logging
        from sealgate.webhook.serve import WebhookSettings, run_server
    except ImportError as err:
        raise ConfigError(
            f"the webhook needs its extra: pip install 'sealgate[webhook]' ({err.name} missing)"
        ) from None
    if not 0 < args.port < 65536:
        raise UsageError("--port must be 1-65535")
    if not 1 <= args.webhook_timeout <= 30:
        raise UsageError("--webhook-timeout must be 1-30 seconds (the API server's range)")
    if args.cache_ttl <= 0 or args.workers < 1:
        raise UsageError("--cache-ttl and --workers must be positive")
    secret = _cache_secret(args)
    if args.cache and not args.cache.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError("--cache takes a redis://, rediss:// or unix:// URL")
    if args.cache and secret is None:
        raise ConfigError(
            "a shared cache needs a key every replica shares: SEALGATE_CACHE_KEY or "
            "--cache-key-file (hex, 32+ digits)"
        )
    kinds = args.mutate_kind or list(_KINDS)
    policies = load_policy_set(
        read_policy_sources(args.policy),
        no_match=args.no_match,
        options=LoadOptions(_rekor_keys(args)),
    )
    settings = WebhookSettings(
        policies=policies,
        client_config=client_config_from_args(args),
        timeout_s=args.webhook_timeout,
        redis_url=args.cache,
        cache_secret=secret,
        cache_ttl_s=args.cache_ttl,
        cache_failures=args.cache_failures,
        mutate_kinds=frozenset(k for k in kinds if k != "none"),
        pull_secrets_dir=args.pull_secrets_dir,
        repository=repository_override(),
        workers=args.workers,
    )
    configure_json_logging()
    run_server(
        settings,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        host=args.host,
        port=args.port,
        tls_reload_s=args.tls_reload_interval,
    )
    return ExitCode.OK

"""``sealgate webhook manifests``: print the Kubernetes objects that install the webhook.

``sealgate webhook manifests --policy policies/ --image REGISTRY/sealgate@sha256:... |
kubectl apply -f -`` installs it; label a namespace ``sealgate.dev/include=true`` to enforce.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sealgate.errors import ExitCode

__all__ = ["register"]


def register(commands: Any) -> None:
    manifests = commands.add_parser(
        "manifests",
        help="print the Kubernetes YAML that installs the webhook (kubectl apply -f -)",
        description="Namespace, ServiceAccount, policies ConfigMap, serving certificate "
        "(self-signed CA, or cert-manager), Deployment (3 replicas, anti-affinity), Service, "
        "PodDisruptionBudget, HPA, Validating and Mutating webhook configurations "
        "(failurePolicy: Fail; namespaces opt in with sealgate.dev/include=true or "
        "policy.sigstore.dev/include=true).",
        epilog="example:\n  sealgate webhook manifests --policy policies/ | kubectl apply -f -",
    )
    manifests.add_argument("--policy", action="append", type=Path, default=[], metavar="PATH")
    manifests.add_argument("--namespace", default="sealgate-system")
    manifests.add_argument("--name", default="sealgate-webhook")
    manifests.add_argument("--image", default="ghcr.io/sealgate/sealgate:0.1.0")
    manifests.add_argument("--replicas", type=int, default=3)
    manifests.add_argument("--webhook-timeout", type=int, default=10, metavar="SECONDS")
    manifests.add_argument("--tls", choices=["self-signed", "cert-manager"], default="self-signed")
    manifests.add_argument("--cache", metavar="redis://HOST:PORT/DB", help="shared Redis cache")
    manifests.add_argument(
        "--no-policy-controller-label",
        action="store_true",
        help="ignore policy.sigstore.dev/include (sealgate.dev/include only)",
    )
    manifests.add_argument("--no-mutate", action="store_true", help="no tag -> digest pinning")
    manifests.add_argument(
        "--serve-arg", action="append", default=[], metavar="ARG", help="extra serve flag"
    )
    manifests.set_defaults(handler=_manifests)


def _manifests(args: argparse.Namespace) -> int:
    import sys

    import yaml

    from sealgate.documents.sources import read_policy_sources
    from sealgate.webhook.manifests import ManifestOptions, webhook_manifests

    policies = read_policy_sources(args.policy) if args.policy else []
    options = ManifestOptions(
        namespace=args.namespace,
        name=args.name,
        image=args.image,
        replicas=args.replicas,
        timeout_s=args.webhook_timeout,
        tls=args.tls,
        policies=policies,
        redis_url=args.cache,
        policy_controller_label=not args.no_policy_controller_label,
        mutate=not args.no_mutate,
        extra_args=args.serve_arg,
    )
    sys.stdout.write(yaml.safe_dump_all(webhook_manifests(options), sort_keys=False))
    return ExitCode.OK

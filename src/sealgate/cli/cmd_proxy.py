"""``sealgate proxy``: a registry front that refuses unverified images in protected repositories."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from sealgate.cli.common import add_registry_flags, client_config_from_args, read_input
from sealgate.errors import ExitCode, UsageError

__all__ = ["register"]

logger = logging.getLogger("sealgate.proxy")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "proxy",
        help="serve a registry front that refuses unverified images (HTTP 412)",
        description="Pass registry traffic through to --upstream. A manifest GET/HEAD in a "
        "repository matched by --protect is served only if the policies admit the digest "
        "served (hashed from the bytes); otherwise HTTP 412 with an OCI error naming the "
        "reason. Signatures, attestations, blobs, tag lists and pushes pass through; client "
        "credentials are forwarded. The proxy reads signatures with its own credentials "
        "(--registry-username, docker config, REGISTRY_AUTH_FILE).",
        epilog="example:\n  sealgate proxy --upstream https://registry.internal --policy policies/ "
        "--protect 'prod/**' --listen 0.0.0.0:5443 --tls-cert tls.crt --tls-key tls.key",
    )
    parser.add_argument("--upstream", required=True, metavar="URL", help="http(s)://host[:port]")
    parser.add_argument(
        "--policy",
        action="append",
        required=True,
        type=Path,
        metavar="PATH",
        help="policy file or directory (ClusterImagePolicy, Kyverno, sealgate ImagePolicy)",
    )
    parser.add_argument(
        "--protect",
        action="append",
        required=True,
        metavar="GLOB",
        help="repositories to protect: prod/*, team/**, library/nginx (repeatable)",
    )
    parser.add_argument("--listen", default="127.0.0.1:5050", metavar="HOST:PORT")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve HTTPS")
    parser.add_argument("--tls-key", type=Path, metavar="PEM")
    parser.add_argument(
        "--no-match",
        choices=["deny", "warn", "allow"],
        help="protected images no policy matches (default deny)",
    )
    parser.add_argument(
        "--rekor-public-key", action="append", type=Path, metavar="PEM", help="trusted Rekor key"
    )
    parser.add_argument("--cache-ttl", type=float, default=300.0, metavar="SECONDS")
    parser.add_argument("--denial-ttl", type=float, default=10.0, metavar="SECONDS")
    parser.add_argument("--verify-timeout", type=float, default=30.0, metavar="SECONDS")
    add_registry_flags(parser)
    parser.set_defaults(handler=_proxy)


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen {value!r}: use HOST:PORT")
    return host.strip("[]"), int(port)


def _rekor_keys(args: argparse.Namespace) -> tuple[Any, ...]:
    from sealgate.checks.tlog import load_rekor_keys

    paths = list(args.rekor_public_key or [])
    if os.environ.get("SIGSTORE_REKOR_PUBLIC_KEY"):
        paths.append(Path(os.environ["SIGSTORE_REKOR_PUBLIC_KEY"]))
    return load_rekor_keys([read_input(p) for p in paths])


def proxy_options(args: argparse.Namespace) -> tuple[Any, Any]:
    """The server options and registry client settings the flags ask for.

    Raises:
        UsageError: a bad listen address, TTL, or a plain-HTTP upstream off loopback
            without ``--allow-http-registry``.
    """
    from sealgate.oci.http_transport import is_loopback
    from sealgate.proxy import ProxyOptions, VerdictSettings

    host, port = _listen(args.listen)
    if min(args.cache_ttl, args.denial_ttl) < 0 or args.verify_timeout <= 0:
        raise UsageError("--cache-ttl and --denial-ttl must be >= 0, --verify-timeout > 0")
    upstream = args.upstream.rstrip("/")
    upstream_host = upstream.split("://", 1)[-1]
    insecure: tuple[str, ...] = ()
    if upstream.startswith("http://"):
        if not (args.allow_http_registry or is_loopback(upstream_host)):
            raise UsageError(
                f"--upstream {upstream} is plain HTTP: add --allow-http-registry "
                "(credentials would cross the network in clear; testing only)"
            )
        insecure = (upstream_host,)
    options = ProxyOptions(
        upstream=upstream,
        protect=tuple(args.protect),
        host=host,
        port=port,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        verdicts=VerdictSettings(
            ttl_s=args.cache_ttl,
            denial_ttl_s=args.denial_ttl,
            check_timeout_s=args.verify_timeout,
        ),
    )
    return options, client_config_from_args(args, extra_insecure=insecure)


def _proxy(args: argparse.Namespace) -> int:
    from sealgate.documents.sources import read_policy_sources
    from sealgate.policy.loaders import LoadOptions, load_policy_set
    from sealgate.proxy import ProxyServer, build_proxy_app

    options, config = proxy_options(args)
    policies = load_policy_set(
        read_policy_sources(args.policy),
        no_match=args.no_match,
        options=LoadOptions(_rekor_keys(args)),
    )
    server = ProxyServer(build_proxy_app(options, policies, config), options)
    logging.getLogger("sealgate.proxy").setLevel(logging.INFO)
    if options.tls_cert is None and options.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "WARNING: serving plain HTTP on a non-loopback address: clients' credentials cross "
            "the network unencrypted; use --tls-cert/--tls-key",
            file=sys.stderr,
        )
    print(
        f"sealgate proxy: {server.url} -> {options.upstream}; protecting "
        f"{', '.join(options.protect)} with {len(policies.policies)} policies",
        file=sys.stderr,
    )
    server.run()
    return ExitCode.OK

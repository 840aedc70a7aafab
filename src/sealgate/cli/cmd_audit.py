"""``sealgate audit`` and ``sealgate resign``: key rotation across images and repositories.

``audit`` lists who signed every image (trusted key or identity, retired key, unknown), in both
storage formats, with SBOM coverage; ``resign`` signs again with a new key whatever an old key
signed. Both take the same image selection: IMAGE arguments, ``--repository`` (every tag),
``--catalog`` (every repository of a registry) or ``--config``/``--env`` (a gate environment).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealgate.checks.authorities import Authority, KeyAuthority
from sealgate.checks.keyless_identity import KeylessAuthority
from sealgate.checks.tlog import TlogPolicy
from sealgate.cli.common import (
    add_registry_flags,
    open_client,
    parse_reference,
    repository_override,
    truthy,
)
from sealgate.cli.signing import add_signing_flags, signing_setup
from sealgate.cli.trust_flags import (
    add_trust_flags,
    default_trusted_root,
    identity_from_args,
    rekor_keys_from_args,
    trusted_root_from_args,
)
from sealgate.errors import ExitCode, ImageNotFound, LimitExceeded, UsageError
from sealgate.gate import EnvironmentConfig, environment_images, load_config
from sealgate.gate.trust import trust_policy
from sealgate.keys import load_verifier
from sealgate.keys.pkcs11_uri import redact_key_ref
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import Policy
from sealgate.reports.audit import render_audit_json, render_audit_lines
from sealgate.reports.audit_html import render_audit_html
from sealgate.reports.resign import render_resign_json, render_resign_lines
from sealgate.trust import load_trusted_root
from sealgate.workflows.audit import AuditTrust, run_audit
from sealgate.workflows.audit_targets import (
    UnresolvedImage,
    catalog_repositories,
    parse_repository,
    repository_images,
    resolve_targets,
)
from sealgate.workflows.resign import ResignOptions, run_resign

__all__ = ["register"]

_DEFAULT_MAX_IMAGES = 10_000


def _selection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="images (tag or digest)")
    group = parser.add_argument_group("which images")
    group.add_argument(
        "--repository", action="append", default=[], metavar="REG/REPO", help="every tag of it"
    )
    group.add_argument(
        "--catalog", action="append", default=[], metavar="REG", help="every repository of it"
    )
    group.add_argument("--config", type=Path, help="gate config (sealgate.yaml), with --env")
    group.add_argument("--env", help="the environment whose versions files name the images")
    group.add_argument(
        "--max-images",
        type=int,
        default=_DEFAULT_MAX_IMAGES,
        metavar="N",
        help=f"refuse to cover more images than this (default {_DEFAULT_MAX_IMAGES})",
    )
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")


def register(sub: Any) -> None:
    audit = sub.add_parser(
        "audit",
        help="who signed every image: trusted, retired or unknown keys; SBOM coverage",
        description="List, for every image of the given images, repositories (--repository: "
        "every tag), registries (--catalog) or gate environment (--config/--env), its "
        "signatures and attestations in both storage formats (.sig/.att tags and cosign 3 "
        "bundle referrers) and which trusted key or identity, retired key, or unknown signer "
        "made them. Exit 0 when every image could be read, 3 otherwise.",
        epilog="example:\n  sealgate audit --catalog registry.example:5000 --key new.pub "
        "--retired-key old.pub --html audit.html",
    )
    add_trust_flags(audit)
    audit.add_argument(
        "--retired-key", action="append", default=[], metavar="REF", help="a retired key"
    )
    audit.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML report")
    _selection_flags(audit)
    add_registry_flags(audit)
    audit.set_defaults(handler=_audit)

    resign = sub.add_parser(
        "resign",
        help="sign again with a new key everything an old key signed (key rotation)",
        description="For every image whose signatures verify under --old-key, sign each payload "
        "the old key signed (signatures and attestation statements, byte for byte, in the "
        "same storage format) with --key. Old signatures stay, so both keys verify until the "
        "old one is retired from the gate config.",
        epilog="example:\n  COSIGN_PASSWORD=... sealgate resign --old-key old.pub --key new.key "
        "--catalog registry.example:5000",
    )
    add_signing_flags(resign)
    resign.add_argument(
        "--old-key", action="append", required=True, metavar="PUBREF", help="the old public key"
    )
    resign.add_argument("--dry-run", action="store_true", help="say what would be signed")
    resign.add_argument(
        "--insecure-ignore-tlog",
        action="store_true",
        help="accept old signatures without Rekor entries (key-based private setups)",
    )
    resign.add_argument(
        "--rekor-public-key", action="append", type=Path, metavar="PEM", help="trusted Rekor key"
    )
    resign.add_argument("--max-workers", type=int, default=8, help="images re-signed at once")
    _selection_flags(resign)
    add_registry_flags(resign)
    resign.set_defaults(handler=_resign)


@dataclass(frozen=True)
class _Selection:
    refs: list[Reference]
    unresolved: list[UnresolvedImage]


def _environment(args: argparse.Namespace) -> tuple[EnvironmentConfig | None, tuple[str, ...]]:
    if bool(args.config) != bool(args.env):
        raise UsageError("--config and --env go together")
    if not args.config:
        return None, ()
    config = load_config(args.config)
    return config.environment(args.env), tuple(config.insecure_registries)


def _select(
    client: RegistryClient, args: argparse.Namespace, env: EnvironmentConfig | None
) -> _Selection:
    if args.max_images < 1:
        raise UsageError("--max-images must be at least 1")
    refs = [parse_reference(text) for text in args.images]
    unresolved: list[UnresolvedImage] = []
    repositories = [parse_repository(text) for text in args.repository]
    for registry in args.catalog:
        repositories.extend(catalog_repositories(client, registry.strip()))
    for repository in repositories:
        try:
            found, bad = repository_images(client, repository, limit=args.max_images)
        except ImageNotFound:
            if repository.name in {parse_repository(r).name for r in args.repository}:
                raise
            continue  # the catalog lists repositories whose tags were all deleted
        refs.extend(found)
        unresolved.extend(bad)
    if env is not None:
        refs.extend(spec.ref for spec in environment_images(env))
    if not refs and not unresolved:
        raise UsageError("name images: IMAGE..., --repository, --catalog, or --config with --env")
    if len(refs) > args.max_images:
        raise LimitExceeded(f"{len(refs)} images; limit {args.max_images} (--max-images)")
    return _Selection(refs, unresolved)


def _key(ref: str) -> KeyAuthority:
    return KeyAuthority.of(load_verifier(ref), name=redact_key_ref(ref))


def _audit_trust(args: argparse.Namespace, env: EnvironmentConfig | None) -> AuditTrust:
    identity = identity_from_args(args)
    retired = [_key(ref) for ref in (*(env.retired_keys if env else ()), *args.retired_key)]
    trusted: list[Authority] = [_key(ref) for ref in args.key or ()]
    if env is not None and (env.trust.keys or env.trust.identities):
        # The environment's keys and identities, as the gate reads them (trusted roots too).
        policy = trust_policy(env.trust, f"environment {env.name}", default_trusted_root)
        trusted = [*policy.authorities, *trusted]
        tlog = policy.tlog
        if args.insecure_ignore_tlog:
            tlog = TlogPolicy(insecure_ignore_tlog=True)
        return AuditTrust(tuple(trusted), tuple(retired), tlog)
    needs_root = identity is not None or not args.insecure_ignore_tlog
    root = trusted_root_from_args(args) if needs_root else None
    if identity is not None and root is not None:
        trusted.append(
            KeylessAuthority(
                "certificate identity",
                (identity,),
                trusted_root=root,
                ignore_sct=args.insecure_ignore_sct,
            )
        )
    rekor_keys = rekor_keys_from_args(args)
    tlog = TlogPolicy(
        insecure_ignore_tlog=args.insecure_ignore_tlog,
        rekor_keys=rekor_keys,
        trusted_root=None if rekor_keys else root,
    )
    return AuditTrust(tuple(trusted), tuple(retired), tlog)


def _write_html(path: Path, html: str) -> None:
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from err
    print(f"HTML report written to {path}", file=sys.stderr)


def _audit(args: argparse.Namespace) -> int:
    if args.max_workers < 1:
        raise UsageError("--max-workers must be at least 1")
    env, insecure = _environment(args)
    trust = _audit_trust(args, env)
    with open_client(args, extra_insecure=insecure) as client:
        selection = _select(client, args, env)
        targets, unresolved = resolve_targets(client, selection.refs, concurrency=args.max_workers)
        report = run_audit(
            client,
            targets,
            trust,
            clock=lambda: datetime.now(UTC),
            concurrency=args.max_workers,
            unresolved=[*selection.unresolved, *unresolved],
            repository=repository_override(),
        )
    if args.output == "json":
        sys.stdout.write(render_audit_json(report))
    else:
        sys.stdout.write("\n".join(render_audit_lines(report)) + "\n")
    if args.html:
        _write_html(args.html, render_audit_html(report))
    errors = [image for image in report.images if image.status == "error"]
    if errors:
        first = errors[0]
        print(
            f"error: {len(errors)} of {len(report.images)} image(s) could not be checked "
            f"({first.reference}: {first.error})",
            file=sys.stderr,
        )
        return ExitCode.COULD_NOT_CHECK
    return ExitCode.OK


def _old_policy(args: argparse.Namespace, env: EnvironmentConfig | None) -> Policy:
    olds = tuple(_key(ref) for ref in args.old_key)
    if args.insecure_ignore_tlog:
        tlog = TlogPolicy(insecure_ignore_tlog=True)
    elif env is not None and (env.trust.keys or env.trust.identities) and not args.rekor_public_key:
        tlog = trust_policy(env.trust, f"environment {env.name}", default_trusted_root).tlog
    else:
        keys = rekor_keys_from_args(args)
        root = None
        if not keys:
            root = load_trusted_root(args.trusted_root) if args.trusted_root else None
            root = root or default_trusted_root()
        tlog = TlogPolicy(rekor_keys=keys, trusted_root=root)
    return Policy(name="old key", authorities=olds, tlog=tlog)


def _resign(args: argparse.Namespace) -> int:
    if not args.key:
        raise UsageError("resign needs --key: the new signing key")
    if args.new_bundle_format:
        raise UsageError("resign keeps each signature's storage format: drop --new-bundle-format")
    if args.max_workers < 1:
        raise UsageError("--max-workers must be at least 1")
    env, insecure = _environment(args)
    old = _old_policy(args, env)
    setup = signing_setup(args, command="resign")
    if setup is None:  # pragma: no cover - --key is required above
        return ExitCode.USAGE
    with closing(setup):
        new = KeyAuthority.of(setup.credential.signer.verifier(), name="new key")
        if any(a.id == new.id for a in old.authorities):
            raise UsageError("--key is the old key: nothing to rotate to")
        options = ResignOptions(
            old=old,
            new=new,
            services=setup.services,
            dry_run=args.dry_run,
            repository=repository_override(),
            docker_media_types=truthy(os.environ.get("COSIGN_DOCKER_MEDIA_TYPES")),
        )
        with open_client(args, extra_insecure=insecure) as client:
            selection = _select(client, args, env)
            targets, unresolved = resolve_targets(
                client, selection.refs, concurrency=args.max_workers
            )
            outcomes = run_resign(
                client,
                setup.credential,
                targets,
                options,
                clock=lambda: datetime.now(UTC),
                concurrency=args.max_workers,
            )
    missing = [*selection.unresolved, *unresolved]
    if args.output == "json":
        sys.stdout.write(render_resign_json(outcomes, missing, dry_run=args.dry_run))
    else:
        sys.stdout.write("\n".join(render_resign_lines(outcomes, missing)) + "\n")
    failed = [o for o in outcomes if o.status == "error"]
    if failed or missing:
        what = failed[0].detail if failed else missing[0].error.message
        print(
            f"error: {len(failed) + len(missing)} image(s) could not be re-signed ({what})",
            file=sys.stderr,
        )
        return ExitCode.FAILURE
    return ExitCode.OK

"""Flags and environment shared by every command that talks to a registry or reads keys.

This is the only layer that reads sealgate's and cosign's environment variables.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sealgate.config import ClientConfig, MiB
from sealgate.deadline import Deadline
from sealgate.errors import InputError, UsageError
from sealgate.files import parse_go_bool, read_capped

if TYPE_CHECKING:
    from sealgate.formats.scan_reports import ScanReport
    from sealgate.oci import Reference, RegistryClient

#: Severity names of scan reports, lowest first (``sealgate.formats.scan_reports.SEVERITIES``;
#: repeated here so that building ``--help`` imports no parser; a test keeps them equal).
SEVERITIES = ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")

#: Cap on a predicate, scan report or other user file read whole.
_MAX_INPUT = 256 * MiB
#: Timeout of one request; the whole command's ``--timeout`` bounds them all.
_REQUEST_TIMEOUT_S = 30.0

__all__ = [
    "add_registry_flags",
    "add_scan_flags",
    "check_scan_report",
    "client_config_from_args",
    "command_deadline",
    "open_client",
    "parse_annotations",
    "parse_reference",
    "read_input",
    "refuse_unsupported_registry_flags",
    "repository_override",
    "truthy",
]


def truthy(value: str | None) -> bool:
    """A cosign boolean environment variable: true only for Go's true spellings.

    Anything else, unset or not a Go boolean, is false, as cosign ignores it.
    """
    return parse_go_bool(value or "") is True


def add_registry_flags(parser: argparse.ArgumentParser) -> None:
    """cosign's registry flags (``options/registry.go``), meaning what they mean there."""
    group = parser.add_argument_group("registry")
    group.add_argument(
        "--allow-insecure-registry",
        action="store_true",
        help="skip TLS certificate verification of registries (expired or self-signed "
        "certificates); testing only",
    )
    group.add_argument(
        "--allow-http-registry",
        action="store_true",
        help="try plain HTTP when a registry has no HTTPS (loopback registries always do); "
        "testing only",
    )
    group.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="plain HTTP for this registry only (repeatable)",
    )
    group.add_argument(
        "--registry-cacert", type=Path, metavar="PEM", help="extra CA bundle for registry TLS"
    )
    group.add_argument(
        "--registry-client-cert", type=Path, metavar="PEM", help="client certificate (mTLS)"
    )
    group.add_argument(
        "--registry-client-key", type=Path, metavar="PEM", help="client certificate's key (mTLS)"
    )
    group.add_argument(
        "--registry-server-name", metavar="NAME", help="name to check the certificate against"
    )
    group.add_argument("--registry-username", metavar="USER")
    group.add_argument(
        "--registry-password",
        metavar="PASSWORD",
        help="prefer SEALGATE_REGISTRY_PASSWORD: flags show up in process lists",
    )
    group.add_argument(
        "--registry-token",
        metavar="TOKEN",
        help="bearer token sent to the registry as is (prefer SEALGATE_REGISTRY_TOKEN)",
    )
    group.add_argument(
        "--attachment-tag-prefix",
        default="",
        metavar="PREFIX",
        help="attachment tags are PREFIXsha256-<digest>.sig (.att, .sbom)",
    )
    group.add_argument(
        "--k8s-keychain",
        action="store_true",
        help="refused: no Kubernetes API client here; use a docker config or a credential helper",
    )
    group.add_argument(
        "--registry-referrers-mode",
        choices=["legacy", "oci-1-1"],
        help="legacy only: sealgate reads both layouts and writes referrers with "
        "--new-bundle-format",
    )


def _max_attachment_bytes(env: Mapping[str, str]) -> int:
    raw = env.get("COSIGN_MAX_ATTACHMENT_SIZE", "").strip()
    if not raw:
        return 128 * MiB
    units = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3}
    units |= {"KIB": 1024, "MIB": MiB, "GIB": 1024 * MiB}
    number = raw.rstrip("BbKkMmGgIi ")
    unit = raw[len(number) :].strip().upper()
    try:
        return int(float(number) * units[unit])
    except (ValueError, KeyError) as err:
        raise UsageError(f"COSIGN_MAX_ATTACHMENT_SIZE {raw!r} is not a size") from err


def client_config_from_args(
    args: argparse.Namespace,
    *,
    env: Mapping[str, str] | None = None,
    extra_insecure: tuple[str, ...] = (),
) -> ClientConfig:
    env = os.environ if env is None else env
    refuse_unsupported_registry_flags(args)
    password = args.registry_password or env.get("SEALGATE_REGISTRY_PASSWORD")
    username = args.registry_username or env.get("SEALGATE_REGISTRY_USERNAME")
    token = args.registry_token or env.get("SEALGATE_REGISTRY_TOKEN")
    if bool(username) != bool(password):
        raise UsageError("--registry-username and --registry-password go together")
    if bool(args.registry_client_cert) != bool(args.registry_client_key):
        raise UsageError("--registry-client-cert and --registry-client-key go together")
    auth_file = env.get("REGISTRY_AUTH_FILE")
    docker_config = env.get("DOCKER_CONFIG")
    return ClientConfig(
        insecure_registries=frozenset([*args.insecure_registry, *extra_insecure]),
        allow_insecure=bool(args.allow_insecure_registry),
        allow_http=bool(args.allow_http_registry),
        ca_bundle=args.registry_cacert,
        client_cert=args.registry_client_cert,
        client_key=args.registry_client_key,
        server_name=args.registry_server_name or None,
        registry_token=token or None,
        timeout_s=_REQUEST_TIMEOUT_S,
        max_attachment_bytes=_max_attachment_bytes(env),
        auth_file=Path(auth_file) if auth_file else None,
        docker_config=Path(docker_config) / "config.json" if docker_config else None,
        username=username or None,
        password=password or None,
    )


def refuse_unsupported_registry_flags(args: argparse.Namespace) -> None:
    """cosign registry flags sealgate accepts only to refuse with a reason.

    Raises:
        UsageError: ``--k8s-keychain`` or ``--registry-referrers-mode=oci-1-1``.
    """
    if getattr(args, "k8s_keychain", False):
        raise UsageError(
            "--k8s-keychain is not supported: sealgate has no Kubernetes API client; "
            "give credentials through a docker config, a credential helper or "
            "--registry-username"
        )
    if getattr(args, "registry_referrers_mode", None) == "oci-1-1":
        raise UsageError(
            "--registry-referrers-mode=oci-1-1 is not supported: sealgate writes OCI 1.1 "
            "referrers as Sigstore bundles (--new-bundle-format) and reads both layouts"
        )


def command_deadline(args: argparse.Namespace) -> Deadline:
    """The budget of the whole command (``-t/--timeout``), set by the entry point."""
    deadline = getattr(args, "deadline", None)
    return deadline if isinstance(deadline, Deadline) else Deadline.none()


@contextmanager
def open_client(
    args: argparse.Namespace, *, extra_insecure: tuple[str, ...] = ()
) -> Iterator[RegistryClient]:
    """A registry client bounded by the command's ``--timeout``; closed on exit.

    Also applies ``--attachment-tag-prefix`` for the duration.
    """
    from sealgate.oci import RegistryClient
    from sealgate.workflows.targets import ATTACHMENT_TAG_PREFIX

    config = client_config_from_args(args, extra_insecure=extra_insecure)
    client = RegistryClient(config, deadline=command_deadline(args))
    prefix = ATTACHMENT_TAG_PREFIX.set(getattr(args, "attachment_tag_prefix", "") or "")
    try:
        yield client
    finally:
        ATTACHMENT_TAG_PREFIX.reset(prefix)
        client.close()


def parse_reference(text: str) -> Reference:
    from sealgate.oci import Reference

    return Reference.parse(text.strip())


def parse_annotations(pairs: list[str] | None) -> dict[str, str]:
    """cosign's ``-a key=value`` (repeatable, comma lists allowed, split on the first ``=``)."""
    result: dict[str, str] = {}
    for item in pairs or []:
        for pair in item.split(","):
            if not pair:
                continue
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise UsageError(f"annotation {pair!r} is not key=value")
            result[key] = value
    return result


def repository_override(env: Mapping[str, str] | None = None) -> Reference | None:
    """``COSIGN_REPOSITORY``: store and read .sig/.att/.sbom in another repository."""
    env = os.environ if env is None else env
    value = env.get("COSIGN_REPOSITORY", "").strip()
    if not value:
        return None
    ref = parse_reference(value)
    if ref.digest:
        raise UsageError("COSIGN_REPOSITORY must name a repository, not a digest")
    return ref


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def add_scan_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("vulnerability scan")
    group.add_argument(
        "--scan-report",
        type=Path,
        help="Trivy or Grype JSON report of this image; it must name the image's digest "
        "(Trivy Metadata.RepoDigests/ImageID, Grype source.target), or it is refused",
    )
    group.add_argument(
        "--fail-on",
        type=str.upper,
        choices=SEVERITIES,
        metavar="SEVERITY",
        help=f"refuse when the report lists this severity or worse ({', '.join(SEVERITIES)})",
    )
    group.add_argument(
        "--scan-report-unbound",
        action="store_true",
        help="accept a --scan-report that names no image digest (a filesystem or tarball "
        "scan); nothing then proves it describes IMAGE. A report naming another image is "
        "refused all the same",
    )


def read_input(path: Path) -> bytes:
    """A user-supplied file (or ``-`` for stdin), capped so a mistake cannot eat memory.

    Only a regular file is read, and not through a symbolic link: what is read here is
    signed and published, so a link in a checked-out repository must not pull in a file
    from elsewhere (a credential, say).

    Raises:
        InputError: unreadable, not a regular file, a symbolic link, or larger than 256 MiB.
    """
    if str(path) == "-":
        return read_capped(sys.stdin.buffer, _MAX_INPUT, error=InputError, name="standard input")
    return read_capped(path, _MAX_INPUT, error=InputError, follow_symlinks=False)


def check_scan_report(args: argparse.Namespace) -> ScanReport | None:
    """Read ``--scan-report`` and apply ``--fail-on`` (seed 004: never sign a vulnerable image).

    Which image the report is about is checked once the image's digest is known
    (:func:`sealgate.workflows.sign.bind_scan_report`).

    Returns:
        The parsed report, or None without ``--scan-report``.

    Raises:
        UsageError: ``--fail-on`` or ``--scan-report-unbound`` without ``--scan-report``.
        InputError: the report is unreadable or not a Trivy/Grype JSON report.
        VulnerabilityPolicyViolation: the report lists a finding at or above ``--fail-on``.
    """
    if not args.scan_report:
        if args.fail_on or args.scan_report_unbound:
            flag = "--fail-on" if args.fail_on else "--scan-report-unbound"
            raise UsageError(f"{flag} needs --scan-report")
        return None
    from sealgate.formats.scan_reports import enforce_severity, parse_scan_report

    report = parse_scan_report(read_input(args.scan_report))
    if args.fail_on:
        enforce_severity(report.findings, args.fail_on)
    if args.scan_report_unbound and not report.names_an_image:
        print(
            f"WARNING: {args.scan_report} names no image digest; used as --scan-report-unbound "
            "says, with nothing tying it to the image",
            file=sys.stderr,
        )
    return report

"""``triangulate``, ``tree``, ``download``, ``copy`` and ``sbom``."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from typing import TYPE_CHECKING, Any

from sealgate.cli.common import (
    add_registry_flags,
    open_client,
    parse_reference,
    repository_override,
)
from sealgate.cli.cosign_compat import add_no_op
from sealgate.errors import ExitCode, UsageError

if TYPE_CHECKING:
    pass

__all__ = ["register"]

_TREE_LABELS = {
    "sig": "🔐 Signatures for an image tag",
    "att": "💾 Attestations for an image tag",
    "sbom": "📦 SBOMs for an image tag",
}


def register(sub: Any) -> None:
    tri = sub.add_parser(
        "triangulate",
        help="print where an image's signatures live",
        description="Print the tag holding IMAGE's signatures (or attestations, SBOMs), or "
        "IMAGE pinned to its digest with --type digest.",
        epilog="example:\n  sealgate triangulate --type attestation registry.example.com/app:1.2",
    )
    tri.add_argument(
        "--type", choices=["signature", "attestation", "sbom", "digest"], default="signature"
    )
    add_registry_flags(tri)
    tri.add_argument("image", metavar="IMAGE")
    tri.set_defaults(handler=_triangulate)

    tree = sub.add_parser(
        "tree",
        help="show what is attached to an image",
        description="List the signatures, attestations, SBOMs and OCI referrers of IMAGE.",
        epilog="example:\n  sealgate tree registry.example.com/app:1.2",
    )
    add_no_op(tree, "--experimental-oci11", boolean=True, why="referrers are always listed")
    add_registry_flags(tree)
    tree.add_argument("image", metavar="IMAGE")
    tree.set_defaults(handler=_tree)

    download = sub.add_parser(
        "download",
        help="print attached signatures/attestations/SBOMs",
        description="Print each signature (cosign's JSON), attestation (DSSE envelope) or "
        "SBOM attached to IMAGE, one per line.",
        epilog="example:\n  sealgate download attestation --predicate-type cyclonedx "
        "registry.example.com/app:1.2",
    )
    download.add_argument("kind", choices=["signature", "attestation", "sbom"])
    download.add_argument("--platform", help="os/arch[/variant] of a multi-platform image")
    download.add_argument(
        "--predicate-type", help="attestation: only this predicate type (name or URI)"
    )
    add_registry_flags(download)
    download.add_argument("image", metavar="IMAGE")
    download.set_defaults(handler=_download)

    copy = sub.add_parser(
        "copy",
        help="copy an image and its signatures, attestations and SBOMs",
        description="Copy SRC (all platforms) and its .sig/.att/.sbom tags to DST. Credentials "
        "are looked up per registry (docker config, REGISTRY_AUTH_FILE), so source and "
        "destination may use different ones. Idempotent: what is already there is skipped.",
        epilog="example:\n  sealgate copy registry.example.com/app:1.2 mirror.example.com/app:1.2",
    )
    copy.add_argument("--only", default="", help="comma list of sig,att,sbom: only those")
    copy.add_argument("--sig-only", action="store_true", help="same as --only=sig (deprecated)")
    copy.add_argument("--platform", help="copy only this os/arch[/variant] of an index")
    copy.add_argument("-f", "--force", action="store_true", help="overwrite different content")
    add_registry_flags(copy)
    copy.add_argument("source", metavar="SRC")
    copy.add_argument("destination", metavar="DST")
    copy.set_defaults(handler=_copy)

    sbom = sub.add_parser(
        "sbom",
        help="generate a CycloneDX SBOM from an image's layers",
        description="Stream the image's layers (never extracting them) and catalog dpkg, apk, "
        "rpm, Python, npm, Go and Java packages. A multi-platform image gives one SBOM per "
        "platform, printed as a JSON array unless --platform picks one.",
        epilog="example:\n  sealgate --output-file app.cdx.json sbom registry.example.com/app:1.2",
    )
    sbom.add_argument("--format", choices=["cyclonedx-json", "spdx-json"], default="cyclonedx-json")
    sbom.add_argument("--spec-version", choices=["1.6", "1.5"], default="1.6")
    sbom.add_argument("--platform", help="os/arch[/variant] of a multi-platform image")
    add_registry_flags(sbom)
    sbom.add_argument("image", metavar="IMAGE")
    sbom.set_defaults(handler=_sbom)


def _triangulate(args: argparse.Namespace) -> int:
    from sealgate.workflows.targets import attachment_ref, resolve_image

    ref = parse_reference(args.image)
    with open_client(args) as client:
        image = resolve_image(client, ref).ref
    if args.type == "digest":
        print(f"{image.name}@{image.digest}")
        return ExitCode.OK
    suffix = {"signature": "sig", "attestation": "att", "sbom": "sbom"}[args.type]
    tag = attachment_ref(image, suffix, repository=repository_override())
    print(f"{tag.name}:{tag.tag}")
    return ExitCode.OK


def _tree(args: argparse.Namespace) -> int:
    from sealgate.workflows.inspect import list_attached

    ref = parse_reference(args.image)
    with open_client(args) as client:
        attached = list_attached(client, ref, repository=repository_override())
    print(f"📦 Supply Chain Security Related artifacts for an image: {attached.image}")
    if not attached.tags and not attached.referrers and not attached.malformed:
        print(f"No Supply Chain Security Related Artifacts found for image {ref}")
    for suffix, (tag, digests) in attached.tags.items():
        print(f"└── {_TREE_LABELS[suffix]}: {tag.name}:{tag.tag}")
        for index, digest in enumerate(digests):
            branch = "└──" if index == len(digests) - 1 else "├──"
            print(f"   {branch} 🍒 {digest}")
    for suffix, (tag, reason) in attached.malformed.items():
        print(f"└── {_TREE_LABELS[suffix]}: {tag.name}:{tag.tag}")
        print(f"   └── ⚠️ malformed: {reason}")
    for referrer in attached.referrers:
        kind = referrer.artifact_type or referrer.media_type
        print(f"└── 🔗 {kind} artifacts via OCI referrer: {attached.image.name}@{referrer.digest}")
    if attached.malformed:
        # Everything readable was shown; the exit code still says not all of it was.
        print(
            f"error: {len(attached.malformed)} attachment manifest(s) of {attached.image} "
            "are malformed",
            file=sys.stderr,
        )
        return ExitCode.COULD_NOT_CHECK
    return ExitCode.OK


def _download(args: argparse.Namespace) -> int:
    from sealgate.workflows.inspect import download_lines
    from sealgate.workflows.targets import platform_image

    ref = parse_reference(args.image)
    if args.predicate_type and args.kind != "attestation":
        raise UsageError("--predicate-type applies to download attestation")
    with open_client(args) as client:
        if args.platform:
            ref = platform_image(client, ref, args.platform)
        lines = download_lines(client, ref, args.kind, repository=repository_override())
    if args.predicate_type:
        lines = _of_predicate_type(lines, args.predicate_type)
    for line in lines:
        sys.stdout.buffer.write(line.rstrip(b"\n") + b"\n")
    return ExitCode.OK


def _of_predicate_type(lines: list[bytes], wanted: str) -> list[bytes]:
    """The DSSE envelopes whose in-toto statement has predicate type ``wanted``."""
    from sealgate.formats.predicates import resolve_predicate_type

    uri = resolve_predicate_type(wanted)
    kept = []
    for line in lines:
        try:
            envelope = json.loads(line)
            statement = json.loads(base64.b64decode(envelope["payload"]))
        except (ValueError, KeyError, TypeError):
            continue  # not an in-toto envelope: not of any predicate type
        if isinstance(statement, dict) and statement.get("predicateType") == uri:
            kept.append(line)
    return kept


def _copy(args: argparse.Namespace) -> int:
    from sealgate.cli.terminal import progress_display
    from sealgate.workflows.copy import CopyOptions, copy_image
    from sealgate.workflows.targets import platform_image

    src, dst = parse_reference(args.source), parse_reference(args.destination)
    only = frozenset(part.strip() for part in args.only.split(",") if part.strip())
    if args.sig_only:
        only = frozenset({"sig"})
    # copy_image reports nothing until it is done: a spinner (no count) says it is working.
    with open_client(args) as client, progress_display(description=f"copying {src}"):
        if args.platform:
            src = platform_image(client, src, args.platform)
        report = copy_image(client, client, src, dst, CopyOptions(only=only, force=args.force))
    for item in report.attachments_copied:
        print(f"Copied attachment {item}", file=sys.stderr)
    attachments = set(report.attachments_copied)
    for item in report.manifests_copied:
        if item not in attachments:
            print(f"Copied {item}", file=sys.stderr)
    if report.manifests_skipped:
        print(f"Already present: {len(report.manifests_skipped)} manifest(s)", file=sys.stderr)
    return ExitCode.OK


def _sbom(args: argparse.Namespace) -> int:
    from sealgate.cli.terminal import progress_display
    from sealgate.workflows.sbom import combined_document, image_sboms

    ref = parse_reference(args.image)
    if args.format == "spdx-json" and args.spec_version != "1.6":
        raise UsageError("--spec-version applies to CycloneDX output")
    with (
        open_client(args) as client,
        progress_display(description="reading layers") as progress,
    ):
        _, sboms = image_sboms(
            client,
            ref,
            spec_version=args.spec_version,
            output_format=args.format,
            platform=args.platform,
            on_layer=progress,
        )
    for warning in (w for s in sboms for w in s.result.warnings):
        print(f"WARNING: {warning}", file=sys.stderr)
    for sbom in (s for s in sboms if not s.result.complete):
        print(
            f"WARNING: the SBOM of {sbom.image} is incomplete ({len(sbom.result.gaps)} gap(s)); "
            "the document says so",
            file=sys.stderr,
        )
    document = combined_document(sboms)
    sys.stdout.buffer.write(document.rstrip(b"\n") + b"\n")
    if args.output_file:  # the global flag: standard output is that file
        total = sum(s.result.components for s in sboms)
        print(f"Wrote {args.output_file} ({total} components)", file=sys.stderr)
    return ExitCode.OK

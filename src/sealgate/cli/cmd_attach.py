"""``attach signature|attestation|sbom``, ``clean`` and ``generate`` (cosign's names and flags)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from sealgate.cli.common import (
    add_registry_flags,
    open_client,
    parse_annotations,
    parse_reference,
    read_input,
    repository_override,
    truthy,
)
from sealgate.cli.cosign_compat import add_refused
from sealgate.errors import ExitCode, UsageError

__all__ = ["register"]

_CLEAN_KINDS = {
    "all": ("sig", "att", "sbom"),
    "signature": ("sig",),
    "attestation": ("att",),
    "sbom": ("sbom",),
}


def register(sub: Any) -> None:
    attach = sub.add_parser(
        "attach",
        help="attach a signature, attestation or SBOM made elsewhere",
        description="Attach artifacts made out of band to an image, in cosign's layout.",
        epilog="examples:\n  sealgate attach signature --signature sig.b64 --payload payload.json "
        "registry.example.com/app@sha256:...\n"
        "  sealgate attach attestation --attestation envelope.json registry.example.com/app:1.2",
    )
    kinds = attach.add_subparsers(dest="attach_kind", metavar="KIND", required=True)
    sig = kinds.add_parser(
        "signature",
        help="append a signature to the image's .sig tag",
        description="Append a base64 signature (and the payload it signs; default: the "
        "payload `sealgate generate` prints) to IMAGE's .sig tag.",
        epilog="example:\n  sealgate attach signature --signature sig.b64 --payload payload.json "
        "registry.example.com/app@sha256:...",
    )
    sig.add_argument("--signature", required=True, help="base64 signature, or a file holding it")
    sig.add_argument("--payload", type=Path, help="the signed payload (default: generated)")
    add_registry_flags(sig)
    add_refused(sig, "--certificate", "--certificate-chain", "--rekor-response", "--tsr")
    sig.add_argument("image", metavar="IMAGE")
    sig.set_defaults(handler=_attach_signature)

    att = kinds.add_parser(
        "attestation",
        help="append DSSE envelopes to the image's .att tag",
        description="Append signed DSSE envelopes of in-toto statements (one JSON file each) "
        "to IMAGE's .att tag.",
        epilog="example:\n  sealgate attach attestation --attestation envelope.json "
        "registry.example.com/app:1.2",
    )
    att.add_argument(
        "--attestation", action="append", required=True, type=Path, help="envelope file"
    )
    add_registry_flags(att)
    att.add_argument("image", metavar="IMAGE")
    att.set_defaults(handler=_attach_attestation)

    sbom = kinds.add_parser(
        "sbom",
        help="store an SBOM in the image's .sbom tag (unsigned; prefer attest)",
        description="Store an SBOM file as IMAGE's .sbom tag, replacing any there. It is not "
        "signed: `sealgate attest --type cyclonedx` is the signed way.",
        epilog="example:\n  sealgate attach sbom --sbom app.cdx.json --type cyclonedx "
        "registry.example.com/app:1.2",
    )
    sbom.add_argument("--sbom", type=Path, required=True, help="the SBOM file")
    sbom.add_argument("--type", choices=["spdx", "cyclonedx", "syft"], default="spdx")
    sbom.add_argument("--input-format", choices=["json", "xml", "text"], default=None)
    add_registry_flags(sbom)
    sbom.add_argument("image", metavar="IMAGE")
    sbom.set_defaults(handler=_attach_sbom)

    clean = sub.add_parser(
        "clean",
        help="delete an image's signatures, attestations and SBOMs",
        description="Delete IMAGE's .sig, .att and .sbom tags (--type picks one kind). The "
        "registry must allow deletes.",
        epilog="example:\n  sealgate clean --type signature -f registry.example.com/app:1.2",
    )
    clean.add_argument("--type", choices=list(_CLEAN_KINDS), default="all")
    clean.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    add_registry_flags(clean)
    clean.add_argument("image", metavar="IMAGE")
    clean.set_defaults(handler=_clean)

    generate = sub.add_parser(
        "generate",
        help="print the payload `sign` would sign",
        description="Print the simple-signing payload for IMAGE's digest (sign it elsewhere, "
        "then `sealgate attach signature`).",
        epilog="example:\n  sealgate generate -a build=42 registry.example.com/app:1.2 "
        "> payload.json",
    )
    generate.add_argument(
        "-a", "--annotations", action="append", metavar="KEY=VALUE", help="extra claims"
    )
    add_registry_flags(generate)
    generate.add_argument("image", metavar="IMAGE")
    generate.set_defaults(handler=_generate)


def _docker_types() -> bool:
    return truthy(os.environ.get("COSIGN_DOCKER_MEDIA_TYPES"))


def _signature_text(value: str) -> bytes:
    path = Path(value)
    try:
        is_file = path.is_file()
    except OSError:  # a base64 signature is longer than any file name
        is_file = False
    return read_input(path).strip() if is_file else value.encode("ascii", "replace")


def _attach_signature(args: argparse.Namespace) -> int:
    from sealgate.workflows.attach import attach_signature

    ref = parse_reference(args.image)
    payload = read_input(args.payload) if args.payload else None
    with open_client(args) as client:
        result = attach_signature(
            client,
            ref,
            _signature_text(args.signature),
            payload,
            repository=repository_override(),
            docker_media_types=_docker_types(),
        )
    _say(result.added, "signature", result.tag)
    return ExitCode.OK


def _attach_attestation(args: argparse.Namespace) -> int:
    from sealgate.workflows.attach import attach_attestations

    ref = parse_reference(args.image)
    envelopes = [(str(path), read_input(path)) for path in args.attestation]
    with open_client(args) as client:
        result = attach_attestations(
            client,
            ref,
            envelopes,
            repository=repository_override(),
            docker_media_types=_docker_types(),
        )
    _say(result.added, "attestation", result.tag)
    return ExitCode.OK


def _attach_sbom(args: argparse.Namespace) -> int:
    from sealgate.workflows.attach import SBOM_MEDIA_TYPES, attach_sbom

    ref = parse_reference(args.image)
    default_format = "text" if args.type == "spdx" else "json"
    media_type = SBOM_MEDIA_TYPES.get((args.type, args.input_format or default_format))
    if media_type is None:
        raise UsageError(f"--type {args.type} has no {args.input_format} format")
    sbom = read_input(args.sbom)
    print(
        "WARNING: SBOM attachments are not signed (cosign deprecated them); "
        "`sealgate attest --type cyclonedx` signs the SBOM",
        file=sys.stderr,
    )
    with open_client(args) as client:
        result = attach_sbom(
            client,
            ref,
            sbom,
            media_type,
            repository=repository_override(),
            docker_media_types=_docker_types(),
        )
    print(f"Uploaded SBOM to {result.tag}", file=sys.stderr)
    return ExitCode.OK


def _say(added: int, what: str, tag: object) -> None:
    if added:
        print(f"Attached {added} {what}(s) to {tag}", file=sys.stderr)
    else:
        print(f"Already attached: {tag} carries this {what}; nothing added", file=sys.stderr)


def _clean(args: argparse.Namespace) -> int:
    from sealgate.workflows.attach import clean_attachments

    ref = parse_reference(args.image)
    if not args.force:
        if not sys.stdin.isatty():
            raise UsageError("clean deletes attachments: add -f to confirm without a terminal")
        answer = input(f"Delete the {args.type} attachments of {ref}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise UsageError("clean cancelled")
    with open_client(args) as client:
        deleted = clean_attachments(
            client, ref, _CLEAN_KINDS[args.type], repository=repository_override()
        )
    for tag in deleted:
        print(f"Deleted {tag}", file=sys.stderr)
    if not deleted:
        print(f"Nothing to delete: {ref} has no {args.type} attachments", file=sys.stderr)
    return ExitCode.OK


def _generate(args: argparse.Namespace) -> int:
    from sealgate.workflows.attach import signing_payload

    ref = parse_reference(args.image)
    annotations = parse_annotations(args.annotations)
    with open_client(args) as client:
        payload = signing_payload(client, ref, annotations)
    sys.stdout.buffer.write(payload + b"\n")
    return ExitCode.OK

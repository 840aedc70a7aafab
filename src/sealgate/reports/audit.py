"""Renderings of an :class:`~sealgate.workflows.audit.AuditReport`: JSON, terminal lines, HTML.

* :func:`audit_to_dict` / :func:`render_audit_json` (``-o json``): ``schemaVersion`` 1, fields
  only ever added. ``summary`` and ``repositories`` count images by class (``signed``,
  ``retired``, ``untrusted``, ``unsigned``, ``error``) and without a trusted SBOM (``noSbom``);
  ``nextSteps`` says what to do about each gap.
* :func:`render_audit_lines`: one line per image for the terminal (control characters out).
* :func:`render_audit_html` (:mod:`sealgate.reports.audit_html`): a self-contained page.

Every value that came from a registry (tags, annotations, certificate names, predicate types,
error messages) is hostile: the JSON is data, the terminal lines go through
:func:`~sealgate.reports.escaping.printable`, the HTML through Jinja's autoescape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sealgate.reports.escaping import printable
from sealgate.workflows.audit import AuditReport, Finding, ImageAudit

__all__ = [
    "AUDIT_SCHEMA_VERSION",
    "IMAGE_CLASSES",
    "NextStep",
    "audit_to_dict",
    "coverage",
    "next_steps",
    "render_audit_json",
    "render_audit_lines",
]

AUDIT_SCHEMA_VERSION = 1
#: Image classes, in the order charts and tables show them.
IMAGE_CLASSES = ("signed", "retired", "untrusted", "unsigned", "error")
_SHOWN_REPOS = 3


@dataclass(frozen=True)
class NextStep:
    """Something the reader should do, and the command that does it (may be "")."""

    kind: str
    title: str
    command: str = ""


def coverage(images: Iterable[ImageAudit]) -> dict[str, int]:
    """Counts of images by class, with ``images`` (all) and ``noSbom`` (no trusted SBOM)."""
    counts = dict.fromkeys(("images", *IMAGE_CLASSES, "sbom", "noSbom"), 0)
    for image in images:
        counts["images"] += 1
        counts[image.status] += 1
        if image.status != "error":
            counts["sbom" if image.sbom == "trusted" else "noSbom"] += 1
    return counts


def _by_repository(report: AuditReport) -> dict[str, list[ImageAudit]]:
    groups: dict[str, list[ImageAudit]] = {}
    for image in report.images:
        groups.setdefault(image.repository, []).append(image)
    return dict(sorted(groups.items()))


def _repos_arg(repos: Sequence[str]) -> str:
    if len(repos) > _SHOWN_REPOS:
        return "--catalog " + repos[0].split("/", 1)[0]
    return " ".join(f"--repository {r}" for r in repos)


def next_steps(report: AuditReport) -> list[NextStep]:
    """What to do about each gap the audit found, most urgent first."""
    groups = _by_repository(report)

    def repos_with(predicate: Any) -> list[str]:
        return [name for name, images in groups.items() if any(predicate(i) for i in images)]

    counts = coverage(report.images)
    steps: list[NextStep] = []
    if counts["error"]:
        steps.append(
            NextStep(
                "error",
                f"{counts['error']} image(s) could not be read: fix access or the reference "
                "and audit again (an unreadable image is not verified).",
            )
        )
    if counts["retired"]:
        repos = repos_with(lambda i: i.status == "retired")
        old = report.retired[0] if report.retired else "RETIRED.pub"
        steps.append(
            NextStep(
                "retired",
                f"{counts['retired']} image(s) are signed only by a retired key and fail the "
                "gate once it is removed: re-sign them with the current key.",
                f"sealgate resign --old-key {old} --key NEW_KEY {_repos_arg(repos)}",
            )
        )
    if counts["untrusted"]:
        steps.append(
            NextStep(
                "untrusted",
                f"{counts['untrusted']} image(s) carry signatures no trusted or retired key "
                "made: find out who signed them before trusting anything.",
            )
        )
    if counts["unsigned"]:
        steps.append(
            NextStep(
                "unsigned",
                f"{counts['unsigned']} image(s) are unsigned: sign them in CI, or delete them.",
                "sealgate sign --key KEY IMAGE",
            )
        )
    if counts["noSbom"]:
        steps.append(
            NextStep(
                "no-sbom",
                f"{counts['noSbom']} image(s) have no SBOM attestation by a trusted signer.",
                "sealgate attest --sbom --key KEY IMAGE",
            )
        )
    invalid = sum(
        1 for i in report.images for f in (*i.signatures, *i.attestations) if f.status == "invalid"
    )
    if invalid:
        steps.append(
            NextStep(
                "invalid",
                f"{invalid} signature(s) or attestation(s) fail their checks (another digest, "
                "a missing or bad log entry, an unreadable layer): see the details.",
            )
        )
    if not steps:
        steps.append(
            NextStep("none", "Nothing to do: every image is signed by a trusted key with an SBOM.")
        )
    return steps


def _finding_dict(finding: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": finding.label,
        "storage": finding.storage,
        "status": finding.status,
        "signer": finding.signer,
    }
    if finding.kind == "attestation":
        out["predicateType"] = finding.predicate_type
        out["sbom"] = finding.is_sbom
    else:
        out["annotations"] = dict(finding.annotations)
    if finding.detail:
        out["detail"] = finding.detail
    return out


def _image_dict(image: ImageAudit) -> dict[str, Any]:
    return {
        "repository": image.repository,
        "digest": image.digest,
        "tags": list(image.tags),
        "reference": image.reference,
        "status": image.status,
        "sbom": image.sbom if image.status != "error" else "unknown",
        "error": image.error,
        "signatures": [_finding_dict(f) for f in image.signatures],
        "attestations": [_finding_dict(f) for f in image.attestations],
    }


def audit_to_dict(report: AuditReport) -> dict[str, Any]:
    """The report as the JSON document ``-o json`` prints."""
    return {
        "schemaVersion": AUDIT_SCHEMA_VERSION,
        "generatedAt": report.generated_at.isoformat(),
        "trust": {"trusted": list(report.trusted), "retired": list(report.retired)},
        "summary": coverage(report.images),
        "repositories": [
            {"repository": name, **coverage(images)}
            for name, images in _by_repository(report).items()
        ],
        "images": [_image_dict(image) for image in report.images],
        "nextSteps": [
            {"kind": s.kind, "title": s.title, "command": s.command} for s in next_steps(report)
        ],
    }


def render_audit_json(report: AuditReport) -> str:
    """``-o json``: the document, indented, with a trailing newline."""
    return json.dumps(audit_to_dict(report), indent=2) + "\n"


def _signers(findings: Sequence[Finding]) -> str:
    parts = [f"{f.status}:{f.signer}" for f in findings]
    return ", ".join(dict.fromkeys(parts)) or "-"


def render_audit_lines(report: AuditReport) -> list[str]:
    """One line per image, a summary, and the next steps; safe for a terminal."""
    lines = []
    for image in report.images:
        tags = ",".join(image.tags) or "-"
        what = image.error or _signers(image.signatures)
        lines.append(
            f"{image.status:<10} sbom:{image.sbom:<9} {image.repository}:{tags} "
            f"{image.digest[:19] or '-'}  {what}"
        )
    counts = coverage(report.images)
    lines.append(
        f"{counts['images']} image(s): "
        + ", ".join(f"{counts[c]} {c}" for c in IMAGE_CLASSES)
        + f"; {counts['noSbom']} without a trusted SBOM"
    )
    for step in next_steps(report):
        lines.append(f"next: {step.title}" + (f"\n      {step.command}" if step.command else ""))
    return [printable(line) for line in lines]

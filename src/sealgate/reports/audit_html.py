"""The audit as one self-contained HTML page: coverage chart, sortable table, next steps.

Rendered with Jinja2 with autoescape on for every value, so a tag, annotation, certificate
name or error message from a registry is text, never markup. No external assets: the CSS and
the small sorting script are inlined, and a Content-Security-Policy allows exactly those two
(by SHA-256 hash) and nothing else, so even markup that slipped through could not run a script
or load anything. The chart is inline SVG drawn from numbers computed here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from sealgate import __version__
from sealgate.reports.audit import IMAGE_CLASSES, coverage, next_steps
from sealgate.workflows.audit import AuditReport, ImageAudit

__all__ = ["render_audit_html"]

_LABELS = {
    "signed": "signed (trusted)",
    "retired": "retired key only",
    "untrusted": "untrusted signer",
    "unsigned": "unsigned",
    "error": "could not check",
}
_RANK = {cls: i for i, cls in enumerate(IMAGE_CLASSES)}
_LABEL_W = 250
_BAR_W = 420
_ROW_H = 30
_TOP = 34
_MAX_LABEL = 34


@dataclass(frozen=True)
class _Segment:
    cls: str
    x: float
    width: float


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sealgate.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def _asset(name: str) -> tuple[Markup, str]:
    """A static asset inlined as is (our own file, not data) and its CSP source hash."""
    text = resources.files("sealgate.reports").joinpath("templates", name).read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), f"sha256-{digest}"  # noqa: S704 - a packaged file, never user data


def _segments(counts: dict[str, int], order: tuple[str, ...], total: int) -> list[_Segment]:
    out = []
    x = float(_LABEL_W)
    for cls in order:
        if counts.get(cls, 0) and total:
            width = round(_BAR_W * counts[cls] / total, 2)
            out.append(_Segment(cls, round(x, 2), width))
            x += width
    return out


def _caption(counts: dict[str, int]) -> str:
    parts = [f"{counts[c]} {c}" for c in IMAGE_CLASSES if counts[c]]
    return f"{counts['images']}: " + ", ".join(parts) + f"; {counts['noSbom']} no SBOM"


def _chart(report: AuditReport) -> dict[str, Any]:
    groups: dict[str, list[ImageAudit]] = {}
    for image in report.images:
        groups.setdefault(image.repository, []).append(image)
    rows = [("all repositories", report.images), *sorted(groups.items())]
    bars: list[dict[str, Any]] = []
    for i, (name, images) in enumerate(rows):
        counts = coverage(images)
        checked = counts["images"] - counts["error"]
        short = name if len(name) <= _MAX_LABEL else "\u2026" + name[-(_MAX_LABEL - 1) :]
        bars.append(
            {
                "name": name,
                "short_name": short,
                "y": _TOP + i * _ROW_H,
                "counts": counts,
                "caption": _caption(counts),
                "segments": _segments(counts, IMAGE_CLASSES, counts["images"]),
                "sbom_segments": _segments(counts, ("sbom", "noSbom"), checked),
            }
        )
    legend = []
    x = 8
    for cls in (*IMAGE_CLASSES, "sbom", "noSbom"):
        label = _LABELS.get(cls, "SBOM" if cls == "sbom" else "no SBOM")
        legend.append({"cls": cls, "x": x, "label": label})
        x += 28 + 7 * len(label)
    caption_w = max(len(str(bar["caption"])) for bar in bars) * 7 + 16
    return {
        "width": max(_LABEL_W + _BAR_W + 8 + caption_w, x + 8),
        "height": _TOP + len(rows) * _ROW_H + 6,
        "bars": bars,
        "legend": legend,
        "caption_x": _LABEL_W + _BAR_W + 8,
    }


def _row(image: ImageAudit) -> dict[str, Any]:
    signers = [f"{f.signer} ({f.status})" for f in image.signatures]
    return {
        "repository": image.repository,
        "tags": image.tags,
        "digest": image.digest,
        "status": image.status,
        "rank": _RANK[image.status],
        "signers": ", ".join(dict.fromkeys(signers)) or "-",
        "sbom": image.sbom if image.status != "error" else "unknown",
        "signatures": image.signatures,
        "attestations": image.attestations,
        "error": image.error,
    }


def render_audit_html(report: AuditReport) -> str:
    """The report as a standalone HTML page (UTF-8 text).

    Raises:
        InternalError: never on purpose; a template bug surfaces as the CLI's internal error.
    """
    style, style_hash = _asset("audit.css")
    script, script_hash = _asset("audit.js")
    template = _environment().get_template("audit.html.j2")
    return template.render(
        version=__version__,
        generated_at=report.generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        trusted=report.trusted,
        retired=report.retired,
        summary=coverage(report.images),
        classes=[(cls, _LABELS[cls]) for cls in IMAGE_CLASSES],
        chart=_chart(report),
        steps=next_steps(report),
        images=[_row(image) for image in report.images],
        style=style,
        style_hash=style_hash,
        script=script,
        script_hash=script_hash,
    )

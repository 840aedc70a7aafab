"""Machine-readable renderings of the deploy gate's :class:`~sealgate.gate.GateReport`.

Every renderer is a pure function returning text; the CLI decides where it goes. Escaping
lives in :mod:`sealgate.reports.escaping`, shared with the other commands' reports.

* :func:`render_json` (``--output json``): the stable document described by
  :data:`REPORT_JSON_SCHEMA` (``schemaVersion`` 1; fields are only ever added).
* :func:`render_junit`: one ``testcase`` per image; failed -> ``failure`` (``error`` for
  ``internal``), bypassed -> ``skipped``; a refused bypass adds a failing testcase.
* :func:`render_markdown`: a summary for ``$GITHUB_STEP_SUMMARY`` or Azure's
  ``task.uploadsummary``; every cell is escaped (no HTML or table injection).
* :func:`render_vso`: Azure DevOps ``##vso[task.logissue ...]`` lines, escaped with the
  agent's tokens so no value can end the command early or start a new one.
* :func:`render_pins` (``--pin-output``): original reference -> reference pinned by digest.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any, Literal

import yaml

from sealgate.gate import GateReport, ImageResult
from sealgate.reports.escaping import markdown_cell, vso_logissue, xml_text

__all__ = [
    "REPORT_JSON_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "pin_map",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_pins",
    "render_vso",
    "report_to_dict",
]

REPORT_SCHEMA_VERSION = 1

_SOURCE = {
    "type": ["object", "null"],
    "required": ["file", "line", "path"],
    "properties": {
        "file": {"type": "string"},
        "line": {"type": ["integer", "null"]},
        "path": {"type": "string"},
        "document": {"type": "integer"},
    },
}
#: JSON Schema (draft 2020-12) of :func:`render_json`'s output.
REPORT_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "sealgate gate report",
    "type": "object",
    "required": [
        "schemaVersion", "env", "tier", "softFail", "decision", "exitCode", "message",
        "startedAt", "finishedAt", "summary", "warnings", "bypass", "images",
    ],
    "properties": {
        "schemaVersion": {"const": REPORT_SCHEMA_VERSION},
        "env": {"type": "string"},
        "tier": {"type": "string"},
        "softFail": {"type": "boolean"},
        "decision": {"enum": ["verified", "soft-fail", "blocked", "bypassed", "bypass-forbidden"]},
        "exitCode": {"type": "integer"},
        "message": {"type": "string"},
        "startedAt": {"type": "string"},
        "finishedAt": {"type": "string"},
        "summary": {
            "type": "object",
            "required": ["total", "verified", "failed", "skipped", "cached"],
            "additionalProperties": {"type": "integer"},
        },
        "warnings": {"type": "array", "items": {"type": "string"}},
        "bypass": {"type": ["object", "null"]},
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "ref", "normalized", "digest", "pinned", "verdict", "reason", "message",
                    "cached", "source", "sources",
                ],
                "properties": {
                    "ref": {"type": "string"},
                    "normalized": {"type": "string"},
                    "digest": {"type": ["string", "null"]},
                    "pinned": {"type": ["string", "null"]},
                    "verdict": {"enum": ["verified", "failed", "skipped"]},
                    "reason": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                    "cached": {"type": "boolean"},
                    "source": _SOURCE,
                    "sources": {"type": "array", "items": _SOURCE},
                },
            },
        },
    },
}  # fmt: skip


def _iso(report: GateReport, which: Literal["started", "finished"]) -> str:
    moment = report.started_at if which == "started" else report.finished_at
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _image(result: ImageResult) -> dict[str, Any]:
    verdict, image = result.verdict, result.image
    sources = [
        {"file": s.file, "line": s.line, "path": s.path, "document": s.document}
        for s in image.sources
    ]
    pinned = result.pinned
    return {
        "ref": image.text,
        "normalized": str(image.ref),
        "digest": verdict.digest or image.ref.digest,
        "pinned": str(pinned) if pinned is not None else None,
        "verdict": verdict.status,
        "reason": verdict.reason,
        "message": verdict.message,
        "cached": verdict.cached,
        "source": sources[0] if sources else None,
        "sources": sources,
    }


def report_to_dict(report: GateReport) -> dict[str, Any]:
    """The report as the JSON-ready mapping described by :data:`REPORT_JSON_SCHEMA`."""
    statuses = [r.verdict.status for r in report.results]
    return {
        "schemaVersion": REPORT_SCHEMA_VERSION,
        "env": report.environment,
        "tier": report.tier,
        "softFail": report.soft_fail,
        "decision": report.decision,
        "exitCode": report.exit_code,
        "message": report.message,
        "startedAt": _iso(report, "started"),
        "finishedAt": _iso(report, "finished"),
        "summary": {
            "total": len(statuses),
            "verified": statuses.count("verified"),
            "failed": statuses.count("failed"),
            "skipped": statuses.count("skipped"),
            "cached": sum(1 for r in report.results if r.verdict.cached),
        },
        "warnings": list(report.warnings),
        "bypass": dict(report.bypass) if report.bypass is not None else None,
        "images": [_image(r) for r in report.results],
    }


def render_json(report: GateReport) -> str:
    """``--output json``: the report document, indented, newline-terminated."""
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=True) + "\n"


def render_junit(report: GateReport) -> str:
    """JUnit XML: one testcase per image (parseable by Azure, GitLab, GitHub reporters).

    Returns:
        A UTF-8 XML document as text; ElementTree escapes, invalid XML characters are
        replaced.
    """
    data = report_to_dict(report)
    summary = data["summary"]
    refused = report.decision == "bypass-forbidden"
    errors = sum(1 for r in report.results if r.verdict.reason == "internal")
    failures = summary["failed"] - errors + (1 if refused else 0)
    tests = summary["total"] + (1 if refused else 0)
    duration = f"{(report.finished_at - report.started_at).total_seconds():.3f}"
    counts = {"tests": str(tests), "failures": str(failures), "errors": str(errors)}
    counts |= {"skipped": str(summary["skipped"]), "time": duration}
    root = ET.Element("testsuites", {"name": "sealgate gate", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": xml_text(f"sealgate gate: {report.environment}"),
            "timestamp": data["startedAt"],
            **counts,
        },
    )
    props = ET.SubElement(suite, "properties")
    for name in ("env", "tier", "softFail", "decision", "exitCode"):
        ET.SubElement(
            props, "property", {"name": name, "value": xml_text(json.dumps(data[name]).strip('"'))}
        )
    classname = xml_text(f"sealgate.gate.{report.environment}")
    for item in data["images"]:
        attrs = {"classname": classname, "name": xml_text(item["ref"]), "time": "0"}
        if item["source"] is not None:
            attrs["file"] = xml_text(item["source"]["file"])
            if item["source"]["line"] is not None:
                attrs["line"] = str(item["source"]["line"])
        case = ET.SubElement(suite, "testcase", attrs)
        message = xml_text(f"{item['reason']}: {item['message']}")
        if item["verdict"] == "failed":
            tag = "error" if item["reason"] == "internal" else "failure"
            node = ET.SubElement(case, tag, {"type": xml_text(item["reason"]), "message": message})
            node.text = xml_text(
                f"{item['normalized']}\n{item['message']}\nsource: {item['source']}"
            )
        elif item["verdict"] == "skipped":
            ET.SubElement(case, "skipped", {"message": xml_text(item["message"])})
    if refused:
        case = ET.SubElement(
            suite, "testcase", {"classname": classname, "name": "emergency bypass", "time": "0"}
        )
        ET.SubElement(
            case, "failure", {"type": "bypass-forbidden", "message": xml_text(report.message)}
        )
    if report.warnings:
        ET.SubElement(suite, "system-out").text = xml_text("\n".join(report.warnings))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


_ICONS = {
    "verified": "✅",
    "soft-fail": "⚠️",
    "blocked": "⛔",
    "bypassed": "🚨",
    "bypass-forbidden": "⛔",
}


def render_markdown(report: GateReport) -> str:
    """A Markdown summary (GitHub step summary, Azure ``task.uploadsummary``)."""
    md = markdown_cell
    data = report_to_dict(report)
    s = data["summary"]
    lines = [
        f"## {_ICONS[report.decision]} sealgate gate: {md(report.environment)}: {report.decision}",
        "",
        f"**{md(report.message)}** (exit {report.exit_code}; tier {md(report.tier)}; "
        f"softFail {str(report.soft_fail).lower()})",
        "",
        f"{s['total']} image(s): {s['verified']} verified ({s['cached']} from cache), "
        f"{s['failed']} failed, {s['skipped']} not verified",
        "",
        "| Image | Digest | Verdict | Reason | Source |",
        "| --- | --- | --- | --- | --- |",
    ]
    for item in data["images"]:
        digest = (item["digest"] or "")[:19]
        reason = item["reason"] or ""
        detail = f"{reason}: {item['message']}" if item["verdict"] != "verified" else ""
        src = item["source"]
        where = f"{src['file']}:{src['line']}" if src else ""
        cells = [
            md(item["ref"]),
            md(digest),
            item["verdict"],
            md(detail),
            md(where),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if report.warnings:
        lines += ["", "### Warnings", ""]
        lines += [f"- {md(w)}" for w in report.warnings]
    if report.bypass is not None:
        record = json.dumps(report.bypass, indent=2, ensure_ascii=True).replace("```", "'''")
        lines += [
            "",
            "<details><summary>Bypass audit record</summary>",
            "",
            "```json",
            record,
            "```",
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def render_vso(report: GateReport) -> list[str]:
    """Azure DevOps logging commands: one issue per failure and per warning.

    Failures are errors, or warnings on a soft-fail run; a soft-fail or bypassed run ends
    with ``task.complete result=SucceededWithIssues`` so the step shows up orange.
    """
    out: list[str] = []
    kind = "warning" if report.allowed else "error"
    for result in report.failures:
        src = result.image.source
        out.append(
            vso_logissue(
                kind,
                f"sealgate: {result.image.text}: {result.verdict.reason}: {result.verdict.message}",
                file=src.file if src else None,
                line=src.line if src else None,
                code=result.verdict.reason,
            )
        )
    for warning in report.warnings:
        out.append(vso_logissue("warning", f"sealgate: {warning}"))
    if report.decision == "bypass-forbidden":
        out.append(vso_logissue("error", f"sealgate: {report.message}", code="bypass-forbidden"))
    if report.allowed and (report.warnings or report.failures):
        out.append(
            "##vso[task.complete result=SucceededWithIssues;]sealgate gate passed with warnings"
        )
    return out


def pin_map(report: GateReport) -> dict[str, str]:
    """Original reference -> pinned reference for every image the deploy may run.

    Verified images always; failed-but-resolved images only when the run allowed the deploy
    (soft-fail), so the post-renderer still pins them. Bypassed runs resolve nothing.
    """
    pins: dict[str, str] = {}
    for result in report.results:
        pinned = result.pinned
        allowed = result.verdict.ok or (report.allowed and result.verdict.status == "failed")
        if pinned is not None and allowed:
            pins[result.image.text] = str(pinned)
    return pins


def render_pins(report: GateReport, fmt: Literal["yaml", "json"] = "yaml") -> str:
    """``--pin-output``: :func:`pin_map` as YAML (default) or JSON."""
    pins = pin_map(report)
    if fmt == "json":
        return json.dumps(pins, indent=2, ensure_ascii=True) + "\n"
    return yaml.safe_dump(pins, sort_keys=False, default_flow_style=False, allow_unicode=False)

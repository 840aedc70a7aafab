"""Renderings of a ``resign`` run: ``-o json`` and terminal lines (control characters out)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sealgate.reports.escaping import printable
from sealgate.workflows.audit_targets import UnresolvedImage
from sealgate.workflows.resign import ResignOutcome

__all__ = ["RESIGN_SCHEMA_VERSION", "render_resign_json", "render_resign_lines", "resign_to_dict"]

RESIGN_SCHEMA_VERSION = 1
_STATUSES = ("resigned", "would-resign", "up-to-date", "not-signed-by-old-key", "error")


def resign_to_dict(
    outcomes: Sequence[ResignOutcome], unresolved: Sequence[UnresolvedImage], *, dry_run: bool
) -> dict[str, Any]:
    """The run as the JSON document ``resign -o json`` prints."""
    summary = dict.fromkeys(_STATUSES, 0)
    for outcome in outcomes:
        summary[outcome.status] += 1
    summary["error"] += len(unresolved)
    images = [
        {
            "repository": o.target.repository,
            "digest": o.target.digest,
            "tags": list(o.target.tags),
            "status": o.status,
            "signatures": o.signatures,
            "attestations": o.attestations,
            "detail": o.detail,
        }
        for o in outcomes
    ]
    images += [
        {
            "repository": u.repository,
            "digest": "",
            "tags": [u.tag] if u.tag else [],
            "status": "error",
            "signatures": 0,
            "attestations": 0,
            "detail": u.error.message,
        }
        for u in unresolved
    ]
    return {
        "schemaVersion": RESIGN_SCHEMA_VERSION,
        "dryRun": dry_run,
        "summary": summary,
        "images": images,
    }


def render_resign_json(
    outcomes: Sequence[ResignOutcome], unresolved: Sequence[UnresolvedImage], *, dry_run: bool
) -> str:
    """``resign -o json``: indented, with a trailing newline."""
    return json.dumps(resign_to_dict(outcomes, unresolved, dry_run=dry_run), indent=2) + "\n"


def render_resign_lines(
    outcomes: Sequence[ResignOutcome], unresolved: Sequence[UnresolvedImage]
) -> list[str]:
    """One line per image and a summary; safe for a terminal."""
    lines = []
    for o in outcomes:
        where = f"{o.target.repository}:{','.join(o.target.tags) or '-'} {o.target.digest[:19]}"
        added = ""
        if o.signatures or o.attestations:
            added = f"  +{o.signatures} signature(s), +{o.attestations} attestation(s)"
        lines.append(f"{o.status:<22} {where}{added}{'  ' + o.detail if o.detail else ''}")
    for u in unresolved:
        lines.append(f"{'error':<22} {u.reference}  {u.error.message}")
    counts = resign_to_dict(outcomes, unresolved, dry_run=False)["summary"]
    lines.append(", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no images")
    return [printable(line) for line in lines]

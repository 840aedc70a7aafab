"""Audit renderers: counts, next steps, and hostile registry values in HTML and on terminals."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from sealgate.reports.audit import audit_to_dict, next_steps, render_audit_json, render_audit_lines
from sealgate.reports.audit_html import render_audit_html
from sealgate.workflows.audit import AuditReport, Finding, ImageAudit

EVIL_TAG = "v1<script>document.title='pwned'</script>"
EVIL_ERROR = 'manifest unknown: "><svg onload=alert(1)>'
EVIL_SIGNER = "unverified certificate: '><img src=x onerror=alert(1)>"
ESCAPE = "\x1b]0;title\x07\x1b[31m"
CBOM = "https://cyclonedx.org/bom"


def _report() -> AuditReport:
    trusted_sig = Finding("signature", "legacy", "signature 1", "trusted", "ci.pub")
    sbom = Finding("attestation", "legacy", "attestation 1", "trusted", "ci.pub", CBOM)
    old = Finding("signature", "bundle", "signature 1", "retired", "old.pub")
    stranger = Finding(
        "signature",
        "legacy",
        "signature 1",
        "unknown",
        EVIL_SIGNER + ESCAPE,
        annotations=(("a", ESCAPE),),
    )
    images = (
        ImageAudit("r.example/app", "sha256:" + "1" * 64, ("v1",), "r.example/app:v1",
                   (trusted_sig,), (sbom,)),
        ImageAudit("r.example/app", "sha256:" + "2" * 64, (EVIL_TAG,), "r.example/app:x", (old,)),
        ImageAudit("r.example/db", "sha256:" + "3" * 64, ("1",), "r.example/db:1", (stranger,)),
        ImageAudit("r.example/db", "sha256:" + "4" * 64, ("2",), "r.example/db:2"),
        ImageAudit("r.example/db", "", (EVIL_TAG,), "r.example/db:x", error=EVIL_ERROR),
    )  # fmt: skip
    return AuditReport(("ci.pub",), ("old.pub",), images, datetime(2026, 1, 2, tzinfo=UTC))


def test_counts_per_class_and_repository() -> None:
    doc = audit_to_dict(_report())
    assert doc["summary"] == {
        "images": 5, "signed": 1, "retired": 1, "untrusted": 1, "unsigned": 1, "error": 1,
        "sbom": 1, "noSbom": 3,
    }  # fmt: skip
    assert [(r["repository"], r["images"], r["noSbom"]) for r in doc["repositories"]] == [
        ("r.example/app", 2, 1),
        ("r.example/db", 3, 2),
    ]
    assert json.loads(render_audit_json(_report())) == doc
    kinds = [step.kind for step in next_steps(_report())]
    assert kinds == ["error", "retired", "untrusted", "unsigned", "no-sbom"]
    retired = next(s for s in next_steps(_report()) if s.kind == "retired")
    assert (
        retired.command
        == "sealgate resign --old-key old.pub --key NEW_KEY --repository r.example/app"
    )


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def test_html_escapes_every_registry_value() -> None:
    html = render_audit_html(_report())
    parsed = _Elements()
    parsed.feed(html)
    assert parsed.tags.count("script") == 1  # ours
    assert "img" not in parsed.tags
    assert parsed.handlers == []
    assert "<script>document.title" not in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html
    assert "&lt;svg onload=alert(1)&gt;" in html
    assert "\x1b" in html  # text, harmless in a page; a terminal never sees it (below)
    # The CSP allows our inline script and style by hash, nothing else.
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1)
    assert "unsafe-inline" not in csp.group(1)
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]{44}'", csp.group(1))
    # No external assets: nothing is loaded from anywhere (URLs appear only as text).
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?\w+:""", html)


def test_terminal_lines_carry_no_control_characters() -> None:
    lines = render_audit_lines(_report())
    assert all("\x1b" not in line and "\x07" not in line for line in lines)
    assert any(line.startswith("error") and "manifest unknown" in line for line in lines)
    assert any("]0;title" in line for line in lines)  # the value, its escapes made spaces

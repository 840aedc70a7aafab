"""Report renderers: JSON schema, JUnit XML, Markdown, Azure vso lines, pins, terminal."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import pytest
import yaml
from rich.console import Console

from sealgate import errors
from sealgate.cli.terminal import progress_display, render_table
from sealgate.gate import GateReport, ImageResult, Verdict, apply_bypass, run_gate
from sealgate.reports import (
    REPORT_JSON_SCHEMA,
    pin_map,
    render_json,
    render_junit,
    render_markdown,
    render_pins,
    render_vso,
    vso_escape,
)
from tests.unit.gate.fakes import FakeVerifier, digest, make_env, spec

API = "ghcr.io/acme/api:1.0"
WEB = "ghcr.io/acme/web:2.0"
EVIL = (
    'bad <tag> & "quotes" | pipes ; semi ] bracket\r\n'
    "##vso[task.setvariable variable=x]1 100% \x1b[31m"
)


def report_with_failures(tmp_path: Path, *, soft_fail: bool = False) -> GateReport:
    verifier = FakeVerifier(tags={API: digest(1), WEB: digest(2), "ghcr.io/acme/bug:1": digest(3)})
    verifier.outcomes[f"ghcr.io/acme/web@{digest(2)}"] = errors.NoMatchingSignatures(EVIL)
    images = [spec(API), spec(WEB, line=7), spec("ghcr.io/acme/gone:1", line=9)]
    if not soft_fail:
        verifier.outcomes[f"ghcr.io/acme/bug@{digest(3)}"] = RuntimeError("crash")
        images.append(spec("ghcr.io/acme/bug:1", line=11))
    return run_gate(make_env(tmp_path, soft_fail=soft_fail), images, verifier)


def test_json_report_follows_the_documented_schema(tmp_path: Path) -> None:
    report = report_with_failures(tmp_path)
    data = json.loads(render_json(report))
    jsonschema.Draft202012Validator(REPORT_JSON_SCHEMA).validate(data)
    assert (data["env"], data["tier"], data["softFail"]) == ("app-eu2", "production", False)
    assert (data["decision"], data["exitCode"]) == ("blocked", 2)
    assert data["bypass"] is None
    assert data["summary"] == {"total": 4, "verified": 1, "failed": 3, "skipped": 0, "cached": 0}
    api, web, gone, bug = data["images"]
    assert api == {
        "ref": API,
        "normalized": API,
        "digest": digest(1),
        "pinned": f"{API}@{digest(1)}",
        "verdict": "verified",
        "reason": None,
        "message": "verified",
        "cached": False,
        "source": {
            "file": "deploy/app-versions.yaml",
            "line": 3,
            "path": "services.api",
            "document": 0,
        },
        "sources": [
            {"file": "deploy/app-versions.yaml", "line": 3, "path": "services.api", "document": 0}
        ],
    }
    assert (web["verdict"], web["reason"], web["source"]["line"]) == ("failed", "wrong-key", 7)
    assert (gone["reason"], gone["digest"], gone["pinned"]) == ("not-found", None, None)
    assert bug["reason"] == "internal"


def test_json_report_for_bypass_validates(tmp_path: Path) -> None:
    report = apply_bypass(make_env(tmp_path), [spec(API)], {"COSIGN_VERIFY_DISABLED": "true"})
    assert report is not None
    data = json.loads(render_json(report))
    jsonschema.Draft202012Validator(REPORT_JSON_SCHEMA).validate(data)
    assert data["bypass"]["event"] == "bypass"
    assert data["images"][0]["verdict"] == "skipped"


def test_junit_parses_and_counts(tmp_path: Path) -> None:
    xml_text = render_junit(report_with_failures(tmp_path))
    root = ET.fromstring(xml_text.encode())  # noqa: S314 - our own output
    assert root.tag == "testsuites"
    (suite,) = root
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [API, WEB, "ghcr.io/acme/gone:1", "ghcr.io/acme/bug:1"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "wrong-key"
    assert '<tag> & "quotes"' in (failure.get("message") or "")
    assert "\x1b" not in xml_text
    assert cases[1].get("file") == "deploy/app-versions.yaml" and cases[1].get("line") == "7"
    error = cases[3].find("error")
    assert error is not None and error.get("type") == "internal"
    props = {p.get("name"): p.get("value") for p in suite.find("properties") or []}
    assert props == {
        "env": "app-eu2",
        "tier": "production",
        "softFail": "false",
        "decision": "blocked",
        "exitCode": "2",
    }


def test_junit_for_bypass_and_refused_bypass(tmp_path: Path) -> None:
    bypass = apply_bypass(make_env(tmp_path), [spec(API)], {"COSIGN_VERIFY_DISABLED": "true"})
    assert bypass is not None
    suite = ET.fromstring(render_junit(bypass))[0]  # noqa: S314 - our own output
    assert suite.get("skipped") == "1" and suite.get("failures") == "0"
    assert "EMERGENCY BYPASS" in (suite.findtext("system-out") or "")

    refused = apply_bypass(
        make_env(tmp_path, allow_bypass=False), [spec(API)], {"COSIGN_VERIFY_DISABLED": "1"}
    )
    assert refused is not None
    suite = ET.fromstring(render_junit(refused))[0]  # noqa: S314 - our own output
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert suite.findall("testcase")[-1].find("failure").get("type") == "bypass-forbidden"  # type: ignore[union-attr]


def test_markdown_escapes_cells(tmp_path: Path) -> None:
    text = render_markdown(report_with_failures(tmp_path))
    assert text.startswith("## ⛔ sealgate gate: app-eu2: blocked")
    rows = [line for line in text.splitlines() if line.startswith("| ghcr.io")]
    assert len(rows) == 4
    web_row = rows[1]
    assert web_row.count(" | ") == 4  # the pipe in the message is escaped, not a new column
    assert "&lt;tag&gt; &amp;" in web_row and "\\|" in web_row
    assert "<tag>" not in text


def test_markdown_for_bypass_embeds_the_record(tmp_path: Path) -> None:
    report = apply_bypass(make_env(tmp_path), [spec(API)], {"COSIGN_VERIFY_DISABLED": "true"})
    assert report is not None
    text = render_markdown(report)
    assert (
        "🚨" in text
        and "<details><summary>Bypass audit record" in text
        and '"event": "bypass"' in text
    )


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a;b", "a%3Bb"),
        ("a]b", "a%5Db"),
        ("a\rb", "a%0Db"),
        ("a\nb", "a%0Ab"),
        ("100%", "100%AZP25"),
        ("%3B", "%AZP253B"),  # an already-escaped-looking value stays literal
    ],
)
def test_vso_escape(raw: str, escaped: str) -> None:
    assert vso_escape(raw) == escaped


def test_vso_lines_are_single_line_and_carry_sources(tmp_path: Path) -> None:
    lines = render_vso(report_with_failures(tmp_path))
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert all(line.startswith("##vso[") for line in lines)
    web = next(line for line in lines if "acme/web" in line)
    props, message = web[len("##vso[task.logissue ") :].split("]", 1)
    assert props == "type=error;sourcepath=deploy/app-versions.yaml;linenumber=7;code=wrong-key"
    assert "##vso[" in message  # only as text: it cannot start a new line
    assert "##vso%5Btask.setvariable" not in message  # "]" is escaped inside the message too
    assert "variable=x%5D1" in message and "%3B" in message and "%AZP25" in message
    assert "\x1b" not in message
    assert not any("SucceededWithIssues" in line for line in lines)


def test_vso_multi_line_warnings_stay_one_command(tmp_path: Path) -> None:
    report = apply_bypass(make_env(tmp_path), [spec(API)], {"COSIGN_VERIFY_DISABLED": "true"})
    assert report is not None
    lines = render_vso(report)
    banner = next(line for line in lines if "EMERGENCY BYPASS" in line)
    assert banner.startswith("##vso[task.logissue type=warning]") and "%0A" in banner
    assert lines[-1].startswith("##vso[task.complete result=SucceededWithIssues;]")


def test_vso_soft_fail_is_warning_with_issues(tmp_path: Path) -> None:
    lines = render_vso(report_with_failures(tmp_path, soft_fail=True))
    issues = [line for line in lines if "logissue" in line]
    assert issues and all("type=warning" in line for line in issues)
    assert lines[-1].startswith("##vso[task.complete result=SucceededWithIssues;]")


def test_vso_refused_bypass_is_an_error(tmp_path: Path) -> None:
    refused = apply_bypass(
        make_env(tmp_path, allow_bypass=False), [spec(API)], {"COSIGN_VERIFY_DISABLED": "1"}
    )
    assert refused is not None
    assert any("type=error" in line and "bypass forbidden" in line for line in render_vso(refused))


def test_pins_only_for_images_the_deploy_may_run(tmp_path: Path) -> None:
    blocked = report_with_failures(tmp_path)
    assert pin_map(blocked) == {API: f"{API}@{digest(1)}"}
    soft = report_with_failures(tmp_path, soft_fail=True)
    assert pin_map(soft) == {API: f"{API}@{digest(1)}", WEB: f"{WEB}@{digest(2)}"}
    assert yaml.safe_load(render_pins(soft)) == pin_map(soft)
    assert json.loads(render_pins(soft, "json")) == pin_map(soft)
    bypass = apply_bypass(make_env(tmp_path), [spec(API)], {"COSIGN_VERIFY_DISABLED": "true"})
    assert bypass is not None and pin_map(bypass) == {}


def test_terminal_table_shows_text_literally(tmp_path: Path) -> None:
    verifier = FakeVerifier(tags={API: digest(1)})
    verifier.outcomes[f"ghcr.io/acme/api@{digest(1)}"] = Verdict.failed(
        "unsigned", "[bold red]not markup[/]"
    )
    report = run_gate(make_env(tmp_path, soft_fail=True), [spec(API)], verifier)
    out = io.StringIO()
    render_table(report, Console(file=out, width=250, color_system=None))
    text = out.getvalue()
    assert API in text and "[bold red]not markup[/]" in text
    assert "soft-fail:" in text and "(exit 0)" in text


def test_terminal_shows_bypass_banner(tmp_path: Path) -> None:
    report = apply_bypass(make_env(tmp_path), [spec(API)], {"COSIGN_VERIFY_DISABLED": "true"})
    assert report is not None
    out = io.StringIO()
    render_table(report, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert text.count("EMERGENCY BYPASS") == 1 and "bypassed:" in text


def test_progress_display_is_silent_off_a_terminal(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    result = ImageResult(spec(API), Verdict.verified(digest(1)))
    with progress_display(console, total=1) as progress:
        progress(1, 1, result)
    assert out.getvalue() == ""
    tty = Console(file=io.StringIO(), force_terminal=True, width=100)
    with progress_display(tty, total=2) as progress:
        progress(1, 2, result)
        progress(2, 2, result)

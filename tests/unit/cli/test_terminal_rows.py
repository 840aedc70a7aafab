"""Large reports list only the images that did not verify, and count the rest."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from sealgate.cli.terminal import MAX_TABLE_ROWS, render_table
from sealgate.gate import GateReport, ImageResult, ImageSpec, Verdict
from sealgate.oci import Reference


def _report(n: int, failed: set[int]) -> GateReport:
    results = []
    for i in range(n):
        ref = Reference.parse(f"registry.example/app/svc{i}:1.0")
        digest = "sha256:" + f"{i:064x}"
        verdict = (
            Verdict.failed("unsigned", "no signatures found", digest)
            if i in failed
            else Verdict.verified(digest)
        )
        results.append(ImageResult(ImageSpec(ref=ref, text=str(ref)), verdict))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return GateReport(
        environment="prod",
        tier="production",
        soft_fail=False,
        decision="blocked" if failed else "verified",
        exit_code=2 if failed else 0,
        results=tuple(results),
        started_at=now,
        finished_at=now,
        message="m",
    )


def _render(report: GateReport) -> str:
    out = io.StringIO()
    render_table(report, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def test_small_report_lists_every_image() -> None:
    text = _render(_report(3, {1}))
    assert all(f"svc{i}:1.0" in text for i in range(3))
    assert "not listed" not in text


def test_large_report_lists_failures_and_counts_verified() -> None:
    n = MAX_TABLE_ROWS + 30
    text = _render(_report(n, {7, 70}))
    assert "svc7:1.0" in text and "svc70:1.0" in text
    assert "svc8:1.0" not in text
    assert f"{n - 2} verified image(s) not listed" in text


def test_a_long_image_reference_is_one_line_in_a_ci_log() -> None:
    from sealgate.cli.terminal import gate_console

    long_ref = Reference.parse("registry.example/" + "team/" * 20 + "service:1.0")
    report = _report(1, {0})
    report = GateReport(
        **{
            **report.__dict__,
            "results": (
                ImageResult(
                    ImageSpec(ref=long_ref, text=str(long_ref)),
                    Verdict.failed("unsigned", "no signatures found", "sha256:" + "0" * 64),
                ),
            ),
        }
    )
    console = gate_console(stderr=False)
    console.file = io.StringIO()
    render_table(report, console)
    output = console.file.getvalue()
    assert any(str(long_ref) in line for line in output.splitlines()), output

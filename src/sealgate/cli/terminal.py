"""Human output for the gate on the terminal: a rich table, the bypass banner, a progress bar.

User-controlled text (references, messages, file names) is always passed to rich as
:class:`rich.text.Text`, never as markup, so ``[bold]`` in a tag cannot restyle the output.
The CLI owns the console (``Console(stderr=True)`` keeps stdout for ``--output json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from sealgate.gate import GateReport, ImageResult, ProgressCallback, bypass_banner

__all__ = ["gate_console", "progress_display", "render_table"]

_STYLE = {"verified": "green", "failed": "red", "skipped": "yellow"}
_DECISION_STYLE = {
    "verified": "bold green",
    "soft-fail": "bold yellow",
    "blocked": "bold red",
    "bypassed": "bold white on red",
    "bypass-forbidden": "bold red",
}


def _noop(done: int, total: int, result: ImageResult) -> None:
    del done, total, result


@contextmanager
def progress_display(
    console: Console, *, total: int | None = None, description: str = "verifying images"
) -> Iterator[ProgressCallback]:
    """Yield a progress callback for :func:`~sealgate.gate.run_gate`.

    On a terminal it drives a transient rich progress bar; elsewhere (CI logs, pipes) it
    does nothing, so logs stay clean.

    Args:
        console: Where to draw (usually stderr).
        total: Expected image count, if known before the run.
        description: Label shown before the bar.

    Yields:
        ``progress(done, total, result)``.
    """
    if not console.is_terminal:
        yield _noop
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)

        def update(done: int, count: int, result: ImageResult) -> None:
            del result
            progress.update(task, completed=done, total=count)

        yield update


#: Rows listed in full; larger reports list only the images that did not verify.
MAX_TABLE_ROWS = 50


#: Width of the console when it is not a terminal: CI logs do not wrap, so neither do we.
LOG_WIDTH = 400


def gate_console(*, stderr: bool) -> Console:
    """The console for gate output: the terminal's width, or unwrapped lines in a log."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=LOG_WIDTH)
    return console


def render_table(report: GateReport, console: Console) -> None:
    """Print the per-image table, warnings, banner and the decision line."""
    banner = bypass_banner(report.bypass) if report.bypass is not None else None
    if banner is not None:
        console.print(Panel(Text(banner), title="sealgate", style="bold white on red"))
    table = Table(title=Text(f"sealgate gate: {report.environment} ({report.tier})"), expand=False)
    for column in ("Image", "Digest", "Verdict", "Reason", "Source"):
        # In a CI log nothing reflows: a wrapped image reference cannot be searched or copied.
        table.add_column(column, overflow="fold" if console.is_terminal else "ignore")
    # Past a screenful, verified rows only hide the failures (and cost most of a warm run to
    # lay out): show every non-verified row and count the verified ones.
    shown = report.results
    hidden = 0
    if len(report.results) > MAX_TABLE_ROWS:
        shown = tuple(r for r in report.results if not r.verdict.ok)
        hidden = len(report.results) - len(shown)
    for result in shown:
        verdict = result.verdict
        digest = verdict.digest or result.image.ref.digest or ""
        label = verdict.status + (" (cached)" if verdict.cached else "")
        detail = "" if verdict.ok else f"{verdict.reason}: {verdict.message}"
        source = result.image.source
        table.add_row(
            Text(result.image.text),
            Text(digest[:19]),
            Text(label, style=_STYLE[verdict.status]),
            Text(detail),
            Text(f"{source.file}:{source.line}" if source else ""),
        )
    if shown:
        console.print(table)
    if hidden:
        console.print(
            Text(f"{hidden} verified image(s) not listed; --output json or --junit lists all")
        )
    for warning in report.warnings:
        if warning == banner:
            continue
        console.print(Text("warning: ", style="yellow") + Text(warning))
    console.print(
        Text(f"{report.decision}: ", style=_DECISION_STYLE[report.decision])
        + Text(f"{report.message} (exit {report.exit_code})")
    )

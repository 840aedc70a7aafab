"""Human output on the terminal: the gate's rich table and bypass banner, and progress bars.

User-controlled text (references, messages, file names) is always passed to rich as
:class:`rich.text.Text`, never as markup, so ``[bold]`` in a tag cannot restyle the output.
The CLI owns the console (``Console(stderr=True)`` keeps stdout for ``--output json``).

rich is imported inside the functions, and :func:`progress_display` imports it only when
standard error is a terminal: commands run in CI never pay for it, and ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console

    from sealgate.gate import GateReport

__all__ = [
    "ProgressUpdate",
    "draws_progress",
    "gate_console",
    "progress_display",
    "render_table",
]

_STYLE = {"verified": "green", "failed": "red", "skipped": "yellow"}
_DECISION_STYLE = {
    "verified": "bold green",
    "soft-fail": "bold yellow",
    "blocked": "bold red",
    "bypassed": "bold white on red",
    "bypass-forbidden": "bold red",
}

#: TERM values of terminals that cannot move the cursor (Emacs shells, some CI consoles).
_DUMB_TERMS = frozenset({"dumb", "unknown"})


class ProgressUpdate(Protocol):
    """``update(done, total, *details)``: ``done`` of ``total`` steps are finished.

    Extra positional details (the gate passes each image's result) are ignored, so the
    same callback serves :data:`sealgate.gate.ProgressCallback` and the workflows' hooks.
    """

    def __call__(self, done: int, total: int, /, *details: object) -> None: ...


def _noop(done: int, total: int, /, *details: object) -> None:
    del done, total, details


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):  # closed, replaced by a StringIO, no fd
        return False


def draws_progress(stream: IO[str] | None = None) -> bool:
    """Whether a progress bar may be drawn on ``stream`` (default: standard error).

    Only a real terminal that can move the cursor: not a pipe or a file (CI logs), not
    ``TERM=dumb``. ``FORCE_COLOR`` (set in CI to colour logs) does not count: it makes rich
    call a pipe a terminal, and a bar redrawn into a log is noise. ``NO_COLOR`` still draws
    the bar, without colour (rich honours it).
    """
    if os.environ.get("TERM", "") in _DUMB_TERMS:
        return False
    return _isatty(sys.stderr if stream is None else stream)


@contextmanager
def progress_display(
    console: Console | None = None,
    *,
    total: int | None = None,
    description: str = "verifying images",
) -> Iterator[ProgressUpdate]:
    """Yield a progress callback: a transient rich bar on a terminal, nothing elsewhere.

    Lines printed to standard error while the bar is up appear above it; standard output
    is routed the same way only when it is that terminal too (a redirected ``> out.json``
    is never touched). The bar disappears when the block ends.

    Args:
        console: Where to draw; default a new console on standard error, created (and rich
            imported) only if :func:`draws_progress` says a bar may be drawn.
        total: Expected step count, if known before the run; else a spinner until the
            first update.
        description: Label shown before the bar.

    Yields:
        ``update(done, total, *details)``.
    """
    if console is None:
        if not draws_progress():
            yield _noop
            return
        from rich.console import Console

        # soft_wrap: a long reference printed above the bar is not cut by hard newlines.
        console = Console(stderr=True, soft_wrap=True)
    if not console.is_terminal or console.is_dumb_terminal or not draws_progress(console.file):
        yield _noop
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # a label may hold a reference
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        redirect_stdout=_isatty(sys.stdout),
    ) as progress:
        task = progress.add_task(description, total=total)

        def update(done: int, count: int, /, *details: object) -> None:
            del details
            progress.update(task, completed=done, total=count)

        yield update


#: Rows listed in full; larger reports list only the images that did not verify.
MAX_TABLE_ROWS = 50


#: Width of the console when it is not a terminal: CI logs do not wrap, so neither do we.
LOG_WIDTH = 400


def gate_console(*, stderr: bool) -> Console:
    """The console for gate output: the terminal's width, or unwrapped lines in a log."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=LOG_WIDTH)
    return console


def render_table(report: GateReport, console: Console) -> None:
    """Print the per-image table, warnings, banner and the decision line."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from sealgate.gate import bypass_banner

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

"""The progress helper: a bar on a real terminal, nothing (not even rich) anywhere else."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import IO

import pytest
from rich.console import Console

from sealgate.cli.terminal import draws_progress, progress_display


@pytest.fixture
def terminal() -> Iterator[tuple[int, IO[str]]]:
    """A pseudo-terminal: the master fd to read from, and the slave as a text stream."""
    master, slave = os.openpty()
    stream = os.fdopen(slave, "w", encoding="utf-8")
    try:
        yield master, stream
    finally:
        stream.close()
        os.close(master)


def _received(master: int, stream: IO[str]) -> str:
    """Everything written to the terminal: closing the slave ends the master with EIO."""
    stream.close()
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every byte written before the close has been read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_pipe_or_a_string_buffer_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    assert not draws_progress(io.StringIO())
    read, write = os.pipe()
    with os.fdopen(read) as reader, os.fdopen(write, "w") as writer:
        assert not draws_progress(writer)
        del reader


def test_a_terminal_draws_unless_term_is_dumb(
    terminal: tuple[int, IO[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stream = terminal
    monkeypatch.setenv("TERM", "xterm-256color")
    assert draws_progress(stream)
    for dumb in ("dumb", "unknown"):
        monkeypatch.setenv("TERM", dumb)
        assert not draws_progress(stream)


def test_bar_on_a_terminal_counts_and_accepts_gate_details(
    terminal: tuple[int, IO[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    master, stream = terminal
    monkeypatch.setenv("TERM", "xterm-256color")
    console = Console(file=stream, force_terminal=True, width=100)
    with progress_display(console, total=3, description="testing bars") as update:
        update(1, 3)
        update(3, 3, object())  # the gate passes each image's result as well
    received = _received(master, stream)
    assert "testing bars" in received and "3/3" in received and "━" in received


def test_no_color_still_draws_the_bar_without_colour(
    terminal: tuple[int, IO[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    master, stream = terminal
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    console = Console(file=stream, force_terminal=True, width=100)
    with progress_display(console, total=2, description="plain") as update:
        update(2, 2)
    received = _received(master, stream)
    assert "plain" in received and "2/2" in received
    assert "\x1b[38;" not in received and "\x1b[32m" not in received  # no foreground colour


def test_forced_terminal_that_is_a_buffer_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # FORCE_COLOR in CI makes rich call a log a terminal: a bar there is noise.
    monkeypatch.setenv("TERM", "xterm-256color")
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True)
    assert console.is_terminal
    with progress_display(console, total=2) as update:
        update(2, 2)
    assert buffer.getvalue() == ""


def test_without_a_terminal_rich_is_never_imported() -> None:
    # Start-up stays light in CI: with stderr a pipe, the helper must not load rich.
    script = (
        "import sys\n"
        "from sealgate.cli.terminal import progress_display\n"
        "with progress_display(total=2, description='x') as update:\n"
        "    update(2, 2)\n"
        "print('rich' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False", done.stderr
    assert done.stderr == ""


def test_a_label_is_shown_as_written_never_as_markup(
    terminal: tuple[int, IO[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # copy's label holds the image reference, which the user typed.
    master, stream = terminal
    monkeypatch.setenv("TERM", "xterm-256color")
    console = Console(file=stream, force_terminal=True, width=100)
    with progress_display(console, description="copying [bold]x[/bold]") as update:
        update(1, 1)
    assert "copying [bold]x[/bold]" in _received(master, stream)

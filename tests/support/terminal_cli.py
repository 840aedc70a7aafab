"""Run the real ``sealgate`` as a child process with standard error on a pseudo-terminal.

The in-process runner (:mod:`tests.support.cli`) captures stderr in a ``StringIO``, which
is never a terminal; progress bars are drawn only on one, so these tests need a real pty.
Standard output stays a pipe, as in ``sealgate verify ... > out.json``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.cli import _SCRUBBED

#: Variables that change how rich decides what a terminal is; each test sets what it means.
_TERMINAL_VARIABLES = ("TERM", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")

#: A command that has not finished by then is hung: fail instead of blocking the suite.
_HANG_SECONDS = 120


@dataclass(frozen=True)
class ChildResult:
    code: int
    out: str
    err: str


def _environment(env: Mapping[str, str], home: Path) -> dict[str, str]:
    scrubbed = set(_SCRUBBED) | set(_TERMINAL_VARIABLES)
    environ = {k: v for k, v in os.environ.items() if k not in scrubbed}
    environ.update(HOME=str(home), DOCKER_CONFIG=str(home / ".docker"), COLUMNS="200")
    environ.update(env)
    return environ


def _drain(master: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal's last open end
            return
        if not chunk:
            return
        into.append(chunk)


def run_child(
    args: Sequence[str], env: Mapping[str, str], *, home: Path, terminal: bool
) -> ChildResult:
    """``python -m sealgate.cli ARGS``; stderr on a pty if ``terminal``, else a pipe."""
    environ = _environment(env, home)
    command = [sys.executable, "-m", "sealgate.cli", *args]
    if not terminal:
        done = subprocess.run(
            command, env=environ, capture_output=True, timeout=_HANG_SECONDS, check=False
        )
        return ChildResult(done.returncode, done.stdout.decode(), done.stderr.decode())
    master, slave = os.openpty()
    chunks: list[bytes] = []
    try:
        with subprocess.Popen(
            command,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
        ) as child:
            os.close(slave)
            slave = -1
            reader = threading.Thread(target=_drain, args=(master, chunks), daemon=True)
            reader.start()
            out, _ = child.communicate(timeout=_HANG_SECONDS)
            reader.join(timeout=_HANG_SECONDS)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return ChildResult(child.returncode, out.decode(), b"".join(chunks).decode("utf-8", "replace"))

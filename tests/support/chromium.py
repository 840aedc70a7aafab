"""Headless Chromium for report tests: screenshots, and JavaScript over the DevTools protocol.

The DevTools protocol is spoken over ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-terminated JSON messages), so no port is opened and no WebSocket library is needed.
Every wait is bounded: a hung browser fails the test, never hangs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_TIMEOUT_S = 60.0


def chromium_binary() -> str:
    """The Debian ``chromium`` binary; a test that needs it fails when it is missing."""
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium not installed (run ./scripts/setup.sh)")
    return found


def screenshot(page: Path, png: Path, *, width: int = 1300, height: int = 1000) -> None:
    """Render ``page`` and save a PNG of the viewport."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium_binary(),
                *_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=_TIMEOUT_S,
        )
    assert png.stat().st_size > 1000, "empty screenshot"


def _high_pipe_end(ends: tuple[int, int], which: int) -> tuple[int, int]:
    """Move the child's end of a pipe above fd 9, so moving it to 3 or 4 clobbers nothing."""
    child = fcntl.fcntl(ends[which], fcntl.F_DUPFD, 10)
    os.close(ends[which])
    return (child, ends[1 - which])


class DevTools:
    """A headless Chromium with one page open, driven over the DevTools pipe."""

    def __init__(self, page: Path) -> None:
        self._profile = tempfile.TemporaryDirectory()
        # The browser's log, shown when it dies: where a failure to start is explained.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        to_browser_r, self._to_browser = _high_pipe_end(os.pipe(), 0)
        from_browser_w, self._from_browser = _high_pipe_end(os.pipe()[::-1], 0)
        command = " ".join(
            [
                chromium_binary(),
                *_FLAGS,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-pipe",
                "about:blank",
            ]
        )
        script = (
            f"exec 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-; "
            f"exec {command}"
        )
        # bash, not sh: dash cannot redirect descriptors above 9.
        self._process = subprocess.Popen(
            ["/bin/bash", "-c", script],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        target = self.call("Target.createTarget", {"url": page.as_uri()})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]
        deadline = time.monotonic() + _TIMEOUT_S
        loaded = f"location.href === {json.dumps(page.as_uri())} && document.readyState"
        while self.evaluate(loaded) != "complete":
            assert time.monotonic() < deadline, "page did not load"
            time.sleep(0.05)

    def call(self, method: str, params: dict[str, Any], session: str | None = None) -> Any:
        """Send one command and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + _TIMEOUT_S
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self._next_id:
                    assert "error" not in answer, answer["error"]
                    return answer["result"]
            left = deadline - time.monotonic()
            assert left > 0, f"no answer to {method}"
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                assert chunk, f"browser closed the pipe: {self._tail()}"
                self._buffer += chunk

    def _tail(self) -> str:
        self._log.seek(0)
        return self._log.read()[-2000:].decode("utf-8", "replace")

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page; return its JSON value."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True},
            session=self._session,
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.call("Browser.close", {})
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._log.close()
        self._profile.cleanup()

    def __enter__(self) -> DevTools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

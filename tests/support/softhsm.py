"""A real SoftHSM2 token in a temporary directory, for PKCS#11 key tests.

``softhsm2-util --init-token`` initialises a token in a temp ``SOFTHSM2_CONF``; tests talk to
it through the Debian module ``libsofthsm2.so``, exactly as they would to a hardware token.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Where Debian's softhsm2 package installs the PKCS#11 module.
MODULE_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
)
USER_PIN = "246810"
SO_PIN = "13579111"


@dataclass(frozen=True)
class SoftHsm:
    """An initialised token."""

    conf: Path
    module: Path
    label: str

    @property
    def env(self) -> dict[str, str]:
        """The environment a process needs to see this token."""
        return {"SOFTHSM2_CONF": str(self.conf)}

    def uri(self, key: str, *, pin: str | None = USER_PIN, extra: str = "") -> str:
        """``pkcs11:token=<label>;object=<key>?module-path=...[&pin-value=...]``."""
        query = f"module-path={self.module}"
        if pin is not None:
            query += f"&pin-value={pin}"
        return f"pkcs11:token={self.label};object={key}?{query}{extra}"


def start_softhsm(directory: Path, label: str = "sealgate-test") -> SoftHsm:
    """Initialise a fresh token under ``directory`` (fails the test if SoftHSM is missing)."""
    util = shutil.which("softhsm2-util")
    module = next((m for m in MODULE_CANDIDATES if m.is_file()), None)
    if util is None or module is None:
        pytest.fail("softhsm2 not installed (run ./scripts/setup.sh)")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", USER_PIN, "--so-pin", SO_PIN],
        env={"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return SoftHsm(conf, module, label)

"""sigstore-conformance ``bundle-verify`` through ``sealgate verify-blob``: the real pipeline.

Every case directory of the vendored conformance suite runs through the CLI as the
conformance client protocol drives a client: ``--bundle``, the identity and issuer (or
``--key``), ``--trusted-root``, and the artifact. A ``_fail`` case must fail with a clean
verification error (never exit 0, never 70); every other must verify.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.interop.test_sigstore_conformance import (
    BASE,
    CASES,
    DEFAULT_IDENTITY,
    DEFAULT_ISSUER,
    PRODUCTION_ROOT,
)
from tests.support.cli import run


def _args(case: Path) -> list[str]:
    def read(name: str, default: str) -> str:
        path = case / name
        return path.read_text().strip() if path.exists() else default

    root = case / "trusted_root.json"
    args = ["verify-blob", "--bundle", str(case / "bundle.sigstore.json")]
    args += ["--trusted-root", str(root if root.exists() else PRODUCTION_ROOT)]
    key = case / "key.pub"
    if key.exists():
        args += ["--key", str(key)]
    else:
        args += ["--certificate-identity", read("identity", DEFAULT_IDENTITY)]
        args += ["--certificate-oidc-issuer", read("issuer", DEFAULT_ISSUER)]
    return args


def _artifact(case: Path) -> Path:
    artifact = case / "artifact"
    return artifact if artifact.exists() else BASE / "a.txt"


@pytest.mark.parametrize("name", CASES)
def test_case_through_verify_blob(name: str) -> None:
    case = BASE / name
    result = run([*_args(case), str(_artifact(case))])
    assert "Traceback" not in result.err
    if name.endswith("_fail"):
        assert result.code not in (0, 70), result.err
        assert result.err.startswith("error: ")
    else:
        assert result.code == 0, result.err
        assert "Verified OK" in result.err


def test_count_of_cases() -> None:
    # The report's figure: every case of the suite runs, none is skipped.
    assert len(CASES) == 70
    assert sum(1 for name in CASES if name.endswith("_fail")) == 49


@pytest.mark.parametrize(
    "name", ["happy-path-v0.3", "happy-path-intoto-in-dsse-v3", "rekor2-happy-path"]
)
def test_verify_by_digest_alone(name: str) -> None:
    case = BASE / name
    digest = "sha256:" + hashlib.sha256(_artifact(case).read_bytes()).hexdigest()
    result = run([*_args(case), digest])
    assert result.code == 0, result.err
    wrong = "sha256:" + "0" * 64
    assert run([*_args(case), wrong]).code not in (0, 70)

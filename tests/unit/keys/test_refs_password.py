"""Key references (paths, env://) and the password source order."""

from __future__ import annotations

import getpass
import io
import sys
from pathlib import Path

import pytest

from sealgate.errors import KeyMaterialError, UsageError
from sealgate.keys import (
    MAX_KEY_BYTES,
    generate_key_pair,
    load_signer,
    load_verifier,
    password_from_env_or_prompt,
    read_key_ref,
)
from tests.unit.keys.helpers import PASSWORD


def test_file_and_env_refs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private_pem, public_pem = generate_key_pair(PASSWORD)
    (tmp_path / "cosign.key").write_bytes(private_pem)
    (tmp_path / "cosign.pub").write_bytes(public_pem)
    signer = load_signer(str(tmp_path / "cosign.key"), lambda: PASSWORD)
    load_verifier(str(tmp_path / "cosign.pub")).verify(signer.sign(b"d"), b"d")

    monkeypatch.setenv("SEALGATE_TEST_PUB", public_pem.decode())
    monkeypatch.setenv("SEALGATE_TEST_KEY", private_pem.decode())
    assert read_key_ref("env://SEALGATE_TEST_PUB") == public_pem
    signer = load_signer("env://SEALGATE_TEST_KEY", lambda: PASSWORD)
    load_verifier("env://SEALGATE_TEST_PUB").verify(signer.sign(b"e"), b"e")


def test_env_ref_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEALGATE_TEST_MISSING", raising=False)
    with pytest.raises(KeyMaterialError, match=r"^env var \$SEALGATE_TEST_MISSING not found$"):
        read_key_ref("env://SEALGATE_TEST_MISSING")
    with pytest.raises(UsageError):
        read_key_ref("env://")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.pub"
    with pytest.raises(KeyMaterialError, match=r"nope\.pub"):
        load_verifier(str(path))
    with pytest.raises(KeyMaterialError, match=r"key file .*: is a directory"):
        read_key_ref(str(tmp_path))  # a directory


def test_huge_file_capped(tmp_path: Path) -> None:
    path = tmp_path / "huge.key"
    with path.open("wb") as handle:
        handle.truncate(1024 * 1024 * 1024)  # sparse: 1 GiB on paper, nothing on disk
    with pytest.raises(KeyMaterialError, match="larger than"):
        load_signer(str(path), lambda: PASSWORD)
    path.write_bytes(b"x" * MAX_KEY_BYTES)
    assert len(read_key_ref(str(path))) == MAX_KEY_BYTES


@pytest.mark.parametrize(
    "ref", ["k8s://ns/secret", "https://example.com/key.pub", "awskms:///alias"]
)
def test_unsupported_schemes(ref: str) -> None:
    with pytest.raises(UsageError, match="not supported"):
        read_key_ref(ref)


def test_pkcs11_reference_is_not_read_as_key_material() -> None:
    with pytest.raises(UsageError, match="key in a token"):
        read_key_ref("pkcs11:token=x;object=y")


def test_password_env_set_even_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    monkeypatch.setattr(getpass, "getpass", _no_prompt)
    assert password_from_env_or_prompt(confirm=True) == b""
    monkeypatch.setenv("COSIGN_PASSWORD", "s3cret")
    assert password_from_env_or_prompt(confirm=False) == b"s3cret"


def _no_prompt(prompt: str = "") -> str:
    raise AssertionError("must not prompt")


class _FakeStdin(io.TextIOWrapper):
    def __init__(self, data: bytes, tty: bool) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_password_from_non_tty_stdin_keeps_newline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    monkeypatch.setattr(getpass, "getpass", _no_prompt)
    monkeypatch.setattr(sys, "stdin", _FakeStdin(b"pw from pipe\n", tty=False))
    assert password_from_env_or_prompt(confirm=True) == b"pw from pipe\n"


def test_password_stdin_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", _FakeStdin(b"x" * (2 * 1024 * 1024), tty=False))
    with pytest.raises(UsageError, match="larger than 1 MiB"):
        password_from_env_or_prompt(confirm=False)


def test_password_prompt_and_confirm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", _FakeStdin(b"", tty=True))
    prompts: list[str] = []
    answers = iter(["one", "one", "one", "two"])

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    assert password_from_env_or_prompt(confirm=True) == b"one"
    assert prompts == ["Enter password for private key: ", "Enter password for private key again: "]
    with pytest.raises(UsageError, match=r"^passwords do not match$") as info:
        password_from_env_or_prompt(confirm=True)
    assert "two" not in str(info.value)

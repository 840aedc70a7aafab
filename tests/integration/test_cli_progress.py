"""Progress bars of sign, verify, attest, verify-attestation, copy and sbom.

Each command runs as a real child process against the real registry, once with standard
error on a pseudo-terminal (a bar is drawn: its label, its ``done/total`` count and rich's
bar glyph appear in what the terminal received) and once with pipes, as in a CI log
(no bar, no escape sequence at all). Standard output stays a pipe in both runs, and what
the command writes there is unchanged by the bar.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealgate.oci import RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.images import build_image, index_of, push_image, push_index
from tests.support.terminal_cli import ChildResult, run_child

_ENV = {"COSIGN_PASSWORD": PASSWORD, "TERM": "xterm-256color"}
#: rich's bar glyph: present only where a bar was drawn.
_BAR = "━"
_ESC = "\x1b"


def _images(client: RegistryClient, registry: RunningRegistry, repo: str, count: int) -> list[str]:
    refs = [registry.ref(repo, f"v{n}") for n in range(count)]
    for ref in refs:
        push_image(client, ref, build_image(layers=3))
    return [str(ref) for ref in refs]


def _sign(images: list[str], key: Path, home: Path) -> None:
    signed = run_child(["sign", "--key", str(key), "-y", *images], _ENV, home=home, terminal=False)
    assert signed.code == 0, signed.err


def _assert_bar(result: ChildResult, label: str, count: str) -> None:
    assert result.code == 0, result.err
    assert _BAR in result.err, result.err
    assert label in result.err and count in result.err, result.err


def _assert_quiet(result: ChildResult, label: str) -> None:
    assert result.code == 0, result.err
    assert _ESC not in result.err and _BAR not in result.err, result.err
    assert label not in result.err, result.err


def test_sign_draws_a_bar_on_a_terminal_only(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    images = _images(client, registry, repo, 3)
    args = ["sign", "--key", str(keys["first"]), "-y", *images]
    on_terminal = run_child(args, _ENV, home=tmp_path, terminal=True)
    _assert_bar(on_terminal, "signing", "3/3")
    # Lines printed while the bar is up still reach the terminal, once per image.
    assert on_terminal.err.count("Pushing signature to") == 3, on_terminal.err
    in_log = run_child(args, _ENV, home=tmp_path, terminal=False)
    _assert_quiet(in_log, "signing")
    assert in_log.err.count("Signature already present on") == 3, in_log.err


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_verify_bar_leaves_standard_output_alone(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
    terminal: bool,
) -> None:
    images = _images(client, registry, repo, 3)
    _sign(images, keys["first"], tmp_path)
    args = ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog", *images]
    result = run_child(args, _ENV, home=tmp_path, terminal=terminal)
    if terminal:
        _assert_bar(result, "verifying signatures", "3/3")
    else:
        _assert_quiet(result, "verifying signatures")
    # The JSON of each image, on standard output (a pipe), never routed through the bar.
    documents = [json.loads(line) for line in result.out.splitlines() if line.strip()]
    assert len(documents) == 3
    assert _ESC not in result.out and _BAR not in result.out


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_attest_and_verify_attestation_bars(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
    terminal: bool,
) -> None:
    images = _images(client, registry, repo, 2)
    predicate = tmp_path / "predicate.json"
    predicate.write_text(json.dumps({"built": "yes"}))
    attest = ["attest", "--key", str(keys["first"]), "-y", "--predicate", str(predicate)]
    attested = run_child([*attest, images[0]], _ENV, home=tmp_path, terminal=terminal)
    assert "Attestation pushed to" in attested.err, attested.err
    assert run_child([*attest, images[1]], _ENV, home=tmp_path, terminal=False).code == 0
    verify = ["verify-attestation", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog"]
    verified = run_child([*verify, *images], _ENV, home=tmp_path, terminal=terminal)
    if terminal:
        _assert_bar(attested, "attesting", "1/1")
        _assert_bar(verified, "verifying attestations", "2/2")
    else:
        _assert_quiet(attested, "attesting")
        _assert_quiet(verified, "verifying attestations")
    assert len(verified.out.splitlines()) == 2


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_sbom_counts_layers_of_every_platform(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path, terminal: bool
) -> None:
    built = index_of([build_image(layers=3, arch="amd64"), build_image(layers=2, arch="arm64")])
    ref = registry.ref(repo, "multi")
    push_index(client, ref, built)
    result = run_child(["sbom", str(ref)], _ENV, home=tmp_path, terminal=terminal)
    if terminal:
        _assert_bar(result, "reading layers", "5/5")
    else:
        _assert_quiet(result, "reading layers")
    assert len(json.loads(result.out)) == 2  # one document per platform, on standard output


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_copy_shows_a_spinner_on_a_terminal(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path, terminal: bool
) -> None:
    (image,) = _images(client, registry, repo, 1)
    destination = f"{registry.host}/{repo}-mirror:v0"
    result = run_child(["copy", image, destination], _ENV, home=tmp_path, terminal=terminal)
    if terminal:
        assert result.code == 0, result.err
        assert f"copying {image}" in result.err and _ESC in result.err, result.err
    else:
        _assert_quiet(result, "copying")
    assert "Copied" in result.err, result.err


def test_dumb_terminal_gets_no_bar(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    images = _images(client, registry, repo, 2)
    args = ["sign", "--key", str(keys["first"]), "-y", *images]
    result = run_child(args, {**_ENV, "TERM": "dumb"}, home=tmp_path, terminal=True)
    _assert_quiet(result, "signing")
    assert result.err.count("Pushing signature to") == 2, result.err


def test_force_color_in_a_log_draws_no_bar(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    # CI sets FORCE_COLOR to colour its logs; rich then calls the pipe a terminal.
    images = _images(client, registry, repo, 2)
    args = ["sign", "--key", str(keys["first"]), "-y", *images]
    result = run_child(args, {**_ENV, "FORCE_COLOR": "1"}, home=tmp_path, terminal=False)
    _assert_quiet(result, "signing")

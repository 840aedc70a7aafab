"""Messages of the cosign drop-in CLI that the other tests do not pin down.

Retries are logged at ``-v`` and not without it; an unknown ``--type`` lists the names that
are valid; a flag typo prints the nearest flag and the command's usage line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealgate.oci import RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.cli import run
from tests.support.images import build_image, push_image
from tests.support.registry_front import Action, Answer, Forward, RegistryFront
from tests.support.terminal_cli import run_child


def _first_try_fails(method: str, path: str, n: int) -> Action:
    """Every manifest request fails once with 503, then goes through (a flaky registry)."""
    del method
    if "/manifests/" in path and n % 2 == 0:
        return Answer(503, {"Content-Type": "text/plain"}, b"try again")
    return Forward()


@pytest.mark.parametrize("verbose", [True, False], ids=["-v", "quiet"])
def test_retries_are_logged_at_verbose_only(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path, verbose: bool
) -> None:
    push_image(client, registry.ref(repo, "v1"), build_image())
    front = RegistryFront(registry.host, _first_try_fails).start()
    try:
        image = f"{front.host}/{repo}:v1"
        args = [*(["-v"] if verbose else []), "triangulate", image]
        result = run_child(args, {}, home=tmp_path, terminal=False)
    finally:
        front.stop()
    assert result.code == 0, result.err  # the retry got through
    assert f"{front.host}/{repo}:sha256-" in result.out
    if verbose:
        assert "HTTP 503, retry in" in result.err, result.err
    else:
        assert "retry" not in result.err, result.err


def test_an_unknown_type_lists_the_valid_names(tmp_path: Path) -> None:
    predicate = tmp_path / "predicate.json"
    predicate.write_text(json.dumps({"a": 1}))
    for args in (
        ["verify-attestation", "--key", "k.pub", "--type", "cyclonedxx", "img.example/a:1"],
        ["attest", "--key", "k.key", "--type", "cyclonedxx", "--predicate", str(predicate),
         "img.example/a:1"],
    ):  # fmt: skip
        result = run(args, {"COSIGN_PASSWORD": PASSWORD}, home=str(tmp_path))
        assert result.code == 65, result.err
        assert "invalid predicate type: cyclonedxx" in result.err
        for name in ("cyclonedx", "slsaprovenance", "spdxjson", "vuln", "openvex"):
            assert name in result.err, result.err


def test_a_flag_typo_prints_the_nearest_flag_and_the_usage_line(tmp_path: Path) -> None:
    result = run(["verify", "--kye", "k.pub", "img.example/a:1"], home=str(tmp_path))
    assert result.code == 64
    assert "unrecognized arguments: --kye (did you mean --key?)" in result.err
    assert "usage: sealgate verify [flags] IMAGE [IMAGE ...]" in result.err
    assert "Traceback" not in result.err

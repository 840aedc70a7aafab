"""The Bearer token dance against the real registry in ``auth.token`` mode.

The registry (docker-registry with ``auth.token``: realm, service, issuer, rootcertbundle)
trusts only tokens from the loopback token service (``tests/support/token_service.py``):
anonymous callers get pull-only tokens, the configured user pull and push. Credentials come
the way CI gives them: a docker-login-style config with a credential helper.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sealgate.config import ClientConfig
from sealgate.oci import RegistryClient
from tests.integration.conftest import PASSWORD, REGISTRY_PASSWORD, REGISTRY_USER, TokenRegistry
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image

_HELPER = "sealgatetest"


def _helper_home(tmp_path: Path, host: str) -> tuple[Path, dict[str, str]]:
    """A home whose docker config sends ``host`` to a credential helper on PATH."""
    home = tmp_path / "home"
    docker = home / ".docker"
    docker.mkdir(parents=True)
    (docker / "config.json").write_text(json.dumps({"credHelpers": {host: _HELPER}}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / f"docker-credential-{_HELPER}"
    answer = json.dumps({"ServerURL": host, "Username": REGISTRY_USER, "Secret": REGISTRY_PASSWORD})
    helper.write_text(f"#!/bin/sh\n[ \"$1\" = get ] || exit 1\ncat >/dev/null\necho '{answer}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    return home, {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def _push_as_user(token_registry: TokenRegistry, tmp_path: Path, repo: str) -> str:
    registry = token_registry.registry
    config = ClientConfig(
        username=REGISTRY_USER,
        password=REGISTRY_PASSWORD,
        docker_config=tmp_path / "none.json",
        auth_file=tmp_path / "none-auth.json",
    )
    ref = registry.ref(repo, "v1")
    with RegistryClient(config) as client:
        push_image(client, ref, build_image())
    return str(ref)


def _sealgate(args: list[str], home: Path, env: dict[str, str] | None = None) -> Result:
    return run(args, {"COSIGN_PASSWORD": PASSWORD, **(env or {})}, home=str(home))


def test_anonymous_pull_gets_a_pull_only_token(
    token_registry: TokenRegistry, repo: str, tmp_path: Path
) -> None:
    image = _push_as_user(token_registry, tmp_path, repo)
    before = len(token_registry.tokens.issued)
    result = _sealgate(["triangulate", image], tmp_path / "anonymous")
    assert result.code == 0, result.err
    asked = token_registry.tokens.issued[before:]
    assert asked, "no token was asked for"
    assert all(i.account == "" for i in asked)
    assert any(f"repository:{repo}:pull" in i.scopes for i in asked)
    assert all(g["actions"] == ["pull"] for i in asked for g in i.granted)


def test_anonymous_push_is_refused_as_unauthorized(
    token_registry: TokenRegistry, repo: str, keys: dict[str, Path], tmp_path: Path
) -> None:
    image = _push_as_user(token_registry, tmp_path, repo)
    result = _sealgate(["sign", "--key", str(keys["first"]), image], tmp_path / "anonymous")
    assert result.code == 3, result.err
    assert "Traceback" not in result.err
    assert REGISTRY_PASSWORD not in result.err


def test_push_and_pull_with_a_credential_helper(
    token_registry: TokenRegistry, repo: str, keys: dict[str, Path], tmp_path: Path
) -> None:
    image = _push_as_user(token_registry, tmp_path, repo)
    home, env = _helper_home(tmp_path, token_registry.registry.host)
    before = len(token_registry.tokens.issued)
    signed = _sealgate(["sign", "--key", str(keys["first"]), image], home, env)
    assert signed.code == 0, signed.err
    asked = token_registry.tokens.issued[before:]
    assert any(i.account == REGISTRY_USER for i in asked)
    assert any(f"repository:{repo}:pull,push" in i.scopes for i in asked)
    verified = _sealgate(
        ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog", image], home, env
    )
    assert verified.code == 0, verified.err
    assert REGISTRY_PASSWORD not in signed.err + verified.err + verified.out


def test_an_expired_token_is_refreshed(
    token_registry: TokenRegistry, repo: str, tmp_path: Path
) -> None:
    image = _push_as_user(token_registry, tmp_path, repo)
    before = len(token_registry.tokens.issued)
    token_registry.tokens.expired_first = 1
    try:
        result = _sealgate(["triangulate", image], tmp_path / "anonymous")
    finally:
        token_registry.tokens.expired_first = 0
    assert result.code == 0, result.err
    asked = token_registry.tokens.issued[before:]
    assert [i.expired for i in asked][:2] == [True, False]


@pytest.mark.parametrize("password", ["wrong-password"])
def test_wrong_credentials_are_refused_without_echoing_them(
    token_registry: TokenRegistry, repo: str, tmp_path: Path, password: str
) -> None:
    image = _push_as_user(token_registry, tmp_path, repo)
    result = _sealgate(
        ["triangulate", "--registry-username", REGISTRY_USER, image],
        tmp_path,
        {"SEALGATE_REGISTRY_PASSWORD": password},
    )
    assert result.code == 3, result.err
    assert "token server refused" in result.err
    assert password not in result.err

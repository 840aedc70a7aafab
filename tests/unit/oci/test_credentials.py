"""Credential lookup: docker config, containers auth.json, helpers, explicit flags."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from pathlib import Path

import pytest

from sealgate.config import ClientConfig
from sealgate.oci.credentials import Credentials, CredentialStore


def _b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _store(
    tmp_path: Path,
    docker: dict[str, object] | None = None,
    auth_file: dict[str, object] | None = None,
    **kw: object,
) -> CredentialStore:
    docker_path = tmp_path / "docker" / "config.json"
    docker_path.parent.mkdir(exist_ok=True)
    if docker is not None:
        docker_path.write_text(json.dumps(docker))
    auth_path = tmp_path / "auth.json"
    if auth_file is not None:
        auth_path.write_text(json.dumps(auth_file))
    config = ClientConfig(docker_config=docker_path, auth_file=auth_path, **kw)  # type: ignore[arg-type]
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    return CredentialStore(config, environ=env, helper_timeout_s=2.0)


def _helper(tmp_path: Path, name: str, script: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_auths_base64_entry(tmp_path: Path) -> None:
    store = _store(tmp_path, {"auths": {"reg.test:5000": {"auth": _b64("u", "p:with:colons")}}})
    assert store.lookup("reg.test:5000") == Credentials("u", "p:with:colons")
    assert store.lookup("other.test") is None


def test_auths_username_password_and_scheme_keys(tmp_path: Path) -> None:
    store = _store(
        tmp_path, {"auths": {"https://reg.test/v2/": {"username": "u", "password": "p"}}}
    )
    assert store.lookup("reg.test") == Credentials("u", "p")


def test_docker_hub_key(tmp_path: Path) -> None:
    store = _store(
        tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": _b64("hub", "pw")}}}
    )
    assert store.lookup("index.docker.io") == Credentials("hub", "pw")


def test_identity_token(tmp_path: Path) -> None:
    store = _store(
        tmp_path, {"auths": {"reg.test": {"auth": _b64("u", "p"), "identitytoken": "idt"}}}
    )
    creds = store.lookup("reg.test")
    assert creds is not None and creds.identity_token == "idt"
    assert "idt" not in repr(creds) and "p" not in repr(creds).replace("identity", "")


def test_auth_file_consulted_first_and_namespace_keys(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        docker={"auths": {"reg.test": {"auth": _b64("docker", "d")}}},
        auth_file={
            "auths": {
                "reg.test": {"auth": _b64("podman", "p")},
                "reg.test/team": {"auth": _b64("team", "t")},
            }
        },
    )
    assert store.lookup("reg.test", "other/app") == Credentials("podman", "p")
    assert store.lookup("reg.test", "team/app") == Credentials("team", "t")


def test_explicit_credentials_override(tmp_path: Path) -> None:
    store = _store(
        tmp_path, {"auths": {"reg.test": {"auth": _b64("u", "p")}}}, username="x", password="y"
    )
    assert store.lookup("reg.test") == Credentials("x", "y")


def test_cred_helper(tmp_path: Path) -> None:
    _helper(
        tmp_path,
        "test",
        "read server\n"
        'echo \'{"ServerURL":"reg.test","Username":"helper-user",'
        '"Secret":"helper-secret"}\'\n',
    )
    store = _store(tmp_path, {"credHelpers": {"reg.test": "test"}})
    assert store.lookup("reg.test") == Credentials("helper-user", "helper-secret")


def test_cred_helper_gets_hub_url_and_token_user(tmp_path: Path) -> None:
    _helper(
        tmp_path,
        "test",
        'read server\n[ "$server" = "https://index.docker.io/v1/" ] || exit 1\n'
        'echo \'{"Username":"<token>","Secret":"refresh"}\'\n',
    )
    store = _store(tmp_path, {"credsStore": "test"})
    assert store.lookup("index.docker.io") == Credentials(identity_token="refresh")


def test_creds_store_not_found_falls_back_to_nothing(tmp_path: Path) -> None:
    _helper(tmp_path, "test", 'echo "credentials not found in native keychain"\nexit 1\n')
    store = _store(tmp_path, {"credsStore": "test"})
    assert store.lookup("reg.test") is None


def test_auths_entry_wins_over_global_store(tmp_path: Path) -> None:
    _helper(tmp_path, "test", "exit 1\n")
    store = _store(
        tmp_path, {"credsStore": "test", "auths": {"reg.test": {"auth": _b64("u", "p")}}}
    )
    assert store.lookup("reg.test") == Credentials("u", "p")


def test_hung_helper_times_out(tmp_path: Path) -> None:
    _helper(tmp_path, "slow", "sleep 30\n")
    store = _store(tmp_path, {"credHelpers": {"reg.test": "slow"}})
    store._timeout = 0.5
    start = time.monotonic()
    assert store.lookup("reg.test") is None
    assert time.monotonic() - start < 5


def test_missing_helper_and_bad_names(tmp_path: Path) -> None:
    assert _store(tmp_path, {"credHelpers": {"reg.test": "absent"}}).lookup("reg.test") is None
    assert _store(tmp_path, {"credHelpers": {"reg.test": "../evil"}}).lookup("reg.test") is None


def test_malformed_files_are_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    docker_path = tmp_path / "docker" / "config.json"
    docker_path.parent.mkdir()
    docker_path.write_text("{not json")
    store = CredentialStore(ClientConfig(docker_config=docker_path), environ={})
    assert store.lookup("reg.test") is None
    bad_auth = _store(tmp_path, {"auths": {"reg.test": {"auth": "!!!notbase64"}}})
    assert bad_auth.lookup("reg.test") is None


def test_environment_defaults(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "config.json").write_text(
        json.dumps({"auths": {"reg.test": {"auth": _b64("env", "e")}}})
    )
    store = CredentialStore(ClientConfig(), environ={"DOCKER_CONFIG": str(tmp_path / "dc")})
    assert store.lookup("reg.test") == Credentials("env", "e")
    (tmp_path / "auth.json").write_text(
        json.dumps({"auths": {"reg.test": {"auth": _b64("ra", "r")}}})
    )
    store = CredentialStore(
        ClientConfig(),
        environ={
            "DOCKER_CONFIG": str(tmp_path / "dc"),
            "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        },
    )
    assert store.lookup("reg.test") == Credentials("ra", "r")
    home = CredentialStore(ClientConfig(), environ={"HOME": str(tmp_path / "nohome")})
    assert home.lookup("reg.test") is None


def test_results_are_cached(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    _helper(tmp_path, "test", f'echo x >> {counter}\necho \'{{"Username":"u","Secret":"s"}}\'\n')
    store = _store(tmp_path, {"credHelpers": {"reg.test": "test"}})
    store.lookup("reg.test")
    store.lookup("reg.test")
    assert counter.read_text().count("x") == 1
    assert os.access(tmp_path / "bin" / "docker-credential-test", os.X_OK)

"""Real-registry fixtures: plain HTTP, TLS with a test CA, htpasswd basic auth.

Each registry is started once per session on 127.0.0.1 (Debian ``docker-registry``);
its log is printed when a test using it fails to help debugging.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sealgate.config import ClientConfig
from sealgate.oci import Reference, RegistryClient
from tests.support.registry_server import (
    RegistryServer,
    TokenAuth,
    registry_available,
    start_registry,
)
from tests.support.token_service import ISSUER, SERVICE, TokenService, start_token_service

REGISTRY_USER = "sealgate"
REGISTRY_PASSWORD = "s3cret-Passw0rd-for-tests"
#: Password of the signing keys the CLI tests generate.
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this directory as needing the registry."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.registry)


@dataclass
class RunningRegistry:
    """What a test needs to reach a registry."""

    host: str
    server: RegistryServer
    username: str | None = None
    password: str | None = None
    ca_bundle: Path | None = None

    def ref(self, repo: str, tag: str = "latest") -> Reference:
        return Reference.parse(f"{self.host}/{repo}:{tag}")


def _start(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: object) -> RegistryServer:
    if not registry_available():
        # scripts/setup.sh installs it: a skip would hide a broken install.
        pytest.fail("docker-registry binary not installed (run ./scripts/setup.sh)")
    return start_registry(tmp_path_factory.mktemp(name), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    server = _start(tmp_path_factory, "registry-plain")
    try:
        yield RunningRegistry(server.host, server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    server = _start(tmp_path_factory, "registry-tls", tls=True)
    assert server.ca is not None
    try:
        yield RunningRegistry(server.host, server, ca_bundle=server.ca.ca_cert)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    server = _start(
        tmp_path_factory, "registry-auth", username=REGISTRY_USER, password=REGISTRY_PASSWORD
    )
    try:
        yield RunningRegistry(server.host, server, REGISTRY_USER, REGISTRY_PASSWORD)
    finally:
        server.stop()


@dataclass
class TokenRegistry:
    """A registry in ``auth.token`` mode and the token service that issues its tokens."""

    registry: RunningRegistry
    tokens: TokenService


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    workdir = tmp_path_factory.mktemp("registry-token")
    tokens = start_token_service(workdir / "token", REGISTRY_USER, REGISTRY_PASSWORD)
    auth = TokenAuth(tokens.realm, SERVICE, ISSUER, tokens.cert_path)
    try:
        server = _start(tmp_path_factory, "registry-token-server", token=auth)
    except BaseException:
        tokens.stop()
        raise
    try:
        yield TokenRegistry(RunningRegistry(server.host, server), tokens)
    finally:
        server.stop()
        tokens.stop()


@pytest.fixture
def client_config(registry: RunningRegistry, tmp_path: Path) -> ClientConfig:
    # An empty docker config: the developer's own credentials never leak into tests.
    return ClientConfig(
        insecure_registries=frozenset({registry.host}),
        timeout_s=10.0,
        backoff_s=0.01,
        docker_config=tmp_path / "no-docker-config.json",
        auth_file=tmp_path / "no-auth.json",
    )


@pytest.fixture
def client(client_config: ClientConfig) -> Iterator[RegistryClient]:
    with RegistryClient(client_config) as c:
        yield c


@pytest.fixture
def repo() -> str:
    """A fresh repository name per test, so tests never see each other's tags."""
    return f"sealgate-test/{uuid.uuid4().hex[:12]}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if getattr(report, "failed", False) and call.when == "call":
        funcargs = getattr(item, "funcargs", {})
        for value in funcargs.values():
            if isinstance(value, RunningRegistry):
                tail = value.server.log()[-4000:]
                report.sections.append((f"registry log {value.host}", tail))  # type: ignore[attr-defined]
    return report


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """Two key pairs made by `sealgate generate-key-pair`."""
    from tests.support.cli import run

    made = {}
    for name in ("first", "second"):
        prefix = tmp_path / name
        result = run(
            ["generate-key-pair", "--output-key-prefix", str(prefix)],
            {"COSIGN_PASSWORD": PASSWORD},
        )
        assert result.code == 0, result.err
        made[name] = prefix.with_suffix(".key")
        made[f"{name}.pub"] = prefix.with_suffix(".pub")
    return made

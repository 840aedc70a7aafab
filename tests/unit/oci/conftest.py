"""Helpers for driving the HTTP backend through httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sealgate.config import ClientConfig
from sealgate.oci import RegistryClient
from sealgate.oci.credentials import CredentialStore
from sealgate.oci.http_backend import HttpBackend

Handler = Callable[[httpx.Request], httpx.Response]


class MockRegistry:
    """Builds clients over a MockTransport; records requests and backoff sleeps."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self._clients: list[RegistryClient] = []

    def client(
        self,
        handler: Handler,
        *,
        sleep: Callable[[float], None] | None = None,
        **overrides: object,
    ) -> RegistryClient:
        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        settings: dict[str, object] = {
            "docker_config": self.tmp_path / "none.json",
            "auth_file": self.tmp_path / "none-auth.json",
            "backoff_s": 0.5,
            "timeout_s": 5.0,
        }
        settings.update(overrides)
        config = ClientConfig(**settings)  # type: ignore[arg-type]
        backend = HttpBackend(
            config,
            transport=httpx.MockTransport(record),
            credentials=CredentialStore(config, environ={}),
            sleep=sleep or self.sleeps.append,
        )
        client = RegistryClient(config, backend=backend)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def mock_registry(tmp_path: Path) -> Iterator[MockRegistry]:
    registry = MockRegistry(tmp_path)
    yield registry
    registry.close()

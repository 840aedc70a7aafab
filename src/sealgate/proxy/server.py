"""Assemble the proxy and serve it with uvicorn (in the foreground, or on a thread for tests).

The proxy's own :class:`~sealgate.oci.RegistryClient` (its credentials: docker config,
``REGISTRY_AUTH_FILE``, ``--registry-username``) reads the signatures and attestations it
verifies; the client's credentials only ever travel with the client's own requests.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sealgate.config import ClientConfig
from sealgate.errors import ConfigError, UsageError
from sealgate.oci import RegistryClient
from sealgate.oci.passthrough import PassThrough
from sealgate.policy import PolicySet
from sealgate.proxy.app import ProxyApp, ProxySettings
from sealgate.proxy.judge import ProxyJudge, VerdictSettings
from sealgate.proxy.routes import ProtectGlobs

__all__ = ["ProxyOptions", "ProxyServer", "build_proxy_app"]

_STARTUP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class ProxyOptions:
    """How the proxy is reached and what it protects."""

    upstream: str
    protect: tuple[str, ...]
    host: str = "127.0.0.1"
    port: int = 5050
    tls_cert: Path | None = None
    tls_key: Path | None = None
    verdicts: VerdictSettings = field(default_factory=VerdictSettings)
    max_manifest_bytes: int = 4 * 1024 * 1024


def build_proxy_app(
    options: ProxyOptions, policies: PolicySet, client_config: ClientConfig
) -> ProxyApp:
    """The ASGI application: pass-through pool, verifying judge, protected repositories.

    Raises:
        UsageError: the upstream URL or a ``--protect`` glob is invalid.
        ConfigError: the CA bundle cannot be loaded.
    """
    try:
        protect = ProtectGlobs(options.protect)
    except ValueError as error:
        raise UsageError(str(error)) from None
    upstream = PassThrough(options.upstream, client_config)
    client = RegistryClient(client_config)
    judge = ProxyJudge(client, upstream.host, policies, options.verdicts)
    app = ProxyApp(upstream, judge, ProxySettings(protect, options.max_manifest_bytes))

    async def close_client() -> None:
        client.close()

    app.on_shutdown(close_client)
    return app


class ProxyServer:
    """uvicorn serving a :class:`ProxyApp` on ``host:port`` (TLS when a certificate is given)."""

    def __init__(self, app: ProxyApp, options: ProxyOptions) -> None:
        """Configure the server; nothing listens yet.

        Raises:
            UsageError: only one of the TLS certificate and key is given.
            ConfigError: a TLS file is missing.
        """
        import uvicorn

        if (options.tls_cert is None) != (options.tls_key is None):
            raise UsageError("--tls-cert and --tls-key go together")
        for path in (options.tls_cert, options.tls_key):
            if path is not None and not path.is_file():
                raise ConfigError(f"{path}: no such file")
        self.app = app
        self.options = options
        config = uvicorn.Config(
            app,
            host=options.host,
            port=options.port,
            ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
            ssl_keyfile=str(options.tls_key) if options.tls_key else None,
            lifespan="on",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where clients reach the proxy."""
        scheme = "https" if self.options.tls_cert else "http"
        return f"{scheme}://{self.options.host}:{self.options.port}"

    def run(self) -> None:
        """Serve in the foreground until interrupted (SIGINT/SIGTERM)."""
        self._server.run()

    def start(self) -> ProxyServer:
        """Serve on a background thread; return once it accepts connections.

        Raises:
            RuntimeError: the server did not start (port taken, bad certificate...).
        """
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the proxy did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop a server started with :meth:`start` and wait for it."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)

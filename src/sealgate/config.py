"""Settings with safe defaults: limits on everything read from the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024

__all__ = ["ClientConfig", "MiB"]


@dataclass(frozen=True)
class ClientConfig:
    """How the registry client talks to registries. Environment is read only by the CLI."""

    #: ``host[:port]`` registries reached over plain HTTP only (sealgate's
    #: ``--insecure-registry HOST``, the gate's ``insecureRegistries``).
    insecure_registries: frozenset[str] = frozenset()
    #: Skip TLS certificate verification for every registry: cosign's
    #: ``--allow-insecure-registry`` (``InsecureSkipVerify``).
    allow_insecure: bool = False
    #: Every registry: HTTPS first, plain HTTP when HTTPS cannot connect: cosign's
    #: ``--allow-http-registry`` (go-containerregistry's ``name.Insecure``). Loopback
    #: registries always behave so (go-containerregistry ``Registry.Scheme``).
    allow_http: bool = False
    #: Extra CA bundle (PEM) trusted for registry TLS, on top of the system store.
    ca_bundle: Path | None = None
    #: Client certificate and key (PEM) for mutual TLS (``--registry-client-cert/-key``).
    client_cert: Path | None = None
    client_key: Path | None = None
    #: Name checked against the registry's certificate instead of its host
    #: (``--registry-server-name``, Go's ``tls.Config.ServerName``).
    server_name: str | None = None
    #: A bearer token sent to every registry as it is (``--registry-token``).
    registry_token: str | None = field(default=None, repr=False)
    #: Seconds for connect, each read, and each write of one request (``--timeout``); a
    #: caller's :class:`~sealgate.deadline.Deadline` (``RegistryClient.with_deadline``) cuts
    #: it to the time left.
    timeout_s: float = 30.0
    #: Attempts for one idempotent fetch (1 = no retry), shared by every cause: 429/5xx,
    #: connection errors, and a body cut short. Timeouts are not retried.
    max_attempts: int = 4
    #: First backoff in seconds; doubles each retry.
    backoff_s: float = 0.25
    #: Longest ``Retry-After`` we honour; a longer one fails rather than stalls a gate.
    max_retry_after_s: float = 10.0
    #: Cap on any manifest or index.
    max_manifest_bytes: int = 4 * MiB
    #: Cap on a signature or attestation layer (cosign: ``COSIGN_MAX_ATTACHMENT_SIZE``).
    max_attachment_bytes: int = 128 * MiB
    #: Cap on a config blob.
    max_config_bytes: int = 8 * MiB
    #: Cap on the number of layers in a signature manifest (cosign: 1000).
    max_signature_layers: int = 1000
    #: Cap on tag-list pages followed.
    max_tag_pages: int = 1000
    #: Bytes per PATCH of a streamed blob upload; each is streamed, never held in memory.
    upload_chunk_bytes: int = 16 * MiB
    #: Docker config file (``$DOCKER_CONFIG/config.json``); None = default lookup.
    docker_config: Path | None = None
    #: containers-auth file (``REGISTRY_AUTH_FILE``), consulted before the docker config.
    auth_file: Path | None = None
    #: Explicit credentials for every registry of this command (``--registry-username``).
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    #: Connections kept per registry, shared by all worker threads.
    max_connections: int = 32
    user_agent: str = "sealgate/0.1"

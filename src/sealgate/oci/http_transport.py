"""Sending registry requests: one connection pool, auth, retries, and the caller's deadline.

One ``httpx.Client`` (one connection pool) is shared by every thread and every deadline view
of the client. Idempotent requests (GET/HEAD) are retried with exponential backoff on 429/5xx
and connection errors, honouring ``Retry-After`` up to ``max_retry_after_s``; PUT/POST/PATCH/
DELETE are never retried. A timeout is not retried either, so a hung registry costs one
``timeout_s``.

The deadline bounds everything: each request's timeouts are cut to the time left, a backoff or
``Retry-After`` is slept only if the retry still fits (otherwise the last answer stands), and a
whole read whose body is cut short is sent again only within the same attempts and deadline.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from sealgate.config import ClientConfig
from sealgate.deadline import Deadline
from sealgate.errors import ConfigError, DeadlineExceeded, RegistryError
from sealgate.oci.auth import Authenticator
from sealgate.oci.backend import Body, BodyCutShort
from sealgate.oci.credentials import CredentialStore
from sealgate.oci.http_errors import error_for_response, timed_out, unreachable, wrap_chunks
from sealgate.oci.http_watchdog import SocketWatchdog
from sealgate.oci.reference import DOCKER_HUB, Reference

__all__ = ["HttpTransport", "is_loopback", "same_origin", "ssl_context_for"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_IDEMPOTENT = frozenset({"GET", "HEAD"})
RequestContent = bytes | Iterator[bytes] | None


@dataclass
class _Retries:
    """Retries left for one logical fetch, shared by request retries and body re-reads."""

    left: int
    made: int = 0


#: The budget of the whole read in progress on this thread (see :meth:`HttpTransport.whole_read`).
_WHOLE_READ: ContextVar[_Retries | None] = ContextVar("sealgate_whole_read", default=None)


def _retryable_status(status: int) -> bool:
    # 501/505 are permanent answers about the request itself, not transient load.
    return status == 429 or (500 <= status <= 599 and status not in (501, 505))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _media_type(response: httpx.Response) -> str | None:
    value = response.headers.get("content-type")
    return value.split(";", 1)[0].strip() or None if value else None


def _length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


#: Seconds the HTTPS probe of a loopback (or ``--allow-http-registry``) registry may take.
_PROBE_TIMEOUT_S = 5.0


def _api_host(registry: str) -> str:
    # Docker Hub's canonical name is not its API host.
    return "registry-1.docker.io" if registry == DOCKER_HUB else registry


def is_loopback(registry: str) -> bool:
    """``localhost``, ``*.localhost``, ``127.0.0.0/8`` or ``::1``, with or without a port.

    go-containerregistry (``pkg/name/registry.go``) also reaches RFC 1918 addresses over
    HTTP; sealgate does not: on a shared network a refused TLS connection would silently
    downgrade credentials and tokens to cleartext. Name such a registry with
    ``--insecure-registry`` or ``--allow-http-registry``.
    """
    host = registry
    if host.startswith("["):
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def same_origin(base: str | httpx.URL, location: str, ref: Reference) -> httpx.URL:
    """Resolve ``location`` against ``base``; refuse another scheme, host or port.

    Our token is for the registry only: an upload or page URL on a foreign host gets none.

    Raises:
        RegistryError: ``location`` is malformed or points elsewhere.
    """
    origin = httpx.URL(base)
    try:
        url = origin.join(location)
    except httpx.InvalidURL as e:
        raise RegistryError(f"{ref.name}: the registry sent a malformed URL") from e
    if (url.scheme, url.host, url.port) != (origin.scheme, origin.host, origin.port):
        raise RegistryError(f"{ref.name}: the registry sent a URL on another host ({url.host})")
    return url


def ssl_context_for(config: ClientConfig) -> ssl.SSLContext:
    """The TLS context for registries: system and certifi roots, ``config.ca_bundle``, the
    client certificate, and cosign's ``--allow-insecure-registry`` (no verification).

    Raises:
        ConfigError: the CA bundle or client certificate cannot be loaded.
    """
    context = ssl.create_default_context()
    try:
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    except (ImportError, OSError):  # pragma: no cover - the system store still applies
        pass
    if config.ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(config.ca_bundle))
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"cannot load CA bundle {config.ca_bundle}: {e}") from e
    if (config.client_cert is None) != (config.client_key is None):
        raise ConfigError("--registry-client-cert and --registry-client-key go together")
    if config.client_cert is not None:
        try:
            context.load_cert_chain(str(config.client_cert), str(config.client_key))
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(
                f"cannot load the registry client certificate {config.client_cert} "
                f"and key {config.client_key}: {type(e).__name__}"
            ) from e
    if config.allow_insecure:
        # cosign --allow-insecure-registry: Go's InsecureSkipVerify.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def describe(response: httpx.Response, chunks: Iterator[bytes]) -> Body:
    """The :class:`Body` of ``response``: its chunks and what its headers claim."""
    return Body(
        chunks=chunks,
        length=_length(response),
        media_type=_media_type(response),
        digest=response.headers.get("docker-content-digest"),
    )


class HttpTransport:
    """Authenticated, retried, deadline-bound requests to registries; shared by all threads."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        credentials: CredentialStore | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Create the connection pool (no connection is opened yet).

        Args:
            config: limits, TLS and credential settings.
            transport: an httpx transport to use instead of the network (tests).
            credentials: credential lookup (default: built from ``config``).
            sleep: the backoff sleep (default ``time.sleep``; tests make it instant, or
                advance a fake clock).

        Raises:
            ConfigError: ``config.ca_bundle`` cannot be loaded.
        """
        self.config = config
        self._sleep = sleep or time.sleep
        self._schemes: dict[str, str] = {}
        self._schemes_lock = threading.Lock()
        self._client = httpx.Client(
            verify=self._ssl_context(config),
            timeout=httpx.Timeout(config.timeout_s),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
            headers={"User-Agent": config.user_agent},
            follow_redirects=True,
            transport=transport,
        )
        self._watchdog = SocketWatchdog()
        self.auth = Authenticator(
            credentials or CredentialStore(config),
            send=lambda request, deadline: self.send(
                f"token server {request.url.host}", request, deadline=deadline, whole_read=False
            ),
            realm_allowed=self._realm_allowed,
        )

    @staticmethod
    def _ssl_context(config: ClientConfig) -> ssl.SSLContext:
        return ssl_context_for(config)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # --- where requests go ------------------------------------------------------------------

    def insecure(self, registry: str) -> bool:
        """True when ``registry`` is reached over plain HTTP."""
        return self.scheme(registry) == "http"

    def scheme(self, registry: str) -> str:
        """``http`` or ``https`` for ``registry``; decided once per registry.

        ``--insecure-registry HOST`` is plain HTTP. Loopback registries, and every registry
        with ``--allow-http-registry``, try HTTPS and fall back to HTTP when no TLS
        connection can be made, as go-containerregistry's ping does for ``Registry.Scheme()
        == "http"`` (``pkg/v1/remote/transport/ping.go``). Everything else is HTTPS only.
        """
        if registry in self.config.insecure_registries:
            return "http"
        if not (self.config.allow_http or is_loopback(registry)):
            return "https"
        with self._schemes_lock:
            known = self._schemes.get(registry)
            if known is None:
                known = self._probe(registry)
                self._schemes[registry] = known
            return known

    def _probe(self, registry: str) -> str:
        """``https`` if a TLS connection to ``registry`` can be made, else ``http``."""
        url = f"https://{_api_host(registry)}/v2/"
        timeout = min(self.config.timeout_s, _PROBE_TIMEOUT_S)
        request = self._client.build_request("GET", url, timeout=timeout)
        self._name_server(request)
        try:
            self._client.send(request).close()
        except httpx.TransportError as e:
            if "CERTIFICATE_VERIFY_FAILED" in str(e) or "certificate verify failed" in str(e):
                # It speaks TLS with a certificate we do not trust: plain HTTP would not
                # help, and the error that follows names --registry-cacert.
                return "https"
            logger.info("%s: no HTTPS (%s), falling back to plain HTTP", registry, type(e).__name__)
            return "http"
        return "https"

    def _name_server(self, request: httpx.Request) -> None:
        if self.config.server_name and request.url.scheme == "https":
            # cosign --registry-server-name: the name sent (SNI) and checked in the certificate.
            request.extensions["sni_hostname"] = self.config.server_name

    def base(self, registry: str) -> str:
        """``scheme://host`` of a registry's API."""
        return f"{self.scheme(registry)}://{_api_host(registry)}"

    def _realm_allowed(self, registry: str, realm: httpx.URL, credentialed: bool) -> str | None:
        """Why ``realm`` may not be asked for a token, or ``None`` when it may."""
        if realm.scheme == "https":
            return None
        if realm.scheme != "http" or not self.insecure(registry):
            return "a plain-HTTP token realm for a registry reached over HTTPS"
        registry_host = httpx.URL(self.base(registry)).host
        if credentialed and realm.host.lower() != registry_host.lower():
            # Anyone on the path to that other host would read our password in the clear.
            return "credentials would go in plain HTTP to another host than the registry"
        return None

    # --- sending ----------------------------------------------------------------------------

    def _backoff(self, retries: _Retries) -> float:
        return float(self.config.backoff_s * 2**retries.made)

    def send(
        self, what: str, request: httpx.Request, *, deadline: Deadline, whole_read: bool = True
    ) -> httpx.Response:
        """Send with retries for idempotent methods; return an unread streaming response.

        Args:
            what: names the request in messages.
            request: the request; its timeouts are set here from the deadline.
            deadline: when to give up.
            whole_read: share the retry budget of the whole read in progress, if any.

        Raises:
            DeadlineExceeded: the deadline passed before an answer.
            RegistryUnreachable: connection failure or timeout.
            RegistryError: any other transport failure.
        """
        shared = _WHOLE_READ.get() if whole_read else None
        if request.method not in _IDEMPOTENT:
            retries = _Retries(0)
        else:
            retries = shared or _Retries(max(self.config.max_attempts, 1) - 1)
        while True:
            timeout = deadline.timeout(self.config.timeout_s, what)
            capped = timeout < self.config.timeout_s
            request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
            self._name_server(request)
            try:
                response = self._client.send(request, stream=True)
            except httpx.TimeoutException as e:
                raise timed_out(what, e, deadline, capped) from e
            except httpx.TransportError as e:
                delay = self._backoff(retries)
                if retries.left <= 0 or not deadline.allows(delay):
                    if deadline.expired():
                        raise DeadlineExceeded(f"{what}: deadline exceeded") from e
                    raise unreachable(what, e) from e
                logger.info("%s: %s, retry in %.2fs", what, type(e).__name__, delay)
            except httpx.HTTPError as e:
                raise RegistryError(f"{what}: {type(e).__name__}") from e
            else:
                if retries.left <= 0 or not _retryable_status(response.status_code):
                    return response
                after = _retry_after(response)
                if after is not None and after > self.config.max_retry_after_s:
                    logger.info("%s: Retry-After %.0fs is over the limit, giving up", what, after)
                    return response
                delay = self._backoff(retries) if after is None else after
                if not deadline.allows(delay):
                    logger.info("%s: no time left to retry in %.2fs, giving up", what, delay)
                    return response
                response.close()
                logger.info("%s: HTTP %d, retry in %.2fs", what, response.status_code, delay)
            retries.left -= 1
            retries.made += 1
            self._sleep(delay)

    def whole_read(self, fetch: Callable[[], T], *, deadline: Deadline) -> T:
        """Run ``fetch`` (send an idempotent request, read its body whole); again if cut short.

        Every request ``fetch`` makes draws on one budget of ``max_attempts``, so a read costs
        at most that many attempts whatever mix of 5xx, resets and short bodies it meets.

        Raises:
            BodyCutShort: the body was cut short and no attempt or time is left.
        """
        retries = _Retries(max(self.config.max_attempts, 1) - 1)
        token = _WHOLE_READ.set(retries)
        try:
            while True:
                try:
                    return fetch()
                except BodyCutShort as e:
                    delay = self._backoff(retries)
                    if retries.left <= 0 or not deadline.allows(delay):
                        raise
                    logger.info("%s, retry in %.2fs", e, delay)
                    retries.left -= 1
                    retries.made += 1
                    self._sleep(delay)
        finally:
            _WHOLE_READ.reset(token)

    def request(
        self,
        ref: Reference,
        method: str,
        url: str,
        *,
        deadline: Deadline,
        actions: str = "pull",
        headers: dict[str, str] | None = None,
        content: RequestContent = None,
    ) -> httpx.Response:
        """Send an authenticated request for ``ref``'s repository (at most two 401 round-trips).

        A streamed ``content`` (an iterator) cannot be sent twice: its 401 is returned as is.

        Raises:
            DeadlineExceeded: the deadline passed before an answer.
            RegistryUnreachable: transport failure.
            RegistryError: the token server refused or any other transport failure.
            Unauthorized: the token server refused our credentials.
        """
        scope = f"repository:{ref.repository}:{actions}"
        what = f"{ref.name}: {method} {httpx.URL(url).path}"
        token = self.config.registry_token
        if token:
            # cosign --registry-token (go-containerregistry authn.Bearer): sent as it is,
            # never exchanged at a token server.
            request = self._client.build_request(method, url, headers=headers, content=content)
            request.headers["Authorization"] = f"Bearer {token}"
            return self.send(what, request, deadline=deadline)
        used: str | None = self.auth.cached(ref.registry, scope)
        # Without a cached header: anonymous, then a token, then one fresh token if the first
        # is refused (expired on arrival, or clock skew), as go-containerregistry refreshes a
        # refused bearer token once.
        for _ in range(3):
            request = self._client.build_request(method, url, headers=headers, content=content)
            if used is not None:
                request.headers["Authorization"] = used
            response = self.send(what, request, deadline=deadline)
            if response.status_code != 401 or not isinstance(content, bytes | None):
                return response
            fresh = self.auth.on_challenge(
                ref.registry,
                ref.repository,
                scope,
                response.headers.get_list("www-authenticate"),
                used,
                deadline=deadline,
            )
            if fresh is None or fresh == used:
                return response
            response.close()
            used = fresh
        return response

    def fail(self, response: httpx.Response, ref: Reference, what: str) -> Exception:
        """The error for a non-success answer (reads a little of its body, then closes it)."""
        try:
            secrets = self.auth.secrets(ref.registry, ref.repository)
            if self.config.registry_token:
                secrets.append(self.config.registry_token)
            return error_for_response(response, ref, what, secrets)
        finally:
            response.close()

    @contextmanager
    def streamed(
        self, response: httpx.Response, ref: Reference, what: str, deadline: Deadline
    ) -> Iterator[Body]:
        """The response as a :class:`Body` whose chunks stop at the deadline; closes it after.

        The deadline is checked on every chunk, and a read still blocked when it passes is cut
        by the watchdog: the body ends at the deadline, however the registry stalls.
        """
        timeouts = response.request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read")
        capped = read_timeout is not None and read_timeout < self.config.timeout_s
        watch = self._watchdog.watch(deadline, response)
        try:
            # No chunk size: each piece is handed on as it arrives, so the deadline is
            # checked between reads even when the registry trickles bytes.
            chunks = wrap_chunks(
                response.iter_bytes(), f"{ref.name}: {what}", deadline, capped=capped
            )
            yield describe(response, chunks)
        finally:
            watch.release()  # before the connection can go back to the pool
            response.close()

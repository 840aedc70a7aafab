"""The distribution HTTP API backend (the only module that sends registry requests).

One ``httpx.Client`` (one connection pool) is shared by every thread. Idempotent requests
(GET/HEAD) are retried with exponential backoff on 429/5xx and connection errors,
honouring ``Retry-After`` up to ``max_retry_after_s``; PUT/POST/PATCH/DELETE are never
retried. Timeouts are not retried either, so a hung registry costs one ``timeout_s``.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from sealgate.config import ClientConfig
from sealgate.errors import ConfigError, LimitExceeded, RegistryError
from sealgate.oci.auth import Authenticator
from sealgate.oci.backend import Body, RegistryBackend
from sealgate.oci.credentials import CredentialStore
from sealgate.oci.http_errors import error_for_response, read_tag_page, unreachable, wrap_chunks
from sealgate.oci.mediatypes import MANIFEST_ACCEPT, OCI_INDEX
from sealgate.oci.reference import DOCKER_HUB, Reference

__all__ = ["HttpBackend"]

logger = logging.getLogger(__name__)

_IDEMPOTENT = frozenset({"GET", "HEAD"})
_CHUNK = 64 * 1024
_TAGS_PAGE = 1000


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
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _media_type(response: httpx.Response) -> str | None:
    value = response.headers.get("content-type")
    return value.split(";", 1)[0].strip() or None if value else None


def _length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


class HttpBackend(RegistryBackend):
    """Talks the OCI distribution API over HTTPS (or HTTP for insecure registries)."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        credentials: CredentialStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create the backend; no connection is opened yet.

        Args:
            config: limits, TLS and credential settings.
            transport: an httpx transport to use instead of the network (tests).
            credentials: credential lookup (default: built from ``config``).
            sleep: the backoff sleep (tests make it instant).

        Raises:
            ConfigError: ``config.ca_bundle`` cannot be loaded.
        """
        self._config = config
        self._sleep = sleep
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
        self._auth = Authenticator(
            credentials or CredentialStore(config),
            send=lambda request: self._send(
                f"token server {request.url.host}", request, retry=True
            ),
            realm_allowed=self._realm_allowed,
        )

    @staticmethod
    def _ssl_context(config: ClientConfig) -> ssl.SSLContext:
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
        return context

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _insecure(self, registry: str) -> bool:
        return self._config.allow_insecure or registry in self._config.insecure_registries

    def _base(self, registry: str) -> str:
        scheme = "http" if self._insecure(registry) else "https"
        # Docker Hub's canonical name is not its API host.
        host = "registry-1.docker.io" if registry == DOCKER_HUB else registry
        return f"{scheme}://{host}"

    def _realm_allowed(self, registry: str, realm: httpx.URL) -> bool:
        return realm.scheme == "https" or (realm.scheme == "http" and self._insecure(registry))

    def _send(self, what: str, request: httpx.Request, *, retry: bool) -> httpx.Response:
        """Send with retries for idempotent methods; returns an unread streaming response.

        Raises:
            RegistryUnreachable: connection failure or timeout.
            RegistryError: any other transport failure.
        """
        attempts = self._config.max_attempts if retry and request.method in _IDEMPOTENT else 1
        for attempt in range(1, max(attempts, 1) + 1):
            try:
                response = self._client.send(request, stream=True)
            except httpx.TimeoutException as e:
                raise unreachable(what, e) from e
            except httpx.TransportError as e:
                if attempt >= attempts:
                    raise unreachable(what, e) from e
                delay = self._config.backoff_s * 2 ** (attempt - 1)
                logger.info("%s: %s, retry %d in %.2fs", what, type(e).__name__, attempt, delay)
                self._sleep(delay)
                continue
            except httpx.HTTPError as e:
                raise RegistryError(f"{what}: {type(e).__name__}") from e
            if attempt >= attempts or not _retryable_status(response.status_code):
                return response
            delay = _retry_after(response)
            if delay is not None and delay > self._config.max_retry_after_s:
                logger.info("%s: Retry-After %.0fs is over the limit, giving up", what, delay)
                return response
            if delay is None:
                delay = self._config.backoff_s * 2 ** (attempt - 1)
            response.close()
            logger.info(
                "%s: HTTP %d, retry %d in %.2fs", what, response.status_code, attempt, delay
            )
            self._sleep(delay)
        # The loop always returns or raises; this keeps the type checker honest.
        raise RegistryError(f"{what}: no attempt made")  # pragma: no cover

    def _request(
        self,
        ref: Reference,
        method: str,
        url: str,
        *,
        actions: str = "pull",
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send an authenticated request for ``ref``'s repository (one 401 round-trip)."""
        scope = f"repository:{ref.repository}:{actions}"
        what = f"{ref.name}: {method} {httpx.URL(url).path}"
        used: str | None = self._auth.cached(ref.registry, scope)
        for _ in range(2):
            request = self._client.build_request(method, url, headers=headers, content=content)
            if used is not None:
                request.headers["Authorization"] = used
            response = self._send(what, request, retry=True)
            if response.status_code != 401:
                return response
            fresh = self._auth.on_challenge(
                ref.registry,
                ref.repository,
                scope,
                response.headers.get_list("www-authenticate"),
                used,
            )
            if fresh is None or fresh == used:
                return response
            response.close()
            used = fresh
        return response

    def _fail(self, response: httpx.Response, ref: Reference, what: str) -> Exception:
        try:
            return error_for_response(
                response, ref, what, self._auth.secrets(ref.registry, ref.repository)
            )
        finally:
            response.close()

    @contextmanager
    def _streamed(self, response: httpx.Response, ref: Reference, what: str) -> Iterator[Body]:
        try:
            yield Body(
                chunks=wrap_chunks(response.iter_bytes(_CHUNK), f"{ref.name}: {what}"),
                length=_length(response),
                media_type=_media_type(response),
                digest=response.headers.get("docker-content-digest"),
            )
        finally:
            response.close()

    # --- manifests --------------------------------------------------------------------------

    def _manifest_url(self, ref: Reference, reference: str | None) -> str:
        if reference is None:
            raise RegistryError(f"{ref.name}: no tag or digest given")
        return f"{self._base(ref.registry)}/v2/{ref.repository}/manifests/{reference}"

    @contextmanager
    def open_manifest(self, ref: Reference, reference: str | None) -> Iterator[Body]:
        url = self._manifest_url(ref, reference)
        headers = {"Accept": ", ".join(MANIFEST_ACCEPT)}
        response = self._request(ref, "GET", url, headers=headers)
        if response.status_code != 200:
            raise self._fail(response, ref, f"manifest {reference}")
        with self._streamed(response, ref, f"manifest {reference}") as body:
            yield body

    def head_manifest(self, ref: Reference, reference: str | None) -> Body | None:
        url = self._manifest_url(ref, reference)
        headers = {"Accept": ", ".join(MANIFEST_ACCEPT)}
        response = self._request(ref, "HEAD", url, headers=headers)
        if response.status_code == 404:
            raise self._fail(response, ref, f"manifest {reference}")
        try:
            if response.status_code != 200:
                return None  # some registries refuse HEAD; the client falls back to GET
            return Body(
                chunks=iter(()),
                length=_length(response),
                media_type=_media_type(response),
                digest=response.headers.get("docker-content-digest"),
            )
        finally:
            response.close()

    def push_manifest(self, ref: Reference, reference: str, data: bytes, media_type: str) -> None:
        url = self._manifest_url(ref, reference)
        headers = {"Content-Type": media_type}
        response = self._request(
            ref, "PUT", url, actions="pull,push", headers=headers, content=data
        )
        if response.status_code not in (200, 201, 202):
            raise self._fail(response, ref, f"push manifest {reference}")
        response.close()

    def delete_manifest(self, ref: Reference, digest: str) -> None:
        url = self._manifest_url(ref, digest)
        response = self._request(ref, "DELETE", url, actions="delete")
        if response.status_code not in (200, 202, 204):
            raise self._fail(response, ref, f"manifest {digest}")
        response.close()

    # --- blobs ------------------------------------------------------------------------------

    def _blob_url(self, ref: Reference, digest: str) -> str:
        return f"{self._base(ref.registry)}/v2/{ref.repository}/blobs/{digest}"

    @contextmanager
    def open_blob(self, ref: Reference, digest: str) -> Iterator[Body]:
        response = self._request(ref, "GET", self._blob_url(ref, digest))
        if response.status_code != 200:
            raise self._fail(response, ref, f"blob {digest}")
        with self._streamed(response, ref, f"blob {digest}") as body:
            yield body

    def blob_exists(self, ref: Reference, digest: str) -> bool:
        response = self._request(ref, "HEAD", self._blob_url(ref, digest))
        response.close()
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, ref, f"blob {digest}")

    def push_blob(
        self, ref: Reference, digest: str, data: bytes, *, mount_from: Reference | None = None
    ) -> None:
        url = f"{self._base(ref.registry)}/v2/{ref.repository}/blobs/uploads/"
        if mount_from is not None:
            url += f"?mount={digest}&from={mount_from.repository}"
        response = self._request(ref, "POST", url, actions="pull,push")
        response.close()
        if response.status_code == 201 and mount_from is not None:
            return  # mounted: nothing to upload
        location = response.headers.get("location")
        if response.status_code != 202 or not location:
            raise self._fail(response, ref, "start blob upload")
        upload = httpx.URL(url).join(location)
        if (upload.scheme, upload.host, upload.port) != (
            httpx.URL(url).scheme,
            httpx.URL(url).host,
            httpx.URL(url).port,
        ):
            # Our token is for the registry only; a foreign upload host gets none.
            raise RegistryError(f"{ref.name}: upload location points to another host")
        upload = upload.copy_merge_params({"digest": digest})
        response = self._request(
            ref,
            "PUT",
            str(upload),
            actions="pull,push",
            headers={"Content-Type": "application/octet-stream"},
            content=data,
        )
        if response.status_code not in (201, 204):
            raise self._fail(response, ref, f"upload blob {digest}")
        response.close()

    # --- listings ---------------------------------------------------------------------------

    def list_tags(self, ref: Reference, *, max_pages: int, max_page_bytes: int) -> list[str]:
        base = self._base(ref.registry)
        url: str | None = f"{base}/v2/{ref.repository}/tags/list?n={_TAGS_PAGE}"
        tags: list[str] = []
        pages = 0
        while url is not None:
            pages += 1
            if pages > max_pages:
                raise LimitExceeded(f"{ref.name}: more than {max_pages} pages of tags")
            response = self._request(ref, "GET", url)
            if response.status_code == 404 and pages == 1:
                response.close()
                return []  # an unknown repository has no tags
            if response.status_code != 200:
                raise self._fail(response, ref, "tag list")
            page, url = read_tag_page(response, ref, max_page_bytes, base)
            tags.extend(page)
        return tags

    @contextmanager
    def open_referrers(self, ref: Reference, digest: str) -> Iterator[Body]:
        url = f"{self._base(ref.registry)}/v2/{ref.repository}/referrers/{digest}"
        response = self._request(ref, "GET", url, headers={"Accept": OCI_INDEX})
        if response.status_code != 200:
            # No API (404, 405...): the client reads the fallback tag instead.
            response.close()
            yield Body(chunks=iter(()))
            return
        with self._streamed(response, ref, "referrers") as body:
            yield body

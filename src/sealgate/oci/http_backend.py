"""The distribution HTTP API backend: manifests, blobs, tags and referrers over HTTP(S).

Requests, auth, retries and the deadline live in :class:`~sealgate.oci.http_transport.
HttpTransport`; this module knows the URLs and status codes of the OCI distribution spec.
Uploads follow its "pushing blobs in chunks": POST opens a session, each PATCH sends one
chunk with its ``Content-Range`` to the ``Location`` the previous answer gave, and PUT
``?digest=`` commits. The digest is checked while streaming, before the PUT, so content that
does not match is never committed; the session is cancelled (DELETE) instead.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

import httpx

from sealgate.config import ClientConfig
from sealgate.deadline import Deadline
from sealgate.errors import LimitExceeded, RegistryError, SealgateError
from sealgate.oci.backend import BlobSource, Body, RegistryBackend
from sealgate.oci.credentials import CredentialStore
from sealgate.oci.http_errors import read_tag_page
from sealgate.oci.http_transport import HttpTransport, describe, same_origin
from sealgate.oci.mediatypes import MANIFEST_ACCEPT, OCI_INDEX
from sealgate.oci.reference import Reference
from sealgate.oci.streams import read_capped

__all__ = ["HttpBackend"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_TAGS_PAGE = 1000
#: Bytes handed to httpx at a time within one PATCH: memory stays at this, not the chunk.
_SEND_PIECE = 64 * 1024
#: Blobs up to this size are read, checked and sent in one PUT instead of POST, PATCH, PUT.
_MONOLITHIC_MAX = 1024 * 1024
_OCTETS = "application/octet-stream"


def _pieces(source: BlobSource, length: int) -> Iterator[bytes]:
    """The next ``length`` bytes of ``source``, a piece at a time (one PATCH body)."""
    left = length
    while left > 0:
        piece = source.read(min(_SEND_PIECE, left))
        left -= len(piece)
        yield piece


class HttpBackend(RegistryBackend):
    """Talks the OCI distribution API over HTTPS (or HTTP for insecure registries)."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        credentials: CredentialStore | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Create the backend; no connection is opened yet.

        Args:
            config: limits, TLS and credential settings.
            transport: an httpx transport to use instead of the network (tests).
            credentials: credential lookup (default: built from ``config``).
            sleep: the backoff sleep (tests make it instant or advance a fake clock).

        Raises:
            ConfigError: ``config.ca_bundle`` cannot be loaded.
        """
        self._http = HttpTransport(
            config, transport=transport, credentials=credentials, sleep=sleep
        )
        self._config = config

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def read_whole(
        self,
        open_body: Callable[[], AbstractContextManager[Body]],
        read: Callable[[Body], T],
        *,
        deadline: Deadline,
    ) -> T:
        def fetch() -> T:
            with open_body() as body:
                return read(body)

        return self._http.whole_read(fetch, deadline=deadline)

    # --- manifests --------------------------------------------------------------------------

    def _manifest_url(self, ref: Reference, reference: str | None) -> str:
        if reference is None:
            raise RegistryError(f"{ref.name}: no tag or digest given")
        return f"{self._http.base(ref.registry)}/v2/{ref.repository}/manifests/{reference}"

    @contextmanager
    def open_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> Iterator[Body]:
        url = self._manifest_url(ref, reference)
        headers = {"Accept": ", ".join(MANIFEST_ACCEPT)}
        response = self._http.request(ref, "GET", url, headers=headers, deadline=deadline)
        if response.status_code != 200:
            raise self._http.fail(response, ref, f"manifest {reference}")
        with self._http.streamed(response, ref, f"manifest {reference}", deadline) as body:
            yield body

    def head_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> Body | None:
        url = self._manifest_url(ref, reference)
        headers = {"Accept": ", ".join(MANIFEST_ACCEPT)}
        response = self._http.request(ref, "HEAD", url, headers=headers, deadline=deadline)
        if response.status_code in (401, 403, 404):
            raise self._http.fail(response, ref, f"manifest {reference}")
        try:
            if response.status_code != 200:
                return None  # some registries refuse HEAD; the client falls back to GET
            return describe(response, iter(()))
        finally:
            response.close()

    def push_manifest(
        self, ref: Reference, reference: str, data: bytes, media_type: str, *, deadline: Deadline
    ) -> None:
        url = self._manifest_url(ref, reference)
        response = self._http.request(
            ref,
            "PUT",
            url,
            actions="pull,push",
            headers={"Content-Type": media_type},
            content=data,
            deadline=deadline,
        )
        if response.status_code not in (200, 201, 202):
            raise self._http.fail(response, ref, f"push manifest {reference}")
        response.close()

    def delete_manifest(self, ref: Reference, digest: str, *, deadline: Deadline) -> None:
        url = self._manifest_url(ref, digest)
        response = self._http.request(ref, "DELETE", url, actions="delete", deadline=deadline)
        if response.status_code not in (200, 202, 204):
            raise self._http.fail(response, ref, f"manifest {digest}")
        response.close()

    # --- blobs ------------------------------------------------------------------------------

    def _blob_url(self, ref: Reference, digest: str) -> str:
        return f"{self._http.base(ref.registry)}/v2/{ref.repository}/blobs/{digest}"

    @contextmanager
    def open_blob(self, ref: Reference, digest: str, *, deadline: Deadline) -> Iterator[Body]:
        response = self._http.request(ref, "GET", self._blob_url(ref, digest), deadline=deadline)
        if response.status_code != 200:
            raise self._http.fail(response, ref, f"blob {digest}")
        with self._http.streamed(response, ref, f"blob {digest}", deadline) as body:
            yield body

    def blob_exists(self, ref: Reference, digest: str, *, deadline: Deadline) -> bool:
        url = self._blob_url(ref, digest)
        response = self._http.request(ref, "HEAD", url, deadline=deadline)
        if response.status_code in (200, 404):
            response.close()
            return response.status_code == 200
        raise self._http.fail(response, ref, f"blob {digest}")

    def _start_upload(
        self, ref: Reference, digest: str, mount_from: Reference | None, deadline: Deadline
    ) -> httpx.URL | None:
        """POST a new upload session; ``None`` when the blob was mounted instead."""
        url = f"{self._http.base(ref.registry)}/v2/{ref.repository}/blobs/uploads/"
        if mount_from is not None:
            url += f"?mount={digest}&from={mount_from.repository}"
        response = self._http.request(ref, "POST", url, actions="pull,push", deadline=deadline)
        if response.status_code == 201 and mount_from is not None:
            response.close()
            return None  # mounted: nothing to upload
        location = response.headers.get("location")
        if response.status_code != 202 or not location:
            raise self._http.fail(response, ref, "start blob upload")
        response.close()
        return same_origin(url, location, ref)

    def _commit(
        self, ref: Reference, upload: httpx.URL, digest: str, data: bytes, deadline: Deadline
    ) -> None:
        response = self._http.request(
            ref,
            "PUT",
            str(upload.copy_merge_params({"digest": digest})),
            actions="pull,push",
            headers={"Content-Type": _OCTETS},
            content=data,
            deadline=deadline,
        )
        if response.status_code not in (201, 204):
            raise self._http.fail(response, ref, f"upload blob {digest}")
        response.close()

    def _cancel(self, ref: Reference, upload: httpx.URL, deadline: Deadline) -> None:
        """DELETE an upload session; best effort (the registry purges stale ones anyway)."""
        try:
            response = self._http.request(
                ref, "DELETE", str(upload), actions="pull,push", deadline=deadline
            )
            response.close()
        except SealgateError:
            logger.info("%s: could not cancel an upload session", ref.name, exc_info=True)

    def push_blob(
        self,
        ref: Reference,
        digest: str,
        data: bytes,
        *,
        mount_from: Reference | None = None,
        deadline: Deadline,
    ) -> None:
        upload = self._start_upload(ref, digest, mount_from, deadline)
        if upload is not None:
            self._commit(ref, upload, digest, data, deadline)

    def push_blob_stream(
        self,
        ref: Reference,
        source: BlobSource,
        *,
        mount_from: Reference | None = None,
        deadline: Deadline,
    ) -> None:
        upload = self._start_upload(ref, source.digest, mount_from, deadline)
        if upload is None:
            return
        chunk_bytes = max(self._config.upload_chunk_bytes, 1)
        try:
            if source.size <= min(chunk_bytes, _MONOLITHIC_MAX):
                # A small blob is read and checked first, then sent in the committing PUT
                # (the spec's "monolithic" upload): one request fewer, still nothing stored
                # that does not match.
                data = b"".join(_pieces(source, source.size))
                source.finish()
                self._commit(ref, upload, source.digest, data, deadline)
                return
            offset = 0
            while offset < source.size:
                length = min(chunk_bytes, source.size - offset)
                upload = self._patch(ref, upload, source, (offset, length), deadline)
                offset += length
            source.finish()
            self._commit(ref, upload, source.digest, b"", deadline)
        except BaseException:
            self._cancel(ref, upload, deadline)
            raise

    def _patch(
        self,
        ref: Reference,
        upload: httpx.URL,
        source: BlobSource,
        span: tuple[int, int],
        deadline: Deadline,
    ) -> httpx.URL:
        """Send the chunk at ``span`` (offset, length); return where the upload goes next."""
        offset, length = span
        response = self._http.request(
            ref,
            "PATCH",
            str(upload),
            actions="pull,push",
            headers={
                "Content-Type": _OCTETS,
                "Content-Length": str(length),
                # Inclusive byte range, without a unit: the distribution spec's form.
                "Content-Range": f"{offset}-{offset + length - 1}",
            },
            content=_pieces(source, length),
            deadline=deadline,
        )
        if response.status_code != 202:
            raise self._http.fail(response, ref, f"upload blob {source.digest}")
        response.close()
        location = response.headers.get("location")
        return upload if not location else same_origin(upload, location, ref)

    # --- listings ---------------------------------------------------------------------------

    def list_tags(
        self, ref: Reference, *, max_pages: int, max_page_bytes: int, deadline: Deadline
    ) -> list[str]:
        base = self._http.base(ref.registry)
        url: str | None = f"{base}/v2/{ref.repository}/tags/list?n={_TAGS_PAGE}"
        tags: list[str] = []
        pages = 0
        while url is not None:
            pages += 1
            if pages > max_pages:
                raise LimitExceeded(f"{ref.name}: more than {max_pages} pages of tags")
            page = self._http.whole_read(
                functools.partial(
                    self._tag_page, ref, url, pages == 1, max_page_bytes, deadline=deadline
                ),
                deadline=deadline,
            )
            if page is None:
                return []  # an unknown repository has no tags
            found, url = page
            tags.extend(found)
        return tags

    def _tag_page(
        self, ref: Reference, url: str, first: bool, max_bytes: int, *, deadline: Deadline
    ) -> tuple[list[str], str | None] | None:
        """One page of tags and the next page's URL; ``None`` if the repository is unknown."""
        response = self._http.request(ref, "GET", url, deadline=deadline)
        if response.status_code == 404 and first:
            response.close()
            return None
        if response.status_code != 200:
            raise self._http.fail(response, ref, "tag list")
        with self._http.streamed(response, ref, "tag list", deadline) as body:
            data = read_capped(body, max_bytes, f"{ref.name}: tag list page")
        return read_tag_page(data, response, ref, self._http.base(ref.registry))

    def list_repositories(
        self, ref: Reference, *, max_pages: int, max_page_bytes: int, deadline: Deadline
    ) -> list[str]:
        base = self._http.base(ref.registry)
        url: str | None = f"{base}/v2/_catalog?n={_TAGS_PAGE}"
        names: list[str] = []
        pages = 0
        while url is not None:
            pages += 1
            if pages > max_pages:
                raise LimitExceeded(f"{ref.registry}: more than {max_pages} pages of repositories")
            found, url = self._http.whole_read(
                functools.partial(self._catalog_page, ref, url, max_page_bytes, deadline=deadline),
                deadline=deadline,
            )
            names.extend(found)
        return names

    def _catalog_page(
        self, ref: Reference, url: str, max_bytes: int, *, deadline: Deadline
    ) -> tuple[list[str], str | None]:
        """One page of the catalog and the next page's URL."""
        response = self._http.request(ref, "GET", url, deadline=deadline)
        if response.status_code != 200:
            raise self._http.fail(response, ref, "catalog")
        with self._http.streamed(response, ref, "catalog", deadline) as body:
            data = read_capped(body, max_bytes, f"{ref.registry}: catalog page")
        return read_tag_page(
            data, response, ref, self._http.base(ref.registry), field="repositories"
        )

    @contextmanager
    def open_referrers(self, ref: Reference, digest: str, *, deadline: Deadline) -> Iterator[Body]:
        url = f"{self._http.base(ref.registry)}/v2/{ref.repository}/referrers/{digest}"
        response = self._http.request(
            ref, "GET", url, headers={"Accept": OCI_INDEX}, deadline=deadline
        )
        if response.status_code != 200:
            # No API (404, 405...): the client reads the fallback tag instead.
            response.close()
            yield Body(chunks=iter(()))
            return
        with self._http.streamed(response, ref, "referrers", deadline) as body:
            yield body

"""The one transport seam between :class:`~sealgate.oci.client.RegistryClient` and storage.

A backend speaks one storage protocol (the distribution HTTP API, an OCI image layout on
disk, an in-memory fake in tests) and nothing else. Everything that makes fetched data
trustworthy lives once, in the client: size caps while streaming, digest verification,
error wrapping. A backend therefore hands bodies back as *unread* chunk streams
(:class:`Body`), never as fully-read bytes, so no backend can forget a cap. Uploads go the
other way: the client hands a :class:`BlobSource` that hashes what the backend reads from it.

Every operation takes the caller's :class:`~sealgate.deadline.Deadline`; a backend that waits
(connect, read, retry backoff, token fetch) asks it how long it may still wait and raises
:class:`~sealgate.errors.DeadlineExceeded` when the budget is what ended the wait.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sealgate.deadline import Deadline
from sealgate.errors import RegistryUnreachable, UsageError
from sealgate.oci.reference import Reference

__all__ = ["BlobSource", "Body", "BodyCutShort", "RegistryBackend"]

T = TypeVar("T")


class BodyCutShort(RegistryUnreachable):
    """The connection broke before the whole body arrived (reset, or short of its length).

    Raised by a body's chunk iterator; a whole read of an idempotent resource may be retried.
    """


class BlobSource(Protocol):
    """Blob content on its way to a backend, hashed and counted as it is read.

    :meth:`read` never returns more than the declared size in total and raises
    :class:`~sealgate.errors.IntegrityError` if the content ends early; :meth:`finish` raises
    it if the content runs on past the size or does not hash to the declared digest. A backend
    must call :meth:`finish` before it commits the blob, and cancel the upload if it raises.
    """

    digest: str
    size: int

    def read(self, n: int) -> bytes:
        """Up to ``n`` more bytes; ``b""`` once ``size`` bytes were read."""
        ...

    def finish(self) -> None:
        """Check the whole content against the declared size and digest."""
        ...


@dataclass
class Body:
    """A response body not read yet, with what its headers claim about it.

    Claims are untrusted: the client checks ``length`` against its cap before reading and
    checks ``digest`` against the bytes after reading.
    """

    #: Yields the body in chunks; may raise :class:`~sealgate.errors.SealgateError`.
    chunks: Iterator[bytes]
    #: Declared size (``Content-Length``), if any.
    length: int | None = None
    #: Declared media type (``Content-Type`` without parameters), if any.
    media_type: str | None = None
    #: Declared digest (``Docker-Content-Digest``), if any.
    digest: str | None = None


class RegistryBackend(abc.ABC):
    """Storage operations for one kind of registry; must be safe to share between threads.

    ``reference`` arguments are a tag or a ``sha256:`` digest (``None`` only for layouts:
    "the one image in the layout"). Implementations raise only
    :class:`~sealgate.errors.SealgateError` subclasses, mapping every failure they expect
    (``OSError``, transport errors) themselves: ``ImageNotFound`` when a manifest does not
    exist, ``RegistryUnreachable`` for transport failures (``DeadlineExceeded`` when the
    deadline ended the wait), ``Unauthorized`` for 401/403, ``RegistryError`` for other
    refusals. Anything else escaping a backend is a bug: the client reports ``InternalError``.
    """

    @abc.abstractmethod
    def open_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> AbstractContextManager[Body]:
        """Start fetching a manifest or index.

        Raises:
            ImageNotFound: no such manifest.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal.
        """

    def head_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> Body | None:
        """Describe a manifest without its body (``chunks`` is empty).

        Returns ``None`` when the backend cannot answer cheaply; the client then GETs.

        Raises:
            ImageNotFound: no such manifest.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal.
        """
        del ref, reference, deadline
        return None

    @abc.abstractmethod
    def open_blob(
        self, ref: Reference, digest: str, *, deadline: Deadline
    ) -> AbstractContextManager[Body]:
        """Start fetching a blob.

        Raises:
            RegistryUnreachable: transport failure.
            RegistryError: the blob is missing (status 404) or any other refusal.
        """

    def read_whole(
        self,
        open_body: Callable[[], AbstractContextManager[Body]],
        read: Callable[[Body], T],
        *,
        deadline: Deadline,
    ) -> T:
        """Open a body and read it whole with ``read``, for an idempotent fetch.

        Backends that can send again (HTTP) retry when the body is cut short
        (:class:`BodyCutShort`), within their attempts and the deadline; the default reads once.

        Raises:
            BodyCutShort: the body was cut short on the last attempt.
        """
        del deadline
        with open_body() as body:
            return read(body)

    @abc.abstractmethod
    def blob_exists(self, ref: Reference, digest: str, *, deadline: Deadline) -> bool:
        """Tell whether the repository has the blob.

        Raises:
            RegistryUnreachable: transport failure.
            RegistryError: any refusal other than "not found".
        """

    @abc.abstractmethod
    def push_blob(
        self,
        ref: Reference,
        digest: str,
        data: bytes,
        *,
        mount_from: Reference | None = None,
        deadline: Deadline,
    ) -> None:
        """Store a small blob whose digest the client has computed, in one request.

        Args:
            ref: target repository.
            digest: ``sha256`` of ``data``.
            data: the blob.
            mount_from: a repository on the same registry that may already hold the blob.
            deadline: when to give up.

        Raises:
            RegistryUnreachable: transport failure.
            RegistryError: the registry refused the upload.
        """

    @abc.abstractmethod
    def push_blob_stream(
        self,
        ref: Reference,
        source: BlobSource,
        *,
        mount_from: Reference | None = None,
        deadline: Deadline,
    ) -> None:
        """Store a blob of any size without holding it in memory.

        Must call ``source.finish()`` before committing the blob, and leave nothing stored
        (cancel the upload, delete the temporary file) if anything raises.

        Args:
            ref: target repository.
            source: the content, hashed while read; ``source.digest`` names the blob.
            mount_from: a repository on the same registry that may already hold the blob.
            deadline: when to give up.

        Raises:
            IntegrityError: the content does not match ``source.digest`` or ``source.size``.
            RegistryUnreachable: transport failure.
            RegistryError: the registry refused the upload.
        """

    @abc.abstractmethod
    def push_manifest(
        self, ref: Reference, reference: str, data: bytes, media_type: str, *, deadline: Deadline
    ) -> None:
        """Store a manifest under a tag or its digest.

        Raises:
            RegistryUnreachable: transport failure.
            RegistryError: the registry refused the manifest.
        """

    @abc.abstractmethod
    def list_tags(
        self, ref: Reference, *, max_pages: int, max_page_bytes: int, deadline: Deadline
    ) -> list[str]:
        """List the repository's tags; an unknown repository has none.

        Raises:
            LimitExceeded: more than ``max_pages`` pages or a page over ``max_page_bytes``.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal.
        """

    def list_repositories(
        self, ref: Reference, *, max_pages: int, max_page_bytes: int, deadline: Deadline
    ) -> list[str]:
        """List the registry's repositories (``GET /v2/_catalog``, paginated).

        ``ref`` names the registry (its repository part is ignored). Default: the backend
        cannot list repositories.

        Raises:
            UsageError: this backend has no catalog.
            Unauthorized: the registry refuses the catalog to these credentials.
            LimitExceeded: more than ``max_pages`` pages or a page over ``max_page_bytes``.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal (a registry without the catalog API: 404).
        """
        del max_pages, max_page_bytes, deadline
        raise UsageError(f"{ref.registry}: this kind of registry cannot list repositories")

    def open_referrers(
        self, ref: Reference, digest: str, *, deadline: Deadline
    ) -> AbstractContextManager[Body] | None:
        """Start a referrers API call, or return ``None`` when there is no such API.

        The client uses the body only if its media type is an OCI index (OCI distribution
        spec, "Listing Referrers").

        Raises:
            RegistryUnreachable: transport failure.
        """
        del ref, digest, deadline
        return None

    @abc.abstractmethod
    def delete_manifest(self, ref: Reference, digest: str, *, deadline: Deadline) -> None:
        """Delete a manifest by digest.

        Raises:
            ImageNotFound: no such manifest.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal (e.g. deletes disabled).
        """

    def close(self) -> None:  # noqa: B027  (optional hook, not abstract on purpose)
        """Release connections and files; default: nothing to release."""

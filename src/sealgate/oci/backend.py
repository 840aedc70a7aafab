"""The one transport seam between :class:`~sealgate.oci.client.RegistryClient` and storage.

A backend speaks one storage protocol (the distribution HTTP API, an OCI image layout on
disk, an in-memory fake in tests) and nothing else. Everything that makes fetched data
trustworthy lives once, in the client: size caps while streaming, digest verification,
error wrapping. A backend therefore hands bodies back as *unread* chunk streams
(:class:`Body`), never as fully-read bytes, so no backend can forget a cap.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sealgate.oci.reference import Reference

__all__ = ["Body", "RegistryBackend"]


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
    :class:`~sealgate.errors.SealgateError` subclasses: ``ImageNotFound`` when a manifest
    does not exist, ``RegistryUnreachable`` for transport failures, ``RegistryError`` for
    other refusals.
    """

    @abc.abstractmethod
    def open_manifest(self, ref: Reference, reference: str | None) -> AbstractContextManager[Body]:
        """Start fetching a manifest or index.

        Raises:
            ImageNotFound: no such manifest.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal.
        """

    def head_manifest(self, ref: Reference, reference: str | None) -> Body | None:
        """Describe a manifest without its body (``chunks`` is empty).

        Returns ``None`` when the backend cannot answer cheaply; the client then GETs.

        Raises:
            ImageNotFound: no such manifest.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal.
        """
        del ref, reference
        return None

    @abc.abstractmethod
    def open_blob(self, ref: Reference, digest: str) -> AbstractContextManager[Body]:
        """Start fetching a blob.

        Raises:
            RegistryUnreachable: transport failure.
            RegistryError: the blob is missing (status 404) or any other refusal.
        """

    @abc.abstractmethod
    def blob_exists(self, ref: Reference, digest: str) -> bool:
        """Tell whether the repository has the blob.

        Raises:
            RegistryUnreachable: transport failure.
            RegistryError: any refusal other than "not found".
        """

    @abc.abstractmethod
    def push_blob(
        self, ref: Reference, digest: str, data: bytes, *, mount_from: Reference | None = None
    ) -> None:
        """Store a blob whose digest the client has computed.

        Args:
            ref: target repository.
            digest: ``sha256`` of ``data``.
            data: the blob.
            mount_from: a repository on the same registry that may already hold the blob.

        Raises:
            RegistryUnreachable: transport failure.
            RegistryError: the registry refused the upload.
        """

    @abc.abstractmethod
    def push_manifest(self, ref: Reference, reference: str, data: bytes, media_type: str) -> None:
        """Store a manifest under a tag or its digest.

        Raises:
            RegistryUnreachable: transport failure.
            RegistryError: the registry refused the manifest.
        """

    @abc.abstractmethod
    def list_tags(self, ref: Reference, *, max_pages: int, max_page_bytes: int) -> list[str]:
        """List the repository's tags; an unknown repository has none.

        Raises:
            LimitExceeded: more than ``max_pages`` pages or a page over ``max_page_bytes``.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal.
        """

    def open_referrers(self, ref: Reference, digest: str) -> AbstractContextManager[Body] | None:
        """Start a referrers API call, or return ``None`` when there is no such API.

        The client uses the body only if its media type is an OCI index (SPEC §5.5).

        Raises:
            RegistryUnreachable: transport failure.
        """
        del ref, digest
        return None

    @abc.abstractmethod
    def delete_manifest(self, ref: Reference, digest: str) -> None:
        """Delete a manifest by digest.

        Raises:
            ImageNotFound: no such manifest.
            RegistryUnreachable: transport failure.
            RegistryError: any other refusal (e.g. deletes disabled).
        """

    def close(self) -> None:  # noqa: B027  (optional hook, not abstract on purpose)
        """Release connections and files; default: nothing to release."""

"""The lifecycle half of :class:`~sealgate.oci.client.RegistryClient`: backends, deadlines, guards.

Backends (and so connection pools and token caches) are shared by a client and every
deadline view made of it with :meth:`ClientCore.with_deadline`; only the client that made
them closes them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Self

from sealgate.config import ClientConfig
from sealgate.deadline import Deadline
from sealgate.errors import InternalError, MalformedData, SealgateError
from sealgate.oci.backend import Body, RegistryBackend
from sealgate.oci.mediatypes import MANIFEST_TYPES, is_valid_digest
from sealgate.oci.reference import Reference
from sealgate.oci.streams import read_capped

__all__ = ["ClientCore", "check_digest", "guarded", "manifest_media_type"]

logger = logging.getLogger("sealgate.oci.client")

Opener = Callable[[], AbstractContextManager[Body]]


@contextmanager
def guarded(ref: Reference, action: str) -> Iterator[None]:
    """Let sealgate errors through; anything else escaping a backend is a bug."""
    try:
        yield
    except SealgateError:
        raise
    except Exception as e:
        # Only the type name: foreign messages may quote URLs, headers or file contents.
        logger.debug("%s: %s failed", ref.name, action, exc_info=True)
        raise InternalError(
            f"{ref.name}: {action} failed: internal error ({type(e).__name__})"
        ) from e


def check_digest(digest: str, ref: Reference) -> str:
    if not is_valid_digest(digest):
        raise MalformedData(f"{ref.name}: {digest!r} is not a sha256 digest")
    return digest


def manifest_media_type(header: str | None, data: bytes, what: str) -> str:
    # The mediaType inside the manifest is covered by the digest; the header is not.
    try:
        declared = json.loads(data).get("mediaType")
    except (ValueError, AttributeError, RecursionError) as e:
        raise MalformedData(f"{what} is not a JSON object") from e
    if isinstance(declared, str) and declared:
        return declared
    if header and header in MANIFEST_TYPES:
        return header
    raise MalformedData(f"{what} has no recognisable media type")


class _Backends:
    """The backends and connection pools every deadline view of one client shares."""

    def __init__(self, config: ClientConfig, backend: RegistryBackend | None) -> None:
        self.config = config
        self.http = backend
        self.layout: RegistryBackend | None = None
        self.lock = threading.Lock()

    def for_ref(self, ref: Reference) -> RegistryBackend:
        with self.lock:
            if ref.layout:
                if self.layout is None:
                    from sealgate.oci.layout import LayoutBackend

                    self.layout = LayoutBackend()
                return self.layout
            if self.http is None:
                from sealgate.oci.http_backend import HttpBackend

                self.http = HttpBackend(self.config)
            return self.http

    def close(self) -> None:
        with self.lock:
            backends = [b for b in (self.http, self.layout) if b is not None]
        for backend in backends:
            backend.close()


class ClientCore:
    """Backends per reference, the deadline of every call, and closing; see RegistryClient."""

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        backend: RegistryBackend | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        """Create a client; no connection is opened yet.

        Args:
            config: limits, TLS and credentials (defaults: :class:`ClientConfig`).
            backend: the registry backend to use instead of HTTP (tests, fakes).
            deadline: the time budget of every call (default: none, only per-request timeouts).
        """
        self.config = config or ClientConfig()
        self._backends = _Backends(self.config, backend)
        self._owner = True
        #: Every call made through this client gives up when this passes.
        self.deadline = deadline or Deadline.none()

    def with_deadline(self, deadline: Deadline) -> Self:
        """A view of this client whose calls give up at ``deadline`` (or earlier, if ours is).

        The view shares backends, connection pools and token cache; closing it closes nothing.

        Args:
            deadline: the caller's time budget.

        Returns:
            The view.
        """
        view = type(self).__new__(type(self))
        view.config = self.config
        view._backends = self._backends
        view._owner = False
        view.deadline = self.deadline.earliest(deadline)
        return view

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close connections and files held by the backends (a deadline view: nothing)."""
        if self._owner:
            self._backends.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _backend_for(self, ref: Reference) -> RegistryBackend:
        return self._backends.for_ref(ref)

    def _read_whole(
        self, ref: Reference, action: str, open_body: Opener, max_bytes: int, what: str
    ) -> tuple[bytes, Body]:
        """Open and read a body under the cap; the backend may retry a body cut short."""

        def read(body: Body) -> tuple[bytes, Body]:
            return read_capped(body, max_bytes, what), body

        with guarded(ref, action):
            return self._backend_for(ref).read_whole(open_body, read, deadline=self.deadline)

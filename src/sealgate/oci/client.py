"""The registry client: every read capped and digest-checked, whatever the backend.

This is the template half of the transport seam (STYLE item 3): it picks a backend per
reference (HTTP registry or ``oci:`` layout), enforces ``ClientConfig`` limits while
streaming, verifies every manifest and blob against its digest, and wraps every foreign
exception into the :mod:`sealgate.errors` tree.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import BinaryIO

from sealgate.config import ClientConfig
from sealgate.errors import (
    ImageNotFound,
    IntegrityError,
    MalformedData,
    RegistryError,
    SealgateError,
    UsageError,
)
from sealgate.oci.backend import RegistryBackend
from sealgate.oci.descriptor import Descriptor, FetchedManifest, parse_index
from sealgate.oci.mediatypes import (
    MANIFEST_TYPES,
    OCI_INDEX,
    digest_of,
    is_valid_digest,
)
from sealgate.oci.reference import Reference
from sealgate.oci.streams import VerifyingReader, check_declared_length, read_capped

__all__ = ["Descriptor", "FetchedManifest", "RegistryClient"]

logger = logging.getLogger(__name__)


@contextmanager
def _guarded(ref: Reference, action: str) -> Iterator[None]:
    """Turn any foreign exception into a ``RegistryError`` naming the repository."""
    try:
        yield
    except SealgateError:
        raise
    except Exception as e:
        # Only the type name: foreign messages may quote URLs, headers or file contents.
        logger.debug("%s: %s failed", ref.name, action, exc_info=True)
        raise RegistryError(f"{ref.name}: {action} failed: {type(e).__name__}") from e


def _check_digest(digest: str, ref: Reference) -> str:
    if not is_valid_digest(digest):
        raise MalformedData(f"{ref.name}: {digest!r} is not a sha256 digest")
    return digest


def _manifest_media_type(header: str | None, data: bytes, what: str) -> str:
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


class RegistryClient:
    """Thread-safe client for OCI registries and ``oci:`` layouts.

    One instance per process: every worker thread shares its connection pools and
    token cache.

    Example:
        >>> with RegistryClient(ClientConfig()) as client:  # doctest: +SKIP
        ...     desc = client.resolve(Reference.parse("alpine:3.19"))
    """

    def __init__(
        self, config: ClientConfig | None = None, *, backend: RegistryBackend | None = None
    ) -> None:
        self.config = config or ClientConfig()
        self._backend = backend
        self._layout: RegistryBackend | None = None
        self._lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close connections and files held by the backends."""
        with self._lock:
            backends = [b for b in (self._backend, self._layout) if b is not None]
        for backend in backends:
            backend.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _backend_for(self, ref: Reference) -> RegistryBackend:
        with self._lock:
            if ref.layout:
                if self._layout is None:
                    from sealgate.oci.layout import LayoutBackend

                    self._layout = LayoutBackend()
                return self._layout
            if self._backend is None:
                from sealgate.oci.http_backend import HttpBackend

                self._backend = HttpBackend(self.config)
            return self._backend

    # --- manifests --------------------------------------------------------------------------

    def resolve(self, ref: Reference) -> Descriptor:
        """Resolve a reference to the descriptor of its manifest or index.

        Uses HEAD (cheap, not rate-limited on Docker Hub) and falls back to GET when the
        registry does not announce digest, type and size.

        Raises:
            ImageNotFound: the tag or digest does not exist.
            IntegrityError: content does not match its digest.
            CheckFailed: transport, registry or limit failures (subclasses).
        """
        reference = ref.digest or ref.tag
        with _guarded(ref, "resolve"):
            head = self._backend_for(ref).head_manifest(ref, reference)
        if (
            head is not None
            and head.digest is not None
            and is_valid_digest(head.digest)
            and head.media_type in MANIFEST_TYPES
            and head.length is not None
            and ref.digest in (None, head.digest)
        ):
            check_declared_length(head, self.config.max_manifest_bytes, f"manifest {ref}")
            return Descriptor(head.media_type, head.digest, head.length)
        return self.get_manifest(ref).descriptor

    def get_manifest(self, ref: Reference) -> FetchedManifest:
        """Fetch a manifest or index by digest (preferred) or tag.

        Raises:
            ImageNotFound: the tag or digest does not exist.
            IntegrityError: the bytes do not hash to the requested or announced digest.
            LimitExceeded: larger than ``max_manifest_bytes``.
            CheckFailed: transport or registry failures (subclasses).
        """
        what = f"manifest {ref}"
        with (
            _guarded(ref, "get manifest"),
            self._backend_for(ref).open_manifest(ref, ref.digest or ref.tag) as body,
        ):
            data = read_capped(body, self.config.max_manifest_bytes, what)
        digest = digest_of(data)
        if ref.digest is not None and digest != ref.digest:
            raise IntegrityError(f"{what} hashes to {digest}")
        # Only sha256 announcements are comparable; another algorithm says nothing to us.
        if body.digest and body.digest.startswith("sha256:") and body.digest != digest:
            raise IntegrityError(f"{what} hashes to {digest}, registry announced {body.digest}")
        return FetchedManifest(data, _manifest_media_type(body.media_type, data, what), digest)

    def get_manifest_or_none(self, ref: Reference) -> FetchedManifest | None:
        """Like :meth:`get_manifest`, but a missing manifest is ``None``.

        Raises:
            IntegrityError: the bytes do not match the digest.
            CheckFailed: transport, registry or limit failures (subclasses).
        """
        try:
            return self.get_manifest(ref)
        except ImageNotFound:
            return None

    def put_manifest(self, ref: Reference, data: bytes, media_type: str) -> str:
        """Store a manifest under ``ref.tag``, else under ``ref.digest``.

        Returns:
            The manifest digest.

        Raises:
            UsageError: no tag or digest, or ``ref.digest`` is not the digest of ``data``.
            CheckFailed: transport or registry failures (subclasses).
        """
        digest = digest_of(data)
        target = ref.tag or ref.digest
        if target is None:
            raise UsageError(f"{ref}: a manifest needs a tag or digest to be pushed to")
        if target == ref.digest and ref.digest != digest:
            raise UsageError(f"{ref}: manifest bytes hash to {digest}, not to the digest given")
        with _guarded(ref, "put manifest"):
            self._backend_for(ref).push_manifest(ref, target, data, media_type)
        logger.debug("pushed manifest %s to %s:%s", digest, ref.name, target)
        return digest

    def delete_manifest(self, ref: Reference) -> None:
        """Delete a manifest (a tag is resolved to its digest first).

        Raises:
            ImageNotFound: no such manifest.
            CheckFailed: transport or registry failures (subclasses).
        """
        digest = ref.digest or self.resolve(ref).digest
        with _guarded(ref, "delete manifest"):
            self._backend_for(ref).delete_manifest(ref, digest)

    def list_tags(self, ref: Reference) -> list[str]:
        """List tags of ``ref``'s repository, following pagination up to ``max_tag_pages``.

        Raises:
            LimitExceeded: too many pages, or a page too large.
            CheckFailed: transport or registry failures (subclasses).
        """
        with _guarded(ref, "list tags"):
            return self._backend_for(ref).list_tags(
                ref,
                max_pages=self.config.max_tag_pages,
                max_page_bytes=self.config.max_manifest_bytes,
            )

    def referrers(self, ref: Reference, *, artifact_type: str | None = None) -> list[Descriptor]:
        """List manifests whose ``subject`` is ``ref`` (OCI 1.1, SPEC §5.5).

        Uses the referrers API when it answers 200 with an OCI index, otherwise the
        ``sha256-<hex>`` fallback tag; neither present means no referrers.

        Args:
            ref: the subject (a tag is resolved first).
            artifact_type: keep only descriptors with this ``artifactType``.

        Raises:
            MalformedData: the index is malformed (``IntegrityError`` on digest mismatch).
            CheckFailed: transport or registry failures (subclasses).
        """
        digest = ref.digest or self.resolve(ref).digest
        subject = ref.with_digest(digest)
        found: list[Descriptor] | None = None
        with _guarded(ref, "referrers"):
            opened = self._backend_for(ref).open_referrers(subject, digest)
            if opened is not None:
                with opened as body:
                    if body.media_type == OCI_INDEX:
                        data = read_capped(body, self.config.max_manifest_bytes, "referrers")
                        found = parse_index(FetchedManifest(data, OCI_INDEX, digest_of(data)))
        if found is None:
            fallback = self.get_manifest_or_none(ref.with_tag(digest.replace(":", "-")))
            found = [] if fallback is None else parse_index(fallback)
        if artifact_type is not None:
            found = [d for d in found if d.artifact_type == artifact_type]
        return found

    def has_referrers_api(self, ref: Reference) -> bool:
        """Whether the registry answers the OCI 1.1 referrers API for ``ref``'s digest.

        A writer of a manifest with a ``subject`` must otherwise maintain the ``<alg>-<hex>``
        fallback index itself (OCI distribution spec, "Unavailable Referrers API").

        Raises:
            UsageError: ``ref`` is not pinned to a digest.
            CheckFailed: transport or registry failures (subclasses).
        """
        if ref.digest is None:
            raise UsageError(f"{ref}: the referrers API is asked about a digest")
        with _guarded(ref, "referrers"):
            opened = self._backend_for(ref).open_referrers(ref, ref.digest)
            if opened is None:
                return False
            with opened as body:
                return body.media_type == OCI_INDEX

    # --- blobs ------------------------------------------------------------------------------

    def get_blob(self, ref: Reference, digest: str, *, max_bytes: int) -> bytes:
        """Fetch a whole blob into memory.

        Raises:
            LimitExceeded: larger than ``max_bytes`` (stops reading at the cap).
            IntegrityError: the bytes do not hash to ``digest``.
            CheckFailed: transport or registry failures (subclasses).
        """
        with self.open_blob(ref, digest, max_bytes=max_bytes) as stream:
            return stream.read()

    @contextmanager
    def open_blob(self, ref: Reference, digest: str, *, max_bytes: int) -> Iterator[BinaryIO]:
        """Stream a blob; reading to EOF verifies its digest.

        Raises:
            LimitExceeded: while reading, past ``max_bytes`` (or declared larger up front).
            IntegrityError: at EOF, if the bytes do not hash to ``digest``.
            CheckFailed: transport or registry failures (subclasses).
        """
        _check_digest(digest, ref)
        what = f"blob {digest} of {ref.name}"
        with ExitStack() as stack:
            with _guarded(ref, "get blob"):
                body = stack.enter_context(self._backend_for(ref).open_blob(ref, digest))
            check_declared_length(body, max_bytes, what)
            # The caller's own exceptions pass through unwrapped: only the open is guarded.
            yield io.BufferedReader(VerifyingReader(body.chunks, digest, max_bytes, what))

    def blob_exists(self, ref: Reference, digest: str) -> bool:
        """Tell whether ``ref``'s repository holds the blob.

        Raises:
            CheckFailed: transport or registry failures (subclasses).
        """
        _check_digest(digest, ref)
        with _guarded(ref, "check blob"):
            return self._backend_for(ref).blob_exists(ref, digest)

    def put_blob(self, ref: Reference, data: bytes, *, mount_from: Reference | None = None) -> str:
        """Upload a blob unless the repository already has it.

        Args:
            ref: target repository.
            data: blob content.
            mount_from: a repository on the same registry to mount the blob from.

        Returns:
            The blob digest.

        Raises:
            CheckFailed: transport or registry failures (subclasses).
        """
        digest = digest_of(data)
        backend = self._backend_for(ref)
        with _guarded(ref, "put blob"):
            if backend.blob_exists(ref, digest):
                return digest
            if mount_from is not None and (mount_from.registry != ref.registry or ref.layout):
                mount_from = None
            backend.push_blob(ref, digest, data, mount_from=mount_from)
        return digest

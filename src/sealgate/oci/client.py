"""The registry client: every read capped and digest-checked, whatever the backend.

This is the template half of the transport seam: it picks a backend per reference (HTTP
registry or ``oci:`` layout), enforces ``ClientConfig`` limits while streaming, verifies every
manifest and blob against its digest, carries the caller's deadline down to the backend, and
turns any foreign exception escaping a backend into :class:`~sealgate.errors.InternalError`
(a bug, never "unreachable").
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import BinaryIO

from sealgate.errors import ImageNotFound, IntegrityError, UsageError
from sealgate.oci._client_core import ClientCore, check_digest, guarded, manifest_media_type
from sealgate.oci.backend import Body
from sealgate.oci.descriptor import Descriptor, FetchedManifest, parse_index
from sealgate.oci.mediatypes import MANIFEST_TYPES, OCI_INDEX, digest_of
from sealgate.oci.reference import Reference
from sealgate.oci.streams import (
    HashingSource,
    VerifyingReader,
    check_declared_length,
    read_capped,
)

__all__ = ["Descriptor", "FetchedManifest", "RegistryClient"]

logger = logging.getLogger(__name__)


class RegistryClient(ClientCore):
    """Thread-safe client for OCI registries and ``oci:`` layouts.

    One instance per process: every worker thread shares its connection pools and token
    cache. :meth:`with_deadline` makes a cheap view bound to one time budget (one per
    admission review, say) over the same pools.

    Example:
        >>> with RegistryClient(ClientConfig()) as client:  # doctest: +SKIP
        ...     desc = client.with_deadline(Deadline.after(10)).resolve(ref)
    """

    # --- manifests --------------------------------------------------------------------------

    def resolve(self, ref: Reference) -> Descriptor:
        """Resolve a reference to the descriptor of its manifest or index.

        A tag's digest is the sha256 of the manifest bytes received, never a header (as
        go-containerregistry's ``remote.Get`` computes it): tags are fetched and hashed,
        manifests being small. A digest reference is checked with HEAD, trusted only when the
        registry echoes that very digest; otherwise it is fetched and hashed too.

        Raises:
            ImageNotFound: the tag or digest does not exist.
            IntegrityError: content does not match its digest.
            CheckFailed: transport, registry or limit failures (subclasses).
        """
        if ref.digest is None:
            return self.get_manifest(ref).descriptor
        with guarded(ref, "resolve"):
            head = self._backend_for(ref).head_manifest(ref, ref.digest, deadline=self.deadline)
        if (
            head is not None
            and head.digest == ref.digest
            and head.media_type in MANIFEST_TYPES
            and head.length is not None
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
        backend = self._backend_for(ref)
        data, body = self._read_whole(
            ref,
            "get manifest",
            lambda: backend.open_manifest(ref, ref.digest or ref.tag, deadline=self.deadline),
            self.config.max_manifest_bytes,
            what,
        )
        digest = digest_of(data)
        if ref.digest is not None and digest != ref.digest:
            raise IntegrityError(f"{what} hashes to {digest}")
        # Only sha256 announcements are comparable; another algorithm says nothing to us. A
        # registry contradicting the bytes it sent is broken or lying: fail closed.
        if body.digest and body.digest.startswith("sha256:") and body.digest != digest:
            raise IntegrityError(f"{what} hashes to {digest}, registry announced {body.digest}")
        return FetchedManifest(data, manifest_media_type(body.media_type, data, what), digest)

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
        with guarded(ref, "put manifest"):
            self._backend_for(ref).push_manifest(
                ref, target, data, media_type, deadline=self.deadline
            )
        logger.debug("pushed manifest %s to %s:%s", digest, ref.name, target)
        return digest

    def delete_manifest(self, ref: Reference) -> None:
        """Delete a manifest (a tag is resolved to its digest first).

        Raises:
            ImageNotFound: no such manifest.
            CheckFailed: transport or registry failures (subclasses).
        """
        digest = ref.digest or self.resolve(ref).digest
        with guarded(ref, "delete manifest"):
            self._backend_for(ref).delete_manifest(ref, digest, deadline=self.deadline)

    def list_tags(self, ref: Reference) -> list[str]:
        """List tags of ``ref``'s repository, following pagination up to ``max_tag_pages``.

        Raises:
            LimitExceeded: too many pages, or a page too large.
            CheckFailed: transport or registry failures (subclasses).
        """
        with guarded(ref, "list tags"):
            return self._backend_for(ref).list_tags(
                ref,
                max_pages=self.config.max_tag_pages,
                max_page_bytes=self.config.max_manifest_bytes,
                deadline=self.deadline,
            )

    def list_repositories(self, registry: str) -> list[str]:
        """List the repositories of ``registry`` (``GET /v2/_catalog``, distribution API).

        Pagination is followed up to ``max_tag_pages`` pages, each capped at
        ``max_manifest_bytes``. Many hosted registries refuse the catalog (401/403/404).

        Raises:
            UsageError: the registry kind has no catalog (an OCI layout directory).
            LimitExceeded: too many pages, or a page too large.
            CheckFailed: transport or registry failures, refusals included (subclasses).
        """
        ref = Reference(registry=registry, repository="_catalog", tag="latest")
        with guarded(ref, "catalog"):
            return self._backend_for(ref).list_repositories(
                ref,
                max_pages=self.config.max_tag_pages,
                max_page_bytes=self.config.max_manifest_bytes,
                deadline=self.deadline,
            )

    def referrers(self, ref: Reference, *, artifact_type: str | None = None) -> list[Descriptor]:
        """List manifests whose ``subject`` is ``ref`` (OCI distribution spec 1.1 referrers).

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
        backend = self._backend_for(ref)
        cap = self.config.max_manifest_bytes

        @contextmanager
        def open_api() -> Iterator[Body]:
            opened = backend.open_referrers(subject, digest, deadline=self.deadline)
            if opened is None:
                yield Body(chunks=iter(()))
                return
            with opened as body:
                yield body

        def read(body: Body) -> bytes | None:
            return read_capped(body, cap, "referrers") if body.media_type == OCI_INDEX else None

        with guarded(ref, "referrers"):
            data = backend.read_whole(open_api, read, deadline=self.deadline)
        if data is not None:
            found = parse_index(FetchedManifest(data, OCI_INDEX, digest_of(data)))
        else:
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
        with guarded(ref, "referrers"):
            opened = self._backend_for(ref).open_referrers(ref, ref.digest, deadline=self.deadline)
            if opened is None:
                return False
            with opened as body:
                return body.media_type == OCI_INDEX

    # --- blobs ------------------------------------------------------------------------------

    def get_blob(self, ref: Reference, digest: str, *, max_bytes: int) -> bytes:
        """Fetch a whole blob into memory (sent again if its body is cut short).

        Raises:
            LimitExceeded: larger than ``max_bytes`` (stops reading at the cap).
            IntegrityError: the bytes do not hash to ``digest``.
            CheckFailed: transport or registry failures (subclasses).
        """
        check_digest(digest, ref)
        what = f"blob {digest} of {ref.name}"
        backend = self._backend_for(ref)

        def read(body: Body) -> bytes:
            check_declared_length(body, max_bytes, what)
            return io.BufferedReader(VerifyingReader(body.chunks, digest, max_bytes, what)).read()

        with guarded(ref, "get blob"):
            return backend.read_whole(
                lambda: backend.open_blob(ref, digest, deadline=self.deadline),
                read,
                deadline=self.deadline,
            )

    @contextmanager
    def open_blob(self, ref: Reference, digest: str, *, max_bytes: int) -> Iterator[BinaryIO]:
        """Stream a blob; reading to EOF verifies its digest.

        Raises:
            LimitExceeded: while reading, past ``max_bytes`` (or declared larger up front).
            IntegrityError: at EOF, if the bytes do not hash to ``digest``.
            CheckFailed: transport or registry failures (subclasses).
        """
        check_digest(digest, ref)
        what = f"blob {digest} of {ref.name}"
        with ExitStack() as stack:
            with guarded(ref, "get blob"):
                body = stack.enter_context(
                    self._backend_for(ref).open_blob(ref, digest, deadline=self.deadline)
                )
            check_declared_length(body, max_bytes, what)
            # The caller's own exceptions pass through unwrapped: only the open is guarded.
            yield io.BufferedReader(VerifyingReader(body.chunks, digest, max_bytes, what))

    def blob_exists(self, ref: Reference, digest: str) -> bool:
        """Tell whether ``ref``'s repository holds the blob.

        Raises:
            CheckFailed: transport or registry failures (subclasses).
        """
        check_digest(digest, ref)
        with guarded(ref, "check blob"):
            return self._backend_for(ref).blob_exists(ref, digest, deadline=self.deadline)

    def _mount_source(self, ref: Reference, mount_from: Reference | None) -> Reference | None:
        if mount_from is not None and (mount_from.registry != ref.registry or ref.layout):
            return None
        return mount_from

    def put_blob(self, ref: Reference, data: bytes, *, mount_from: Reference | None = None) -> str:
        """Upload a small blob in one request unless the repository already has it.

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
        with guarded(ref, "put blob"):
            if backend.blob_exists(ref, digest, deadline=self.deadline):
                return digest
            backend.push_blob(
                ref,
                digest,
                data,
                mount_from=self._mount_source(ref, mount_from),
                deadline=self.deadline,
            )
        return digest

    def put_blob_stream(
        self,
        ref: Reference,
        content: BinaryIO | Iterable[bytes],
        *,
        digest: str,
        size: int,
        mount_from: Reference | None = None,
    ) -> str:
        """Upload a blob of any size as a stream, unless the repository already has it.

        Memory stays bounded whatever the size: registries get a chunked upload (POST, PATCH
        per ``upload_chunk_bytes``, PUT), layouts a temporary file renamed into place. The
        content is hashed while it streams; if it is not ``size`` bytes hashing to
        ``digest``, the upload is cancelled and nothing is stored.

        Args:
            ref: target repository.
            content: a binary file (read from its position) or an iterable of chunks. Not
                read at all when the blob exists or is mounted.
            digest: the declared ``sha256:`` digest.
            size: the declared size in bytes.
            mount_from: a repository on the same registry to mount the blob from.

        Returns:
            ``digest``.

        Raises:
            IntegrityError: the content does not match ``digest`` or ``size``.
            MalformedData: ``digest`` is not a sha256 digest.
            UsageError: ``size`` is negative.
            InputError: reading ``content`` failed with an ``OSError``.
            CheckFailed: transport or registry failures (subclasses).
        """
        check_digest(digest, ref)
        if size < 0:
            raise UsageError(f"blob {digest}: size {size} is negative")
        backend = self._backend_for(ref)
        source = HashingSource(content, digest=digest, size=size, what=f"blob {digest}")
        with guarded(ref, "put blob"):
            if backend.blob_exists(ref, digest, deadline=self.deadline):
                return digest
            backend.push_blob_stream(
                ref, source, mount_from=self._mount_source(ref, mount_from), deadline=self.deadline
            )
        logger.debug("streamed blob %s (%d bytes) to %s", digest, size, ref.name)
        return digest

"""The ``oci:PATH[:tag]`` backend: an OCI image layout directory (image-spec ``image-layout.md``).

Tags are ``org.opencontainers.image.ref.name`` annotations on ``index.json`` entries, as
skopeo and ``oras`` write them, so cosign-style ``sha256-<hex>.sig`` tags live in the same
layout as the image. Writes replace ``index.json`` atomically; a lock per directory keeps
threads of one process from losing each other's updates (other processes are not locked
out, like skopeo).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sealgate.deadline import Deadline
from sealgate.errors import ImageNotFound, LimitExceeded, MalformedData, RegistryError
from sealgate.oci.backend import BlobSource, Body, RegistryBackend
from sealgate.oci.mediatypes import OCI_INDEX, digest_of
from sealgate.oci.reference import Reference

__all__ = ["REF_NAME", "LayoutBackend"]

REF_NAME = "org.opencontainers.image.ref.name"
_LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'
_MAX_INDEX_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024


def _io_error(ref: Reference, action: str, error: OSError) -> RegistryError:
    return RegistryError(f"{ref.name}: {action}: {error.strerror or type(error).__name__}")


def _file_chunks(ref: Reference, path: Path, deadline: Deadline) -> Iterator[bytes]:
    """A file's content in chunks; a read error is the layout's failure, not a bug."""
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                deadline.check(f"{ref.name}: reading {path.name}")
                yield chunk
    except OSError as e:
        raise _io_error(ref, f"reading {path.name}", e) from e


class LayoutBackend(RegistryBackend):
    """Reads and writes OCI image layouts; ``ref.repository`` is the directory."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def _lock(self, ref: Reference) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(ref.repository, threading.Lock())

    @staticmethod
    def _blob_path(ref: Reference, digest: str) -> Path:
        algorithm, _, hex_ = digest.partition(":")
        return Path(ref.repository) / "blobs" / algorithm / hex_

    def _read_index(self, ref: Reference) -> list[dict[str, Any]]:
        path = Path(ref.repository) / "index.json"
        try:
            if path.stat().st_size > _MAX_INDEX_BYTES:
                raise LimitExceeded(f"{ref.name}: index.json is over {_MAX_INDEX_BYTES} bytes")
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise _io_error(ref, "reading index.json", e) from e
        try:
            manifests = json.loads(raw).get("manifests", [])
        except (ValueError, AttributeError, RecursionError) as e:
            raise MalformedData(f"{ref.name}: index.json is not a JSON object") from e
        if not isinstance(manifests, list) or not all(
            isinstance(m, dict) and isinstance(m.get("annotations") or {}, dict) for m in manifests
        ):
            raise MalformedData(f"{ref.name}: index.json has a malformed manifests list")
        return manifests

    def _write_index(self, ref: Reference, manifests: list[dict[str, Any]]) -> None:
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        self._write_atomic(ref, Path(ref.repository) / "index.json", json.dumps(doc).encode())

    @staticmethod
    def _ensure_layout(ref: Reference, directory: Path) -> None:
        """Create ``directory`` and the layout's ``oci-layout`` marker (raises OSError)."""
        directory.mkdir(parents=True, exist_ok=True)
        layout_file = Path(ref.repository) / "oci-layout"
        if not layout_file.exists():
            layout_file.write_bytes(_LAYOUT_FILE)

    @classmethod
    def _write_atomic(cls, ref: Reference, path: Path, data: bytes) -> None:
        try:
            cls._ensure_layout(ref, path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as e:
            raise _io_error(ref, f"writing {path.name}", e) from e

    def _find(self, ref: Reference, reference: str | None) -> dict[str, Any] | None:
        manifests = self._read_index(ref)
        if reference is None:
            return manifests[0] if len(manifests) == 1 else None
        key = "digest" if reference.startswith("sha256:") else "tag"
        for entry in manifests:
            annotations = entry.get("annotations") or {}
            if key == "digest" and entry.get("digest") == reference:
                return entry
            if key == "tag" and annotations.get(REF_NAME) == reference:
                return entry
        return None

    def _entry_body(self, ref: Reference, reference: str | None) -> tuple[Path, Body]:
        entry = self._find(ref, reference)
        if entry is None and reference is not None and reference.startswith("sha256:"):
            # Children of an index are blobs without their own index.json entry.
            entry = {"digest": reference}
        digest = entry.get("digest") if entry else None
        if not isinstance(digest, str) or ":" not in digest:
            which = reference or "the only image"
            raise ImageNotFound(f"{ref.name}: manifest {which} not found")
        path = self._blob_path(ref, digest)
        media_type = entry.get("mediaType") if entry else None
        try:
            size = path.stat().st_size
        except FileNotFoundError as e:
            raise ImageNotFound(f"{ref.name}: manifest {reference or digest} not found") from e
        except OSError as e:
            raise _io_error(ref, "reading manifest", e) from e
        body = Body(
            chunks=iter(()),
            length=size,
            media_type=media_type if isinstance(media_type, str) else None,
            digest=digest,
        )
        return path, body

    @contextmanager
    def open_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> Iterator[Body]:
        deadline.check(f"{ref.name}: manifest {reference}")
        path, body = self._entry_body(ref, reference)
        body.chunks = _file_chunks(ref, path, deadline)
        yield body

    def head_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> Body | None:
        deadline.check(f"{ref.name}: manifest {reference}")
        return self._entry_body(ref, reference)[1]

    @contextmanager
    def open_blob(self, ref: Reference, digest: str, *, deadline: Deadline) -> Iterator[Body]:
        deadline.check(f"{ref.name}: blob {digest}")
        path = self._blob_path(ref, digest)
        try:
            size = path.stat().st_size
        except FileNotFoundError as e:
            raise RegistryError(
                f"{ref.name}: blob {digest} not found", status=404, code="BLOB_UNKNOWN"
            ) from e
        except OSError as e:
            raise _io_error(ref, "reading blob", e) from e
        yield Body(chunks=_file_chunks(ref, path, deadline), length=size)

    def blob_exists(self, ref: Reference, digest: str, *, deadline: Deadline) -> bool:
        deadline.check(f"{ref.name}: blob {digest}")
        return self._blob_path(ref, digest).is_file()

    def push_blob(
        self,
        ref: Reference,
        digest: str,
        data: bytes,
        *,
        mount_from: Reference | None = None,
        deadline: Deadline,
    ) -> None:
        del mount_from  # one directory: nothing to mount from
        deadline.check(f"{ref.name}: blob {digest}")
        self._write_atomic(ref, self._blob_path(ref, digest), data)

    def push_blob_stream(
        self,
        ref: Reference,
        source: BlobSource,
        *,
        mount_from: Reference | None = None,
        deadline: Deadline,
    ) -> None:
        del mount_from  # one directory: nothing to mount from
        path = self._blob_path(ref, source.digest)
        try:
            self._ensure_layout(ref, path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as e:
            raise _io_error(ref, f"writing {path.name}", e) from e
        try:
            with os.fdopen(fd, "wb") as f:
                while piece := source.read(_CHUNK):
                    deadline.check(f"{ref.name}: writing blob {source.digest}")
                    f.write(piece)
            # Nothing reaches its digest's name before the content is proven to hash to it.
            source.finish()
            Path(tmp).replace(path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise _io_error(ref, f"writing {path.name}", e) from e
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def push_manifest(
        self, ref: Reference, reference: str, data: bytes, media_type: str, *, deadline: Deadline
    ) -> None:
        deadline.check(f"{ref.name}: manifest {reference}")
        digest = digest_of(data)
        self._write_atomic(ref, self._blob_path(ref, digest), data)
        entry: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(data)}
        with self._lock(ref):
            manifests = self._read_index(ref)
            if reference.startswith("sha256:"):
                if any(m.get("digest") == digest for m in manifests):
                    return
            else:
                manifests = [
                    m for m in manifests if (m.get("annotations") or {}).get(REF_NAME) != reference
                ]
                entry["annotations"] = {REF_NAME: reference}
            manifests.append(entry)
            self._write_index(ref, manifests)

    def list_tags(
        self, ref: Reference, *, max_pages: int, max_page_bytes: int, deadline: Deadline
    ) -> list[str]:
        del max_pages, max_page_bytes  # bounded by the index size cap
        deadline.check(f"{ref.name}: tag list")
        tags = []
        for entry in self._read_index(ref):
            name = (entry.get("annotations") or {}).get(REF_NAME)
            if isinstance(name, str):
                tags.append(name)
        return tags

    def delete_manifest(self, ref: Reference, digest: str, *, deadline: Deadline) -> None:
        deadline.check(f"{ref.name}: manifest {digest}")
        with self._lock(ref):
            manifests = self._read_index(ref)
            kept = [m for m in manifests if m.get("digest") != digest]
            if len(kept) == len(manifests):
                raise ImageNotFound(f"{ref.name}: manifest {digest} not found")
            # The blob stays: other entries or indexes may still point at it.
            self._write_index(ref, kept)

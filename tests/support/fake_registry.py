"""An in-memory registry behind the :class:`RegistryBackend` seam, for unit tests.

Storage is plain dicts keyed by ``registry/repository``; every call is appended to
``requests`` so tests can assert what the client did. Knobs let tests misbehave on
purpose: serve wrong bytes, lie about sizes or digests, offer a referrers API.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from sealgate.deadline import Deadline
from sealgate.errors import ImageNotFound, RegistryError
from sealgate.oci import OCI_INDEX, BlobSource, Body, Reference, RegistryBackend, digest_of


def _chunks(data: bytes, size: int = 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@dataclass
class FakeRegistry(RegistryBackend):
    """Dict-backed registry; thread-safe through one lock."""

    manifests: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    #: digest -> bytes served instead of the stored content (tampering).
    tamper: dict[str, bytes] = field(default_factory=dict)
    #: announce this digest header for every manifest (a lying registry).
    announce_digest: str | None = None
    #: hide Content-Length (forces the streaming cap to do the work).
    hide_length: bool = False
    #: serve an OCI 1.1 referrers API built from stored ``subject`` fields.
    referrers_api: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _log(self, op: str, ref: Reference, what: str | None) -> None:
        with self._lock:
            self.requests.append((op, ref.name, what or ""))

    def _resolve(self, ref: Reference, reference: str | None) -> str:
        if reference is None:
            raise ImageNotFound(f"{ref.name}: no reference")
        if reference.startswith("sha256:"):
            if (ref.name, reference) not in self.manifests:
                raise ImageNotFound(f"{ref.name}: manifest {reference} not found")
            return reference
        digest = self.tags.get((ref.name, reference))
        if digest is None:
            raise ImageNotFound(f"{ref.name}: manifest {reference} not found")
        return digest

    def _body(self, data: bytes, media_type: str | None, digest: str | None) -> Body:
        return Body(
            chunks=_chunks(data),
            length=None if self.hide_length else len(data),
            media_type=media_type,
            digest=digest,
        )

    @contextmanager
    def open_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> Iterator[Body]:
        self._log("GET manifest", ref, reference)
        digest = self._resolve(ref, reference)
        data, media_type = self.manifests[(ref.name, digest)]
        served = self.tamper.get(digest, data)
        yield self._body(served, media_type, self.announce_digest or digest)

    def head_manifest(
        self, ref: Reference, reference: str | None, *, deadline: Deadline
    ) -> Body | None:
        self._log("HEAD manifest", ref, reference)
        digest = self._resolve(ref, reference)
        data, media_type = self.manifests[(ref.name, digest)]
        return Body(iter(()), len(data), media_type, self.announce_digest or digest)

    @contextmanager
    def open_blob(self, ref: Reference, digest: str, *, deadline: Deadline) -> Iterator[Body]:
        self._log("GET blob", ref, digest)
        data = self.blobs.get((ref.name, digest))
        if data is None:
            raise RegistryError(
                f"{ref.name}: blob {digest} not found", status=404, code="BLOB_UNKNOWN"
            )
        yield self._body(self.tamper.get(digest, data), None, None)

    def blob_exists(self, ref: Reference, digest: str, *, deadline: Deadline) -> bool:
        self._log("HEAD blob", ref, digest)
        return (ref.name, digest) in self.blobs

    def push_blob(
        self,
        ref: Reference,
        digest: str,
        data: bytes,
        *,
        mount_from: Reference | None = None,
        deadline: Deadline,
    ) -> None:
        self._log("PUT blob", ref, digest)
        if digest_of(data) != digest:
            raise RegistryError(f"{ref.name}: DIGEST_INVALID", status=400, code="DIGEST_INVALID")
        with self._lock:
            self.blobs[(ref.name, digest)] = data

    def push_blob_stream(
        self,
        ref: Reference,
        source: BlobSource,
        *,
        mount_from: Reference | None = None,
        deadline: Deadline,
    ) -> None:
        self._log("PUT blob stream", ref, source.digest)
        parts = []
        while piece := source.read(1024):
            parts.append(piece)
        source.finish()
        with self._lock:
            self.blobs[(ref.name, source.digest)] = b"".join(parts)

    def push_manifest(
        self, ref: Reference, reference: str, data: bytes, media_type: str, *, deadline: Deadline
    ) -> None:
        self._log("PUT manifest", ref, reference)
        digest = digest_of(data)
        with self._lock:
            self.manifests[(ref.name, digest)] = (data, media_type)
            if not reference.startswith("sha256:"):
                self.tags[(ref.name, reference)] = digest

    def list_tags(
        self, ref: Reference, *, max_pages: int, max_page_bytes: int, deadline: Deadline
    ) -> list[str]:
        self._log("GET tags", ref, None)
        return sorted(tag for name, tag in self.tags if name == ref.name)

    @contextmanager
    def _referrers(self, ref: Reference, digest: str) -> Iterator[Body]:
        found = []
        for (name, child_digest), (data, media_type) in sorted(self.manifests.items()):
            doc = json.loads(data)
            subject = doc.get("subject") or {}
            if name == ref.name and subject.get("digest") == digest:
                entry = {"mediaType": media_type, "digest": child_digest, "size": len(data)}
                artifact_type = doc.get("artifactType") or (doc.get("config") or {}).get(
                    "mediaType"
                )
                if artifact_type:
                    entry["artifactType"] = artifact_type
                found.append(entry)
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}
        ).encode()
        yield self._body(index, OCI_INDEX, None)

    def open_referrers(
        self, ref: Reference, digest: str, *, deadline: Deadline
    ) -> AbstractContextManager[Body] | None:
        self._log("GET referrers", ref, digest)
        return self._referrers(ref, digest) if self.referrers_api else None

    def delete_manifest(self, ref: Reference, digest: str, *, deadline: Deadline) -> None:
        self._log("DELETE manifest", ref, digest)
        with self._lock:
            if self.manifests.pop((ref.name, digest), None) is None:
                raise ImageNotFound(f"{ref.name}: manifest {digest} not found")
            for key in [k for k, v in self.tags.items() if k[0] == ref.name and v == digest]:
                del self.tags[key]

    def dump(self) -> str:
        """Human-readable state, for debugging a failing test."""
        lines = [f"tag {n}:{t} -> {d}" for (n, t), d in sorted(self.tags.items())]
        lines += [f"manifest {n}@{d} ({mt})" for (n, d), (_, mt) in sorted(self.manifests.items())]
        lines += [f"blob {n}@{d} ({len(b)} bytes)" for (n, d), b in sorted(self.blobs.items())]
        return "\n".join(lines)

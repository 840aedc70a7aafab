"""Untrusted bodies and uploads: caps enforced while streaming, digests checked at the end."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, cast

from sealgate.errors import InputError, IntegrityError, LimitExceeded
from sealgate.oci.backend import Body

__all__ = ["HashingSource", "VerifyingReader", "check_declared_length", "read_capped"]


def check_declared_length(body: Body, max_bytes: int, what: str) -> None:
    """Refuse a body whose declared length is already over the cap, before reading it.

    Raises:
        LimitExceeded: ``Content-Length`` is larger than ``max_bytes``.
    """
    if body.length is not None and body.length > max_bytes:
        raise LimitExceeded(f"{what} is {body.length} bytes, over the limit of {max_bytes}")


def read_capped(body: Body, max_bytes: int, what: str) -> bytes:
    """Read a body into memory, never holding more than ``max_bytes`` plus one chunk.

    Raises:
        LimitExceeded: the body is (or claims to be) larger than ``max_bytes``.
    """
    check_declared_length(body, max_bytes, what)
    parts: list[bytes] = []
    total = 0
    for chunk in body.chunks:
        total += len(chunk)
        if total > max_bytes:
            raise LimitExceeded(f"{what} is over the limit of {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


class VerifyingReader(io.RawIOBase):
    """A raw stream over body chunks that counts and hashes as it goes.

    Past ``max_bytes`` it raises :class:`LimitExceeded`; at end of stream it raises
    :class:`IntegrityError` if the bytes do not hash to ``digest``, so a caller that reads
    to EOF can never consume unverified content silently.
    """

    def __init__(self, chunks: Iterator[bytes], digest: str, max_bytes: int, what: str) -> None:
        super().__init__()
        self._chunks = chunks
        self._expected = digest
        self._max = max_bytes
        self._what = what
        self._hash = hashlib.sha256()
        self._total = 0
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` with the next bytes; 0 means verified end of stream.

        Raises:
            LimitExceeded: the stream went past ``max_bytes``.
            IntegrityError: end of stream reached and the digest does not match.
        """
        while not self._pending and not self._done:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._finish()
                break
            self._total += len(chunk)
            if self._total > self._max:
                raise LimitExceeded(f"{self._what} is over the limit of {self._max} bytes")
            self._hash.update(chunk)
            self._pending = chunk
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _finish(self) -> None:
        self._done = True
        actual = "sha256:" + self._hash.hexdigest()
        if actual != self._expected:
            raise IntegrityError(f"{self._what} hashes to {actual}, expected {self._expected}")


class HashingSource:
    """A :class:`~sealgate.oci.backend.BlobSource` over a file or an iterable of chunks.

    Reads are cut at the declared ``size``; content that ends early, runs on, or hashes to
    another digest raises :class:`IntegrityError` (at the short read, or in :meth:`finish`).
    """

    def __init__(
        self, content: BinaryIO | Iterable[bytes], *, digest: str, size: int, what: str
    ) -> None:
        self.digest = digest
        self.size = size
        self._what = what
        if hasattr(content, "read"):
            file = cast("BinaryIO", content)
            self._next: Callable[[int], bytes] = lambda n: bytes(file.read(n))
        else:
            chunks = iter(content)
            # An empty chunk is not the end: skip it.
            self._next = lambda n: next((c for c in chunks if c), b"")
        self._pending = b""
        self._hash = hashlib.sha256()
        self._read = 0

    def _next_piece(self, n: int) -> bytes:
        try:
            return self._next(n)
        except OSError as e:
            raise InputError(f"{self._what}: reading the content failed: {e.strerror}") from e

    def read(self, n: int) -> bytes:
        """Up to ``n`` more bytes of the blob, never past ``size``.

        Raises:
            IntegrityError: the content ended before ``size`` bytes.
            InputError: reading a file failed.
        """
        want = min(n, self.size - self._read)
        if want <= 0:
            return b""
        while not self._pending:
            self._pending = self._next_piece(want)
            if not self._pending:
                raise IntegrityError(
                    f"{self._what} ended after {self._read} bytes, declared {self.size}"
                )
        piece, self._pending = self._pending[:want], self._pending[want:]
        self._read += len(piece)
        self._hash.update(piece)
        return piece

    def finish(self) -> None:
        """Check that the content is exactly ``size`` bytes hashing to ``digest``.

        Raises:
            IntegrityError: more content than declared, or another digest.
            InputError: reading a file failed.
        """
        if self._read < self.size:
            raise IntegrityError(f"{self._what}: only {self._read} of {self.size} bytes were sent")
        if self._pending or self._next_piece(1):
            raise IntegrityError(f"{self._what} is longer than the declared {self.size} bytes")
        actual = "sha256:" + self._hash.hexdigest()
        if actual != self.digest:
            raise IntegrityError(f"{self._what} hashes to {actual}, declared {self.digest}")

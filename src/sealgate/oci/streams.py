"""Reading untrusted bodies: caps enforced while streaming, digests checked at the end."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

from sealgate.errors import IntegrityError, LimitExceeded
from sealgate.oci.backend import Body

__all__ = ["VerifyingReader", "check_declared_length", "read_capped"]


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

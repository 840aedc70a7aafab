"""Decompress a layer blob into a forward-only, byte-capped tar stream.

:class:`LayerReader` is what :mod:`tarfile` reads from. It offers ``read``/``tell`` and a
``seek`` that only moves forward, so tarfile's random-access reader (which is much cheaper than
its ``r|`` stream mode: no re-joining of a buffer on every small read) runs over a stream that is
decompressed exactly once. Skipping a member's data drops decompressed chunks without copying.
"""

from __future__ import annotations

import importlib
import io
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from sealgate.errors import CheckFailed, LimitExceeded, MalformedData

__all__ = ["LayerReader", "decompressed_chunks"]

_IN_CHUNK = 256 * 1024
_OUT_CHUNK = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZSTD_PIECE = 256


def _truncated(digest: str) -> MalformedData:
    return MalformedData(f"layer {digest} is truncated")


def _gzip_chunks(raw: BinaryIO, first: bytes, digest: str) -> Iterator[bytes]:
    """Inflate a (possibly multi-member) gzip stream with bounded output per step."""
    inflater = zlib.decompressobj(wbits=31)
    data = first
    try:
        while True:
            if not data:
                data = raw.read(_IN_CHUNK)
                if not data:
                    if not inflater.eof:
                        raise _truncated(digest)
                    return
            while True:
                out = inflater.decompress(data, _OUT_CHUNK)
                if out:
                    yield out
                data = inflater.unconsumed_tail
                if inflater.eof:
                    rest = inflater.unused_data
                    if rest[:2] == _GZIP_MAGIC:  # another gzip member follows
                        inflater = zlib.decompressobj(wbits=31)
                        data = rest
                        continue
                    # Trailing bytes after the last member are ignored (zero padding).
                    while raw.read(_IN_CHUNK):
                        pass
                    return
                if not data and len(out) < _OUT_CHUNK:
                    break
    except zlib.error as exc:
        raise MalformedData(f"layer {digest}: corrupt gzip stream ({exc})") from None


def _zstd_chunks(raw: BinaryIO, first: bytes, digest: str) -> Iterator[bytes]:
    """Decompress zstd with the stdlib module (3.14+) or the ``zstandard`` package."""
    module: Any
    try:
        module = importlib.import_module("compression.zstd")
        decomp = module.ZstdDecompressor()
    except ImportError:
        try:
            module = importlib.import_module("zstandard")
        except ImportError:
            raise CheckFailed(
                f"layer {digest} is zstd-compressed; install the 'zstandard' module to read it"
            ) from None
        yield from _zstandard_chunks(module, raw, first, digest)
        return
    data = first
    try:
        while True:
            if not data and decomp.needs_input:
                data = raw.read(_IN_CHUNK)
                if not data:
                    if not decomp.eof:
                        raise _truncated(digest)
                    return
            out = decomp.decompress(data, _OUT_CHUNK)
            data = b""
            if out:
                yield out
            if decomp.eof:
                rest = decomp.unused_data
                if rest[:4] == _ZSTD_MAGIC:
                    decomp = module.ZstdDecompressor()
                    data = rest
                    continue
                while raw.read(_IN_CHUNK):
                    pass
                return
    except module.ZstdError as exc:
        raise MalformedData(f"layer {digest}: corrupt zstd stream ({exc})") from None


def _zstandard_chunks(module: Any, raw: BinaryIO, first: bytes, digest: str) -> Iterator[bytes]:
    """Decompress with python-zstandard, frame by frame.

    Its ``decompressobj`` has no output cap, so input is fed in 256-byte slices: one slice
    expands to at most 8 MiB (64 RLE blocks of 128 KiB), which bounds memory against zstd
    bombs. (Its stream readers would bound output but silently accept a truncated frame.)
    """
    decomp = module.ZstdDecompressor().decompressobj()
    data = first
    try:
        while True:
            if not data:
                data = raw.read(_IN_CHUNK)
                if not data:
                    if not decomp.eof:
                        raise _truncated(digest)
                    return
            view, data = memoryview(data), b""
            for off in range(0, len(view), _ZSTD_PIECE):
                out = decomp.decompress(view[off : off + _ZSTD_PIECE])
                if out:
                    yield out
                if decomp.eof:
                    rest = decomp.unused_data + view[off + _ZSTD_PIECE :].tobytes()
                    if rest[:4] != _ZSTD_MAGIC:
                        while raw.read(_IN_CHUNK):  # trailing padding after the last frame
                            pass
                        return
                    decomp = module.ZstdDecompressor().decompressobj()
                    data = rest
                    break
    except module.ZstdError as exc:
        raise MalformedData(f"layer {digest}: corrupt zstd stream ({exc})") from None


def _plain_chunks(raw: BinaryIO, first: bytes) -> Iterator[bytes]:
    if first:
        yield first
    while chunk := raw.read(_OUT_CHUNK):
        yield chunk


def decompressed_chunks(raw: BinaryIO, media_type: str, digest: str) -> Iterator[bytes]:
    """Yield the uncompressed tar bytes of a layer blob in chunks of at most 1 MiB.

    Args:
        raw: The compressed blob stream.
        media_type: The layer's media type; the stream's magic bytes decide the codec.
        digest: The layer digest, for messages.

    Yields:
        Chunks of the uncompressed tar stream.

    Raises:
        MalformedData: Corrupt or truncated compressed data, or a compressed media type whose
            content is neither gzip nor zstd.
        CheckFailed: The layer is zstd-compressed and no zstd module is importable.
    """
    first = raw.read(4)
    while 0 < len(first) < 4:
        more = raw.read(4 - len(first))
        if not more:
            break
        first += more
    if first[:2] == _GZIP_MAGIC:
        return _gzip_chunks(raw, first, digest)
    if first == _ZSTD_MAGIC:
        return _zstd_chunks(raw, first, digest)
    kind = media_type.lower()
    if kind.endswith(("gzip", "zstd")):
        codec = "gzip" if kind.endswith("gzip") else "zstd"
        raise MalformedData(f"layer {digest}: media type says {codec} but the data is not {codec}")
    return _plain_chunks(raw, first)


class LayerReader:
    """A forward-only file object over decompressed chunks, capped at ``max_bytes``.

    ``last_block`` keeps the most recent 512-byte read, which is the tar header tarfile looked at
    last; after tarfile reports the end of the archive it tells a proper end marker (zeros)
    apart from garbage or a truncated header.
    """

    def __init__(self, chunks: Iterator[bytes], *, digest: str, max_bytes: int) -> None:
        self._chunks = chunks
        self._digest = digest
        self._max = max_bytes
        self._buf = b""
        self._off = 0
        self._pos = 0
        self._produced = 0
        self._eof = False
        self.last_block = b""

    def _fill(self) -> bool:
        """Load the next chunk into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        for chunk in self._chunks:
            if not chunk:
                continue
            self._produced += len(chunk)
            if self._produced > self._max:
                raise LimitExceeded(
                    f"layer {self._digest} expands past {self._max} bytes (limit max_layer_bytes)"
                )
            self._buf, self._off = chunk, 0
            return True
        self._eof = True
        self._buf, self._off = b"", 0
        return False

    def read(self, size: int = -1) -> bytes:
        """Read exactly ``size`` bytes, fewer only at the end of the stream.

        Args:
            size: Bytes wanted; negative reads to the end.

        Returns:
            The bytes.

        Raises:
            LimitExceeded: The layer expands past ``max_bytes``.
            MalformedData: The compressed stream is corrupt or truncated.
        """
        if size < 0:
            parts = []
            while chunk := self.read(_OUT_CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        avail = len(self._buf) - self._off
        if size <= avail:
            out = self._buf[self._off : self._off + size]
            self._off += size
        else:
            parts = [self._buf[self._off :]]
            need = size - avail
            self._buf, self._off = b"", 0
            while need > 0 and self._fill():
                take = min(need, len(self._buf))
                parts.append(self._buf[:take] if take < len(self._buf) else self._buf)
                self._off = take
                need -= take
            out = b"".join(parts)
        self._pos += len(out)
        if size == 512:
            self.last_block = out
        return out

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        """Move forward to ``pos`` by dropping data; stops early at the end of the stream.

        Args:
            pos: Target position (absolute, or relative with ``SEEK_CUR``).
            whence: ``SEEK_SET`` or ``SEEK_CUR``.

        Returns:
            The new position.

        Raises:
            io.UnsupportedOperation: A backward seek, or ``SEEK_END``.
        """
        if whence == io.SEEK_CUR:
            pos += self._pos
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("layer streams cannot seek from the end")
        if pos < self._pos:
            raise io.UnsupportedOperation("layer streams cannot seek backwards")
        skip = pos - self._pos
        while skip > 0:
            avail = len(self._buf) - self._off
            if avail == 0:
                if not self._fill():
                    break
                continue
            step = min(skip, avail)
            self._off += step
            self._pos += step
            skip -= step
        return self._pos

    def tell(self) -> int:
        """Return the current position in the uncompressed stream."""
        return self._pos

    def seekable(self) -> bool:
        """Return True: forward seeks are supported (tarfile only checks, never seeks back)."""
        return True

    def readable(self) -> bool:
        """Return True."""
        return True

    def drain(self) -> None:
        """Read to the end of the blob, so the caller's stream sees (and verifies) all of it.

        Bytes after the tar end-of-archive marker are padding; a runtime ignores anything
        there too, so they are not inspected.
        """
        self._buf, self._off = b"", 0
        while self._fill():
            pass
        self._buf, self._off = b"", 0

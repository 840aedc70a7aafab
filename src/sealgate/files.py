"""Local inputs: user files read whole with a size cap, and boolean environment values.

Every file a user names (predicate, scan report, digest file, key, config) is read by
:func:`read_capped`, so a wrong path or a hostile file cannot hang a command or exhaust
memory: only regular files are read (a FIFO would block forever, ``/dev/zero`` never ends),
the type is checked on the opened descriptor (no race between a check and the open), and
the cap is enforced while reading.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, Final

from sealgate.errors import SealgateError

__all__ = ["parse_go_bool", "read_capped"]

_MiB: Final = 1024 * 1024
#: Read size: large enough to be fast, small enough that one read past the cap stays cheap.
_CHUNK: Final = 1 * _MiB
# Go's strconv.ParseBool accepts exactly these spellings (https://pkg.go.dev/strconv#ParseBool).
_GO_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE: Final = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_go_bool(value: str) -> bool | None:
    """Go's ``strconv.ParseBool``, which cosign uses for its boolean environment variables.

    Args:
        value: The text, taken as it is (Go does not trim it or fold its case).

    Returns:
        True or False, or None when ``value`` is not one of Go's spellings; cosign then
        ignores the variable (``pkg/oci/mediatypes.go`` for ``COSIGN_DOCKER_MEDIA_TYPES``).
    """
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    return None


def _size(limit: int) -> str:
    return f"{limit // _MiB} MiB" if limit % _MiB == 0 else f"{limit} bytes"


def _read_stream(stream: BinaryIO, max_bytes: int) -> bytes:
    """Read to the end, but never more than ``max_bytes + 1`` bytes in all."""
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        chunk = stream.read(min(_CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _open_regular(
    path: Path, label: str, error: type[SealgateError], *, follow_symlinks: bool
) -> int:
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP and not follow_symlinks:
            raise error(f"{label}: is a symbolic link; name the file itself") from None
        raise error(f"{label}: cannot read: {err.strerror or err}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{label}: is {_kind(mode)}, not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_capped(
    source: Path | BinaryIO,
    max_bytes: int,
    *,
    error: type[SealgateError],
    name: str = "",
    follow_symlinks: bool = True,
) -> bytes:
    """Read a whole regular file or stream, refusing anything larger than ``max_bytes``.

    A path must name a regular file: FIFOs, devices, sockets and directories are refused
    after the open, on the descriptor itself. With ``follow_symlinks=False`` a symbolic
    link is refused too: what goes into a signed, published artifact (a predicate, a scan
    report) must not be a link in a checked-out repository to a secret elsewhere. A stream
    (standard input) is read as it comes. Either way, one byte past the cap is read, so an
    oversized input is detected rather than truncated, and never more.

    Args:
        source: A path, or an open binary stream (standard input).
        max_bytes: The cap.
        error: The error class the caller's users expect (InputError, ConfigError...).
        name: What to call the input in messages; defaults to the path.
        follow_symlinks: Read through a symbolic link (key files: Kubernetes mounts
            secrets as links); the target must still be a regular file. False refuses
            links.

    Returns:
        The bytes.

    Raises:
        SealgateError: of class ``error``: missing, unreadable, not a regular file, a
            refused symbolic link, or larger than the cap.
    """
    label = name or str(source)
    try:
        if isinstance(source, Path):
            fd = _open_regular(source, label, error, follow_symlinks=follow_symlinks)
            with os.fdopen(fd, "rb", buffering=0) as handle:
                if os.fstat(handle.fileno()).st_size > max_bytes:
                    raise error(f"{label}: larger than {_size(max_bytes)}")
                data = _read_stream(handle, max_bytes)
        else:
            data = _read_stream(source, max_bytes)
    except OSError as err:
        raise error(f"{label}: cannot read: {err.strerror or err}") from None
    if len(data) > max_bytes:
        raise error(f"{label}: larger than {_size(max_bytes)}")
    return data

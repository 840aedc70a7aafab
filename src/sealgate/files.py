"""Reading local inputs with a size cap, so a wrong path or a hostile file cannot exhaust memory."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sealgate.errors import SealgateError

__all__ = ["read_capped"]

_MiB = 1024 * 1024


def _size(limit: int) -> str:
    return f"{limit // _MiB} MiB" if limit % _MiB == 0 else f"{limit} bytes"


def read_capped(
    source: Path | BinaryIO, max_bytes: int, *, error: type[SealgateError], name: str = ""
) -> bytes:
    """Read a whole file or stream, refusing anything larger than ``max_bytes``.

    One byte past the cap is read, so an oversized input is detected rather than truncated.

    Args:
        source: A path, or an open binary stream (standard input).
        max_bytes: The cap.
        error: The error class the caller's users expect (InputError, ConfigError...).
        name: What to call the input in messages; defaults to the path.

    Raises:
        SealgateError: of class ``error``: unreadable, or larger than the cap.
    """
    label = name or str(source)
    try:
        if isinstance(source, Path):
            with source.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        else:
            data = source.read(max_bytes + 1)
    except OSError as err:
        raise error(f"{label}: cannot read: {err.strerror or err}") from err
    if len(data) > max_bytes:
        raise error(f"{label}: larger than {_size(max_bytes)}")
    return data

"""sealgate.files: capped reads of regular files only, and Go's ParseBool."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from sealgate.errors import InputError
from sealgate.files import parse_go_bool, read_capped


def test_regular_file_within_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_capped(path, 100, error=InputError) == b"x" * 100
    with pytest.raises(InputError, match=r"f: larger than 99 bytes$"):
        read_capped(path, 99, error=InputError)


def test_a_huge_sparse_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "huge"
    with path.open("wb") as handle:
        handle.truncate(64 * 1024**3)  # 64 GiB on paper, nothing on disk
    with pytest.raises(InputError, match="larger than 1 MiB"):
        read_capped(path, 1024 * 1024, error=InputError)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # With a writer holding data, a reader that does not check the type returns the data
    # (failing this test) instead of blocking; with no writer it would block in open().
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        os.write(writer, b"data")
        with pytest.raises(InputError, match=r"fifo: is a FIFO, not a regular file$"):
            read_capped(fifo, 3, error=InputError)
    finally:
        os.close(writer)
    with pytest.raises(InputError, match="is a FIFO"):
        read_capped(fifo, 3, error=InputError)  # and no writer at all: still no wait


def test_devices_and_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^/dev/zero: is a device, not a regular file$"):
        read_capped(Path("/dev/zero"), 1024, error=InputError)
    with pytest.raises(InputError, match="is a directory"):
        read_capped(tmp_path, 1024, error=InputError)
    with pytest.raises(InputError, match=r"cannot read: No such file or directory$"):
        read_capped(tmp_path / "absent", 1024, error=InputError)


def test_symbolic_links_are_followed_or_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert read_capped(link, 100, error=InputError) == b"secret"
    with pytest.raises(InputError, match=r"link: is a symbolic link; name the file itself$"):
        read_capped(link, 100, error=InputError, follow_symlinks=False)
    to_fifo = tmp_path / "to-fifo"
    os.mkfifo(tmp_path / "fifo")
    to_fifo.symlink_to(tmp_path / "fifo")
    with pytest.raises(InputError, match="is a FIFO"):
        read_capped(to_fifo, 100, error=InputError)  # followed, then refused by type


def test_a_stream_is_read_in_chunks_and_never_past_the_cap() -> None:
    class Endless(io.RawIOBase):
        read_total = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            buffer[:] = b"\0" * len(buffer)
            Endless.read_total += len(buffer)
            return len(buffer)

    with pytest.raises(InputError, match=r"standard input: larger than 3 MiB$"):
        read_capped(Endless(), 3 * 1024 * 1024, error=InputError, name="standard input")  # type: ignore[arg-type]
    assert Endless.read_total == 3 * 1024 * 1024 + 1
    assert read_capped(io.BytesIO(b"abc"), 3, error=InputError) == b"abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *((t, True) for t in ("1", "t", "T", "TRUE", "true", "True")),
        *((f, False) for f in ("0", "f", "F", "FALSE", "false", "False")),
        *((x, None) for x in ("", "yes", "on", "tRUE", " true", "2", "y")),
    ],
)
def test_parse_go_bool_is_exactly_strconv_parsebool(text: str, expected: bool | None) -> None:
    assert parse_go_bool(text) is expected

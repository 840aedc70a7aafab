"""RPM: the SQLite package database (``rpmdb.sqlite``) and RPM header blobs.

Each row of the ``Packages`` table holds one RPM header *blob*: a header without its 8-byte
magic, i.e. ``il`` (index entry count, big-endian u32), ``dl`` (data length), ``il`` 16-byte
index entries ``(tag, type, offset, count)`` and then ``dl`` bytes of data. Only the few tags
needed for a purl and a license are decoded, with every offset bounds-checked.

The database is loaded with :meth:`sqlite3.Connection.deserialize` into an in-memory database,
so nothing is written to disk. ``trusted_schema`` is off, so a crafted schema cannot run
functions, and only one fixed query is issued.
"""

from __future__ import annotations

import sqlite3
import struct

from sealgate.errors import MalformedData
from sealgate.sbom.model import Package

__all__ = ["parse_header_blob", "parse_rpmdb_sqlite"]

TAG_NAME = 1000
TAG_VERSION = 1001
TAG_RELEASE = 1002
TAG_EPOCH = 1003
TAG_LICENSE = 1014
TAG_ARCH = 1022
TAG_SOURCERPM = 1044
_WANTED = {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_LICENSE, TAG_ARCH, TAG_SOURCERPM}

_TYPE_INT32 = 4
_TYPE_STRING = 6
_TYPE_STRING_ARRAY = 8
_TYPE_I18NSTRING = 9
_MAX_INDEX = 0xFFFF  # rpm's own header sanity limits
_MAX_DATA = 256 * 1024 * 1024
_MAX_ROWS = 200_000
_MAX_VM_STEPS = 100_000  # x1000 SQLite VM instructions: seconds of work at most


def parse_header_blob(blob: bytes) -> dict[int, str | int]:
    """Decode the wanted tags of one RPM header blob.

    Args:
        blob: The header blob, as stored in ``rpmdb.sqlite``.

    Returns:
        Tag number to value: strings for NAME/VERSION/RELEASE/LICENSE/ARCH/SOURCERPM,
        an int for EPOCH. Tags that are absent are simply missing.

    Raises:
        MalformedData: The blob's sizes or offsets are inconsistent.
    """
    if len(blob) < 8:
        raise MalformedData("rpm header blob is too short")
    index_len, data_len = struct.unpack_from(">II", blob, 0)
    data_start = 8 + 16 * index_len
    if index_len > _MAX_INDEX or data_len > _MAX_DATA or data_start + data_len > len(blob):
        raise MalformedData("rpm header blob sizes are inconsistent")
    values: dict[int, str | int] = {}
    for i in range(index_len):
        tag, kind, offset, count = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if tag not in _WANTED or count < 1 or not 0 <= offset < data_len:
            continue
        pos = data_start + offset
        if kind == _TYPE_INT32:
            if offset + 4 <= data_len:
                values[tag] = struct.unpack_from(">i", blob, pos)[0]
        elif kind in (_TYPE_STRING, _TYPE_STRING_ARRAY, _TYPE_I18NSTRING):
            end = blob.find(b"\0", pos, data_start + data_len)
            if end >= 0:
                values[tag] = blob[pos:end].decode("utf-8", errors="replace")
    return values


def _package(values: dict[int, str | int]) -> Package | None:
    name, version = values.get(TAG_NAME), values.get(TAG_VERSION)
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    if name == "gpg-pubkey":  # imported signing keys are pseudo-packages, not software
        return None
    release = values.get(TAG_RELEASE)
    full = f"{version}-{release}" if isinstance(release, str) and release else version
    qualifiers: dict[str, str] = {}
    arch = values.get(TAG_ARCH)
    if isinstance(arch, str) and arch:
        qualifiers["arch"] = arch
    epoch = values.get(TAG_EPOCH)
    if isinstance(epoch, int) and epoch > 0:
        qualifiers["epoch"] = str(epoch)
    source = values.get(TAG_SOURCERPM)
    if isinstance(source, str) and source and source != "(none)":
        qualifiers["upstream"] = source
    lic = values.get(TAG_LICENSE)
    licenses = [lic] if isinstance(lic, str) and lic and lic != "(none)" else []
    return Package("rpm", name, full, "rpm", qualifiers=qualifiers, licenses=licenses)


def parse_rpmdb_sqlite(data: bytes) -> tuple[list[Package], list[str]]:
    """Read every package of an ``rpmdb.sqlite`` image held in memory.

    Args:
        data: The database file's bytes.

    Returns:
        The packages, and warnings about rows that could not be decoded.

    Raises:
        MalformedData: The bytes are not a SQLite database with a ``Packages`` table.
    """
    image = bytearray(data)
    if len(image) > 20 and image[18] == 2 and image[19] == 2:
        image[18] = image[19] = 1  # WAL mode needs a -shm file; read it as rollback-journal
    conn = sqlite3.connect(":memory:")
    conn.text_factory = bytes  # a corrupt database may hold invalid UTF-8 anywhere
    try:
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.deserialize(bytes(image))
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA cell_size_check = ON")
        kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'Packages'").fetchone()
        if kind != (b"table",):  # a view could make the query below arbitrarily expensive
            raise MalformedData("no Packages table in the rpm sqlite database")
        steps = [0]

        def budget() -> int:
            steps[0] += 1
            return int(steps[0] > _MAX_VM_STEPS)  # non-zero interrupts the statement

        conn.set_progress_handler(budget, 1000)
        rows = conn.execute("SELECT blob FROM Packages LIMIT ?", (_MAX_ROWS,))
        packages: list[Package] = []
        bad = 0
        for (blob,) in rows:
            if not isinstance(blob, bytes):
                bad += 1
                continue
            try:
                pkg = _package(parse_header_blob(blob))
            except MalformedData:
                bad += 1
                continue
            if pkg is not None:
                packages.append(pkg)
    except sqlite3.Error as exc:  # includes "interrupted" from the budget
        raise MalformedData(f"not a readable rpm sqlite database ({exc})") from None
    except UnicodeDecodeError:  # SQLite's error message quoted a corrupt schema
        raise MalformedData("not a readable rpm sqlite database (corrupt schema)") from None
    finally:
        conn.close()
    warnings = [f"{bad} rpm header(s) could not be decoded"] if bad else []
    return packages, warnings

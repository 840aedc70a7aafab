"""Build in-memory container layers (tar, tar+gzip) from real package metadata for the tests.

Also crafts the two binary formats that need tooling we do not have here: a Go executable
(a minimal ELF whose writable segment holds a Go 1.18+ build-info blob, byte for byte as the
Go linker lays it out) and an RPM sqlite database of real RPM header blobs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sqlite3
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sealgate.sbom import LayerSource

DATA = Path(__file__).parent / "data"
GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
TAR = "application/vnd.oci.image.layer.v1.tar"
IMAGE_DIGEST = "sha256:" + "ab" * 32


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


@dataclass(frozen=True)
class Entry:
    path: str
    content: bytes = b""
    kind: bytes = tarfile.REGTYPE
    link: str = ""
    mode: int = 0o644


def file(path: str, content: bytes | str, mode: int = 0o644) -> Entry:
    raw = content.encode() if isinstance(content, str) else content
    return Entry(path, raw, mode=mode)


def directory(path: str) -> Entry:
    return Entry(path, kind=tarfile.DIRTYPE, mode=0o755)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, kind=tarfile.SYMTYPE, link=target)


def hardlink(path: str, target: str) -> Entry:
    return Entry(path, kind=tarfile.LNKTYPE, link=target)


def whiteout(path: str) -> Entry:
    parent, _, name = path.rpartition("/")
    return file(f"{parent}/.wh.{name}" if parent else f".wh.{name}", b"")


def opaque(directory_path: str) -> Entry:
    return file(f"{directory_path}/.wh..wh..opq", b"")


def tar_bytes(entries: list[Entry]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.path)
            info.type = entry.kind
            info.mode = entry.mode
            info.linkname = entry.link
            info.mtime = 1_700_000_000
            if entry.kind == tarfile.REGTYPE:
                info.size = len(entry.content)
                archive.addfile(info, io.BytesIO(entry.content))
            else:
                archive.addfile(info)
    return out.getvalue()


def layer_blob(entries: list[Entry], *, compress: bool = True) -> bytes:
    raw = tar_bytes(entries)
    return gzip.compress(raw, compresslevel=1, mtime=0) if compress else raw


def source(blob: bytes, media_type: str = GZIP) -> LayerSource:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()

    @contextmanager
    def opener() -> Iterator[BinaryIO]:
        yield io.BytesIO(blob)

    return LayerSource(digest=digest, media_type=media_type, open=opener)


def layer(entries: list[Entry], *, compress: bool = True) -> LayerSource:
    return source(layer_blob(entries, compress=compress), GZIP if compress else TAR)


# --- Java ---------------------------------------------------------------------------------------


def jar(
    poms: list[tuple[str, str, str]],
    manifest: str = "Manifest-Version: 1.0\r\nCreated-By: Maven JAR Plugin 3.3.0\r\n",
    nested: dict[str, bytes] | None = None,
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", manifest)
        for group, artifact, version in poms:
            archive.writestr(
                f"META-INF/maven/{group}/{artifact}/pom.properties",
                f"#Created by Apache Maven 3.9.6\nartifactId={artifact}\n"
                f"groupId={group}\nversion={version}\n",
            )
            archive.writestr(f"META-INF/maven/{group}/{artifact}/pom.xml", "<project/>")
        archive.writestr("org/example/Main.class", b"\xca\xfe\xba\xbe" + b"\0" * 64)
        for name, content in (nested or {}).items():
            archive.writestr(name, content, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


# --- Go -----------------------------------------------------------------------------------------

GO_MODINFO = (
    "path\tgithub.com/acme/widget/cmd/widget\n"
    "mod\tgithub.com/acme/widget\tv1.4.2\th1:Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHE=\n"
    "dep\tgithub.com/spf13/cobra\tv1.8.0\th1:7aJaZx1B85qltLMc546zn58BxxfZdR/W22ej9CFmEC0=\n"
    "dep\tgithub.com/spf13/pflag\tv1.0.5\th1:iy+VFUOCP1a+8yFto/drg2CJ5u0yRoB7fZw3DKv/JXA=\n"
    "dep\tgolang.org/x/sys\tv0.15.0\th1:h48lPFYpsTvQJZF4EKyI4aLHaev3CxivZmv7yZig9pc=\n"
    "dep\tgithub.com/old/lib\tv1.0.0\n"
    "=>\tgithub.com/fork/lib\tv1.0.1\th1:cmVwbGFjZW1lbnRyZXBsYWNlbWVudHJlcGxhY2U=\n"
    "build\t-compiler=gc\n"
    "build\tCGO_ENABLED=0\n"
    "build\tGOARCH=amd64\n"
    "build\tGOOS=linux\n"
)
_SENTINEL_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
_SENTINEL_END = bytes.fromhex("f932433186182072008242104116d8f2")
GO_MAGIC = b"\xff Go buildinf:"


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def go_buildinfo_blob(go_version: str, modinfo: str, *, inline: bool = True) -> bytes:
    """The .go.buildinfo section content as Go 1.18+ writes it (little-endian, 64-bit)."""
    header = GO_MAGIC + bytes([8, 0x2 if inline else 0x0]) + b"\0" * 16
    if not inline:
        return header + struct.pack("<QQ", 0x4A0000, 0x4A0010)
    mod = _SENTINEL_START + modinfo.encode() + _SENTINEL_END
    version = go_version.encode()
    return header + _uvarint(len(version)) + version + _uvarint(len(mod)) + mod


def go_binary(
    go_version: str = "go1.22.3",
    modinfo: str = GO_MODINFO,
    *,
    inline: bool = True,
    size: int = 96 * 1024,
) -> bytes:
    """A minimal ELF64 executable: text segment, then a writable segment starting with
    .go.buildinfo. A decoy magic sits in the read-only part (as when a binary links
    debug/buildinfo) and a second, invalid one at the start of the data segment."""
    data_off = 0x8000
    ehdr = (
        b"\x7fELF"
        + bytes([2, 1, 1, 0])
        + b"\0" * 8
        + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 64, 0, 0, 64, 56, 2, 64, 0, 0)
    )
    text_ph = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, data_off, data_off, 0x1000)
    data_ph = struct.pack(
        "<IIQQQQQQ", 1, 6, data_off, 0x4A0000, 0x4A0000, size - data_off, size - data_off, 0x1000
    )
    blob = bytearray(size)
    blob[: len(ehdr) + 112] = ehdr + text_ph + data_ph
    decoy = GO_MAGIC + b"\x08\x02" + b"\0" * 16 + b"\x05go1.2"
    blob[0x2000 : 0x2000 + len(decoy)] = decoy
    invalid = GO_MAGIC + b"\x07\x02"  # pointer size 7: not a header, keep searching
    blob[data_off : data_off + len(invalid)] = invalid
    info = go_buildinfo_blob(go_version, modinfo, inline=inline)
    at = data_off + 0x20
    blob[at : at + len(info)] = info
    return bytes(blob)


# --- RPM ----------------------------------------------------------------------------------------

RPM_STRING, RPM_INT32, RPM_BIN, RPM_I18N = 6, 4, 7, 9


def rpm_header_blob(tags: list[tuple[int, int, str | int | bytes]]) -> bytes:
    """An RPM header blob (as rpmdb.sqlite stores it): il, dl, index entries, data store."""
    index = bytearray()
    store = bytearray()
    for tag, kind, value in tags:
        if kind == RPM_INT32:
            while len(store) % 4:
                store.append(0)
            offset = len(store)
            store += struct.pack(">i", int(value))
        elif kind == RPM_BIN:
            offset = len(store)
            store += bytes(value) if isinstance(value, bytes) else b""
        else:
            offset = len(store)
            store += str(value).encode() + b"\0"
        index += struct.pack(">iIiI", tag, kind, offset, 1)
    return struct.pack(">II", len(tags), len(store)) + bytes(index) + bytes(store)


def rpm_package(
    name: str, version: str, release: str, arch: str, lic: str, epoch: int = 0
) -> bytes:
    tags: list[tuple[int, int, str | int | bytes]] = [
        (63, RPM_BIN, b"\0" * 16),  # HEADERIMMUTABLE region trailer: ignored
        (1000, RPM_STRING, name),
        (1001, RPM_STRING, version),
        (1002, RPM_STRING, release),
        (1004, RPM_I18N, f"The {name} package"),
        (1014, RPM_STRING, lic),
        (1022, RPM_STRING, arch),
        (1044, RPM_STRING, f"{name}-{version}-{release}.src.rpm"),
    ]
    if epoch:
        tags.append((1003, RPM_INT32, epoch))
    return rpm_header_blob(tags)


def rpmdb_sqlite(blobs: list[bytes], *, wal: bool = False) -> bytes:
    """rpm's sqlite schema (Packages table plus an index table) holding the header blobs."""
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)"
    )
    conn.execute("CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER)")
    for blob in blobs:
        conn.execute("INSERT INTO Packages (blob) VALUES (?)", (blob,))
    conn.commit()
    image = bytearray(conn.serialize())
    conn.close()
    if wal:
        image[18] = image[19] = 2  # how a WAL-mode rpmdb.sqlite looks on disk
    return bytes(image)

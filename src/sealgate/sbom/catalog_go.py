"""Go binaries: the build info the Go toolchain embeds in every executable.

Go 1.18+ writes a 32-byte header to the ``.go.buildinfo`` section: the magic
``\\xff Go buildinf:``, the pointer size, a flags byte (``0x2``: strings are inline), padding;
then two varint-length-prefixed strings: the toolchain version and the module info (``path``,
``mod``, ``dep`` and ``=>`` lines, tab-separated, wrapped in two 16-byte sentinels).

The section sits in the writable data segment, so the ELF program headers (at the start of the
file) tell where to begin looking; the file is then scanned forward in chunks, never buffered
whole. Older binaries store pointers instead of inline strings; they are reported, not decoded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

from sealgate.sbom.model import Package

__all__ = ["BuildInfo", "parse_modinfo", "read_buildinfo"]

MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_FLAG_INLINE = 0x2
_CHUNK = 1024 * 1024
_MAX_STRING = 4 * 1024 * 1024
_PT_LOAD = 1
_PF_W = 2
_NEED_MORE = -1
_INVALID = -2


@dataclass(frozen=True)
class BuildInfo:
    """What a Go binary says about how it was built; ``legacy`` means pre-1.18, not decoded."""

    go_version: str
    modinfo: str
    legacy: bool = False


def data_segment_offset(head: bytes) -> int:
    """File offset of the first writable ``PT_LOAD`` segment, from an ELF file's first bytes.

    Args:
        head: The start of the file (ELF header and program headers).

    Returns:
        The offset, or 0 when the headers cannot be read (then the whole file is scanned).
    """
    if len(head) < 52 or head[5] not in (1, 2):
        return 0
    end = "<" if head[5] == 1 else ">"
    if head[4] == 2 and len(head) >= 64:
        (phoff,) = struct.unpack_from(end + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
        layout, flags_at = end + "IIQ", 4  # p_type, p_flags, p_offset
    elif head[4] == 1:
        (phoff,) = struct.unpack_from(end + "I", head, 28)
        phentsize, phnum = struct.unpack_from(end + "HH", head, 42)
        layout, flags_at = end + "II", 24  # p_type, p_offset; p_flags at +24
    else:
        return 0
    for i in range(min(phnum, 64)):
        at = phoff + i * phentsize
        if at + max(16, flags_at + 4) > len(head):
            break
        if head[4] == 2:
            ptype, pflags, offset = struct.unpack_from(layout, head, at)
        else:
            ptype, offset = struct.unpack_from(layout, head, at)
            (pflags,) = struct.unpack_from(end + "I", head, at + flags_at)
        if ptype == _PT_LOAD and pflags & _PF_W:
            return int(offset)
    return 0


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a Go uvarint; returns (value, next pos) or (_NEED_MORE/_INVALID, pos)."""
    value = shift = 0
    while pos < len(buf):
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            return _INVALID, pos
    return _NEED_MORE, pos


def _inline_strings(buf: bytes, pos: int) -> tuple[bytes, bytes] | int:
    """The two varint-prefixed strings after the header, or _NEED_MORE/_INVALID."""
    strings: list[bytes] = []
    for _ in range(2):
        length, pos = _uvarint(buf, pos)
        if length in (_NEED_MORE, _INVALID) or length > _MAX_STRING:
            return _INVALID if length != _NEED_MORE else _NEED_MORE
        if pos + length > len(buf):
            return _NEED_MORE
        strings.append(buf[pos : pos + length])
        pos += length
    return strings[0], strings[1]


def _decode(buf: bytes, at: int) -> BuildInfo | int:
    """Decode the build info whose magic is at ``buf[at]``, or say what is missing."""
    if len(buf) - at < _HEADER:
        return _NEED_MORE
    if buf[at + 14] not in (4, 8):
        return _INVALID
    if not buf[at + 15] & _FLAG_INLINE:
        return BuildInfo("", "", legacy=True)
    strings = _inline_strings(buf, at + _HEADER)
    if isinstance(strings, int):
        return strings
    version, modinfo = strings
    if not version.startswith((b"go", b"devel")):
        return _INVALID
    if len(modinfo) >= 33 and modinfo[-17] == 0x0A:  # strip the 16-byte sentinels
        modinfo = modinfo[16:-16]
    return BuildInfo(
        version.decode("utf-8", errors="replace"), modinfo.decode("utf-8", errors="replace")
    )


def read_buildinfo(stream: IO[bytes], size: int, *, scan_cap: int) -> BuildInfo | None:
    """Find and decode Go build info in an executable, reading it forward once.

    Args:
        stream: The file content, positioned at its start.
        size: The file size.
        scan_cap: Look for the magic only within this many bytes from the start.

    Returns:
        The build info, or None for anything that is not a Go executable.
    """
    head = stream.read(min(size, 64 * 1024))
    if head[:4] != b"\x7fELF":
        return None
    start = data_segment_offset(head)
    if start >= size or start >= scan_cap:
        return None
    if start <= len(head):
        buf, pos = head[start:], len(head)
    else:
        stream.seek(start)
        buf, pos = b"", start
    search_from = 0
    while True:
        at = buf.find(MAGIC, search_from)
        if at < 0:
            if pos >= min(size, scan_cap):
                return None
            chunk = stream.read(min(_CHUNK, scan_cap - pos))
            if not chunk:
                return None
            buf = buf[-(len(MAGIC) - 1) :] + chunk
            pos += len(chunk)
            search_from = 0
            continue
        found = _decode(buf, at)
        if found == _NEED_MORE:
            more = stream.read(_CHUNK) if len(buf) - at < 2 * _MAX_STRING + _HEADER else b""
            if not more:
                return None
            buf = buf[at:] + more
            pos += len(more)
            search_from = 0
            continue
        if isinstance(found, BuildInfo):
            return found
        search_from = at + 1


def _module_package(path: str, version: str, *, kind: str) -> Package:
    namespace, _, name = path.rpartition("/")
    pkg = Package("golang", name, version, "go", namespace=namespace or None)
    if kind == "application":
        pkg.kind = "application"
    return pkg


def parse_modinfo(info: BuildInfo) -> list[Package]:
    """Turn decoded build info into packages: the main module, its dependencies, ``stdlib``.

    Args:
        info: Build info from :func:`read_buildinfo` (not legacy).

    Returns:
        Packages with ``golang`` purls; ``=>`` replacements take the replaced module's place
        unless they point at a local directory (no version).
    """
    modules: list[list[str]] = []  # [path, version, kind]
    for line in info.modinfo.splitlines():
        fields = line.split("\t")
        if fields[0] in ("mod", "dep") and len(fields) >= 3 and fields[1]:
            modules.append([fields[1], fields[2], "application" if fields[0] == "mod" else "lib"])
        elif fields[0] == "=>" and modules and len(fields) >= 3 and fields[2]:
            modules[-1][0], modules[-1][1] = fields[1], fields[2]
    packages = [_module_package(p, v, kind=k) for p, v, k in modules]
    go_version = info.go_version.split()[0] if info.go_version.split() else ""
    if go_version.startswith("go"):
        packages.append(Package("golang", "stdlib", go_version[2:], "go"))
    return packages

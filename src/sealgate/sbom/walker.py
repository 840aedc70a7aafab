"""Stream each layer's tar once and fold the cataloged files into the merged view.

Nothing is extracted and no link is followed: entries are only *named*. Member data is read
only for cataloged files (within their cap) and for executables that may be Go binaries (which
are scanned forward in chunks); everything else is skipped by dropping decompressed chunks.
"""

from __future__ import annotations

import tarfile
from dataclasses import replace
from typing import IO, cast

from sealgate.errors import LimitExceeded, MalformedData
from sealgate.sbom.catalog import INVENTORY_CATALOGERS, OS_RELEASE_PATHS, parse_file, route
from sealgate.sbom.catalog_go import parse_modinfo, read_buildinfo
from sealgate.sbom.model import LayerSource, SbomLimits
from sealgate.sbom.stream import LayerReader, decompressed_chunks
from sealgate.sbom.view import MergedView, Record

__all__ = ["Notes", "normalise", "walk_layer"]

_MIN_GO_BINARY = 16 * 1024  # smaller executables are scripts or tiny C tools
_OS_DBS = ("dpkg", "apk", "rpm-sqlite")
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


class _CappedLines:
    """Single-line messages, capped so a hostile image cannot flood them."""

    def __init__(self, cap: int, what: str) -> None:
        self._cap = cap
        self._what = what
        self._items: list[str] = []
        self._dropped = 0

    def add(self, message: str) -> None:
        if len(self._items) < self._cap:
            self._items.append(" ".join(message.split()))
        else:
            self._dropped += 1

    def result(self) -> list[str]:
        more = [f"{self._dropped} more {self._what} not shown"] if self._dropped else []
        return [*self._items, *more]


class Notes:
    """What a run reports besides packages: warnings, and gaps in the inventory.

    A gap is a reason the SBOM is incomplete (packages that exist were not listed); a
    warning is anything worth telling. Both are capped at ``cap`` lines.
    """

    def __init__(self, cap: int) -> None:
        self._warnings = _CappedLines(cap, "warning(s)")
        self._gaps = _CappedLines(cap, "gap(s)")

    def add(self, message: str) -> None:
        """Record one single-line warning."""
        self._warnings.add(message)

    def gap(self, message: str) -> None:
        """Record one reason the inventory is incomplete."""
        self._gaps.add(message)

    def result(self) -> list[str]:
        """Return the warnings, plus a count of those that did not fit."""
        return self._warnings.result()

    def gaps(self) -> list[str]:
        """Return the gaps, plus a count of those that did not fit."""
        return self._gaps.result()


def normalise(name: str) -> tuple[str, bool]:
    """Turn a tar member name into a relative path inside the image.

    ``./`` prefixes, empty segments and ``.`` go; ``..`` pops a segment but never climbs above
    the root, and a leading ``/`` is dropped. That is how container runtimes place such entries
    (inside the root); since nothing is written, it only decides which path a name stands for.

    Args:
        name: The member name as stored.

    Returns:
        The normalised path (``""`` for the root) and whether the name was unsafe (absolute or
        with ``..``).
    """
    if ".." not in name and not name.startswith("/") and "//" not in name and "/./" not in name:
        if name.startswith("./"):
            name = name[2:]
        return name.rstrip("/"), False
    parts: list[str] = []
    unsafe = name.startswith("/")
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            unsafe = True
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/".join(parts), unsafe


class _LayerWalk:
    """The state of one layer being walked."""

    def __init__(
        self, view: MergedView, index: int, digest: str, limits: SbomLimits, notes: Notes
    ) -> None:
        self.view = view
        self.index = index
        self.digest = digest
        self.limits = limits
        self.notes = notes
        self.deleted: set[str] = set()
        self.opaque: set[str] = set()
        self.unsafe = 0

    def run(self, archive: tarfile.TarFile) -> None:
        entries = 0
        while (info := archive.next()) is not None:
            # tarfile keeps every TarInfo otherwise; memory must stay flat.
            archive.members = []  # type: ignore[attr-defined]
            entries += 1
            if entries > self.limits.max_layer_entries:
                raise LimitExceeded(
                    f"layer {self.digest} has more than {self.limits.max_layer_entries} "
                    "entries (limit max_layer_entries)"
                )
            self.entry(archive, info)

    def entry(self, archive: tarfile.TarFile, info: tarfile.TarInfo) -> None:
        path, unsafe = normalise(info.name)
        self.unsafe += unsafe
        if not path:
            return
        parent, _, base = path.rpartition("/")
        if base.startswith(_WHITEOUT):
            if base == _OPAQUE:
                self.opaque.add(parent)
            elif not base.startswith(".wh..wh."):  # other .wh..wh. names are aufs bookkeeping
                self.deleted.add(f"{parent}/{base[4:]}" if parent else base[4:])
            return
        replaced = self.view.pop(path)
        if not info.isdir() and self.view.has_below(path):
            self.deleted.add(path)  # a file, link or device replaces a directory
        if info.isreg():
            self.regular(archive, info, path, replaced)
        elif info.islnk():
            self.hardlink(info, path)
        elif info.issym() and path in OS_RELEASE_PATHS:
            self.view.put(path, Record(self.index, self.digest, "symlink", target=info.linkname))

    def regular(
        self, archive: tarfile.TarFile, info: tarfile.TarInfo, path: str, replaced: Record | None
    ) -> None:
        found = route(path, self.limits)
        if found is None:
            if info.mode & 0o111 and info.size >= _MIN_GO_BINARY:
                self.go_binary(archive, info, path)
            return
        if found.cataloger == "rpm-legacy":
            self.view.put(path, Record(self.index, self.digest, "rpm-legacy", cataloger="rpm"))
            return
        if info.size > found.cap:
            self.notes.add(
                f"{path} in layer {self.digest} is {info.size} bytes, over the "
                f"{found.cap}-byte cap for {found.cataloger} files; not cataloged"
            )
            if found.cataloger in INVENTORY_CATALOGERS:
                gap = f"{info.size} bytes, over the {found.cap}-byte cap; not cataloged"
                record = Record(
                    self.index, self.digest, "packages", cataloger=found.cataloger, gap=gap
                )
                self.store(path, record)
            return
        member = archive.extractfile(info)
        data = member.read() if member is not None else b""
        if len(data) != info.size:
            raise MalformedData(f"layer {self.digest} is truncated")
        record, warnings = parse_file(
            found.cataloger,
            path,
            data,
            layer_index=self.index,
            layer_digest=self.digest,
            limits=self.limits,
        )
        for warning in warnings:
            self.notes.add(f"{warning} (layer {self.digest})")
        inherited: dict[tuple[str, str, str, str], str] = {}
        if found.cataloger in _OS_DBS and replaced is not None:
            # A rewritten package database keeps each unchanged package's original layer.
            inherited = {pkg.key(): pkg.layer for pkg in replaced.packages}
        for pkg in record.packages:
            pkg.layer = inherited.get(pkg.key(), self.digest)
            pkg.path = path
        self.store(path, record)

    def go_binary(self, archive: tarfile.TarFile, info: tarfile.TarInfo, path: str) -> None:
        member = archive.extractfile(info)
        if member is None:
            return
        found = read_buildinfo(member, info.size, scan_cap=self.limits.max_binary_scan_bytes)
        if found is None:
            return
        if found.legacy:
            self.notes.add(
                f"{path} in layer {self.digest} is a Go binary built before Go 1.18; "
                "its modules are not listed"
            )
            gap = "a Go binary built before Go 1.18; its modules are not listed"
            self.store(path, Record(self.index, self.digest, "packages", cataloger="go", gap=gap))
            return
        record = Record(
            self.index, self.digest, "packages", packages=parse_modinfo(found), cataloger="go"
        )
        for pkg in record.packages:
            pkg.layer, pkg.path = self.digest, path
        self.store(path, record)

    def hardlink(self, info: tarfile.TarInfo, path: str) -> None:
        target, _ = normalise(info.linkname)
        source = self.view.get(target)
        if source is None or source.kind == "symlink":
            return
        if source.cataloger != "go":  # Go binaries are found by content, the rest by path
            found = route(path, self.limits)
            if found is None or found.cataloger != source.cataloger:
                return
        record = Record(
            self.index,
            self.digest,
            source.kind,
            licenses=list(source.licenses),
            os_info=source.os_info,
            cataloger=source.cataloger,
            gap=source.gap,
        )
        record.packages = [
            replace(pkg, qualifiers=dict(pkg.qualifiers), licenses=list(pkg.licenses), path=path)
            for pkg in source.packages
        ]
        self.store(path, record)

    def store(self, path: str, record: Record) -> None:
        if self.view.package_count + len(record.packages) > self.limits.max_components:
            raise LimitExceeded(
                f"more than {self.limits.max_components} packages found "
                f"(limit max_components, at layer {self.digest})"
            )
        self.view.put(path, record)

    def finish(self) -> None:
        self.view.hide_lower(self.index, self.deleted, self.opaque)
        if self.unsafe:
            self.notes.add(
                f"layer {self.digest}: {self.unsafe} entry name(s) were absolute or used '..'; "
                "they were read as paths inside the image root"
            )


def _end_of_archive(reader: LayerReader, walk: _LayerWalk, offset: int) -> None:
    block = reader.last_block
    if len(block) == 512 and block.count(0) != 512:
        raise MalformedData(f"layer {walk.digest}: invalid tar header at offset {offset}")
    if 0 < len(block) < 512:
        raise MalformedData(f"layer {walk.digest} is truncated")
    if not block:
        walk.notes.add(f"layer {walk.digest} has no tar end-of-archive marker")
    reader.drain()


def walk_layer(
    view: MergedView, index: int, layer: LayerSource, limits: SbomLimits, notes: Notes
) -> None:
    """Read one layer front to back and apply it to ``view``.

    Args:
        view: The merged view so far (lower layers applied).
        index: The layer's position, base layer 0.
        layer: Where to read it.
        limits: Caps.
        notes: Where warnings go.

    Raises:
        MalformedData: Corrupt compression, a truncated stream, or an invalid tar archive.
        LimitExceeded: A layer-wide cap was hit and ``limits.on_limit`` is ``"error"``.
        CheckFailed: A zstd layer without a zstd module.
    """
    walk = _LayerWalk(view, index, layer.digest, limits, notes)
    try:
        with layer.open() as raw:
            chunks = decompressed_chunks(raw, layer.media_type, layer.digest)
            reader = LayerReader(chunks, digest=layer.digest, max_bytes=limits.max_layer_bytes)
            with tarfile.open(fileobj=cast(IO[bytes], reader), mode="r:") as archive:
                walk.run(archive)
                _end_of_archive(reader, walk, archive.offset)
    except LimitExceeded as exc:
        if limits.on_limit == "error":
            raise
        notes.add(f"{exc}; the rest of that layer was not read")
        notes.gap(f"layer {layer.digest} was not read to the end ({exc})")
    except tarfile.ReadError as exc:
        if str(exc) == "empty file":  # a zero-byte layer: nothing to catalog
            return
        if "unexpected end of data" in str(exc):
            raise MalformedData(f"layer {layer.digest} is truncated") from None
        raise MalformedData(f"layer {layer.digest} is not a valid tar archive ({exc})") from None
    finally:
        walk.finish()

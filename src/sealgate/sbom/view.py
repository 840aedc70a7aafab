"""The merged filesystem view, restricted to the files the catalogers care about.

Layers are applied in order. A record remembers which layer wrote its file; a whiteout, an
opaque directory, or a non-directory that replaces a directory hides records of *lower* layers
only, exactly like an overlay mount. An index of every directory that has records below it makes
"is anything under this path?" an O(1) question, so the view never keeps per-entry state for the
millions of files catalogers ignore.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from sealgate.sbom.model import OsInfo, Package

__all__ = ["MergedView", "Record", "RecordKind", "ancestors"]

RecordKind = Literal["packages", "copyright", "os-release", "symlink", "rpm-legacy"]


@dataclass(slots=True)
class Record:
    """What one cataloged file contributed, and which layer it came from."""

    layer_index: int
    layer_digest: str
    kind: RecordKind
    packages: list[Package] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    os_info: OsInfo | None = None
    target: str = ""  # symlink target, as written in the layer
    cataloger: str = ""  # which cataloger read the file ("go" for Go binaries)
    #: Why packages this file holds are missing from the SBOM ("" when it was read whole).
    #: Kept on the record so that a later layer deleting the file also drops the gap.
    gap: str = ""


def ancestors(path: str) -> Iterator[str]:
    """Yield the directories containing ``path``, root (``""``) first.

    Args:
        path: A normalised relative path (``usr/lib/x``).

    Yields:
        ``""``, ``usr``, ``usr/lib``.
    """
    yield ""
    cut = path.find("/")
    while cut >= 0:
        yield path[:cut]
        cut = path.find("/", cut + 1)


class MergedView:
    """Path -> :class:`Record` for cataloged files, with overlay deletion semantics."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self._dirs: dict[str, int] = {}
        self.package_count = 0

    def get(self, path: str) -> Record | None:
        """Return the record at ``path``, if any."""
        return self.records.get(path)

    def put(self, path: str, record: Record) -> None:
        """Store ``record`` at ``path``, replacing whatever was there.

        Args:
            path: Normalised path.
            record: The new record.
        """
        self.pop(path)
        self.records[path] = record
        self.package_count += len(record.packages)
        for directory in ancestors(path):
            self._dirs[directory] = self._dirs.get(directory, 0) + 1

    def pop(self, path: str) -> Record | None:
        """Remove and return the record at ``path``.

        Args:
            path: Normalised path.

        Returns:
            The removed record, or None.
        """
        record = self.records.pop(path, None)
        if record is None:
            return None
        self.package_count -= len(record.packages)
        for directory in ancestors(path):
            left = self._dirs[directory] - 1
            if left:
                self._dirs[directory] = left
            else:
                del self._dirs[directory]
        return record

    def has_below(self, path: str) -> bool:
        """Tell whether any record lives under directory ``path``.

        Args:
            path: Normalised path.

        Returns:
            True if some record's path starts with ``path + "/"``.
        """
        return path in self._dirs

    def hide_lower(self, layer_index: int, deleted: set[str], opaque: set[str]) -> int:
        """Apply one layer's deletions to the records of lower layers.

        Args:
            layer_index: The layer that carried the deletions; its own records stay.
            deleted: Paths removed with their subtrees (whiteouts, replaced directories).
            opaque: Directories whose lower-layer contents are hidden (``.wh..wh..opq``).

        Returns:
            How many records were removed.
        """
        if not deleted and not opaque:
            return 0
        doomed = []
        for path, record in self.records.items():
            if record.layer_index >= layer_index:
                continue
            if path in deleted or any(d in deleted or d in opaque for d in ancestors(path)):
                doomed.append(path)
        for path in doomed:
            self.pop(path)
        return len(doomed)

    def resolve(self, path: str, *, max_hops: int = 8) -> Record | None:
        """Follow recorded symlinks from ``path`` to a record, staying inside the image.

        Args:
            path: Normalised path.
            max_hops: Links followed at most (a loop just ends the walk).

        Returns:
            The record the path finally names, or None.
        """
        for _ in range(max_hops + 1):
            record = self.records.get(path)
            if record is None or record.kind != "symlink":
                return record
            path = resolve_link(path, record.target)
        return None


def resolve_link(path: str, target: str) -> str:
    """Where a symlink at ``path`` pointing to ``target`` lands, clamped to the image root.

    Args:
        path: The link's normalised path.
        target: The link target as stored in the layer.

    Returns:
        A normalised path; ``..`` never climbs above the root, as in a container.
    """
    base = [] if target.startswith("/") else path.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if base:
                base.pop()
        else:
            base.append(part)
    return "/".join(base)

"""Which files the catalogers read, their size caps, and turning their bytes into records.

:func:`route` is called for every regular file in every layer, so it answers from the base name
first and touches the rest of the path only for the few names that can matter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sealgate.errors import MalformedData
from sealgate.sbom.catalog_java import ARCHIVE_SUFFIXES, parse_java_archive
from sealgate.sbom.catalog_lang import (
    is_npm_manifest,
    parse_package_json,
    parse_python_metadata,
)
from sealgate.sbom.catalog_os import (
    parse_apk_installed,
    parse_deb_copyright,
    parse_dpkg_status,
    parse_os_release,
)
from sealgate.sbom.catalog_rpm import parse_rpmdb_sqlite
from sealgate.sbom.model import SbomLimits
from sealgate.sbom.view import Record

__all__ = ["INVENTORY_CATALOGERS", "OS_RELEASE_PATHS", "Route", "parse_file", "route"]

OS_RELEASE_PATHS = ("etc/os-release", "usr/lib/os-release")
#: Catalogers whose files list packages: one they cannot read leaves the SBOM incomplete.
#: (``os-release`` and ``copyright`` only add details to packages found elsewhere.)
INVENTORY_CATALOGERS = frozenset({"dpkg", "apk", "rpm-sqlite", "python", "npm", "java", "go"})
_RPM_DIRS = ("var/lib/rpm", "usr/lib/sysimage/rpm")


def _under_doc(head: str, path: str) -> bool:
    return head.startswith("usr/share/doc/") and head.count("/") == 3


#: Base name -> (cataloger, does the full path qualify?, SbomLimits field with the cap).
_BY_NAME: dict[str, tuple[str, Callable[[str, str], bool], str]] = {
    "status": ("dpkg", lambda _h, p: p == "var/lib/dpkg/status", "max_db_bytes"),
    "installed": ("apk", lambda _h, p: p == "lib/apk/db/installed", "max_db_bytes"),
    "rpmdb.sqlite": ("rpm-sqlite", lambda h, _p: h in _RPM_DIRS, "max_rpmdb_bytes"),
    "Packages": ("rpm-legacy", lambda h, _p: h in _RPM_DIRS, "max_rpmdb_bytes"),
    "Packages.db": ("rpm-legacy", lambda h, _p: h in _RPM_DIRS, "max_rpmdb_bytes"),
    "os-release": ("os-release", lambda _h, p: p in OS_RELEASE_PATHS, "max_metadata_bytes"),
    "copyright": ("copyright", _under_doc, "max_metadata_bytes"),
    "METADATA": ("python", lambda h, _p: h.endswith(".dist-info"), "max_metadata_bytes"),
    "PKG-INFO": ("python", lambda h, _p: h.endswith(".egg-info"), "max_metadata_bytes"),
    "package.json": ("npm", lambda _h, p: is_npm_manifest(p), "max_metadata_bytes"),
}


@dataclass(frozen=True)
class Route:
    """A cataloged file: which parser reads it and how many bytes it may have."""

    cataloger: str
    cap: int


def route(path: str, limits: SbomLimits) -> Route | None:
    """Decide whether a regular file is cataloged.

    Args:
        path: Normalised path inside the image.
        limits: Per-file caps.

    Returns:
        The route, or None for files no cataloger reads.
    """
    head, _, base = path.rpartition("/")
    known = _BY_NAME.get(base)
    if known is not None:
        cataloger, qualifies, cap = known
        return Route(cataloger, getattr(limits, cap)) if qualifies(head, path) else None
    if head == "var/lib/dpkg/status.d" and "." not in base:  # skips <pkg>.md5sums
        return Route("dpkg", limits.max_db_bytes)
    if base.endswith(".egg-info"):  # a PKG-INFO written as a single file (Debian python3-*)
        return Route("python", limits.max_metadata_bytes)
    if base.lower().endswith(ARCHIVE_SUFFIXES):
        return Route("java", limits.max_archive_bytes)
    return None


def parse_file(
    cataloger: str,
    path: str,
    data: bytes,
    *,
    layer_index: int,
    layer_digest: str,
    limits: SbomLimits,
) -> tuple[Record, list[str]]:
    """Parse one cataloged file into a record.

    Args:
        cataloger: The route's cataloger name.
        path: Normalised path (for messages and Java file-name fallbacks).
        data: The file's bytes (already within the route's cap).
        layer_index: Position of the layer in the image.
        layer_digest: The layer digest (provenance).
        limits: Caps (nested Java archives).

    Returns:
        The record and any warnings.
    """
    record = Record(layer_index, layer_digest, "packages", cataloger=cataloger)
    try:
        warnings = _parse_into(record, cataloger, path, data, limits)
    except Exception as exc:  # one unreadable file must not sink the whole SBOM...
        record = Record(layer_index, layer_digest, "packages", cataloger=cataloger)
        warnings = [f"{path}: not cataloged ({type(exc).__name__}: {exc})"]
        # ...but the SBOM must then say it is incomplete, not pass for a full inventory.
        if cataloger in INVENTORY_CATALOGERS:
            record.gap = f"the {cataloger} cataloger failed ({type(exc).__name__})"
    return record, warnings


def _parse_into(
    record: Record, cataloger: str, path: str, data: bytes, limits: SbomLimits
) -> list[str]:
    warnings: list[str] = []
    if cataloger == "dpkg":
        record.packages = parse_dpkg_status(data)
    elif cataloger == "apk":
        record.packages = parse_apk_installed(data)
    elif cataloger == "rpm-sqlite":
        try:
            record.packages, notes = parse_rpmdb_sqlite(data)
        except MalformedData as exc:
            notes = [str(exc)]
        warnings.extend(f"{path}: {note}" for note in notes)
        if notes:
            record.gap = "; ".join(notes)
    elif cataloger == "rpm-legacy":
        record.kind = "rpm-legacy"
    elif cataloger == "os-release":
        record.kind = "os-release"
        record.os_info = parse_os_release(data)
    elif cataloger == "copyright":
        record.kind = "copyright"
        record.licenses = parse_deb_copyright(data)
    elif cataloger == "python":
        record.packages = parse_python_metadata(data)
    elif cataloger == "npm":
        record.packages = parse_package_json(data)
    elif cataloger == "java":
        record.packages = parse_java_archive(data, path, nested_budget=limits.max_archive_bytes)
    return warnings

"""Public value types of the SBOM generator and the internal package record.

The public types (:class:`LayerSource`, :class:`SbomLimits`, :class:`SbomResult`) are what the
workflows layer passes in and gets back. :class:`Package` is what every cataloger produces; the
output writers turn packages into CycloneDX or SPDX documents.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from sealgate.config import MiB
from sealgate.oci.mediatypes import CYCLONEDX_JSON

__all__ = [
    "DEFAULT_LIMITS",
    "GiB",
    "LayerSource",
    "OsInfo",
    "Package",
    "SbomLimits",
    "SbomResult",
]

GiB = 1024 * MiB


@dataclass(frozen=True)
class LayerSource:
    """One image layer, in the order the manifest lists it (base layer first).

    Attributes:
        digest: ``sha256:...`` of the compressed blob; recorded as each component's provenance.
        media_type: The layer media type. Anything ending in ``tar``, ``tar+gzip``/``tar.gzip``
            or ``tar+zstd`` is accepted; the compression is confirmed from the stream's magic
            bytes, so a mislabelled layer still reads.
        open: Returns a context manager yielding the *compressed* blob stream. It is called
            exactly once per layer and the stream is read front to back, never seeked.
    """

    digest: str
    media_type: str
    open: Callable[[], AbstractContextManager[BinaryIO]]


@dataclass(frozen=True)
class SbomLimits:
    """Caps on everything read from untrusted layers. Memory use is bounded by these caps.

    Attributes:
        max_layer_bytes: Uncompressed bytes read from one layer (tar-bomb guard).
        max_layer_entries: Tar entries in one layer.
        max_db_bytes: A dpkg ``status`` file or an apk ``installed`` database.
        max_rpmdb_bytes: An RPM ``rpmdb.sqlite`` (loaded into an in-memory SQLite database).
        max_metadata_bytes: One small metadata file: ``package.json``, ``METADATA``,
            ``PKG-INFO``, ``os-release``, a Debian ``copyright`` file, a ``pom.properties``.
        max_archive_bytes: A ``.jar``/``.war``/``.ear`` read into memory (and a nested jar).
        max_binary_scan_bytes: How far into an executable we look for Go build info.
        max_components: Packages held at once; protects memory (and output time: the
            CycloneDX library needs roughly 0.5 ms per component) against a flood of manifests.
        max_warnings: Warnings kept in the result; later ones are counted, not kept.
        on_limit: What a *layer-wide* cap (``max_layer_bytes``, ``max_layer_entries``,
            ``max_components``) does: ``"error"`` raises :class:`~sealgate.errors.LimitExceeded`
            (the default: an SBOM must not silently miss parts of an image); ``"warn"`` stops
            reading that layer, keeps what was found and adds a warning. Per-file caps always
            just skip the file with a warning.
    """

    max_layer_bytes: int = 8 * GiB
    max_layer_entries: int = 1_000_000
    max_db_bytes: int = 8 * MiB
    max_rpmdb_bytes: int = 64 * MiB
    max_metadata_bytes: int = 1 * MiB
    max_archive_bytes: int = 64 * MiB
    max_binary_scan_bytes: int = 128 * MiB
    max_components: int = 100_000
    max_warnings: int = 200
    on_limit: Literal["error", "warn"] = "error"


DEFAULT_LIMITS = SbomLimits()


@dataclass(frozen=True)
class SbomResult:
    """The generated document.

    Attributes:
        document: The serialised JSON document (UTF-8).
        components: Number of entries in the document's component/package list, not counting
            the image itself (includes the operating-system entry when one was found).
        warnings: Human-readable, one-line notes about what could not be read.
        media_type: ``application/vnd.cyclonedx+json`` or ``application/spdx+json``.
        gaps: One line per reason the inventory is incomplete: packages present in the
            image that the document does not list. Empty when every package database and
            manifest found was read. The document records the same.
    """

    document: bytes
    components: int
    warnings: list[str]
    media_type: str = CYCLONEDX_JSON
    gaps: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every package database and manifest found was cataloged."""
        return not self.gaps


@dataclass(slots=True)
class Package:
    """One package found by a cataloger.

    ``namespace`` and ``qualifiers`` become the purl's; OS catalogers leave the namespace empty
    and the generator fills in the distribution from ``os-release``. ``layer`` and ``path`` are
    provenance: the layer digest the package's metadata came from and the file it was read from.
    """

    ecosystem: str  # purl type: deb, apk, rpm, pypi, npm, golang, maven
    name: str
    version: str
    cataloger: str
    namespace: str | None = None
    qualifiers: dict[str, str] = field(default_factory=dict)
    licenses: list[str] = field(default_factory=list)
    kind: Literal["library", "application"] = "library"
    layer: str = ""
    path: str = ""

    def key(self) -> tuple[str, str, str, str]:
        """Identity used to carry a package's layer over when its database file is rewritten.

        Returns:
            ``(ecosystem, name, version, arch)``.
        """
        return (self.ecosystem, self.name, self.version, self.qualifiers.get("arch", ""))


@dataclass(frozen=True)
class OsInfo:
    """What ``os-release`` says about the distribution."""

    id: str
    version_id: str = ""
    pretty_name: str = ""
    id_like: tuple[str, ...] = ()

    @property
    def distro(self) -> str:
        """The purl ``distro`` qualifier value, e.g. ``debian-12``, or ``""`` if unknown."""
        return f"{self.id}-{self.version_id}" if self.version_id else ""

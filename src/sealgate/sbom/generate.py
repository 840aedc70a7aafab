"""``generate_sbom``: walk an image's layers once and write a CycloneDX or SPDX document."""

from __future__ import annotations

from collections.abc import Sequence

from sealgate.errors import UsageError
from sealgate.oci.mediatypes import CYCLONEDX_JSON, SPDX_JSON
from sealgate.sbom.catalog import OS_RELEASE_PATHS
from sealgate.sbom.catalog_os import apply_distro
from sealgate.sbom.cdx import render_cyclonedx
from sealgate.sbom.model import DEFAULT_LIMITS, LayerSource, OsInfo, Package, SbomLimits, SbomResult
from sealgate.sbom.spdx import render_spdx
from sealgate.sbom.view import MergedView
from sealgate.sbom.walker import Notes, walk_layer

__all__ = ["OUTPUT_FORMATS", "collect_packages", "generate_sbom"]

OUTPUT_FORMATS = ("cyclonedx-json", "spdx-json")


def _os_info(view: MergedView) -> OsInfo | None:
    for path in OS_RELEASE_PATHS:
        record = view.resolve(path)
        if record is not None and record.kind == "os-release" and record.os_info is not None:
            return record.os_info
    return None


def collect_packages(view: MergedView, notes: Notes) -> tuple[list[Package], OsInfo | None]:
    """Read the final merged view: packages with distro namespaces and Debian licenses.

    Args:
        view: The view after every layer was applied.
        notes: Where warnings go.

    Returns:
        Packages in a stable order (ecosystem, namespace, name, version, path), and the
        distribution if ``os-release`` was found. Files that hold packages but could not be
        read are recorded in ``notes`` as gaps.
    """
    os_info = _os_info(view)
    copyrights: dict[str, list[str]] = {}
    legacy_rpm: list[str] = []
    for path, record in view.records.items():
        if record.kind == "copyright":
            copyrights[path.split("/")[3]] = record.licenses
        elif record.kind == "rpm-legacy":
            legacy_rpm.append(path)
    packages: list[Package] = []
    for record in view.records.values():
        for pkg in record.packages:
            apply_distro(pkg, os_info)
            if pkg.ecosystem == "deb" and not pkg.licenses:
                pkg.licenses = list(copyrights.get(pkg.name, ()))
            packages.append(pkg)
    if legacy_rpm and not any(p.ecosystem == "rpm" for p in packages):
        notes.add(
            f"{legacy_rpm[0]} is a BerkeleyDB/NDB rpm database, which is not supported; "
            "RPM packages are not listed"
        )
        notes.gap(f"{legacy_rpm[0]}: BerkeleyDB/NDB rpm database; RPM packages not listed")
    for path, record in view.records.items():
        if record.gap:
            notes.gap(f"{path} (layer {record.layer_digest}): {record.gap}")
    packages.sort(key=lambda p: (p.ecosystem, p.namespace or "", p.name, p.version, p.path))
    return packages, os_info


def generate_sbom(
    layers: Sequence[LayerSource],
    *,
    image_name: str,
    image_digest: str,
    spec_version: str = "1.6",
    output_format: str = "cyclonedx-json",
    platform: str | None = None,
    limits: SbomLimits = DEFAULT_LIMITS,
) -> SbomResult:
    """Catalog the packages of one image (one platform) and serialise an SBOM.

    Each layer is opened once and streamed in order; only package metadata is kept, so
    memory stays flat as images grow. Whiteouts and opaque directories are honoured, so
    packages deleted by an upper layer are not listed.

    Args:
        layers: The image's layers, base first, as in the manifest.
        image_name: The image name the SBOM describes (``registry/repo``).
        image_digest: The image manifest digest; the image component's version.
        spec_version: CycloneDX version, ``"1.6"`` or ``"1.5"`` (ignored for SPDX).
        output_format: ``"cyclonedx-json"`` or ``"spdx-json"`` (SPDX 2.3).
        platform: ``os/arch[/variant]``, recorded in the document metadata.
        limits: Caps on what is read from the layers.

    Returns:
        The document, its component count, the warnings, and the gaps: why the inventory
        is incomplete (a cataloger failed, a package database was unreadable or too
        large). A document with gaps says so itself: CycloneDX ``compositions`` with
        aggregate ``incomplete``; an SPDX document comment and annotations.

    Raises:
        UsageError: An unknown output format or CycloneDX version.
        MalformedData: A layer is corrupt, truncated, or not a tar archive.
        LimitExceeded: A layer-wide cap was hit with ``limits.on_limit == "error"``.
        CheckFailed: A zstd layer and no zstd module available.
    """
    if output_format not in OUTPUT_FORMATS:
        raise UsageError(
            f"unsupported SBOM format {output_format!r} (use {' or '.join(OUTPUT_FORMATS)})"
        )
    if output_format == "cyclonedx-json" and spec_version not in ("1.5", "1.6"):
        raise UsageError(f"unsupported CycloneDX spec version {spec_version!r} (use 1.5 or 1.6)")
    notes = Notes(limits.max_warnings)
    view = MergedView()
    for index, layer in enumerate(layers):
        walk_layer(view, index, layer, limits, notes)
    packages, os_info = collect_packages(view, notes)
    gaps = notes.gaps()
    if output_format == "spdx-json":
        document, count = render_spdx(
            packages,
            image_name=image_name,
            image_digest=image_digest,
            os_info=os_info,
            platform=platform,
            gaps=gaps,
        )
        return SbomResult(document, count, notes.result(), SPDX_JSON, gaps)
    document, count = render_cyclonedx(
        packages,
        image_name=image_name,
        image_digest=image_digest,
        os_info=os_info,
        spec_version=spec_version,
        platform=platform,
        gaps=gaps,
    )
    return SbomResult(document, count, notes.result(), CYCLONEDX_JSON, gaps)

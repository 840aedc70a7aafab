"""Java archives: Maven coordinates from ``pom.properties``, else from ``MANIFEST.MF``.

A ``.jar``/``.war``/``.ear`` is read into memory (capped by the caller) and opened with
:mod:`zipfile`. Only small members are decompressed (``pom.properties``, the manifest), each
with a size cap, and nested archives (``WEB-INF/lib``, ``BOOT-INF/lib``) are opened one level
deep within a byte budget, so a zip bomb costs at most the budget.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib

from sealgate.sbom.model import Package

__all__ = ["ARCHIVE_SUFFIXES", "parse_java_archive"]

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi")
_SMALL_MEMBER = 256 * 1024
_MAX_NESTING = 1
_MAX_MEMBERS = 100_000
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, NotImplementedError)
_FILENAME_VERSION = re.compile(r"^(?P<name>.+?)-(?P<version>\d[\w.+-]*)$")


def _properties(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _manifest(text: str) -> dict[str, str]:
    """Main section of a JAR manifest; continuation lines start with one space."""
    values: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line:
            break  # end of the main section
        if line.startswith(" ") and last:
            values[last] += line[1:]
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = key.strip()
            values[last] = value.strip()
    return values


def _read_small(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    if info.file_size > _SMALL_MEMBER:
        return None
    with archive.open(info) as member:
        return member.read(_SMALL_MEMBER).decode("utf-8", errors="replace")


def _from_manifest(values: dict[str, str], filename: str) -> Package | None:
    stem = posixpath.basename(filename).rsplit(".", 1)[0]
    match = _FILENAME_VERSION.match(stem)
    artifact = values.get("Implementation-Title") or values.get("Bundle-Name") or ""
    if not artifact or " " in artifact:
        artifact = match.group("name") if match else stem
    version = (
        values.get("Implementation-Version")
        or values.get("Bundle-Version")
        or (match.group("version") if match else "")
    )
    if not artifact or not version:
        return None
    group = values.get("Implementation-Vendor-Id") or None
    symbolic = values.get("Bundle-SymbolicName", "").split(";")[0].strip()
    if group is None and symbolic.endswith("." + artifact):
        group = symbolic[: -len(artifact) - 1]
    licenses = []
    declared = values.get("Bundle-License", "").split(";")[0].strip()
    if declared and "://" not in declared and len(declared) < 100:
        licenses.append(declared)
    return Package("maven", artifact, version, "java", namespace=group, licenses=licenses)


def _scan(data: bytes, filename: str, depth: int, budget: list[int]) -> list[Package]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        return []
    packages: list[Package] = []
    manifest: dict[str, str] = {}
    nested: list[zipfile.ZipInfo] = []
    with archive:
        infos = archive.infolist()[:_MAX_MEMBERS]
        for info in infos:
            name = info.filename
            try:
                if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
                    text = _read_small(archive, info)
                    props = _properties(text) if text else {}
                    group, artifact = props.get("groupId"), props.get("artifactId")
                    version = props.get("version")
                    if group and artifact and version:
                        packages.append(
                            Package("maven", artifact, version, "java", namespace=group)
                        )
                elif name.upper() == "META-INF/MANIFEST.MF":
                    text = _read_small(archive, info)
                    manifest = _manifest(text) if text else {}
                elif depth < _MAX_NESTING and name.lower().endswith(ARCHIVE_SUFFIXES):
                    nested.append(info)
            except _ZIP_ERRORS:
                continue  # one broken member does not hide the others
        if not packages and (pkg := _from_manifest(manifest, filename)):
            packages.append(pkg)
        for info in nested:
            if info.file_size > budget[0]:
                continue
            try:
                with archive.open(info) as member:
                    inner = member.read(budget[0] + 1)
            except _ZIP_ERRORS:
                continue
            budget[0] -= len(inner)
            packages.extend(_scan(inner, info.filename, depth + 1, budget))
    return packages


def parse_java_archive(data: bytes, filename: str, *, nested_budget: int) -> list[Package]:
    """List the Maven artifacts in a Java archive and its directly nested archives.

    Args:
        data: The archive bytes.
        filename: The archive's path, used to guess name and version when only a manifest
            is present.
        nested_budget: Total bytes that nested archives may decompress to.

    Returns:
        One package per ``pom.properties`` (shaded jars list all they contain); an archive
        without any falls back to its manifest and file name.
    """
    return _scan(data, filename, 0, [nested_budget])

"""Operating-system package databases: dpkg, apk, ``os-release`` and Debian copyright files.

Every parser takes the raw bytes of one file and never raises on odd content: a stanza without
a name or version is skipped. Namespaces (``debian``, ``alpine``...) are filled in later from
``os-release`` by :func:`apply_distro`.
"""

from __future__ import annotations

import re
import shlex

from sealgate.sbom.model import OsInfo, Package

__all__ = [
    "apply_distro",
    "parse_apk_installed",
    "parse_deb_copyright",
    "parse_dpkg_status",
    "parse_os_release",
]

_COMMON_LICENSE = re.compile(rb"/usr/share/common-licenses/([A-Za-z0-9][A-Za-z0-9.+_-]*)")
_DEFAULT_NAMESPACE = {"deb": "debian", "apk": "alpine", "rpm": ""}


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _control_stanzas(text: str) -> list[dict[str, str]]:
    """Split an RFC 822-style control file (dpkg ``status``) into field dictionaries."""
    stanzas: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                stanzas.append(fields)
            fields, last = {}, ""
        elif line[0] in " \t":
            if last:  # continuation lines are only kept for fields we might read
                fields[last] += "\n" + line.strip()
        else:
            key, sep, value = line.partition(":")
            if sep:
                last = key.strip()
                fields[last] = value.strip()
    if fields:
        stanzas.append(fields)
    return stanzas


def parse_dpkg_status(data: bytes) -> list[Package]:
    """Parse a dpkg ``status`` file or one distroless ``status.d`` entry.

    Args:
        data: The file content.

    Returns:
        One package per installed stanza (``Status: ... installed``, or no Status field as in
        distroless ``status.d`` files); removed packages that left config files are skipped.
    """
    packages = []
    for fields in _control_stanzas(_text(data)):
        name, version = fields.get("Package", ""), fields.get("Version", "")
        status = fields.get("Status", "install ok installed").split()
        if not name or not version or (status and status[-1] != "installed"):
            continue
        qualifiers = {}
        if arch := fields.get("Architecture", ""):
            qualifiers["arch"] = arch
        source = fields.get("Source", "").split(" ")[0]
        if source and source != name:
            qualifiers["upstream"] = source
        packages.append(
            Package("deb", name, version, cataloger="dpkg", qualifiers=qualifiers),
        )
    return packages


def parse_apk_installed(data: bytes) -> list[Package]:
    """Parse Alpine's ``lib/apk/db/installed``.

    Args:
        data: The file content.

    Returns:
        One package per stanza with ``P:`` (name) and ``V:`` (version); ``L:`` is the license.
    """
    packages = []
    for block in _text(data).split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if len(line) > 2 and line[1] == ":" and line[0] not in fields:
                fields[line[0]] = line[2:].strip()
        name, version = fields.get("P", ""), fields.get("V", "")
        if not name or not version:
            continue
        qualifiers = {"arch": fields["A"]} if fields.get("A") else {}
        if (origin := fields.get("o", "")) and origin != name:
            qualifiers["upstream"] = origin
        licenses = [fields["L"]] if fields.get("L") else []
        packages.append(
            Package("apk", name, version, "apk", qualifiers=qualifiers, licenses=licenses)
        )
    return packages


def parse_os_release(data: bytes) -> OsInfo | None:
    """Parse ``os-release`` (``KEY=value`` lines, shell quoting).

    Args:
        data: The file content.

    Returns:
        The distribution, or None if the file has no ``ID``.
    """
    values: dict[str, str] = {}
    for line in _text(data).splitlines():
        key, sep, raw = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            parts = shlex.split(raw, comments=False, posix=True)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = parts[0] if parts else ""
    os_id = values.get("ID", "").strip().lower()
    if not os_id:
        return None
    return OsInfo(
        id=os_id,
        version_id=values.get("VERSION_ID", ""),
        pretty_name=values.get("PRETTY_NAME", ""),
        id_like=tuple(values.get("ID_LIKE", "").lower().split()),
    )


def parse_deb_copyright(data: bytes) -> list[str]:
    """Collect license names from a Debian ``copyright`` file.

    Machine-readable (DEP-5) files name licenses on ``License:`` lines; free-form files often
    point at ``/usr/share/common-licenses/<NAME>``. Both are collected, in order, without
    duplicates.

    Args:
        data: The file content.

    Returns:
        License names as written (``GPL-2+``, ``Apache-2.0``...).
    """
    found: dict[str, None] = {}
    for line in data.splitlines():
        if line[:8].lower() == b"license:":
            value = _text(line[8:]).strip()
            if value and len(value) < 200:
                found.setdefault(value, None)
    for match in _COMMON_LICENSE.finditer(data):
        name = _text(match.group(1)).rstrip(".")
        if name:
            found.setdefault(name, None)
    return list(found)


def apply_distro(pkg: Package, os_info: OsInfo | None) -> None:
    """Set an OS package's purl namespace and ``distro`` qualifier from ``os-release``.

    Args:
        pkg: A deb, apk or rpm package; others are left alone.
        os_info: The image's distribution, if known.
    """
    if pkg.ecosystem not in _DEFAULT_NAMESPACE:
        return
    if os_info is not None:
        pkg.namespace = os_info.id
        if os_info.distro:
            pkg.qualifiers["distro"] = os_info.distro
    else:
        pkg.namespace = _DEFAULT_NAMESPACE[pkg.ecosystem] or None

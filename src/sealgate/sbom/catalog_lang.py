"""Language package manifests: Python distribution metadata and npm ``package.json``.

Parsers take one file's bytes and return packages; odd content yields nothing rather than an
error, because a broken manifest in an image is not a reason to fail the whole SBOM.
"""

from __future__ import annotations

import json
import re
from email.parser import HeaderParser
from typing import Any

from sealgate.sbom.model import Package

__all__ = ["is_npm_manifest", "normalize_pypi_name", "parse_package_json", "parse_python_metadata"]

_PYPI_SEPARATORS = re.compile(r"[-_.]+")
#: Trove classifiers for the common licenses, mapped to SPDX identifiers.
_CLASSIFIER_SPDX = {
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD-3-Clause",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "ISC License (ISCL)": "ISC",
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "Zope Public License": "ZPL-2.1",
}
_MAX_LICENSE_FIELD = 100  # a longer License: field is the license text, not its name


def normalize_pypi_name(name: str) -> str:
    """Normalise a distribution name as PEP 503 and the pypi purl type require.

    Args:
        name: The ``Name`` field.

    Returns:
        Lowercase, with runs of ``-``, ``_`` and ``.`` replaced by one ``-``.
    """
    return _PYPI_SEPARATORS.sub("-", name).lower()


def _python_licenses(headers: Any) -> list[str]:
    expression = (headers.get("License-Expression") or "").strip()
    if expression:
        return [expression]
    found: list[str] = []
    for classifier in headers.get_all("Classifier") or []:
        parts = [p.strip() for p in str(classifier).split("::")]
        if parts[0] == "License" and len(parts) > 1 and parts[-1] != "OSI Approved":
            name = _CLASSIFIER_SPDX.get(parts[-1], parts[-1])
            if name not in found:
                found.append(name)
    if found:
        return found
    text = str(headers.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= _MAX_LICENSE_FIELD and text != "UNKNOWN":
        return [text]
    return []


def parse_python_metadata(data: bytes) -> list[Package]:
    """Parse a ``METADATA`` (wheel ``.dist-info``) or ``PKG-INFO`` (``.egg-info``) file.

    Args:
        data: The file content; only the header block is parsed.

    Returns:
        Zero or one package. Licenses come from ``License-Expression``, else the license
        classifiers, else a short ``License`` field.
    """
    text = data.decode("utf-8", errors="replace")
    end = text.find("\n\n")
    headers = HeaderParser().parsestr(text if end < 0 else text[: end + 1])
    name = str(headers.get("Name") or "").strip()
    version = str(headers.get("Version") or "").strip()
    if not name or not version:
        return []
    return [
        Package(
            "pypi",
            normalize_pypi_name(name),
            version,
            "python",
            licenses=_python_licenses(headers),
        )
    ]


def is_npm_manifest(path: str) -> bool:
    """Tell whether ``path`` is the ``package.json`` at the root of an installed npm package.

    Only ``.../node_modules/<name>/package.json`` and ``.../node_modules/@scope/<name>/...``
    count; an application's own ``package.json`` and files deeper inside a package (which
    often hold only ``{"type": "module"}``) do not.

    Args:
        path: A normalised path inside the image.

    Returns:
        True for an installed package's manifest.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[-1] != "package.json":
        return False
    if parts[-3] == "node_modules":
        return not parts[-2].startswith("@")
    return len(parts) >= 4 and parts[-4] == "node_modules" and parts[-3].startswith("@")


def _npm_licenses(manifest: dict[str, Any]) -> list[str]:
    value = manifest.get("license")
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return [value["type"]]
    legacy = manifest.get("licenses")
    found = []
    if isinstance(legacy, list):
        for item in legacy[:16]:
            if isinstance(item, dict) and isinstance(item.get("type"), str):
                found.append(item["type"])
            elif isinstance(item, str):
                found.append(item)
    return found


def parse_package_json(data: bytes) -> list[Package]:
    """Parse an installed npm package's ``package.json``.

    Args:
        data: The file content.

    Returns:
        Zero or one package; a scoped name ``@scope/name`` becomes namespace ``@scope``.
    """
    try:
        manifest = json.loads(data)
    except (ValueError, RecursionError):
        return []
    if not isinstance(manifest, dict):
        return []
    name, version = manifest.get("name"), manifest.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return []
    namespace = None
    if name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
    return [
        Package(
            "npm",
            name,
            version,
            "npm",
            namespace=namespace,
            licenses=_npm_licenses(manifest),
        )
    ]

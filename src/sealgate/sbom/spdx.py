"""SPDX 2.3 JSON output: a minimal, valid document built as a plain dict.

The image is the described package (``primaryPackagePurpose: CONTAINER``) and ``CONTAINS``
every other package. Licenses that are valid SPDX expressions are used as they are; anything
else becomes a ``LicenseRef-`` with its text in ``hasExtractedLicensingInfos``. Provenance
(layer digest and metadata file) goes to each package's ``sourceInfo``. SPDX 2.3 has no
completeness field: an incomplete inventory is stated in the document ``comment`` and in
one document annotation (type ``OTHER``) per reason.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from license_expression import (
    ExpressionError,
    get_spdx_licensing,
)

from sealgate import __version__
from sealgate.oci.mediatypes import is_valid_digest
from sealgate.sbom.cdx import purl_for
from sealgate.sbom.model import OsInfo, Package

__all__ = ["render_spdx"]

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
_PURPOSE = {"library": "LIBRARY", "application": "APPLICATION"}


class _Licenses:
    """Turns license strings into SPDX expressions, minting LicenseRefs for the rest."""

    def __init__(self) -> None:
        self._licensing = get_spdx_licensing()
        self.extracted: dict[str, str] = {}  # text -> LicenseRef id

    def _one(self, text: str) -> str:
        try:
            parsed = self._licensing.parse(text, validate=True, strict=True)
        except ExpressionError:
            parsed = None
        if parsed is not None:
            rendered = str(parsed)
            return f"({rendered})" if " " in rendered else rendered
        if text not in self.extracted:
            slug = _ID_UNSAFE.sub("-", text).strip("-")[:60] or "unknown"
            self.extracted[text] = f"LicenseRef-{len(self.extracted) + 1}-{slug}"
        return self.extracted[text]

    def expression(self, values: list[str]) -> str:
        parts = [self._one(v) for v in values if v.strip()]
        if not parts:
            return "NOASSERTION"
        if len(parts) == 1:
            return parts[0][1:-1] if parts[0].startswith("(") else parts[0]
        return " AND ".join(parts)


def _spdx_id(prefix: str, index: int, name: str) -> str:
    return f"SPDXRef-{prefix}-{index}-{_ID_UNSAFE.sub('-', name).strip('-')[:80] or 'x'}"


def render_spdx(
    packages: list[Package],
    *,
    image_name: str,
    image_digest: str,
    os_info: OsInfo | None,
    platform: str | None,
    gaps: list[str] | None = None,
) -> tuple[bytes, int]:
    """Serialise packages as an SPDX 2.3 JSON document.

    Args:
        packages: Packages in output order.
        image_name: The image the document describes.
        image_digest: Its manifest digest (``sha256:<hex>``), also the image checksum.
        os_info: The distribution, emitted as an ``OPERATING-SYSTEM`` package.
        platform: Recorded in the image package's comment.
        gaps: Why the inventory is incomplete; stated in the document comment and
            annotations.

    Returns:
        The JSON bytes and the number of packages written (not counting the image).
    """
    licenses = _Licenses()
    image_id = "SPDXRef-Image"
    image: dict[str, Any] = {
        "SPDXID": image_id,
        "name": image_name,
        "versionInfo": image_digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "CONTAINER",
    }
    if is_valid_digest(image_digest):
        hexdigest = image_digest.removeprefix("sha256:")
        image["checksums"] = [{"algorithm": "SHA256", "checksumValue": hexdigest}]
    if platform:
        image["comment"] = f"platform: {platform}"
    entries: list[dict[str, Any]] = []
    if os_info is not None:
        entries.append(
            {
                "SPDXID": _spdx_id("OperatingSystem", 0, os_info.id),
                "name": os_info.id,
                "versionInfo": os_info.version_id or "NOASSERTION",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "primaryPackagePurpose": "OPERATING-SYSTEM",
            }
        )
    for index, pkg in enumerate(packages, start=1):
        entries.append(
            {
                "SPDXID": _spdx_id("Package", index, f"{pkg.ecosystem}-{pkg.name}"),
                "name": pkg.name,
                "versionInfo": pkg.version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "primaryPackagePurpose": _PURPOSE[pkg.kind],
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": licenses.expression(pkg.licenses),
                "copyrightText": "NOASSERTION",
                "sourceInfo": f"{pkg.cataloger}: {pkg.path} in layer {pkg.layer}",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": purl_for(pkg).to_string(),
                    }
                ],
            }
        )
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    safe_name = _ID_UNSAFE.sub("-", image_name).strip("-") or "image"
    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": image_name,
        "documentNamespace": f"https://sealgate.invalid/spdx/{safe_name}-{uuid.uuid4()}",
        "creationInfo": {"created": created, "creators": [f"Tool: sealgate-{__version__}"]},
        "packages": [image, *entries],
        "relationships": [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": image_id,
            },
            *(
                {
                    "spdxElementId": image_id,
                    "relationshipType": "CONTAINS",
                    "relatedSpdxElement": entry["SPDXID"],
                }
                for entry in entries
            ),
        ],
    }
    if gaps:
        tool = f"Tool: sealgate-{__version__}"
        document["comment"] = (
            f"INCOMPLETE: {len(gaps)} part(s) of the image could not be cataloged; packages "
            "present in the image may be missing from this document (see annotations)."
        )
        document["annotations"] = [
            {
                "annotationDate": created,
                "annotationType": "OTHER",
                "annotator": tool,
                "comment": f"incomplete: {gap}",
            }
            for gap in gaps
        ]
    if licenses.extracted:
        document["hasExtractedLicensingInfos"] = [
            {"licenseId": ref, "extractedText": text, "name": text}
            for text, ref in licenses.extracted.items()
        ]
    return json.dumps(document, ensure_ascii=False).encode("utf-8"), len(entries)

"""Vulnerability scan reports (Trivy JSON, Grype JSON): what they found, and about which image.

Seed 004: "Don't sign images with critical CVEs". The report is whatever the scanner wrote;
we read the findings (IDs, packages, severities) and the image the scanner says it scanned,
so that a clean report of one image cannot wave another image through:

* Trivy (``trivy image -f json``; ``pkg/types/report.go``): ``ArtifactName`` (a
  ``name@sha256:...`` when scanned by digest), ``Metadata.RepoDigests`` (``name@sha256:...``:
  the manifest or index digest the tag pointed at) and ``Metadata.ImageID`` (the config
  digest).
* Grype (``grype -o json``): ``source.target`` of an ``image`` source is syft's
  ``StereoscopeImageSourceMetadata``: ``manifestDigest`` (the platform manifest scanned),
  ``repoDigests`` (``name@sha256:...``), ``imageID`` (the config digest) and ``userInput``.

Digests are compared, not repository names: a digest names content wherever it is stored,
so a report made in a staging registry still binds to the same image copied to production.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sealgate.errors import InputError, VerificationFailed
from sealgate.oci.mediatypes import is_valid_digest

__all__ = [
    "SEVERITIES",
    "Finding",
    "ScanReport",
    "ScanReportForAnotherImage",
    "VulnerabilityPolicyViolation",
    "enforce_severity",
    "parse_scan_report",
]

#: Lowest to highest. Grype says "Negligible"; Trivy says "UNKNOWN".
SEVERITIES = ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


class VulnerabilityPolicyViolation(VerificationFailed):
    """The scan report lists vulnerabilities at or above the ``--fail-on`` severity."""

    reason = "vulnerable"


class ScanReportForAnotherImage(InputError):
    """The scan report names image digests, and none is the image being signed."""


@dataclass(frozen=True)
class Finding:
    id: str
    package: str
    version: str
    severity: str


@dataclass(frozen=True)
class ScanReport:
    """A parsed report: its findings and the image it says it scanned.

    Attributes:
        scanner: ``"Trivy"`` or ``"Grype"``.
        findings: Every vulnerability listed.
        manifest_digests: Manifest or index digests the report names as its subject.
        config_digests: Image config digests (image IDs) the report names as its subject.
    """

    scanner: str
    findings: list[Finding]
    manifest_digests: frozenset[str] = field(default_factory=frozenset)
    config_digests: frozenset[str] = field(default_factory=frozenset)

    @property
    def names_an_image(self) -> bool:
        """Whether the report says which image it scanned (by digest or image ID)."""
        return bool(self.manifest_digests or self.config_digests)

    def describes(self, manifests: Collection[str], configs: Collection[str] = ()) -> bool:
        """Whether the report's subject is among these manifest or config digests.

        Args:
            manifests: The digest being signed, and the platform manifests of an index.
            configs: The config digests of those manifests, when known.

        Returns:
            True when a digest the report names is one of them.
        """
        return not self.manifest_digests.isdisjoint(manifests) or not (
            self.config_digests.isdisjoint(configs)
        )

    def subject(self) -> str:
        """The digests the report names, for messages (sorted, at most three)."""
        named = sorted(self.manifest_digests) + sorted(self.config_digests - self.manifest_digests)
        more = f" and {len(named) - 3} more" if len(named) > 3 else ""
        return ", ".join(named[:3]) + more


def _severity(value: object) -> str:
    name = str(value or "UNKNOWN").upper()
    return name if name in _RANK else "UNKNOWN"


def _object(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{what} must be an object")
    return value


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{what} must be a list")
    return value


def _strings(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"{what} must be a list of strings")
    return value


def _digest_after_at(references: Iterable[str]) -> set[str]:
    """Digests of ``name@sha256:...`` references; anything else names no digest."""
    return {ref.rpartition("@")[2] for ref in references if is_valid_digest(ref.rpartition("@")[2])}


def _digests(values: Iterable[object]) -> set[str]:
    return {value for value in values if isinstance(value, str) and is_valid_digest(value)}


def _trivy(report: dict[str, Any]) -> ScanReport:
    findings = []
    for result in _list(report.get("Results"), "Trivy report: Results"):
        if not isinstance(result, dict):
            raise InputError("Trivy report: Results entries must be objects")
        for vuln in _list(result.get("Vulnerabilities"), "Trivy report: Vulnerabilities"):
            if not isinstance(vuln, dict):
                raise InputError("Trivy report: Vulnerabilities entries must be objects")
            findings.append(
                Finding(
                    id=str(vuln.get("VulnerabilityID", "?")),
                    package=str(vuln.get("PkgName", "?")),
                    version=str(vuln.get("InstalledVersion", "")),
                    severity=_severity(vuln.get("Severity")),
                )
            )
    metadata = _object(report.get("Metadata"), "Trivy report: Metadata")
    name = report.get("ArtifactName")
    references = _strings(metadata.get("RepoDigests"), "Trivy report: Metadata.RepoDigests")
    if isinstance(name, str):
        references.append(name)
    return ScanReport(
        "Trivy",
        findings,
        frozenset(_digest_after_at(references)),
        frozenset(_digests([metadata.get("ImageID")])),
    )


def _grype(report: dict[str, Any]) -> ScanReport:
    findings = []
    for match in _list(report.get("matches"), "Grype report: matches"):
        if not isinstance(match, dict):
            raise InputError("Grype report: matches entries must be objects")
        vuln = _object(match.get("vulnerability"), "Grype report: vulnerability")
        artifact = _object(match.get("artifact"), "Grype report: artifact")
        findings.append(
            Finding(
                id=str(vuln.get("id", "?")),
                package=str(artifact.get("name", "?")),
                version=str(artifact.get("version", "")),
                severity=_severity(vuln.get("severity")),
            )
        )
    source = _object(report.get("source"), "Grype report: source")
    target = source.get("target") if source.get("type") == "image" else None
    image = _object(target, "Grype report: source.target")
    references = _strings(image.get("repoDigests"), "Grype report: source.target.repoDigests")
    user_input = image.get("userInput")
    if isinstance(user_input, str):
        references.append(user_input)
    manifests = _digest_after_at(references) | _digests([image.get("manifestDigest")])
    return ScanReport(
        "Grype", findings, frozenset(manifests), frozenset(_digests([image.get("imageID")]))
    )


def parse_scan_report(raw: bytes) -> ScanReport:
    """Findings and subject of a Trivy (``Results``) or Grype (``matches``) JSON report.

    Raises:
        InputError: not JSON, neither format, or a field of the wrong type.
    """
    try:
        report = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise InputError("scan report is not valid JSON") from err
    if not isinstance(report, dict):
        raise InputError("scan report is not a JSON object")
    if "Results" in report or report.get("SchemaVersion") is not None:
        return _trivy(report)
    if "matches" in report:
        return _grype(report)
    raise InputError("scan report is neither Trivy JSON (Results) nor Grype JSON (matches)")


def enforce_severity(findings: list[Finding], fail_on: str) -> None:
    """Raise when any finding is at or above ``fail_on``.

    Raises:
        InputError: ``fail_on`` is not a severity name.
        VulnerabilityPolicyViolation: a finding is at or above it.
    """
    threshold = fail_on.upper()
    if threshold not in _RANK:
        raise InputError(f"--fail-on must be one of {', '.join(SEVERITIES)}")
    blocking = [f for f in findings if _RANK[f.severity] >= _RANK[threshold]]
    if blocking:
        shown = ", ".join(f"{f.id} ({f.package} {f.version}, {f.severity})" for f in blocking[:5])
        more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
        raise VulnerabilityPolicyViolation(
            f"scan report lists {len(blocking)} vulnerabilities at or above {threshold}: "
            f"{shown}{more}; not signing"
        )

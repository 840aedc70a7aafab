"""Vulnerability scan reports (Trivy JSON, Grype JSON): refuse to sign above a severity.

Seed 004: "Don't sign images with critical CVEs". The report is whatever the scanner wrote;
we read only IDs, packages and severities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sealgate.errors import InputError, VerificationFailed

__all__ = [
    "SEVERITIES",
    "Finding",
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


@dataclass(frozen=True)
class Finding:
    id: str
    package: str
    version: str
    severity: str


def _severity(value: object) -> str:
    name = str(value or "UNKNOWN").upper()
    return name if name in _RANK else "UNKNOWN"


def _trivy(report: dict[str, Any]) -> list[Finding]:
    findings = []
    for result in report.get("Results") or []:
        if not isinstance(result, dict):
            raise InputError("Trivy report: Results entries must be objects")
        for vuln in result.get("Vulnerabilities") or []:
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
    return findings


def _grype(report: dict[str, Any]) -> list[Finding]:
    findings = []
    for match in report.get("matches") or []:
        if not isinstance(match, dict):
            raise InputError("Grype report: matches entries must be objects")
        vuln = match.get("vulnerability") or {}
        artifact = match.get("artifact") or {}
        if not isinstance(vuln, dict) or not isinstance(artifact, dict):
            raise InputError("Grype report: vulnerability and artifact must be objects")
        findings.append(
            Finding(
                id=str(vuln.get("id", "?")),
                package=str(artifact.get("name", "?")),
                version=str(artifact.get("version", "")),
                severity=_severity(vuln.get("severity")),
            )
        )
    return findings


def parse_scan_report(raw: bytes) -> list[Finding]:
    """Findings of a Trivy (``Results``) or Grype (``matches``) JSON report.

    Raises:
        InputError: not JSON, or neither format.
    """
    try:
        report = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
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

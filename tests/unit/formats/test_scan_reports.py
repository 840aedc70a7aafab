"""Trivy and Grype reports: findings, and the image digests they say they scanned."""

from __future__ import annotations

import json

import pytest

from sealgate.errors import InputError
from sealgate.formats.scan_reports import ScanReport, parse_scan_report

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
CONFIG = "sha256:" + "c" * 64


def _parse(report: object) -> ScanReport:
    return parse_scan_report(json.dumps(report).encode())


def test_trivy_names_repo_digests_artifact_digest_and_image_id() -> None:
    report = _parse(
        {
            "SchemaVersion": 2,
            "ArtifactName": f"ghcr.io/acme/app@{D2}",
            "Metadata": {"ImageID": CONFIG, "RepoDigests": [f"ghcr.io/acme/app@{D1}", "junk"]},
            "Results": [
                {
                    "Target": "x",
                    "Vulnerabilities": [
                        {"VulnerabilityID": "CVE-1", "PkgName": "z", "Severity": "HIGH"}
                    ],
                }
            ],
        }
    )
    assert report.scanner == "Trivy"
    assert report.manifest_digests == {D1, D2}
    assert report.config_digests == {CONFIG}
    assert [f.id for f in report.findings] == ["CVE-1"]
    assert report.describes({D1}) and report.describes(set(), {CONFIG})
    assert not report.describes({"sha256:" + "3" * 64}, {"sha256:" + "4" * 64})


def test_trivy_scan_of_a_tag_or_a_filesystem_names_no_image() -> None:
    by_tag = _parse({"SchemaVersion": 2, "ArtifactName": "alpine:3.19", "Results": []})
    assert not by_tag.names_an_image
    fs = _parse({"SchemaVersion": 2, "ArtifactName": ".", "ArtifactType": "filesystem"})
    assert not fs.names_an_image and fs.subject() == ""


def test_grype_image_source() -> None:
    target = {
        "userInput": f"alpine@{D2}",
        "imageID": CONFIG,
        "manifestDigest": D1,
        "repoDigests": [f"index.docker.io/library/alpine@{D2}"],
    }
    report = _parse({"matches": [], "source": {"type": "image", "target": target}})
    assert report.scanner == "Grype"
    assert report.manifest_digests == {D1, D2}
    assert report.config_digests == {CONFIG}


def test_grype_directory_source_names_no_image() -> None:
    report = _parse({"matches": [], "source": {"type": "directory", "target": "/src"}})
    assert not report.names_an_image


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"SchemaVersion": 2, "Metadata": []}, "Metadata must be an object"),
        ({"SchemaVersion": 2, "Metadata": {"RepoDigests": "x"}}, "RepoDigests must be a list"),
        ({"matches": [], "source": {"type": "image", "target": "x"}}, "target must be an object"),
        (
            {"matches": [], "source": {"type": "image", "target": {"repoDigests": [1]}}},
            "repoDigests must be a list of strings",
        ),
    ],
)
def test_fields_of_the_wrong_type_are_input_errors(report: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        _parse(report)


def test_subject_lists_at_most_three_digests() -> None:
    digests = [f"app@sha256:{n}" + "0" * 63 for n in range(5)]
    report = _parse({"SchemaVersion": 2, "Metadata": {"RepoDigests": digests}})
    assert report.subject().endswith(" and 2 more")
    assert report.subject().count("sha256:") == 3


def test_deeply_nested_json_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        parse_scan_report(b"[" * 100_000)

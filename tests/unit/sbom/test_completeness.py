"""An SBOM that misses packages says so: gaps in the result, and in the document itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sealgate.sbom import SbomLimits, generate_sbom
from tests.unit.sbom.imagekit import (
    IMAGE_DIGEST,
    data,
    file,
    go_binary,
    layer,
    rpm_package,
    rpmdb_sqlite,
    whiteout,
)

STATUS = "var/lib/dpkg/status"
IMAGE_REF = f"image:img@{IMAGE_DIGEST}"


def _run(layers: list[Any], output_format: str = "cyclonedx-json", **limits: Any) -> Any:
    return generate_sbom(
        layers,
        image_name="img",
        image_digest=IMAGE_DIGEST,
        output_format=output_format,
        limits=SbomLimits(**limits),
    )


@pytest.fixture
def broken_npm(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(raw: bytes) -> list[Any]:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("sealgate.sbom.catalog.parse_package_json", boom)


@pytest.mark.usefixtures("broken_npm")
@pytest.mark.parametrize("version", ["1.6", "1.5"])
def test_a_cataloger_crash_marks_the_cyclonedx_document_incomplete(
    version: str, validate_cyclonedx: Any
) -> None:
    image = layer([file("n/node_modules/x/package.json", "{}"), file(STATUS, data("dpkg-status"))])
    result = generate_sbom(
        [image], image_name="img", image_digest=IMAGE_DIGEST, spec_version=version
    )
    assert not result.complete
    assert result.gaps == [
        f"n/node_modules/x/package.json (layer {image.digest}): "
        "the npm cataloger failed (RuntimeError)"
    ]
    document = validate_cyclonedx(result, version)  # still valid against the strict schema
    assert document["compositions"] == [{"aggregate": "incomplete", "assemblies": [IMAGE_REF]}]
    reasons = [
        p["value"] for p in document["metadata"]["properties"] if p["name"] == "sealgate:incomplete"
    ]
    assert reasons == result.gaps
    assert result.components == 3  # what could be read is still listed


@pytest.mark.usefixtures("broken_npm")
def test_a_cataloger_crash_marks_the_spdx_document_incomplete() -> None:
    image = layer([file("n/node_modules/x/package.json", "{}")])
    result = _run([image], output_format="spdx-json")
    document = json.loads(result.document)
    assert document["comment"].startswith("INCOMPLETE: 1 part(s) of the image")
    (annotation,) = document["annotations"]
    assert annotation["annotationType"] == "OTHER"
    assert annotation["annotator"].startswith("Tool: sealgate-")
    assert annotation["comment"] == f"incomplete: {result.gaps[0]}"
    assert annotation["annotationDate"] == document["creationInfo"]["created"]


def test_a_complete_inventory_claims_nothing(validate_cyclonedx: Any) -> None:
    result = _run([layer([file(STATUS, data("dpkg-status"))])])
    assert result.complete and result.gaps == []
    document = validate_cyclonedx(result)
    assert "compositions" not in document
    assert "comment" not in json.loads(_run([], output_format="spdx-json").document)


@pytest.mark.usefixtures("broken_npm")
def test_a_gap_deleted_by_an_upper_layer_is_gone() -> None:
    path = "n/node_modules/x/package.json"
    result = _run([layer([file(path, "{}")]), layer([whiteout(path)])])
    assert result.complete


def test_unreadable_package_databases_are_gaps() -> None:
    bad_rpm = rpmdb_sqlite([rpm_package("bash", "5", "1", "x86_64", "MIT"), b"\x00garbage"])
    result = _run(
        [
            layer(
                [
                    file("var/lib/rpm/rpmdb.sqlite", bad_rpm),
                    file("usr/lib/sysimage/rpm/Packages", b"\0" * 4096),  # BerkeleyDB
                    file("srv/node_modules/big/package.json", "{" + " " * 200 + "}"),
                    file("usr/bin/old", go_binary(inline=False), mode=0o755),
                    file("usr/share/doc/zlib/copyright", "x" * 300),  # details only: no gap
                ]
            )
        ],
        max_metadata_bytes=100,
    )
    joined = "\n".join(result.gaps)
    assert "rpmdb.sqlite" in joined and "could not be decoded" in joined
    assert "srv/node_modules/big/package.json" in joined and "over the 100-byte cap" in joined
    assert "usr/bin/old" in joined and "before Go 1.18" in joined
    assert "copyright" not in joined
    assert len(result.gaps) == 3  # the BerkeleyDB database is moot: rpm packages were found


def test_a_legacy_rpm_database_alone_is_a_gap() -> None:
    result = _run([layer([file("var/lib/rpm/Packages", b"\0" * 4096)])])
    assert result.gaps == [
        "var/lib/rpm/Packages: BerkeleyDB/NDB rpm database; RPM packages not listed"
    ]


def test_a_layer_cut_short_in_warn_mode_is_a_gap() -> None:
    bomb = layer([file("zeros", b"\0" * (4 * 1024 * 1024))])
    result = _run([bomb], max_layer_bytes=1024 * 1024, on_limit="warn")
    (gap,) = result.gaps
    assert gap.startswith(f"layer {bomb.digest} was not read to the end")


@pytest.mark.usefixtures("broken_npm")
def test_gaps_are_capped() -> None:
    files = [file(f"n{i}/node_modules/x/package.json", "{}") for i in range(5)]
    result = _run([layer(files)], max_warnings=2)
    assert len(result.gaps) == 3
    assert result.gaps[-1] == "3 more gap(s) not shown"

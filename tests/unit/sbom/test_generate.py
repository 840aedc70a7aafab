"""generate_sbom end to end over realistic images; every document is schema-validated."""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from sealgate.errors import UsageError
from sealgate.sbom import LayerSource, SbomResult, generate_sbom
from tests.unit.sbom.imagekit import (
    IMAGE_DIGEST,
    data,
    directory,
    file,
    go_binary,
    jar,
    layer,
    rpm_package,
    rpmdb_sqlite,
    symlink,
)

DEBIAN_OS_RELEASE = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
    'VERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
)
SITE = "usr/local/lib/python3.12/site-packages"


def debian_app_image() -> list[LayerSource]:
    base = layer(
        [
            directory("etc"),
            file("usr/lib/os-release", DEBIAN_OS_RELEASE),
            symlink("etc/os-release", "../usr/lib/os-release"),
            file("var/lib/dpkg/status", data("dpkg-status")),
            file("usr/share/doc/libc6/copyright", data("libc6-copyright")),
        ]
    )
    app = layer(
        [
            file(f"{SITE}/requests-2.31.0.dist-info/METADATA", data("requests-METADATA")),
            file(
                f"{SITE}/typing_extensions-4.12.2.dist-info/METADATA",
                data("typing_extensions-METADATA"),
            ),
            file("usr/lib/python3/dist-packages/six-1.16.0.egg-info", data("six-PKG-INFO")),
            file("srv/package.json", '{"name": "my-app", "version": "0.0.1"}'),
            file("srv/node_modules/express/package.json", data("express-package.json")),
            file("srv/node_modules/express/lib/package.json", '{"type": "commonjs"}'),
            file("srv/node_modules/@babel/core/package.json", data("babel-core-package.json")),
            file("opt/app/app.jar", jar([("org.apache.commons", "commons-lang3", "3.14.0")])),
            file("usr/local/bin/widget", go_binary(), mode=0o755),
        ]
    )
    return [base, app]


def purls(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["purl"]: c for c in document.get("components", []) if "purl" in c}


def properties(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def test_debian_application_image(validate_cyclonedx: Any) -> None:
    layers = debian_app_image()
    result = generate_sbom(
        layers,
        image_name="registry.example/shop",
        image_digest=IMAGE_DIGEST,
        platform="linux/amd64",
    )
    assert result.warnings == []
    document = validate_cyclonedx(result)
    found = purls(document)
    expected = {
        "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12",
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc",
        "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
        "pkg:pypi/requests@2.31.0",
        "pkg:pypi/typing-extensions@4.12.2",
        "pkg:pypi/six@1.16.0",
        "pkg:npm/express@4.19.2",
        "pkg:npm/%40babel/core@7.24.5",
        "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
        "pkg:golang/github.com/acme/widget@v1.4.2",
        "pkg:golang/github.com/spf13/cobra@v1.8.0",
        "pkg:golang/github.com/spf13/pflag@v1.0.5",
        "pkg:golang/golang.org/x/sys@v0.15.0",
        "pkg:golang/github.com/fork/lib@v1.0.1",
        "pkg:golang/stdlib@1.22.3",
    }
    assert set(found) == expected
    assert result.components == len(expected) + 1  # plus the operating system
    libc = found["pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc"]
    assert {"id": "LGPL-2.1+"} in [lic["license"] for lic in libc["licenses"]]
    assert properties(libc) == {
        "sealgate:cataloger": "dpkg",
        "sealgate:layer": layers[0].digest,
        "sealgate:path": "var/lib/dpkg/status",
    }
    assert properties(found["pkg:pypi/requests@2.31.0"])["sealgate:layer"] == layers[1].digest
    express = found["pkg:npm/express@4.19.2"]
    assert express["licenses"] == [{"license": {"id": "MIT"}}]
    assert found["pkg:npm/%40babel/core@7.24.5"]["group"] == "@babel"
    metadata = document["metadata"]
    assert metadata["component"]["type"] == "container"
    assert metadata["component"]["name"] == "registry.example/shop"
    assert metadata["component"]["version"] == IMAGE_DIGEST
    assert metadata["tools"]["components"][0]["name"] == "sealgate"
    assert {"name": "sealgate:platform", "value": "linux/amd64"} in metadata["properties"]
    (os_component,) = [c for c in document["components"] if c["type"] == "operating-system"]
    assert (os_component["name"], os_component["version"]) == ("debian", "12")
    (image_deps,) = [
        d for d in document["dependencies"] if d["ref"] == metadata["component"]["bom-ref"]
    ]
    assert len(image_deps["dependsOn"]) == result.components


def test_cyclonedx_1_5(validate_cyclonedx: Any) -> None:
    result = generate_sbom(
        debian_app_image(), image_name="r/x", image_digest=IMAGE_DIGEST, spec_version="1.5"
    )
    assert len(purls(validate_cyclonedx(result, "1.5"))) == 15


def test_alpine_image(validate_cyclonedx: Any) -> None:
    image = [
        layer(
            [
                file("etc/os-release", 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n'),
                file("lib/apk/db/installed", data("apk-installed")),
            ]
        )
    ]
    document = validate_cyclonedx(
        generate_sbom(image, image_name="alpine", image_digest=IMAGE_DIGEST)
    )
    assert set(purls(document)) == {
        "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1",
        "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1",
        "pkg:apk/alpine/ssl_client@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1&upstream=busybox",
    }


def test_rpm_image(validate_cyclonedx: Any) -> None:
    db = rpmdb_sqlite(
        [
            rpm_package("bash", "5.1.8", "9.el9", "x86_64", "GPL-3.0-or-later"),
            rpm_package("openssl-libs", "3.0.7", "27.el9", "x86_64", "Apache-2.0", epoch=1),
            rpm_package("tzdata", "2024a", "1.el9", "noarch", "Public Domain"),
        ],
        wal=True,
    )
    image = [
        layer(
            [
                file(
                    "etc/os-release",
                    'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n',
                ),
                file("var/lib/rpm/rpmdb.sqlite", db),
            ]
        )
    ]
    document = validate_cyclonedx(
        generate_sbom(image, image_name="ubi9", image_digest=IMAGE_DIGEST)
    )
    found = purls(document)
    assert (
        "pkg:rpm/rhel/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1"
        "&upstream=openssl-libs-3.0.7-27.el9.src.rpm"
    ) in found
    tz = next(c for p, c in found.items() if p.startswith("pkg:rpm/rhel/tzdata@"))
    assert tz["licenses"] == [{"license": {"name": "Public Domain"}}]


def test_distroless_status_d_and_no_os_release(validate_cyclonedx: Any) -> None:
    image = [
        layer(
            [
                file("var/lib/dpkg/status.d/base", data("dpkg-status")),
                file(
                    "var/lib/dpkg/status.d/netbase",
                    "Package: netbase\nVersion: 6.4\nArchitecture: all\n",
                ),
                file("var/lib/dpkg/status.d/netbase.md5sums", "abc  etc/protocols\n"),
            ]
        )
    ]
    document = validate_cyclonedx(
        generate_sbom(image, image_name="distroless", image_digest=IMAGE_DIGEST)
    )
    assert "pkg:deb/debian/netbase@6.4?arch=all" in purls(document)
    assert len(purls(document)) == 4


def test_legacy_rpm_database_is_reported() -> None:
    image = [layer([file("var/lib/rpm/Packages", b"\0" * 4096)])]
    result = generate_sbom(image, image_name="centos7", image_digest=IMAGE_DIGEST)
    assert result.components == 0
    assert any("BerkeleyDB" in w for w in result.warnings)


SPDX_SUBSET_SCHEMA: dict[str, Any] = {
    # The parts of the SPDX 2.3 JSON schema (spdx/spdx-spec schemas/spdx-schema.json) that
    # constrain what we emit: required fields, identifier and date patterns, enumerations.
    "type": "object",
    "required": [
        "SPDXID",
        "creationInfo",
        "dataLicense",
        "name",
        "spdxVersion",
        "documentNamespace",
    ],
    "properties": {
        "spdxVersion": {"const": "SPDX-2.3"},
        "SPDXID": {"const": "SPDXRef-DOCUMENT"},
        "creationInfo": {
            "type": "object",
            "required": ["created", "creators"],
            "properties": {
                "created": {"pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
                "creators": {"type": "array", "minItems": 1},
            },
        },
        "packages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["SPDXID", "name", "downloadLocation"],
                "properties": {
                    "SPDXID": {"pattern": "^SPDXRef-[a-zA-Z0-9.-]+$"},
                    "primaryPackagePurpose": {
                        "enum": [
                            "OTHER",
                            "INSTALL",
                            "ARCHIVE",
                            "FIRMWARE",
                            "APPLICATION",
                            "FRAMEWORK",
                            "LIBRARY",
                            "CONTAINER",
                            "SOURCE",
                            "DEVICE",
                            "OPERATING-SYSTEM",
                            "FILE",
                        ]
                    },
                    "checksums": {
                        "type": "array",
                        "items": {
                            "required": ["algorithm", "checksumValue"],
                            "properties": {"checksumValue": {"pattern": "^[0-9a-fA-F]+$"}},
                        },
                    },
                    "externalRefs": {
                        "type": "array",
                        "items": {
                            "required": ["referenceCategory", "referenceLocator", "referenceType"],
                            "properties": {
                                "referenceCategory": {
                                    "enum": [
                                        "OTHER",
                                        "PERSISTENT-ID",
                                        "SECURITY",
                                        "PACKAGE-MANAGER",
                                        "PACKAGE_MANAGER",
                                        "PERSISTENT_ID",
                                    ]
                                }
                            },
                        },
                    },
                },
            },
        },
        "relationships": {
            "type": "array",
            "items": {"required": ["spdxElementId", "relatedSpdxElement", "relationshipType"]},
        },
        "hasExtractedLicensingInfos": {
            "type": "array",
            "items": {
                "required": ["extractedText", "licenseId"],
                "properties": {"licenseId": {"pattern": "^LicenseRef-[a-zA-Z0-9.-]+$"}},
            },
        },
    },
}


def test_spdx_json() -> None:
    result = generate_sbom(
        debian_app_image(),
        image_name="registry.example/shop",
        image_digest=IMAGE_DIGEST,
        output_format="spdx-json",
    )
    assert result.media_type == "application/spdx+json"
    document = json.loads(result.document)
    jsonschema.validate(document, SPDX_SUBSET_SCHEMA)
    packages = {p["SPDXID"]: p for p in document["packages"]}
    assert len(packages) == len(set(packages)) == result.components + 1
    contained = {
        r["relatedSpdxElement"]
        for r in document["relationships"]
        if r["relationshipType"] == "CONTAINS"
    }
    assert contained == set(packages) - {"SPDXRef-Image"}
    libc = next(p for p in document["packages"] if p["name"] == "libc6")
    # SPDX ids are normalised; GPL-2+ (Debian's spelling) is not one, so it becomes a LicenseRef.
    declared = libc["licenseDeclared"].split(" AND ")
    assert declared[0] == "LGPL-2.1-or-later"
    assert declared[-1] == "LGPL-2.1-only"
    refs = {e["licenseId"]: e["extractedText"] for e in document["hasExtractedLicensingInfos"]}
    assert [refs[d] for d in declared[1:-1]] == ["GPL-2+", "GPL-2"]
    requests = next(p for p in document["packages"] if p["name"] == "requests")
    assert requests["licenseDeclared"] == "Apache-2.0"
    assert requests["externalRefs"][0]["referenceLocator"] == "pkg:pypi/requests@2.31.0"


def test_bad_options() -> None:
    with pytest.raises(UsageError, match="format"):
        generate_sbom([], image_name="x", image_digest=IMAGE_DIGEST, output_format="syft-json")
    with pytest.raises(UsageError, match="spec version"):
        generate_sbom([], image_name="x", image_digest=IMAGE_DIGEST, spec_version="1.2")


def test_empty_image(validate_cyclonedx: Any) -> None:
    result: SbomResult = generate_sbom([], image_name="scratch", image_digest=IMAGE_DIGEST)
    assert result.components == 0
    validate_cyclonedx(result)


def test_fast_paths_give_the_library_s_own_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keyed sets and indexed dependency registry only change speed, never the document."""
    layers = debian_app_image()

    def stable(result: SbomResult) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(result.document)
        del document["serialNumber"], document["metadata"]["timestamp"]
        return document

    fast = stable(generate_sbom(layers, image_name="r/x", image_digest=IMAGE_DIGEST))
    monkeypatch.setattr("sealgate.sbom.cdx._keyed", lambda *_args: None)
    monkeypatch.setattr("sealgate.sbom.cdx._IndexedRegistrar", lambda bom: bom.register_dependency)
    plain = stable(generate_sbom(layers, image_name="r/x", image_digest=IMAGE_DIGEST))
    assert fast == plain
    assert [c["bom-ref"] for c in fast["components"]] == [c["bom-ref"] for c in plain["components"]]

"""Overlay semantics across layers: whiteouts, opaque directories, replacement, provenance."""

from __future__ import annotations

import json
from typing import Any

from sealgate.sbom import LayerSource, generate_sbom
from tests.unit.sbom.imagekit import (
    IMAGE_DIGEST,
    data,
    directory,
    file,
    go_binary,
    hardlink,
    layer,
    opaque,
    symlink,
    whiteout,
)

SITE = "usr/lib/python3/site-packages"
STATUS = "var/lib/dpkg/status"


def component_names(layers: list[LayerSource]) -> dict[str, dict[str, str]]:
    result = generate_sbom(layers, image_name="img", image_digest=IMAGE_DIGEST)
    document: dict[str, Any] = json.loads(result.document)
    return {
        c["name"]: {p["name"]: p["value"] for p in c.get("properties", [])}
        for c in document.get("components", [])
        if "purl" in c
    }


def dist_info(name: str, version: str) -> tuple[str, str]:
    return (
        f"{SITE}/{name}-{version}.dist-info/METADATA",
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    )


def test_whiteout_deletes_a_package_database_from_lower_layers() -> None:
    base = layer([file(STATUS, data("dpkg-status")), file(*dist_info("six", "1.16.0"))])
    top = layer([whiteout(STATUS)])
    assert set(component_names([base, top])) == {"six"}


def test_whiteout_of_a_python_distribution_directory() -> None:
    base = layer([file(*dist_info("six", "1.16.0")), file(*dist_info("idna", "3.7"))])
    top = layer([whiteout(f"{SITE}/six-1.16.0.dist-info")])
    assert set(component_names([base, top])) == {"idna"}


def test_whiteout_of_a_parent_directory_removes_everything_below() -> None:
    base = layer([file(*dist_info("six", "1.16.0")), file(STATUS, data("dpkg-status"))])
    top = layer([whiteout("usr/lib/python3")])
    assert "six" not in component_names([base, top])
    assert "libc6" in component_names([base, top])


def test_opaque_directory_hides_lower_contents_but_keeps_its_own() -> None:
    base = layer([file(*dist_info("six", "1.16.0")), file(*dist_info("idna", "3.7"))])
    top = layer([directory(SITE), opaque(SITE), file(*dist_info("urllib3", "2.2.1"))])
    assert set(component_names([base, top])) == {"urllib3"}


def test_whiteout_only_affects_lower_layers() -> None:
    # The same layer re-creating a path after whiting it out (tar order: whiteout last).
    base = layer([file(*dist_info("six", "1.15.0"))])
    top = layer(
        [
            directory(f"{SITE}/six-1.16.0.dist-info"),
            file(*dist_info("six", "1.16.0")),
            whiteout(f"{SITE}/six-1.15.0.dist-info"),
        ]
    )
    names = component_names([base, top])
    assert set(names) == {"six"}
    assert names["six"]["sealgate:path"].endswith("six-1.16.0.dist-info/METADATA")


def test_deleted_then_reinstalled_in_a_later_layer() -> None:
    one = layer([file(*dist_info("six", "1.16.0"))])
    two = layer([whiteout(f"{SITE}/six-1.16.0.dist-info")])
    three = layer([file(*dist_info("six", "1.16.0"))])
    names = component_names([one, two, three])
    assert names["six"]["sealgate:layer"] == three.digest


def test_file_replacing_a_directory_hides_what_was_below() -> None:
    base = layer([file(*dist_info("six", "1.16.0"))])
    top = layer([symlink("usr/lib/python3", "python3.12")])
    assert component_names([base, top]) == {}


def test_directory_replacing_a_cataloged_file() -> None:
    base = layer([file("usr/lib/python3/dist-packages/six-1.16.0.egg-info", data("six-PKG-INFO"))])
    top = layer([directory("usr/lib/python3/dist-packages/six-1.16.0.egg-info")])
    assert component_names([base, top]) == {}


def test_rewritten_package_database_keeps_each_package_layer() -> None:
    status = data("dpkg-status")
    curl = (
        b"\nPackage: curl\nStatus: install ok installed\nArchitecture: amd64\n"
        b"Version: 7.88.1-10+deb12u5\n"
    )
    base = layer([file(STATUS, status)])
    top = layer([file(STATUS, status + curl)])
    names = component_names([base, top])
    assert names["libc6"]["sealgate:layer"] == base.digest
    assert names["curl"]["sealgate:layer"] == top.digest


def test_upgraded_package_gets_the_new_layer() -> None:
    base = layer([file(STATUS, data("dpkg-status"))])
    upgraded = data("dpkg-status").replace(b"2024a-0+deb12u1", b"2024b-0+deb12u1")
    top = layer([file(STATUS, upgraded)])
    names = component_names([base, top])
    assert names["tzdata"]["sealgate:layer"] == top.digest
    assert names["base-files"]["sealgate:layer"] == base.digest


def test_overwritten_go_binary_that_is_no_longer_go() -> None:
    base = layer([file("usr/bin/tool", go_binary(), mode=0o755)])
    top = layer([file("usr/bin/tool", b"#!/bin/sh\nexec true\n" * 2000, mode=0o755)])
    assert component_names([base, top]) == {}


def test_hardlinked_metadata_is_listed_at_both_paths() -> None:
    target = "opt/a/node_modules/left-pad/package.json"
    image = [
        layer(
            [
                file(target, '{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}'),
                hardlink("opt/b/node_modules/left-pad/package.json", target),
            ]
        )
    ]
    result = generate_sbom(image, image_name="img", image_digest=IMAGE_DIGEST)
    assert result.components == 2
    # A link to a package database from a path no cataloger reads is not a second database;
    # a hard-linked Go binary is still a Go binary wherever it lives.
    image = [
        layer(
            [
                file(STATUS, data("dpkg-status")),
                hardlink("var/backups/dpkg.status.0", STATUS),
                file("usr/bin/tool", go_binary(), mode=0o755),
                hardlink("usr/local/bin/tool-alias", "usr/bin/tool"),
            ]
        )
    ]
    result = generate_sbom(image, image_name="img", image_digest=IMAGE_DIGEST)
    assert result.components == 3 + 2 * 6


def test_os_release_symlink_resolution_and_loops() -> None:
    resolved = [
        layer(
            [
                file("usr/lib/os-release", "ID=debian\nVERSION_ID=12\n"),
                symlink("etc/os-release", "../usr/lib/os-release"),
                file(STATUS, data("dpkg-status")),
            ]
        )
    ]
    result = generate_sbom(resolved, image_name="img", image_digest=IMAGE_DIGEST)
    assert b"distro=debian-12" in result.document
    looping = [
        layer(
            [
                symlink("etc/os-release", "os-release"),
                symlink("usr/lib/os-release", "/etc/os-release"),
                file(STATUS, data("dpkg-status")),
            ]
        )
    ]
    result = generate_sbom(looping, image_name="img", image_digest=IMAGE_DIGEST)
    assert b"pkg:deb/debian/libc6" in result.document
    assert b"distro=" not in result.document


def test_os_release_from_a_later_layer_wins() -> None:
    base = layer(
        [file("etc/os-release", "ID=debian\nVERSION_ID=11\n"), file(STATUS, data("dpkg-status"))]
    )
    top = layer([file("etc/os-release", "ID=debian\nVERSION_ID=12\n")])
    result = generate_sbom([base, top], image_name="img", image_digest=IMAGE_DIGEST)
    assert b"distro=debian-12" in result.document
    assert b"distro=debian-11" not in result.document

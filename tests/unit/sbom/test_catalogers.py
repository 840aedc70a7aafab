"""Each cataloger on its own, fed real metadata files."""

from __future__ import annotations

import io

import pytest

from sealgate.errors import MalformedData
from sealgate.sbom.catalog import route
from sealgate.sbom.catalog_go import parse_modinfo, read_buildinfo
from sealgate.sbom.catalog_java import parse_java_archive
from sealgate.sbom.catalog_lang import (
    is_npm_manifest,
    normalize_pypi_name,
    parse_package_json,
    parse_python_metadata,
)
from sealgate.sbom.catalog_os import (
    parse_apk_installed,
    parse_deb_copyright,
    parse_dpkg_status,
    parse_os_release,
)
from sealgate.sbom.catalog_rpm import parse_header_blob, parse_rpmdb_sqlite
from sealgate.sbom.model import DEFAULT_LIMITS
from tests.unit.sbom.imagekit import (
    GO_MODINFO,
    data,
    go_binary,
    jar,
    rpm_package,
    rpmdb_sqlite,
)


def test_dpkg_status_lists_installed_packages_only() -> None:
    packages = parse_dpkg_status(data("dpkg-status"))
    assert [(p.name, p.version, p.qualifiers.get("arch")) for p in packages] == [
        ("base-files", "12.4+deb12u5", "amd64"),
        ("libc6", "2.36-9+deb12u7", "amd64"),
        ("tzdata", "2024a-0+deb12u1", "all"),
    ]  # libgdbm6 is "deinstall ok config-files"
    assert packages[1].qualifiers["upstream"] == "glibc"


def test_distroless_status_d_entry_without_status_field() -> None:
    entry = b"Package: netbase\nVersion: 6.4\nArchitecture: all\nMaintainer: x\n"
    (pkg,) = parse_dpkg_status(entry)
    assert (pkg.name, pkg.version) == ("netbase", "6.4")


def test_deb_copyright_licenses() -> None:
    assert parse_deb_copyright(data("libc6-copyright")) == [
        "LGPL-2.1+",
        "GPL-2+",
        "GPL-2",
        "LGPL-2.1",
    ]


def test_apk_installed() -> None:
    packages = parse_apk_installed(data("apk-installed"))
    assert [(p.name, p.version, p.licenses) for p in packages] == [
        ("musl", "1.2.4_git20230717-r4", ["MIT"]),
        ("busybox", "1.36.1-r15", ["GPL-2.0-only"]),
        ("ssl_client", "1.36.1-r15", ["GPL-2.0-only"]),
    ]
    assert packages[2].qualifiers == {"arch": "x86_64", "upstream": "busybox"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
            "debian-12",
        ),
        (b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n', "alpine-3.19.1"),
        (b"ID='rhel'\nID_LIKE=\"fedora\"\nVERSION_ID='9.3'\n# comment\n", "rhel-9.3"),
        (b"ID=wolfi\n", ""),
    ],
)
def test_os_release(text: bytes, expected: str) -> None:
    info = parse_os_release(text)
    assert info is not None
    assert info.distro == expected


def test_os_release_without_id() -> None:
    assert parse_os_release(b"NAME=thing\n") is None


def test_rpm_header_blob_and_sqlite_database() -> None:
    blob = rpm_package("openssl-libs", "3.0.7", "27.el9", "x86_64", "Apache-2.0", epoch=1)
    values = parse_header_blob(blob)
    assert values[1000] == "openssl-libs"
    assert values[1003] == 1
    db = rpmdb_sqlite(
        [blob, rpm_package("gpg-pubkey", "fd431d51", "4ae0493b", "(none)", "pubkey")], wal=True
    )
    packages, warnings = parse_rpmdb_sqlite(db)
    assert warnings == []
    (pkg,) = packages  # gpg-pubkey pseudo-packages are not software
    assert (pkg.name, pkg.version, pkg.licenses) == ("openssl-libs", "3.0.7-27.el9", ["Apache-2.0"])
    assert pkg.qualifiers == {
        "arch": "x86_64",
        "epoch": "1",
        "upstream": "openssl-libs-3.0.7-27.el9.src.rpm",
    }


def test_rpm_corrupt_blobs_and_databases() -> None:
    with pytest.raises(MalformedData):
        parse_header_blob(b"\x00\x00\xff\xff\x00\x00\x00\x10" + b"\0" * 20)
    packages, warnings = parse_rpmdb_sqlite(
        rpmdb_sqlite([b"\x00\x01", rpm_package("a", "1", "1", "noarch", "MIT")])
    )
    assert [p.name for p in packages] == ["a"]
    assert warnings == ["1 rpm header(s) could not be decoded"]
    with pytest.raises(MalformedData, match="rpm sqlite"):
        parse_rpmdb_sqlite(b"SQLite format 3\0" + b"\xff" * 200)


def test_python_metadata_licenses_and_names() -> None:
    (requests,) = parse_python_metadata(data("requests-METADATA"))
    assert (requests.name, requests.version, requests.licenses) == (
        "requests",
        "2.31.0",
        ["Apache-2.0"],
    )
    (typing_ext,) = parse_python_metadata(data("typing_extensions-METADATA"))
    assert (typing_ext.name, typing_ext.licenses) == ("typing-extensions", ["PSF-2.0"])
    (six,) = parse_python_metadata(data("six-PKG-INFO"))
    assert six.licenses == ["MIT"]
    assert parse_python_metadata(b"Metadata-Version: 2.1\nSummary: no name\n") == []
    assert normalize_pypi_name("Zope.Interface__x") == "zope-interface-x"


def test_npm_manifest_paths() -> None:
    assert is_npm_manifest("app/node_modules/express/package.json")
    assert is_npm_manifest("node_modules/@babel/core/package.json")
    assert is_npm_manifest("a/node_modules/x/node_modules/y/package.json")
    assert not is_npm_manifest("app/package.json")  # the application itself
    assert not is_npm_manifest("app/node_modules/express/lib/package.json")
    assert not is_npm_manifest("app/node_modules/@babel/package.json")


def test_package_json() -> None:
    (core,) = parse_package_json(data("babel-core-package.json"))
    assert (core.namespace, core.name, core.version, core.licenses) == (
        "@babel",
        "core",
        "7.24.5",
        ["MIT"],
    )
    legacy = b'{"name": "old", "version": "0.1.0", "licenses": [{"type": "BSD"}, "MIT"]}'
    assert parse_package_json(legacy)[0].licenses == ["BSD", "MIT"]
    assert parse_package_json(b"[1, 2]") == []
    assert parse_package_json(b"{not json") == []
    assert parse_package_json(b"[" * 100_000) == []  # deep nesting is not a crash


def test_java_pom_properties_nested_and_manifest_fallback() -> None:
    inner = jar([("com.google.guava", "guava", "33.1.0-jre")])
    manifest_only = jar(
        [],
        manifest="Manifest-Version: 1.0\r\nImplementation-Title: netty-common\r\n"
        "Implementation-Version: 4.1.108.Final\r\n"
        "Bundle-SymbolicName: io.netty.netty-\r\n common\r\n"  # a continuation line
        "Bundle-License: Apache-2.0\r\n",
    )
    war = jar(
        [("org.acme", "shop", "2.0.0")],
        nested={"WEB-INF/lib/guava-33.1.0-jre.jar": inner, "WEB-INF/lib/netty.jar": manifest_only},
    )
    packages = parse_java_archive(war, "srv/shop.war", nested_budget=1 << 20)
    found = {(p.namespace, p.name, p.version, tuple(p.licenses)) for p in packages}
    assert found == {
        ("org.acme", "shop", "2.0.0", ()),
        ("com.google.guava", "guava", "33.1.0-jre", ()),
        ("io.netty", "netty-common", "4.1.108.Final", ("Apache-2.0",)),
    }
    # Nested archives beyond the budget are skipped, not read.
    assert len(parse_java_archive(war, "srv/shop.war", nested_budget=10)) == 1
    assert parse_java_archive(b"PK\x03\x04 not a zip", "x.jar", nested_budget=0) == []


def test_java_version_from_file_name() -> None:
    archive = jar([], manifest="Manifest-Version: 1.0\r\n")
    (pkg,) = parse_java_archive(archive, "opt/lib/jackson-core-2.17.0.jar", nested_budget=0)
    assert (pkg.name, pkg.version, pkg.namespace) == ("jackson-core", "2.17.0", None)


def test_go_buildinfo_is_found_past_decoys() -> None:
    binary = go_binary()
    info = read_buildinfo(io.BytesIO(binary), len(binary), scan_cap=1 << 30)
    assert info is not None
    assert info.go_version == "go1.22.3"
    assert info.modinfo == GO_MODINFO
    packages = parse_modinfo(info)
    names = [(p.namespace, p.name, p.version, p.kind) for p in packages]
    assert names == [
        ("github.com/acme", "widget", "v1.4.2", "application"),
        ("github.com/spf13", "cobra", "v1.8.0", "library"),
        ("github.com/spf13", "pflag", "v1.0.5", "library"),
        ("golang.org/x", "sys", "v0.15.0", "library"),
        ("github.com/fork", "lib", "v1.0.1", "library"),  # the => replacement wins
        (None, "stdlib", "1.22.3", "library"),
    ]


def test_go_large_modinfo_spans_chunks_and_caps() -> None:
    deps = "".join(f"dep\texample.com/m{i}\tv1.0.{i}\th1:x=\n" for i in range(60_000))
    binary = go_binary(modinfo="path\tx\nmod\texample.com/x\t(devel)\t\n" + deps, size=4 << 20)
    info = read_buildinfo(io.BytesIO(binary), len(binary), scan_cap=1 << 30)
    assert info is not None
    assert len(parse_modinfo(info)) == 60_002
    assert read_buildinfo(io.BytesIO(binary), len(binary), scan_cap=0x8000) is None


def test_go_legacy_and_non_go_files() -> None:
    legacy = go_binary(inline=False)
    info = read_buildinfo(io.BytesIO(legacy), len(legacy), scan_cap=1 << 30)
    assert info is not None and info.legacy
    plain_elf = go_binary()[:0x8000] + b"\0" * 0x8000  # no build info in the data segment
    assert read_buildinfo(io.BytesIO(plain_elf), len(plain_elf), scan_cap=1 << 30) is None
    script = b"#!/bin/sh\necho hi\n" * 2000
    assert read_buildinfo(io.BytesIO(script), len(script), scan_cap=1 << 30) is None


@pytest.mark.parametrize(
    ("path", "cataloger"),
    [
        ("var/lib/dpkg/status", "dpkg"),
        ("var/lib/dpkg/status.d/libssl3", "dpkg"),
        ("var/lib/dpkg/status.d/libssl3.md5sums", None),
        ("lib/apk/db/installed", "apk"),
        ("var/lib/rpm/rpmdb.sqlite", "rpm-sqlite"),
        ("usr/lib/sysimage/rpm/rpmdb.sqlite", "rpm-sqlite"),
        ("var/lib/rpm/Packages", "rpm-legacy"),
        ("etc/os-release", "os-release"),
        ("usr/share/doc/libc6/copyright", "copyright"),
        ("usr/share/doc/libc6/examples/copyright", None),
        ("usr/lib/python3/dist-packages/six-1.16.0.egg-info", "python"),
        ("x/six-1.16.0.egg-info/PKG-INFO", "python"),
        ("x/requests-2.31.0.dist-info/METADATA", "python"),
        ("x/METADATA", None),
        ("srv/app.WAR", "java"),
        ("home/status", None),
    ],
)
def test_routes(path: str, cataloger: str | None) -> None:
    found = route(path, DEFAULT_LIMITS)
    assert (found.cataloger if found else None) == cataloger

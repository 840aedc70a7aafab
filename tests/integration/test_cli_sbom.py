"""`sealgate sbom` and `attest --sbom` against the real registry, on images with real metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sealgate.oci import (
    Reference,
    RegistryClient,
    digest_of,
)
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.cli import run
from tests.support.images import (
    BuiltImage,
    BuiltIndex,
    image_from_layers,
    index_of,
    make_layer,
    push_image,
    push_index,
)

DPKG = b"""Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4

Package: zlib1g
Status: install ok installed
Architecture: amd64
Version: 1:1.2.13.dfsg-1

"""


def _metadata(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n".encode()


def _push(
    client: RegistryClient, ref: Reference, layers: list[dict[str, bytes]], arch: str
) -> BuiltImage:
    image = image_from_layers([make_layer(files) for files in layers], arch=arch)
    push_image(client, ref, image)
    return image


def _layers(extra: str) -> list[dict[str, bytes]]:
    site = "usr/lib/python3/dist-packages"
    return [
        {
            "etc/os-release": b"ID=debian\nVERSION_ID=12\n",
            "var/lib/dpkg/status": DPKG,
            f"{site}/requests-2.31.0.dist-info/METADATA": _metadata("requests", "2.31.0"),
            f"{site}/oldlib-0.1.dist-info/METADATA": _metadata("oldlib", "0.1"),
        },
        # The top layer deletes oldlib with a whiteout: it must not be in the SBOM.
        {
            f"{site}/.wh.oldlib-0.1.dist-info": b"",
            f"app/node_modules/{extra}/package.json": json.dumps(
                {"name": extra, "version": "4.18.2", "license": "MIT"}
            ).encode(),
        },
    ]


def _names(document: dict[str, Any]) -> set[str]:
    return {c["name"] for c in document["components"]}


def test_sbom_catalogs_layers_and_honours_whiteouts(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    ref = registry.ref(repo, "v1")
    _push(client, ref, _layers("express"), "amd64")
    out = tmp_path / "bom.json"
    result = run(
        ["sbom", "--insecure-registry", registry.host, "--output-file", str(out), str(ref)],
        home=str(tmp_path),
    )
    assert result.code == 0, result.err
    document = json.loads(out.read_text())
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    names = _names(document)
    assert {"libc6", "zlib1g", "requests", "express"} <= names
    assert "oldlib" not in names
    purls = {c.get("purl", "") for c in document["components"]}
    assert any(p.startswith("pkg:deb/debian/libc6@2.36-9") for p in purls)
    assert "pkg:pypi/requests@2.31.0" in purls
    assert "pkg:npm/express@4.18.2" in purls


def _push_index(client: RegistryClient, registry: RunningRegistry, repo: str) -> BuiltIndex:
    built = index_of(
        [
            image_from_layers([make_layer(files) for files in _layers(extra)], arch=arch)
            for arch, extra in (("amd64", "express"), ("arm64", "lodash"))
        ]
    )
    push_index(client, registry.ref(repo, "multi"), built)
    return built


def test_multi_platform_image_gets_one_sbom_per_platform(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    _push_index(client, registry, repo)
    ref = registry.ref(repo, "multi")
    both = run(["sbom", "--insecure-registry", registry.host, str(ref)], home=str(tmp_path))
    assert both.code == 0, both.err
    documents = json.loads(both.out)
    assert [("express" in _names(d), "lodash" in _names(d)) for d in documents] == [
        (True, False),
        (False, True),
    ]
    one = run(
        ["sbom", "--insecure-registry", registry.host, "--platform", "linux/arm64", str(ref)],
        home=str(tmp_path),
    )
    assert one.code == 0 and "lodash" in _names(json.loads(one.out))
    missing = run(
        ["sbom", "--insecure-registry", registry.host, "--platform", "linux/s390x", str(ref)],
        home=str(tmp_path),
    )
    assert missing.code == 64


def test_attest_sbom_generates_and_attests_in_one_step(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    ref = registry.ref(repo, "v1")
    _push(client, ref, _layers("express"), "amd64")
    attested = run(
        [
            "attest",
            "--key",
            str(keys["first"]),
            "--sbom",
            "--insecure-registry",
            registry.host,
            str(ref),
        ],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(tmp_path),
    )
    assert attested.code == 0, attested.err
    verified = run(
        [
            "verify-attestation",
            "--key",
            str(keys["first.pub"]),
            "--insecure-ignore-tlog",
            "--type",
            "cyclonedx",
            "--condition",
            "contains(predicate.components[].name, 'requests')",
            "--insecure-registry",
            registry.host,
            str(ref),
        ],
        home=str(tmp_path),
    )
    assert verified.code == 0, verified.err


def test_attest_sbom_on_an_index_attests_the_index_and_every_platform(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    """The gate checks whatever digest a versions file pins: usually the index."""
    built = _push_index(client, registry, repo)
    ref = registry.ref(repo, "multi")
    attested = run(
        [
            "attest",
            "--key",
            str(keys["first"]),
            "--sbom",
            "--insecure-registry",
            registry.host,
            str(ref),
        ],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(tmp_path),
    )
    assert attested.code == 0, attested.err
    for digest, package in [
        (built.digest, "express"),
        (built.images[0].digest, "express"),
        (built.images[1].digest, "lodash"),
    ]:
        verified = run(
            [
                "verify-attestation",
                "--key",
                str(keys["first.pub"]),
                "--insecure-ignore-tlog",
                "--type",
                "cyclonedx",
                "--condition",
                f"contains(predicate.components[].name, '{package}')",
                "--insecure-registry",
                registry.host,
                f"{registry.host}/{repo}@{digest}",
            ],
            home=str(tmp_path),
        )
        assert verified.code == 0, (digest, verified.err)


def test_corrupt_layer_is_a_clear_error(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    ref = registry.ref(repo, "corrupt")
    garbage = b"\x1f\x8b\x08\x00not really gzip at all" * 10
    push_image(client, ref, image_from_layers([(garbage, digest_of(garbage))]))
    result = run(["sbom", "--insecure-registry", registry.host, str(ref)], home=str(tmp_path))
    assert result.code != 0
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err

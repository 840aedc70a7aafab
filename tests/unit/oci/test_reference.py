"""Reference parsing and normalisation (distribution grammar, Docker Hub rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealgate.errors import UsageError
from sealgate.oci import Reference

D = "sha256:" + "ab" * 32

VALID = [
    # text, registry, repository, tag, digest
    ("alpine", "index.docker.io", "library/alpine", "latest", None),
    ("alpine:3.19", "index.docker.io", "library/alpine", "3.19", None),
    ("docker.io/alpine", "index.docker.io", "library/alpine", "latest", None),
    ("index.docker.io/alpine", "index.docker.io", "library/alpine", "latest", None),
    ("registry-1.docker.io/alpine", "index.docker.io", "library/alpine", "latest", None),
    ("docker.io/library/alpine:edge", "index.docker.io", "library/alpine", "edge", None),
    ("bitnami/nginx:1.25", "index.docker.io", "bitnami/nginx", "1.25", None),
    ("DOCKER.IO/alpine", "index.docker.io", "library/alpine", "latest", None),
    ("ghcr.io/sigstore/cosign/cosign:v2.2.0", "ghcr.io", "sigstore/cosign/cosign", "v2.2.0", None),
    ("localhost/foo", "localhost", "foo", "latest", None),
    ("localhost:5000/foo/bar", "localhost:5000", "foo/bar", "latest", None),
    ("127.0.0.1:5000/a_b/c-d.e:t", "127.0.0.1:5000", "a_b/c-d.e", "t", None),
    ("Registry.Example.COM/x", "registry.example.com", "x", "latest", None),
    ("[::1]:5000/foo", "[::1]:5000", "foo", "latest", None),
    (f"alpine@{D}", "index.docker.io", "library/alpine", None, D),
    (f"alpine:3.19@{D}", "index.docker.io", "library/alpine", "3.19", D),
    (f"example.com:443/a/b@{D}", "example.com:443", "a/b", None, D),
    ("a__b/c---d", "index.docker.io", "a__b/c---d", "latest", None),
    ("reg.io/x:" + "T" * 128, "reg.io", "x", "T" * 128, None),
    ("reg.io/x:_under", "reg.io", "x", "_under", None),
]

INVALID = [
    "",
    "Alpine",
    "docker.io/Library/alpine",
    "foo//bar",
    "foo/",
    "/foo",
    "foo:",
    "foo:bad tag",
    "foo:-dash",
    "foo:" + "t" * 129,
    "foo@sha256:abc",
    "foo@sha512:" + "ab" * 64,
    "foo@sha256:" + "AB" * 32,
    "https://ghcr.io/foo",
    "reg.io:0/foo",
    "reg.io:99999/foo",
    "reg.io:port/foo",
    "-reg.io/foo",
    "foo_/bar",
    "foo/.bar",
    "foo\nbar",
    "foo bar",
    "a/" + "b" * 300,
    "[::1/foo",
    # An uppercase first component is not a registry (go-containerregistry's rule): it is a
    # Docker Hub path, and uppercase is invalid there. Never rewritten into another name.
    "REGISTRY/app:1",
    "Registry/app",
    "LOCALHOST/app",
    "Foo/bar/baz",
]


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), VALID)
def test_valid(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = Reference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert not ref.layout


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    with pytest.raises(UsageError) as info:
        Reference.parse(text)
    assert "\n" not in str(info.value)
    assert "invalid image reference" in str(info.value)


def test_name_and_str() -> None:
    ref = Reference.parse(f"alpine:3.19@{D}")
    assert ref.name == "index.docker.io/library/alpine"
    assert str(ref) == f"index.docker.io/library/alpine:3.19@{D}"
    assert str(Reference.parse("alpine")) == "index.docker.io/library/alpine:latest"


def test_str_round_trips() -> None:
    for text, *_ in VALID:
        ref = Reference.parse(text)
        assert Reference.parse(str(ref)) == ref


def test_with_digest_keeps_tag_and_with_tag_drops_digest() -> None:
    ref = Reference.parse("reg.io/a:t")
    pinned = ref.with_digest(D)
    assert (pinned.tag, pinned.digest) == ("t", D)
    sig = pinned.with_tag("sha256-" + "ab" * 32 + ".sig")
    assert (sig.tag, sig.digest) == ("sha256-" + "ab" * 32 + ".sig", None)
    with pytest.raises(UsageError):
        ref.with_digest("sha256:nothex")
    with pytest.raises(UsageError):
        ref.with_tag("bad tag")


def test_uppercase_repository_message() -> None:
    with pytest.raises(UsageError, match="lowercase"):
        Reference.parse("reg.io/Foo")


def test_layout_references(tmp_path: Path) -> None:
    ref = Reference.parse(f"oci:{tmp_path}/img:v1")
    assert ref.layout and ref.registry == "" and ref.tag == "v1" and ref.digest is None
    assert ref.repository == str(tmp_path / "img")
    assert ref.name == f"oci:{tmp_path}/img"
    assert str(ref) == f"oci:{tmp_path}/img:v1"
    bare = Reference.parse(f"oci:{tmp_path}/img")
    assert bare.tag is None and bare.digest is None
    pinned = Reference.parse(f"oci:{tmp_path}/img@{D}")
    assert pinned.digest == D and pinned.tag is None
    assert Reference.parse(str(ref)) == ref


def test_layout_relative_path_becomes_absolute() -> None:
    ref = Reference.parse("oci:some/dir:tag")
    assert Path(ref.repository).is_absolute()
    assert ref.repository.endswith("some/dir")


@pytest.mark.parametrize("text", ["oci:", "oci::tag", "oci:/x:bad tag", "oci:/x@sha256:00"])
def test_layout_invalid(text: str) -> None:
    with pytest.raises(UsageError):
        Reference.parse(text)


@pytest.mark.parametrize("text", ["REGISTRY/app:1", "MyRegistry/team/app"])
def test_uppercase_first_component_is_refused_not_lowercased(text: str) -> None:
    # Lowercasing "REGISTRY" made a host "registry" whose name, written back out as
    # "registry/app", parses as the Docker Hub repository registry/app: another image.
    with pytest.raises(UsageError, match="lowercase"):
        Reference.parse(text)


@pytest.mark.parametrize(
    "text", ["Registry.Example.COM/x:1", "REG.IO:5000/a/b", "localhost/x", "[::1]:5000/x"]
)
def test_a_written_name_parses_back_to_the_same_repository(text: str) -> None:
    ref = Reference.parse(text)
    again = Reference.parse(ref.name)
    assert (again.registry, again.repository) == (ref.registry, ref.repository)
    assert ref.registry != "index.docker.io"

"""Glob dialects against the upstream projects' own test tables.

Tables: sigstore/policy-controller pkg/apis/glob/glob_test.go (TestGlobMatch), Kyverno
ext/wildcard/match_test.go (TestMatch, go-wildcard semantics) and
pkg/utils/image/infos_test.go (ImageInfo.String with the default configuration).
"""

from __future__ import annotations

import pytest

from sealgate.errors import ConfigError, UsageError
from sealgate.policy.globs import (
    KyvernoWildcard,
    SigstoreGlob,
    ggcr_name,
    kyverno_image,
    wildcard_match,
)

DIGEST = "sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350"

# (image, glob, want_match) from policy-controller TestGlobMatch.
SIGSTORE_TABLE = [
    ("foo", "index.docker.io/library/foo:latest", True),
    ("foo", "index.docker.io/library/foo:*", True),
    ("foo", "index.docker.io/library/*", True),
    ("foo", "index.docker.io/library/*:latest", True),
    ("foo", "index.docker.io/*/*", True),
    ("foo", "index.docker.io/**", True),
    ("foo", "index.docker.**", True),
    ("foo", "inde**", True),
    ("foo", "**", True),
    ("foo", "foo", True),
    ("foo", "foo*", True),
    ("foo", "foo**", True),
    ("myuser/myapp", "index.docker.io/myuser/myapp:latest", True),
    ("myuser/myapp", "index.docker.io/myuser/myapp:*", True),
    ("myuser/myapp", "index.docker.io/myuser/*", True),
    ("myuser/myapp", "index.docker.io/myuser/*:latest", True),
    ("myuser/myapp", "index.docker.io/*/*", True),
    ("myuser/myapp", "index.docker.io/**", True),
    ("myuser/myapp", "index.docker.**", True),
    ("myuser/myapp", "inde**", True),
    ("myuser/myapp", "**", True),
    ("myuser/myapp", "myuser/myapp", True),
    ("myuser/myapp", "myuser/myapp*", True),
    ("myuser/myapp", "myuser/myapp**", True),
    ("ghcr.io/foo/bar", "ghcr.io/*/*", True),
    ("ghcr.io/foo/bar", "ghcr.io/**", True),
    ("ghcr.io/foo", "ghcr.io/*/*", False),
    ("ghcr.io/foo", "ghcr.io/**", True),
    ("ghcr.io/foo", "ghc**", True),
    ("ghcr.io/foo", "**", True),
    ("ghcr.io/foo", "*/**", True),
    ("ghcr.io/foo", "ghcr.io/foo*", True),
    ("ghcr.io/foo", "ghcr.io/foo**", True),
    ("prefix-ghcr.io/foo", "ghcr.io/foo", False),
    ("ghcr.io/foo-suffix", "ghcr.io/foo", False),
    ("ghcrxio/foo", "ghcr.io/**", False),
    ("foo", "*", True),
    ("myuser/myapp", "*/*", True),
    (f"ghcr.io/foo@{DIGEST}", f"ghcr.io/foo@{DIGEST}", True),
]


@pytest.mark.parametrize(("image", "glob", "want"), SIGSTORE_TABLE)
def test_sigstore_glob_matches_policy_controller_table(image: str, glob: str, want: bool) -> None:
    assert SigstoreGlob.compile(glob).matches(image) is want


def test_sigstore_invalid_reference_is_an_error_not_a_match() -> None:
    with pytest.raises(UsageError):
        SigstoreGlob.compile("**").matches("invalid&name")


@pytest.mark.parametrize("glob", [".+", "[a-z]*", "", "a b", "ghcr.io/(x)"])
def test_sigstore_invalid_globs_are_refused_at_compile(glob: str) -> None:
    with pytest.raises(ConfigError, match="invalid glob"):
        SigstoreGlob.compile(glob)


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("foo", "index.docker.io/library/foo:latest"),
        ("docker.io/foo", "index.docker.io/library/foo:latest"),
        ("index.docker.io/library/foo:v1", "index.docker.io/library/foo:v1"),
        ("myuser/myapp", "index.docker.io/myuser/myapp:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/app:1", "localhost:5000/app:1"),
        # go-containerregistry does not alias registry-1.docker.io.
        ("registry-1.docker.io/foo", "registry-1.docker.io/foo:latest"),
        (f"ghcr.io/foo:v1@{DIGEST}", f"ghcr.io/foo@{DIGEST}"),
        (f"foo@{DIGEST}", f"index.docker.io/library/foo@{DIGEST}"),
    ],
)
def test_ggcr_normalisation(image: str, name: str) -> None:
    assert ggcr_name(image) == name


# (pattern, text, matched) from Kyverno ext/wildcard TestMatch.
KYVERNO_WILDCARD_TABLE = [
    ("*", "s3:GetObject", True),
    ("", "s3:GetObject", False),
    ("", "", True),
    ("s3:*", "s3:ListMultipartUploadParts", True),
    ("s3:ListBucketMultipartUploads", "s3:ListBucket", False),
    ("s3:ListBucket", "s3:ListBucket", True),
    ("my-bucket/oo*", "my-bucket/oo", True),
    ("my-bucket/In*", "my-bucket/India/Karnataka/", True),
    ("my-bucket/In*", "my-bucket/Karnataka/India/", False),
    ("my-bucket/In*/Ka*/Ban", "my-bucket/India/Karnataka/Ban/Ban/Ban/Ban/Ban", True),
    (
        "my-bucket/In*/Ka*/Ban",
        "my-bucket/India/State1/State2/Karnataka/Area1/Area2/Area3/Ban",
        True,
    ),
    ("my-bucket/In*/Ka*/Ban", "my-bucket/India/Karnataka/Bangalore", False),
    ("my-bucket/In*/Ka*/Ban*", "my-bucket/India/Karnataka/Bangalore", True),
    ("my-bucket/oo*", "my-bucket/odo", False),
    ("my-bucket?/abc*", "mybucket/abc", False),
    ("my-bucket?/abc*", "my-bucket1/abc", True),
    ("my-?-bucket/abc*", "my--bucket/abc", False),
    ("my??bucket/abc*", "my4abucket/abc", True),
    ("my-bucket?abc*", "my-bucket/abc", True),
    ("my-bucket/abc????", "my-bucket/abcde", False),
    ("my-bucket/abc????", "my-bucket/abcdefg", True),
    ("my-bucket/abc?", "my-bucket/abc", False),
    ("my-bucket/mnop*?", "my-bucket/mnop", False),
    ("my-bucket/mnop*?", "my-bucket/mnopqrst/mnopqr", True),
    ("my-bucket/mnop*?and", "my-bucket/mnopqand", True),
    ("my-bucket/mnop*?and", "my-bucket/mnopand", False),
    ("my-bucket/mnop*?and?", "my-bucket/mnopqanda", True),
    ("my-bucket/mnop*?and", "my-bucket/mnopqanda", False),
    ("my-?-bucket/abc*", "my-bucket/mnopqanda", False),
]


@pytest.mark.parametrize(("pattern", "text", "want"), KYVERNO_WILDCARD_TABLE)
def test_kyverno_wildcard_matches_upstream_table(pattern: str, text: str, want: bool) -> None:
    assert wildcard_match(pattern, text) is want


def test_wildcard_is_not_exponential() -> None:
    # The naive recursive matcher takes exponential time on this; the two-pointer one does not.
    assert not wildcard_match("*a" * 40 + "b", "a" * 400)


# Kyverno pkg/utils/image/infos_test.go: ImageInfo.String() with defaultRegistry docker.io.
@pytest.mark.parametrize(
    ("image", "normalised"),
    [
        ("nginx", "docker.io/nginx:latest"),
        ("nginx:v10.3", "docker.io/nginx:v10.3"),
        ("docker.io/test/nginx:v10.3", "docker.io/test/nginx:v10.3"),
        ("test/nginx", "docker.io/test/nginx:latest"),
        ("localhost:4443/test/nginx", "localhost:4443/test/nginx:latest"),
        ("localhost/netd:v0.4.4-gke.0", "localhost/netd:v0.4.4-gke.0"),
        (
            "docker.io/test/centos@sha256:dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f",
            "docker.io/test/centos@sha256:dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f",
        ),
    ],
)
def test_kyverno_image_info_string(image: str, normalised: str) -> None:
    assert kyverno_image(image) == normalised


def test_kyverno_invalid_image_is_an_error() -> None:
    with pytest.raises(UsageError):
        kyverno_image("++")


def test_kyverno_reference_patterns_see_docker_io_without_library() -> None:
    assert KyvernoWildcard.compile("docker.io/nginx:*").matches("nginx")
    assert not KyvernoWildcard.compile("docker.io/library/*").matches("nginx")
    assert KyvernoWildcard.compile("ghcr.io/acme/*").matches("ghcr.io/acme/team/app:v1")

"""Strict request targets, protect globs, and the headers that cross the proxy."""

from __future__ import annotations

import pytest

from sealgate.proxy.headers import request_headers, response_headers
from sealgate.proxy.routes import MAX_PATH, ProtectGlobs, RouteRefused, parse_route

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("path", "kind", "repository", "reference"),
    [
        ("/v2/", "base", None, None),
        ("/v2", "base", None, None),
        ("/v2/_catalog", "catalog", None, None),
        ("/v2/prod/app/manifests/v1.2", "manifest", "prod/app", "v1.2"),
        (f"/v2/prod/app/manifests/{DIGEST}", "manifest", "prod/app", DIGEST),
        (f"/v2/a/b/c/blobs/{DIGEST}", "blob", "a/b/c", DIGEST),
        ("/v2/a/blobs/uploads/", "upload", "a", None),
        ("/v2/a/blobs/uploads/0b1e-77aa", "upload", "a", "0b1e-77aa"),
        ("/v2/a/tags/list", "tags", "a", None),
        (f"/v2/a/referrers/{DIGEST}", "referrers", "a", DIGEST),
        (f"/v2/a/manifests/sha256-{'a' * 64}.sig", "manifest", "a", f"sha256-{'a' * 64}.sig"),
    ],
)
def test_registry_paths_parse(
    path: str, kind: str, repository: str | None, reference: str | None
) -> None:
    route = parse_route(path.encode(), b"n=10")
    assert (route.kind, route.repository, route.reference) == (kind, repository, reference)
    assert route.target == f"{path}?n=10"


@pytest.mark.parametrize(
    "path",
    [
        "/v2/public/../prod/app/manifests/v1",
        "/v2/public/./prod/app/manifests/v1",
        "/v2/public//prod/app/manifests/v1",
        "/v2/public/%2e%2e/prod/app/manifests/v1",
        "/v2/public%2fprod/app/manifests/v1",
        "/v2/prod\\app/manifests/v1",
        "/v2/prod/app/manifests/v1\x00",
        "/v2/Prod/App/manifests/v1",
        "/v2/prod/app/manifests/../../x",
        "v2/prod/app/manifests/v1",
    ],
)
def test_traversal_encoding_and_bad_names_are_refused(path: str) -> None:
    with pytest.raises(RouteRefused) as refused:
        parse_route(path.encode(), b"")
    assert refused.value.status in (400, 404)
    assert refused.value.code == "NAME_INVALID"


def test_long_non_ascii_and_foreign_paths_are_refused() -> None:
    with pytest.raises(RouteRefused) as long:
        parse_route(b"/v2/" + b"a" * MAX_PATH + b"/tags/list", b"")
    assert long.value.status == 414
    with pytest.raises(RouteRefused):
        parse_route("/v2/café/tags/list".encode(), b"")
    with pytest.raises(RouteRefused) as foreign:
        parse_route(b"/token", b"service=x")
    assert foreign.value.code == "UNSUPPORTED"
    assert parse_route(b"/token", b"service=x", ("/token",)).kind == "other"


def test_protect_globs_stay_inside_components_unless_doubled() -> None:
    globs = ProtectGlobs(["prod/*", "team/**", "library/nginx"])
    assert globs.protects("prod/app") and not globs.protects("prod/app/sub")
    assert globs.protects("team/a/b/c") and globs.protects("library/nginx")
    assert not globs.protects("production/app") and not globs.protects("library/nginx2")
    with pytest.raises(ValueError, match="repository paths"):
        ProtectGlobs(["prod/[a-z]"])


def test_request_headers_drop_hop_by_hop_and_host_but_keep_credentials() -> None:
    sent = [
        (b"Host", b"proxy:5050"),
        (b"Authorization", b"Bearer t0ken"),
        (b"Connection", b"keep-alive, X-Secret-Hop"),
        (b"X-Secret-Hop", b"1"),
        (b"Proxy-Authorization", b"Basic eA=="),
        (b"Accept", b"application/vnd.oci.image.index.v1+json"),
        (b"Content-Length", b"12"),
    ]
    assert request_headers(sent) == [
        ("Authorization", "Bearer t0ken"),
        ("Accept", "application/vnd.oci.image.index.v1+json"),
        ("Content-Length", "12"),
    ]


UPSTREAM = "https://registry.internal:5000"
PROXY = "http://proxy.test:5050"


def test_locations_and_links_on_the_upstream_origin_come_back_to_the_proxy() -> None:
    out = response_headers(
        [
            ("Location", f"{UPSTREAM}/v2/a/blobs/uploads/u1?_state=x"),
            ("Link", f'<{UPSTREAM}/v2/a/tags/list?n=1&last=b>; rel="next"'),
            ("Transfer-Encoding", "chunked"),
            ("Docker-Content-Digest", DIGEST),
        ],
        upstream=UPSTREAM,
        proxy=PROXY,
    )
    assert out.headers == [
        ("location", f"{PROXY}/v2/a/blobs/uploads/u1?_state=x"),
        ("link", f'<{PROXY}/v2/a/tags/list?n=1&last=b>; rel="next"'),
        ("docker-content-digest", DIGEST),
    ]
    elsewhere = response_headers(
        [("Location", "https://s3.example/blob?sig=1"), ("Location", "/v2/a/blobs/uploads/u2")],
        upstream=UPSTREAM,
        proxy=PROXY,
    )
    assert [v for _, v in elsewhere.headers] == [
        "https://s3.example/blob?sig=1",
        "/v2/a/blobs/uploads/u2",
    ]


def test_bearer_realms_on_the_upstream_are_rewritten_and_remembered() -> None:
    own = (
        f'Bearer realm="{UPSTREAM}/service/token",service="harbor-registry",'
        'scope="repository:a:pull"'
    )
    out = response_headers([("WWW-Authenticate", own)], upstream=UPSTREAM, proxy=PROXY)
    assert out.headers == [
        (
            "www-authenticate",
            f'Bearer realm="{PROXY}/service/token",service="harbor-registry",'
            'scope="repository:a:pull"',
        )
    ]
    assert out.realm_paths == ["/service/token"]
    for challenge in ('Bearer realm="https://auth.docker.io/token",service="x"', 'Basic realm="r"'):
        passed = response_headers([("WWW-Authenticate", challenge)], upstream=UPSTREAM, proxy=PROXY)
        assert passed.headers == [("www-authenticate", challenge)]
        assert passed.realm_paths == []

"""HTTP backend behaviour over httpx.MockTransport: retries, caps, errors, URLs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from sealgate.errors import (
    ImageNotFound,
    IntegrityError,
    LimitExceeded,
    RegistryError,
    RegistryUnreachable,
)
from sealgate.oci import (
    MANIFEST_ACCEPT,
    OCI_INDEX,
    OCI_MANIFEST,
    Reference,
    digest_of,
)
from tests.unit.oci.conftest import MockRegistry

REF = Reference.parse("registry.test/team/app:v1")
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()
MANIFEST_DIGEST = digest_of(MANIFEST)


def manifest_response(
    data: bytes = MANIFEST, headers: dict[str, str] | None = None
) -> httpx.Response:
    base = {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": digest_of(MANIFEST)}
    base.update(headers or {})
    return httpx.Response(200, content=data, headers=base)


def oci_error(status: int, code: str, message: str = "boom") -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message}]})


def test_manifest_get_sends_full_accept_list_over_https(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: manifest_response())
    fetched = client.get_manifest(REF)
    assert fetched.digest == MANIFEST_DIGEST and fetched.media_type == OCI_MANIFEST
    request = mock_registry.requests[0]
    assert str(request.url) == "https://registry.test/v2/team/app/manifests/v1"
    accept = request.headers["accept"]
    assert all(t in accept for t in MANIFEST_ACCEPT)


def test_insecure_registry_uses_http(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(
        lambda r: manifest_response(), insecure_registries=frozenset({"registry.test"})
    )
    client.get_manifest(REF)
    assert mock_registry.requests[0].url.scheme == "http"


def test_docker_hub_api_host(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: manifest_response())
    client.get_manifest(Reference.parse("alpine"))
    assert str(mock_registry.requests[0].url) == (
        "https://registry-1.docker.io/v2/library/alpine/manifests/latest"
    )


def test_retries_5xx_with_exponential_backoff(mock_registry: MockRegistry) -> None:
    answers = iter([httpx.Response(503), httpx.Response(502), manifest_response()])
    client = mock_registry.client(lambda r: next(answers))
    assert client.get_manifest(REF).digest == MANIFEST_DIGEST
    assert mock_registry.sleeps == [0.5, 1.0]


def test_retry_after_is_honoured(mock_registry: MockRegistry) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), manifest_response()])
    client = mock_registry.client(lambda r: next(answers))
    client.get_manifest(REF)
    assert mock_registry.sleeps == [3.0]


def test_retry_after_over_cap_fails_instead_of_stalling(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(
        lambda r: httpx.Response(429, headers={"Retry-After": "3600"}), max_retry_after_s=10.0
    )
    with pytest.raises(RegistryError) as info:
        client.get_manifest(REF)
    assert info.value.status == 429
    assert mock_registry.sleeps == []


def test_gives_up_after_max_attempts(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: oci_error(500, "UNKNOWN"), max_attempts=3)
    with pytest.raises(RegistryError) as info:
        client.get_manifest(REF)
    assert (info.value.status, info.value.code) == (500, "UNKNOWN")
    assert len(mock_registry.requests) == 3


def test_put_is_never_retried(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: httpx.Response(503))
    with pytest.raises(RegistryError):
        client.put_manifest(REF, MANIFEST, OCI_MANIFEST)
    assert [r.method for r in mock_registry.requests] == ["PUT"]
    assert mock_registry.sleeps == []


def test_connection_errors_are_retried_then_unreachable(mock_registry: MockRegistry) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = mock_registry.client(refuse, max_attempts=4)
    with pytest.raises(RegistryUnreachable) as info:
        client.get_manifest(REF)
    assert len(mock_registry.requests) == 4
    assert mock_registry.sleeps == [0.5, 1.0, 2.0]
    assert "registry.test/team/app" in str(info.value)


def test_timeouts_are_not_retried(mock_registry: MockRegistry) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = mock_registry.client(hang)
    with pytest.raises(RegistryUnreachable, match="timed out"):
        client.get_manifest(REF)
    assert len(mock_registry.requests) == 1


def test_manifest_404_is_image_not_found(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: oci_error(404, "MANIFEST_UNKNOWN"))
    with pytest.raises(ImageNotFound):
        client.get_manifest(REF)
    assert client.get_manifest_or_none(REF) is None
    with pytest.raises(ImageNotFound):
        client.resolve(REF)


def test_name_unknown_is_image_not_found(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: oci_error(404, "NAME_UNKNOWN"))
    with pytest.raises(ImageNotFound):
        client.get_manifest(REF)


def test_other_errors_carry_status_and_code(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: oci_error(400, "NAME_INVALID", "line one\nline two"))
    with pytest.raises(RegistryError) as info:
        client.get_manifest(REF)
    assert (info.value.status, info.value.code) == (400, "NAME_INVALID")
    assert "\n" not in str(info.value)
    assert "registry.test/team/app" in str(info.value)


def test_tag_digest_header_mismatch_is_integrity_error(mock_registry: MockRegistry) -> None:
    other = "sha256:" + "0" * 64
    client = mock_registry.client(
        lambda r: manifest_response(headers={"Docker-Content-Digest": other})
    )
    with pytest.raises(IntegrityError):
        client.get_manifest(REF)


def test_manifest_by_digest_with_wrong_bytes_is_integrity_error(
    mock_registry: MockRegistry,
) -> None:
    tampered = MANIFEST.replace(b"[]", b"[ ]")
    client = mock_registry.client(
        lambda r: manifest_response(tampered, {"Docker-Content-Digest": ""})
    )
    with pytest.raises(IntegrityError):
        client.get_manifest(REF.with_digest(MANIFEST_DIGEST))


def test_manifest_over_cap_by_content_length(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: manifest_response(), max_manifest_bytes=10)
    with pytest.raises(LimitExceeded):
        client.get_manifest(REF)


def test_blob_cap_enforced_while_streaming(mock_registry: MockRegistry) -> None:
    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        for n in range(10_000):
            produced.append(n)
            yield b"x" * 4096

    client = mock_registry.client(lambda r: httpx.Response(200, content=endless()))
    with pytest.raises(LimitExceeded):
        client.get_blob(REF, "sha256:" + "1" * 64, max_bytes=64 * 1024)
    # Stopped right after the cap: nowhere near the 40 MB the server would send.
    assert len(produced) < 40


def test_blob_digest_checked(mock_registry: MockRegistry) -> None:
    data = b"hello blob"
    client = mock_registry.client(lambda r: httpx.Response(200, content=b"tampered!!"))
    with pytest.raises(IntegrityError):
        client.get_blob(REF, digest_of(data), max_bytes=1024)
    with pytest.raises(IntegrityError), client.open_blob(REF, digest_of(data), max_bytes=1024) as f:
        f.read()


def test_open_blob_streams_verified_content(mock_registry: MockRegistry) -> None:
    data = bytes(range(256)) * 1000
    client = mock_registry.client(lambda r: httpx.Response(200, content=data))
    with client.open_blob(REF, digest_of(data), max_bytes=len(data)) as f:
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]


def test_tag_pagination_follows_link(mock_registry: MockRegistry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        last = request.url.params.get("last")
        if last is None:
            link = '</v2/team/app/tags/list?n=2&last=b>; rel="next"'
            return httpx.Response(200, json={"tags": ["a", "b"]}, headers={"Link": link})
        return httpx.Response(200, json={"name": "team/app", "tags": ["c"]})

    client = mock_registry.client(handler)
    assert client.list_tags(REF) == ["a", "b", "c"]


def test_tag_pagination_is_capped(mock_registry: MockRegistry) -> None:
    link = '</v2/team/app/tags/list?last=x>; rel="next"'
    client = mock_registry.client(
        lambda r: httpx.Response(200, json={"tags": ["x"]}, headers={"Link": link}),
        max_tag_pages=5,
    )
    with pytest.raises(LimitExceeded):
        client.list_tags(REF)
    assert len(mock_registry.requests) == 5


def test_tag_pagination_refuses_foreign_host(mock_registry: MockRegistry) -> None:
    link = '<https://evil.test/v2/team/app/tags/list?last=x>; rel="next"'
    client = mock_registry.client(
        lambda r: httpx.Response(200, json={"tags": ["x"]}, headers={"Link": link})
    )
    with pytest.raises(RegistryError, match="another host"):
        client.list_tags(REF)


def test_unknown_repository_has_no_tags(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: oci_error(404, "NAME_UNKNOWN"))
    assert client.list_tags(REF) == []


def test_blob_upload_post_then_put_with_digest(mock_registry: MockRegistry) -> None:
    data = b"layer bytes"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(
                202, headers={"Location": "/v2/team/app/blobs/uploads/u1?_state=s"}
            )
        assert request.content == data
        return httpx.Response(201)

    client = mock_registry.client(handler)
    assert client.put_blob(REF, data) == digest_of(data)
    put = mock_registry.requests[-1]
    assert put.method == "PUT"
    assert put.url.params["digest"] == digest_of(data) and put.url.params["_state"] == "s"


def test_blob_upload_skipped_when_present(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: httpx.Response(200))
    client.put_blob(REF, b"x")
    assert [r.method for r in mock_registry.requests] == ["HEAD"]


def test_blob_mount(mock_registry: MockRegistry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404) if request.method == "HEAD" else httpx.Response(201)

    client = mock_registry.client(handler)
    client.put_blob(REF, b"x", mount_from=Reference.parse("registry.test/other/repo"))
    post = mock_registry.requests[-1]
    assert post.url.params["mount"] == digest_of(b"x") and post.url.params["from"] == "other/repo"


def test_upload_location_on_foreign_host_refused(mock_registry: MockRegistry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(404)
        return httpx.Response(202, headers={"Location": "https://elsewhere.test/upload"})

    client = mock_registry.client(handler)
    with pytest.raises(RegistryError, match="another host"):
        client.put_blob(REF, b"x")


def test_put_manifest_content_type_and_target(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: httpx.Response(201))
    assert client.put_manifest(REF, MANIFEST, OCI_MANIFEST) == MANIFEST_DIGEST
    by_digest = Reference(REF.registry, REF.repository, digest=MANIFEST_DIGEST)
    client.put_manifest(by_digest, MANIFEST, OCI_MANIFEST)
    first, second = mock_registry.requests
    assert first.url.path.endswith("/manifests/v1")
    assert second.url.path.endswith(f"/manifests/{MANIFEST_DIGEST}")
    assert first.headers["content-type"] == OCI_MANIFEST


def test_resolve_of_a_digest_uses_head(mock_registry: MockRegistry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "HEAD"
        return httpx.Response(
            200,
            headers={
                "Content-Type": OCI_MANIFEST,
                "Docker-Content-Digest": MANIFEST_DIGEST,
                "Content-Length": str(len(MANIFEST)),
            },
        )

    client = mock_registry.client(handler)
    desc = client.resolve(REF.with_digest(MANIFEST_DIGEST))
    assert (desc.digest, desc.size, desc.media_type) == (
        MANIFEST_DIGEST,
        len(MANIFEST),
        OCI_MANIFEST,
    )


def test_resolve_of_a_tag_gets_and_hashes(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: manifest_response())
    assert client.resolve(REF).digest == MANIFEST_DIGEST
    assert [r.method for r in mock_registry.requests] == ["GET"]


def test_resolve_of_a_digest_falls_back_to_get_without_digest_header(
    mock_registry: MockRegistry,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200, headers={"Content-Type": OCI_MANIFEST})
        return manifest_response()

    client = mock_registry.client(handler)
    assert client.resolve(REF.with_digest(MANIFEST_DIGEST)).digest == MANIFEST_DIGEST
    assert [r.method for r in mock_registry.requests] == ["HEAD", "GET"]


def test_referrers_api_used_when_it_answers_an_index(mock_registry: MockRegistry) -> None:
    child = {
        "mediaType": OCI_MANIFEST,
        "digest": "sha256:" + "c" * 64,
        "size": 10,
        "artifactType": "x/y",
    }
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child]}

    def handler(request: httpx.Request) -> httpx.Response:
        assert "/referrers/" in request.url.path
        return httpx.Response(200, json=index, headers={"Content-Type": OCI_INDEX})

    client = mock_registry.client(handler)
    found = client.referrers(REF.with_digest(MANIFEST_DIGEST))
    assert [d.digest for d in found] == [child["digest"]]
    assert client.referrers(REF.with_digest(MANIFEST_DIGEST), artifact_type="other") == []


def test_referrers_fallback_tag_when_api_missing(mock_registry: MockRegistry) -> None:
    child = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "d" * 64, "size": 10}
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child]}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        if "/referrers/" in request.url.path:
            return httpx.Response(404)
        assert request.url.path.endswith("/manifests/sha256-" + MANIFEST_DIGEST[7:])
        return httpx.Response(200, content=index, headers={"Content-Type": OCI_INDEX})

    client = mock_registry.client(handler)
    assert [d.digest for d in client.referrers(REF.with_digest(MANIFEST_DIGEST))] == [
        child["digest"]
    ]


def test_referrers_none_anywhere_is_empty(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(lambda r: oci_error(404, "MANIFEST_UNKNOWN"))
    assert client.referrers(REF.with_digest(MANIFEST_DIGEST)) == []

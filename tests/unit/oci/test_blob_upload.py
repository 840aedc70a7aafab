"""Streamed blob uploads: the distribution spec's chunked upload, and layouts' temp-file rename.

The content is hashed while it streams; content that does not match the declared digest or
size is never committed: the upload session is cancelled, the temporary file removed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sealgate.errors import IntegrityError, RegistryError
from sealgate.oci import Reference, RegistryClient, digest_of
from tests.support.fake_registry import FakeRegistry
from tests.unit.oci.conftest import MockRegistry

REF = Reference.parse("registry.test/team/app:v1")
DATA = b"0123456789"
DIGEST = digest_of(DATA)


class ChunkedUploadServer:
    """Answers like a registry doing chunked uploads; every PATCH moves the session URL."""

    def __init__(self, *, exists: bool = False, patch_status: int = 202) -> None:
        self.exists = exists
        self.patch_status = patch_status
        self.received = b""
        self.step = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200 if self.exists else 404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/team/app/blobs/uploads/s0"})
        if request.method == "PATCH":
            self.received += request.read()
            self.step += 1
            # Relative and absolute forms both occur in the wild.
            location = (
                f"/v2/team/app/blobs/uploads/s{self.step}?_state=x{self.step}"
                if self.step % 2
                else f"https://registry.test/v2/team/app/blobs/uploads/s{self.step}"
            )
            return httpx.Response(self.patch_status, headers={"Location": location})
        if request.method == "PUT":
            return httpx.Response(201)
        return httpx.Response(204)  # DELETE


def test_chunked_upload_follows_each_location(mock_registry: MockRegistry) -> None:
    server = ChunkedUploadServer()
    client = mock_registry.client(server, upload_chunk_bytes=4)
    assert client.put_blob_stream(REF, io.BytesIO(DATA), digest=DIGEST, size=len(DATA)) == DIGEST
    requests = mock_registry.requests
    assert [r.method for r in requests] == ["HEAD", "POST", "PATCH", "PATCH", "PATCH", "PUT"]
    patches = [r for r in requests if r.method == "PATCH"]
    assert [r.headers["content-range"] for r in patches] == ["0-3", "4-7", "8-9"]
    assert [r.headers["content-length"] for r in patches] == ["4", "4", "2"]
    assert [r.url.path.rsplit("/", 1)[1] for r in patches] == ["s0", "s1", "s2"]
    assert patches[1].url.params["_state"] == "x1"
    put = requests[-1]
    assert put.url.path.endswith("/s3") and put.url.params["digest"] == DIGEST
    assert put.content == b""
    assert server.received == DATA


def test_empty_blob_is_post_then_put(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(ChunkedUploadServer())
    client.put_blob_stream(REF, [], digest=digest_of(b""), size=0)
    assert [r.method for r in mock_registry.requests] == ["HEAD", "POST", "PUT"]


@pytest.mark.parametrize(
    ("content", "size", "match"),
    [
        (b"0123456780", 10, "hashes to"),  # same size, other bytes
        (b"01234", 10, "ended after 5 bytes"),
        (b"0123456789extra", 10, "longer than"),
    ],
)
def test_content_not_matching_the_declaration_is_cancelled_never_committed(
    mock_registry: MockRegistry, content: bytes, size: int, match: str
) -> None:
    client = mock_registry.client(ChunkedUploadServer(), upload_chunk_bytes=4)
    with pytest.raises(IntegrityError, match=match):
        client.put_blob_stream(REF, io.BytesIO(content), digest=DIGEST, size=size)
    methods = [r.method for r in mock_registry.requests]
    assert "PUT" not in methods
    assert methods[-1] == "DELETE"
    assert mock_registry.requests[-1].url.path.startswith("/v2/team/app/blobs/uploads/s")


def test_refused_chunk_cancels_the_session(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(ChunkedUploadServer(patch_status=416), upload_chunk_bytes=4)
    with pytest.raises(RegistryError) as info:
        client.put_blob_stream(REF, io.BytesIO(DATA), digest=DIGEST, size=len(DATA))
    assert info.value.status == 416
    assert [r.method for r in mock_registry.requests][-1] == "DELETE"


def _never_read() -> Iterator[bytes]:
    raise AssertionError("the content must not be read")
    yield b""  # pragma: no cover


def test_existing_blob_is_not_read_nor_sent(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(ChunkedUploadServer(exists=True))
    client.put_blob_stream(REF, _never_read(), digest=DIGEST, size=len(DATA))
    assert [r.method for r in mock_registry.requests] == ["HEAD"]


def test_mounted_blob_is_not_read_nor_sent(mock_registry: MockRegistry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404) if request.method == "HEAD" else httpx.Response(201)

    client = mock_registry.client(handler)
    other = Reference.parse("registry.test/other/repo")
    client.put_blob_stream(REF, _never_read(), digest=DIGEST, size=len(DATA), mount_from=other)
    post = mock_registry.requests[-1]
    assert post.method == "POST" and post.url.params["from"] == "other/repo"


def test_fake_backend_takes_chunk_iterables_with_empty_chunks() -> None:
    fake = FakeRegistry()
    client = RegistryClient(backend=fake)
    client.put_blob_stream(REF, [b"0123", b"", b"456789"], digest=DIGEST, size=len(DATA))
    assert fake.blobs[(REF.name, DIGEST)] == DATA


def test_layout_stream_is_renamed_into_place_only_when_it_matches(tmp_path: Path) -> None:
    layout = Reference.parse(f"oci:{tmp_path / 'img'}")
    blobs = tmp_path / "img" / "blobs" / "sha256"
    with RegistryClient() as client:
        with pytest.raises(IntegrityError):
            client.put_blob_stream(layout, io.BytesIO(b"0123456780"), digest=DIGEST, size=10)
        assert list(blobs.iterdir()) == [], "no blob, no temporary file left behind"
        client.put_blob_stream(layout, io.BytesIO(DATA), digest=DIGEST, size=len(DATA))
        assert (blobs / DIGEST.split(":")[1]).read_bytes() == DATA
        assert client.get_blob(layout, DIGEST, max_bytes=100) == DATA

"""A body cut short (dropped connection, fewer bytes than declared) is fetched again.

Only whole reads of idempotent resources are retried, within the same ``max_attempts`` that
429/5xx and connection errors draw on; a blob streamed to the caller reports the cut.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from sealgate.oci import OCI_MANIFEST, BodyCutShort, Reference, digest_of
from tests.unit.oci.conftest import MockRegistry

REF = Reference.parse("registry.test/team/app:v1")
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()
MANIFEST_DIGEST = digest_of(MANIFEST)


class _CutStream(httpx.SyncByteStream):
    """A body that stops after ``sent`` bytes with a transport error (a dropped connection)."""

    def __init__(self, data: bytes, sent: int) -> None:
        self.data, self.sent = data, sent

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.sent]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


def _cut_then_whole(
    data: bytes, cuts: int, headers: dict[str, str]
) -> Callable[..., httpx.Response]:
    answers = iter(range(cuts + 100))

    def handler(request: httpx.Request) -> httpx.Response:
        if next(answers) < cuts:
            return httpx.Response(200, headers=headers, stream=_CutStream(data, len(data) // 2))
        return httpx.Response(200, headers=headers, content=data)

    return handler


def test_manifest_body_cut_short_is_fetched_again(mock_registry: MockRegistry) -> None:
    headers = {"Content-Type": OCI_MANIFEST, "Content-Length": str(len(MANIFEST))}
    client = mock_registry.client(_cut_then_whole(MANIFEST, 2, headers))
    assert client.get_manifest(REF).digest == MANIFEST_DIGEST
    assert client.resolve(REF).digest == MANIFEST_DIGEST
    assert len(mock_registry.requests) == 4  # cut, cut, whole; then whole
    assert mock_registry.sleeps == [0.5, 1.0]


def test_blob_body_cut_short_is_fetched_again(mock_registry: MockRegistry) -> None:
    data = bytes(range(256)) * 64
    client = mock_registry.client(_cut_then_whole(data, 1, {}))
    assert client.get_blob(REF, digest_of(data), max_bytes=len(data)) == data


def test_tag_page_cut_short_is_fetched_again(mock_registry: MockRegistry) -> None:
    page = json.dumps({"tags": ["a", "b"]}).encode()
    client = mock_registry.client(_cut_then_whole(page, 1, {}))
    assert client.list_tags(REF) == ["a", "b"]


def test_cut_bodies_share_the_attempts_with_5xx(mock_registry: MockRegistry) -> None:
    headers = {"Content-Type": OCI_MANIFEST}
    cut = _cut_then_whole(MANIFEST, 100, headers)
    answers = iter([httpx.Response(503), None, httpx.Response(502), None, None])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers) or cut(request)

    client = mock_registry.client(handler, max_attempts=4)
    with pytest.raises(BodyCutShort) as info:
        client.get_manifest(REF)
    assert info.value.reason == "unreachable"
    assert len(mock_registry.requests) == 4  # 503, cut, 502, cut: four attempts in all


def test_cut_body_of_a_streamed_blob_is_not_hidden(mock_registry: MockRegistry) -> None:
    data = bytes(range(256)) * 64
    client = mock_registry.client(_cut_then_whole(data, 1, {}))
    with (
        pytest.raises(BodyCutShort),
        client.open_blob(REF, digest_of(data), max_bytes=len(data)) as f,
    ):
        f.read()

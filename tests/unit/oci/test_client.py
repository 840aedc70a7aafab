"""RegistryClient's template guarantees over the in-memory FakeRegistry backend."""

from __future__ import annotations

import json

import pytest

from sealgate.config import ClientConfig
from sealgate.deadline import Deadline
from sealgate.errors import (
    CheckFailed,
    ExitCode,
    ImageNotFound,
    IntegrityError,
    InternalError,
    LimitExceeded,
    MalformedData,
    UsageError,
)
from sealgate.oci import OCI_INDEX, OCI_MANIFEST, Reference, RegistryClient, digest_of
from tests.support.fake_registry import FakeRegistry
from tests.support.images import build_image, build_index, push_image, push_index

REF = Reference.parse("fake.test/team/app:v1")


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def client(fake: FakeRegistry) -> RegistryClient:
    return RegistryClient(ClientConfig(max_manifest_bytes=64 * 1024), backend=fake)


def test_round_trip(client: RegistryClient, fake: FakeRegistry) -> None:
    image = build_image()
    digest = push_image(client, REF, image)
    assert client.resolve(REF).digest == digest
    assert client.get_manifest(REF).data == image.manifest
    assert client.get_blob(REF, digest_of(image.layers[0]), max_bytes=1 << 20) == image.layers[0]
    assert client.list_tags(REF) == ["v1"]
    assert ("PUT manifest", REF.name, "v1") in fake.requests


def test_put_blob_skips_existing(client: RegistryClient, fake: FakeRegistry) -> None:
    client.put_blob(REF, b"abc")
    client.put_blob(REF, b"abc")
    assert [op for op, *_ in fake.requests].count("PUT blob") == 1


def test_tampered_manifest_by_digest(client: RegistryClient, fake: FakeRegistry) -> None:
    image = build_image(layers=1)
    digest = push_image(client, REF, image)
    fake.tamper[digest] = image.manifest.replace(b'"schemaVersion":2', b'"schemaVersion":2 ')
    with pytest.raises(IntegrityError):
        client.get_manifest(REF.with_digest(digest))


def test_tampered_manifest_by_tag_vs_announced_digest(
    client: RegistryClient, fake: FakeRegistry
) -> None:
    image = build_image(layers=1)
    push_image(client, REF, image)
    fake.announce_digest = "sha256:" + "e" * 64
    with pytest.raises(IntegrityError, match="announced"):
        client.get_manifest(REF)


def test_tampered_blob(client: RegistryClient, fake: FakeRegistry) -> None:
    digest = client.put_blob(REF, b"good content")
    fake.tamper[digest] = b"evil content"
    with pytest.raises(IntegrityError):
        client.get_blob(REF, digest, max_bytes=100)


def test_stream_cap_without_declared_length(client: RegistryClient, fake: FakeRegistry) -> None:
    digest = client.put_blob(REF, b"y" * 10_000)
    fake.hide_length = True
    with pytest.raises(LimitExceeded), client.open_blob(REF, digest, max_bytes=4096) as f:
        f.read()


def test_caller_exceptions_are_not_wrapped(client: RegistryClient) -> None:
    digest = client.put_blob(REF, b"z" * 100)
    with pytest.raises(KeyError), client.open_blob(REF, digest, max_bytes=1000):
        raise KeyError("caller bug")


def test_manifest_cap(fake: FakeRegistry) -> None:
    client = RegistryClient(ClientConfig(max_manifest_bytes=50), backend=fake)
    push_image(RegistryClient(backend=fake), REF, build_image(layers=1))
    with pytest.raises(LimitExceeded):
        client.get_manifest(REF)
    with pytest.raises(LimitExceeded):
        client.resolve(REF)


def test_not_found(client: RegistryClient) -> None:
    with pytest.raises(ImageNotFound):
        client.get_manifest(REF)
    assert client.get_manifest_or_none(REF) is None
    with pytest.raises(ImageNotFound):
        client.delete_manifest(REF)


def test_invalid_blob_digest_rejected(client: RegistryClient) -> None:
    with pytest.raises(MalformedData):
        client.get_blob(REF, "sha256:short", max_bytes=10)


def test_put_manifest_requires_matching_digest(client: RegistryClient) -> None:
    bad = Reference(REF.registry, REF.repository, digest="sha256:" + "0" * 64)
    with pytest.raises(UsageError):
        client.put_manifest(bad, b"{}", OCI_MANIFEST)


def test_media_type_from_content_beats_header(client: RegistryClient, fake: FakeRegistry) -> None:
    built = build_index()
    push_index(client, REF, built)
    fake.manifests[(REF.name, built.digest)] = (built.index, "application/json")
    assert client.get_manifest(REF).media_type == OCI_INDEX


def test_non_json_manifest_is_malformed(client: RegistryClient) -> None:
    client.put_manifest(REF, b"not json", OCI_MANIFEST)
    with pytest.raises(MalformedData):
        client.get_manifest(REF)


def test_delete(client: RegistryClient) -> None:
    push_image(client, REF, build_image(layers=1))
    client.delete_manifest(REF)
    assert client.get_manifest_or_none(REF) is None


def _referrer(client: RegistryClient, subject: str, artifact_type: str) -> str:
    config = b"{}"
    client.put_blob(REF, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": digest_of(config),
                "size": 2,
            },
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
        }
    ).encode()
    target = Reference(REF.registry, REF.repository, digest=digest_of(manifest))
    return client.put_manifest(target, manifest, OCI_MANIFEST)


def test_referrers_api(client: RegistryClient, fake: FakeRegistry) -> None:
    fake.referrers_api = True
    subject = push_image(client, REF, build_image(layers=1))
    first = _referrer(client, subject, "application/vnd.dev.sigstore.bundle.v0.3+json")
    _referrer(client, subject, "application/example")
    found = client.referrers(REF)
    assert len(found) == 2
    only = client.referrers(REF, artifact_type="application/vnd.dev.sigstore.bundle.v0.3+json")
    assert [d.digest for d in only] == [first]


def test_referrers_fallback_not_an_index(client: RegistryClient) -> None:
    subject = push_image(client, REF, build_image(layers=1))
    image = build_image(layers=1)
    push_image(client, REF.with_tag("sha256-" + subject[7:]), image)
    with pytest.raises(MalformedData):
        client.referrers(REF.with_digest(subject))


def test_a_backend_bug_is_an_internal_error_not_unreachable(fake: FakeRegistry) -> None:
    # A backend maps the failures it expects itself; anything else escaping it is a bug,
    # which must never read as "unreachable" (soft-failed as a registry outage).
    class Broken(FakeRegistry):
        def list_tags(
            self, ref: Reference, *, max_pages: int, max_page_bytes: int, deadline: Deadline
        ) -> list[str]:
            raise KeyError("tags")

    client = RegistryClient(backend=Broken())
    with pytest.raises(InternalError, match="KeyError") as info:
        client.list_tags(REF)
    assert info.value.exit_code == ExitCode.INTERNAL == 70
    assert info.value.reason == "internal"
    assert not isinstance(info.value, CheckFailed)


def test_close_and_context_manager(fake: FakeRegistry) -> None:
    with RegistryClient(backend=fake) as client:
        client.put_blob(REF, b"x")


def test_resolve_hashes_a_tag_instead_of_trusting_the_digest_header(
    client: RegistryClient, fake: FakeRegistry
) -> None:
    image = build_image(layers=1)
    push_image(client, REF, image)
    fake.announce_digest = "sha256:" + "e" * 64  # the header names another manifest
    with pytest.raises(IntegrityError, match="announced"):
        client.resolve(REF)
    assert ("GET manifest", REF.name, "v1") in fake.requests
    assert ("HEAD manifest", REF.name, "v1") not in fake.requests


def test_resolve_of_a_tag_is_the_digest_of_the_bytes(
    client: RegistryClient, fake: FakeRegistry
) -> None:
    image = build_image(layers=1)
    push_image(client, REF, image)
    assert client.resolve(REF).digest == image.digest == digest_of(image.manifest)


def test_resolve_of_a_digest_trusts_head_only_when_it_echoes_that_digest(
    client: RegistryClient, fake: FakeRegistry
) -> None:
    image = build_image(layers=1)
    push_image(client, REF, image)
    pinned = Reference(REF.registry, REF.repository, digest=image.digest)
    assert client.resolve(pinned).digest == image.digest
    assert fake.requests[-1][0] == "HEAD manifest"
    fake.announce_digest = "sha256:" + "e" * 64
    fake.requests.clear()
    with pytest.raises(IntegrityError):
        client.resolve(pinned)  # HEAD disagreed, so GET: and the GET's header lies too
    assert [op for op, _, _ in fake.requests] == ["HEAD manifest", "GET manifest"]

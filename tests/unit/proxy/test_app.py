"""The ASGI application over an in-memory upstream: auth dance, URL rewrites, protected pulls."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from sealgate.config import ClientConfig
from sealgate.gate import Verdict
from sealgate.oci import OCI_MANIFEST, Descriptor, Reference, RegistryClient, digest_of
from sealgate.oci.passthrough import PassThrough
from sealgate.policy import PolicySet
from sealgate.proxy import ProxyApp, ProxyJudge, ProxySettings
from sealgate.proxy.routes import ProtectGlobs

T = TypeVar("T")
UPSTREAM = "http://upstream.test:5000"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "x", "digest": "sha256:" + "1" * 64, "size": 1},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
             "digest": "sha256:" + "2" * 64, "size": 1}
        ],
    }
).encode()  # fmt: skip
DIGEST = digest_of(MANIFEST)


def answer(status: int, headers: dict[str, str], body: bytes = b"") -> httpx.Response:
    """A streamed answer, as the network gives one (``content=`` would be read already)."""
    sized = {**headers, "Content-Length": str(len(body))}
    return httpx.Response(status, headers=sized, stream=httpx.ByteStream(body))


def upstream(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/v2/":
        challenge = f'Bearer realm="{UPSTREAM}/auth/token",service="upstream"'
        return answer(401, {"WWW-Authenticate": challenge}, b'{"errors": []}')
    if path == "/auth/token":
        token = {"token": "t", "seen": request.url.query.decode()}
        return answer(200, {"Content-Type": "application/json"}, json.dumps(token).encode())
    if path.endswith("/blobs/uploads/"):
        return answer(202, {"Location": f"{UPSTREAM}/v2/a/blobs/uploads/u1?_s=1"})
    if "/manifests/" in path:
        encoded = path.endswith("/gz")
        headers = {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": DIGEST}
        if encoded:
            headers["Content-Encoding"] = "gzip"
        return answer(200, headers, gzip.compress(MANIFEST) if encoded else MANIFEST)
    return answer(404, {})


def make_app(verdict: Verdict | Exception) -> tuple[ProxyApp, list[Reference]]:
    asked: list[Reference] = []

    def judge(client: RegistryClient, image: Reference, descriptor: Descriptor) -> Verdict:
        asked.append(image)
        if isinstance(verdict, Exception):
            raise verdict
        return verdict

    passthrough = PassThrough(UPSTREAM, ClientConfig(), transport=httpx.MockTransport(upstream))
    decider = ProxyJudge(RegistryClient(), passthrough.host, PolicySet(()), judge=judge)
    return ProxyApp(passthrough, decider, ProxySettings(ProtectGlobs(["prod/**"]))), asked


def call(app: ProxyApp, use: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    async def go() -> T:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test:5050") as c:
            return await use(c)

    return asyncio.run(go())


def test_a_bearer_realm_on_the_upstream_is_served_through_the_proxy() -> None:
    app, _ = make_app(Verdict.verified(DIGEST))

    async def dance(
        client: httpx.AsyncClient,
    ) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        before = await client.get("/auth/token?service=upstream")
        challenge = await client.get("/v2/")
        token = await client.get("/auth/token?service=upstream&scope=repository:a:pull")
        return before, challenge, token

    before, challenge, token = call(app, dance)
    assert before.status_code == 404  # not forwarded until the upstream named it a realm
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"] == (
        'Bearer realm="http://proxy.test:5050/auth/token",service="upstream"'
    )
    assert token.status_code == 200 and "scope=repository" in token.json()["seen"]


def test_upload_locations_come_back_through_the_proxy() -> None:
    app, _ = make_app(Verdict.verified(DIGEST))
    answer = call(app, lambda c: c.post("/v2/a/blobs/uploads/"))
    assert answer.status_code == 202
    location = answer.headers["location"]
    assert location == "http://proxy.test:5050/v2/a/blobs/uploads/u1?_s=1"


def test_protected_pulls_serve_only_what_the_judge_admits() -> None:
    app, asked = make_app(Verdict.verified(DIGEST, "signed"))
    served = call(app, lambda c: c.get("/v2/prod/app/manifests/v1"))
    assert served.status_code == 200 and served.content == MANIFEST
    assert served.headers["docker-content-digest"] == DIGEST
    assert [str(ref) for ref in asked] == [f"upstream.test:5000/prod/app@{DIGEST}"]

    refusing, _ = make_app(Verdict.failed("wrong-key", "signed by someone else", DIGEST))
    refused = call(refusing, lambda c: c.get("/v2/prod/app/manifests/v1"))
    assert refused.status_code == 412
    [error] = refused.json()["errors"]
    assert error["code"] == "DENIED" and "signed by someone else" in error["message"]
    # Unprotected repositories are not judged at all.
    public = call(refusing, lambda c: c.get("/v2/public/app/manifests/v1"))
    assert public.status_code == 200


def test_bytes_that_do_not_match_the_digest_asked_or_come_encoded_are_refused() -> None:
    app, asked = make_app(Verdict.verified(DIGEST))
    other = "sha256:" + "f" * 64
    mismatch = call(app, lambda c: c.get(f"/v2/prod/app/manifests/{other}"))
    assert mismatch.status_code == 502
    encoded = call(app, lambda c: c.get("/v2/prod/app/manifests/gz"))
    assert encoded.status_code == 412
    assert "encoded" in encoded.text
    sha512 = call(app, lambda c: c.get("/v2/prod/app/manifests/sha512:" + "a" * 128))
    assert sha512.status_code == 412
    assert asked == []


def test_a_judge_that_breaks_refuses() -> None:
    app, asked = make_app(RuntimeError("bug"))
    refused = call(app, lambda c: c.get("/v2/prod/app/manifests/v1"))
    assert refused.status_code == 412
    assert refused.json()["errors"][0]["detail"]["reason"] == "internal"
    assert len(asked) == 1

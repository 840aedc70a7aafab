"""WWW-Authenticate parsing and the Bearer token dance over httpx.MockTransport."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from sealgate.errors import RegistryError, Unauthorized
from sealgate.oci import OCI_MANIFEST, Reference, digest_of
from sealgate.oci.auth import parse_www_authenticate
from tests.unit.oci.conftest import MockRegistry

REF = Reference.parse("registry.test/team/app:v1")
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST}).encode()
PASSWORD = "hunter2-Secret!"
TOKEN = "tok-" + "z" * 40


def test_parse_bearer_with_comma_in_quoted_scope() -> None:
    header = (
        'Bearer realm="https://auth.test/token",service="registry.test",'
        'scope="repository:team/app:pull,push"'
    )
    (challenge,) = parse_www_authenticate(header)
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.test/token",
        "service": "registry.test",
        "scope": "repository:team/app:pull,push",
    }


def test_parse_basic_and_escapes_and_spacing() -> None:
    (challenge,) = parse_www_authenticate('Basic  realm = "say \\"hi\\""')
    assert challenge.scheme == "basic" and challenge.params == {"realm": 'say "hi"'}


def test_parse_multiple_challenges_and_garbage() -> None:
    challenges = parse_www_authenticate('Basic realm="a", Bearer realm="b",error="invalid_token"')
    assert [c.scheme for c in challenges] == ["basic", "bearer"]
    assert challenges[1].params == {"realm": "b", "error": "invalid_token"}
    assert parse_www_authenticate("") == []
    assert parse_www_authenticate(",,, =") == []


def test_parse_unquoted_values() -> None:
    (challenge,) = parse_www_authenticate("Bearer realm=https://a.test/t,service=svc")
    assert challenge.params == {"realm": "https://a.test/t", "service": "svc"}


def _bearer_registry(
    token_key: str = "token",  # noqa: S107  (a JSON field name, not a password)
    expected_basic: str | None = None,
) -> tuple[Callable[[httpx.Request], httpx.Response], dict[str, int]]:
    counts = {"token": 0}
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            with lock:
                counts["token"] += 1
            if (
                expected_basic is not None
                and request.headers.get("authorization") != expected_basic
            ):
                return httpx.Response(401, json={"details": "bad creds"})
            return httpx.Response(200, json={token_key: TOKEN, "expires_in": 300})
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            challenge = (
                'Bearer realm="https://auth.test/token",service="registry.test",'
                'scope="repository:team/app:pull"'
            )
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    return handler, counts


@pytest.mark.parametrize("token_key", ["token", "access_token"])
def test_token_dance_and_cache(mock_registry: MockRegistry, token_key: str) -> None:
    handler, counts = _bearer_registry(token_key)
    client = mock_registry.client(handler)
    assert client.get_manifest(REF).digest == digest_of(MANIFEST)
    assert client.get_manifest(REF).digest == digest_of(MANIFEST)
    assert counts["token"] == 1
    token_request = next(r for r in mock_registry.requests if r.url.host == "auth.test")
    assert token_request.url.params["service"] == "registry.test"
    assert token_request.url.params.get_list("scope") == ["repository:team/app:pull"]
    assert "authorization" not in token_request.headers  # anonymous token
    # The second manifest GET carried the cached token pre-emptively: no second 401.
    statuses = [r.url.host for r in mock_registry.requests]
    assert statuses.count("registry.test") == 3


def test_token_with_basic_credentials(mock_registry: MockRegistry) -> None:
    basic = "Basic " + base64.b64encode(f"me:{PASSWORD}".encode()).decode()
    handler, _ = _bearer_registry(expected_basic=basic)
    client = mock_registry.client(handler, username="me", password=PASSWORD)
    client.get_manifest(REF)


def test_token_refused_message_has_no_secrets(mock_registry: MockRegistry) -> None:
    handler, _ = _bearer_registry(expected_basic="Basic nope")
    client = mock_registry.client(handler, username="me", password=PASSWORD)
    with pytest.raises(Unauthorized) as info:
        client.get_manifest(REF)
    assert info.value.status == 401
    assert PASSWORD not in str(info.value) and "Basic" not in str(info.value)
    assert "registry.test" in str(info.value)


def test_token_fetched_once_by_concurrent_workers(mock_registry: MockRegistry) -> None:
    handler, counts = _bearer_registry()
    client = mock_registry.client(handler)
    with ThreadPoolExecutor(max_workers=16) as pool:
        digests = list(pool.map(lambda _: client.get_manifest(REF).digest, range(32)))
    assert set(digests) == {digest_of(MANIFEST)}
    assert counts["token"] == 1


def test_http_realm_refused_for_https_registry(mock_registry: MockRegistry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer realm="http://auth.test/t"'}
        )

    client = mock_registry.client(handler, username="me", password=PASSWORD)
    with pytest.raises(RegistryError, match="refusing token realm"):
        client.get_manifest(REF)
    assert all(r.url.host != "auth.test" for r in mock_registry.requests)


def test_identity_token_uses_oauth2_refresh(mock_registry: MockRegistry, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"registry.test": {"identitytoken": "refresh-me"}}}))
    seen: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            assert request.method == "POST"
            from urllib.parse import parse_qs

            seen.append(parse_qs(request.content.decode()))
            return httpx.Response(200, json={"access_token": TOKEN})
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(
                401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/t",service="s"'}
            )
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    client = mock_registry.client(handler, docker_config=config)
    client.get_manifest(REF)
    assert seen[0]["grant_type"] == ["refresh_token"]
    assert seen[0]["refresh_token"] == ["refresh-me"]
    assert seen[0]["service"] == ["s"]


def test_basic_challenge(mock_registry: MockRegistry) -> None:
    expected = "Basic " + base64.b64encode(f"me:{PASSWORD}".encode()).decode()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != expected:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    client = mock_registry.client(handler, username="me", password=PASSWORD)
    client.get_manifest(REF)
    client.get_manifest(REF)
    # First request 401, then every request carries Basic pre-emptively.
    assert len(mock_registry.requests) == 3


def test_no_credentials_means_unauthorized(mock_registry: MockRegistry) -> None:
    client = mock_registry.client(
        lambda r: httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
    )
    with pytest.raises(Unauthorized) as info:
        client.get_manifest(REF)
    assert info.value.status == 401
    assert info.value.reason == "unauthorized"
    assert len(mock_registry.requests) == 1


def _plain_http_bearer(realm: str, seen: list[httpx.Request]) -> Callable[..., httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            seen.append(request)
            return httpx.Response(200, json={"token": TOKEN})
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}"'})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    return handler


def test_credentials_never_go_to_a_plain_http_realm_on_another_host(
    mock_registry: MockRegistry,
) -> None:
    seen: list[httpx.Request] = []
    client = mock_registry.client(
        _plain_http_bearer("http://elsewhere.test/token", seen),
        username="me",
        password=PASSWORD,
        insecure_registries=frozenset({"registry.test"}),
    )
    with pytest.raises(RegistryError, match="plain HTTP to another host") as info:
        client.get_manifest(REF)
    assert seen == [], "the foreign realm must not even be asked"
    assert PASSWORD not in str(info.value)


def test_anonymous_token_from_a_plain_http_realm_on_another_host(
    mock_registry: MockRegistry,
) -> None:
    # Nothing secret is sent, and the token then travels to the plain-HTTP registry anyway.
    seen: list[httpx.Request] = []
    client = mock_registry.client(
        _plain_http_bearer("http://elsewhere.test/token", seen),
        insecure_registries=frozenset({"registry.test"}),
    )
    assert client.get_manifest(REF).digest == digest_of(MANIFEST)
    assert len(seen) == 1 and "authorization" not in seen[0].headers


def test_credentials_to_a_plain_http_realm_on_the_registry_host(
    mock_registry: MockRegistry,
) -> None:
    seen: list[httpx.Request] = []
    client = mock_registry.client(
        _plain_http_bearer("http://registry.test:5001/token", seen),
        username="me",
        password=PASSWORD,
        insecure_registries=frozenset({"registry.test"}),
    )
    assert client.get_manifest(REF).digest == digest_of(MANIFEST)
    assert seen[0].headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    "expires_in",
    [
        "10" + "0" * 400,  # 10**400: an int Python parses but float() cannot hold
        "1e400",  # infinity
        "NaN",
        "-5",
        "0",
        '"3600"',
        "true",
        "null",
    ],
)
def test_absurd_token_lifetimes_are_clamped(mock_registry: MockRegistry, expires_in: str) -> None:
    fetched = {"token": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            fetched["token"] += 1
            body = f'{{"token": "{TOKEN}", "expires_in": {expires_in}}}'.encode()
            return httpx.Response(200, content=body)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(
                401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/t"'}
            )
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    client = mock_registry.client(handler)
    client.get_manifest(REF)
    client.get_manifest(REF)
    assert fetched["token"] == 1, "a clamped lifetime still caches the token"


def test_token_lifetime_never_beyond_a_day() -> None:
    from sealgate.oci.auth import _token_lifetime

    assert _token_lifetime(10**400) == 86400.0
    assert _token_lifetime(float("inf")) == 86400.0
    assert _token_lifetime(float("nan")) == 60.0
    assert _token_lifetime(-1) == 60.0
    assert _token_lifetime(300) == 300.0


def test_token_server_403_is_unauthorized(mock_registry: MockRegistry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return httpx.Response(403, json={"details": "no"})
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/t"'}
        )

    client = mock_registry.client(handler)
    with pytest.raises(Unauthorized) as info:
        client.get_manifest(REF)
    assert info.value.status == 403

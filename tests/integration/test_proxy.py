"""``sealgate proxy`` in front of the real registry, with skopeo as the real client.

Protected repositories live under ``prod/``; ``public/`` is passed through untouched. Images
are signed with the ``first`` key, which the ClusterImagePolicy trusts.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sealgate.config import ClientConfig
from sealgate.oci import OCI_MANIFEST, Reference, RegistryClient
from tests.integration.conftest import PASSWORD, REGISTRY_PASSWORD, REGISTRY_USER, RunningRegistry
from tests.integration.test_mirror import cip, sign_upstream
from tests.support.cli import run
from tests.support.images import build_image, build_index, push_image, push_index
from tests.support.proxy import RunningProxy, running_proxy, skopeo, skopeo_pull
from tests.support.registry_front import Action, Answer, Forward, running_front
from tests.support.registry_server import make_test_ca
from tests.support.token_registry import token_registry


def _config(tmp_path: Path, **extra: object) -> ClientConfig:
    settings: dict[str, object] = {
        "timeout_s": 10.0,
        "backoff_s": 0.01,
        "docker_config": tmp_path / "no-docker-config.json",
        "auth_file": tmp_path / "no-auth.json",
    }
    settings.update(extra)
    return ClientConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture
def space() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def proxy(
    registry: RunningRegistry, keys: dict[str, Path], tmp_path: Path
) -> Iterator[RunningProxy]:
    policy = cip(tmp_path / "policy.yaml", registry.host, keys["first.pub"])
    with running_proxy(
        f"http://{registry.host}", policy, ("prod/**",), _config(tmp_path)
    ) as running:
        yield running


def _raw(host: str, request: bytes) -> bytes:
    """Send bytes as they are (no client-side path cleaning) and return the answer."""
    address, port = host.split(":")
    with socket.create_connection((address, int(port)), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_skopeo_pulls_signed_images_and_gets_412_naming_the_reason_for_unsigned(
    registry: RunningRegistry,
    client: RegistryClient,
    proxy: RunningProxy,
    keys: dict[str, Path],
    space: str,
    tmp_path: Path,
) -> None:
    signed = registry.ref(f"prod/{space}/signed", "v1")
    push_image(client, signed, build_image())
    sign_upstream(registry, keys["first"], str(signed), tmp_path)
    unsigned = registry.ref(f"prod/{space}/unsigned", "v1")
    unsigned_digest = push_image(client, unsigned, build_image())
    public = registry.ref(f"public/{space}/app", "v1")
    push_image(client, public, build_image())

    ok = skopeo_pull(proxy, f"prod/{space}/signed:v1", tmp_path / "signed")
    assert ok.code == 0, ok.err
    refused = skopeo_pull(proxy, f"prod/{space}/unsigned:v1", tmp_path / "unsigned")
    assert refused.code != 0
    assert "refused by policy (unsigned)" in refused.err, refused.err
    assert unsigned_digest in refused.err
    by_digest = skopeo_pull(proxy, f"prod/{space}/unsigned@{unsigned_digest}", tmp_path / "d")
    assert by_digest.code != 0 and "refused by policy" in by_digest.err
    passed = skopeo_pull(proxy, f"public/{space}/app:v1", tmp_path / "public")
    assert passed.code == 0, passed.err

    # Verifiers read signatures through the proxy: .sig manifests are artifacts, served as is.
    verified = run(
        ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog",
         f"{proxy.host}/prod/{space}/signed:v1"],
        home=str(tmp_path),
    )  # fmt: skip
    assert verified.code == 0, verified.err

    # Verdicts are cached by digest: a second pull verifies nothing again.
    checks = proxy.checks_run
    again = skopeo_pull(proxy, f"prod/{space}/signed:v1", tmp_path / "again")
    assert again.code == 0, again.err
    assert proxy.checks_run == checks


def test_multi_platform_index_admits_its_platform_manifests(
    registry: RunningRegistry,
    client: RegistryClient,
    proxy: RunningProxy,
    keys: dict[str, Path],
    space: str,
    tmp_path: Path,
) -> None:
    ref = registry.ref(f"prod/{space}/multi", "v2")
    built = build_index()
    push_index(client, ref, built)
    sign_upstream(registry, keys["first"], str(ref), tmp_path)  # the index only, as cosign does
    every = skopeo_pull(proxy, f"prod/{space}/multi:v2", tmp_path / "all", "--all")
    assert every.code == 0, every.err
    one = skopeo_pull(proxy, f"prod/{space}/multi:v2", tmp_path / "one", "--override-arch", "arm64")
    assert one.code == 0, one.err
    # A platform manifest asked for on its own, with no verified index before it, is judged
    # on its own: the proxy restarts with an empty cache.
    child = built.images[0].digest
    policy = cip(tmp_path / "p2.yaml", registry.host, keys["first.pub"])
    with running_proxy(f"http://{registry.host}", policy, ("prod/**",), _config(tmp_path)) as fresh:
        alone = skopeo(
            "inspect", "--raw", "--tls-verify=false",
            f"docker://{fresh.host}/prod/{space}/multi@{child}", home=tmp_path,
        )  # fmt: skip
    assert alone.code != 0 and "refused by policy (unsigned)" in alone.err, alone.err


def test_head_is_answered_from_the_hashed_bytes(
    registry: RunningRegistry,
    client: RegistryClient,
    proxy: RunningProxy,
    keys: dict[str, Path],
    space: str,
    tmp_path: Path,
) -> None:
    signed = registry.ref(f"prod/{space}/head", "v1")
    image = build_image()
    digest = push_image(client, signed, image)
    sign_upstream(registry, keys["first"], str(signed), tmp_path)
    unsigned = registry.ref(f"prod/{space}/head-unsigned", "v1")
    push_image(client, unsigned, build_image())
    accept = {"Accept": OCI_MANIFEST}
    with httpx.Client(base_url=f"http://{proxy.host}", headers=accept) as http:
        head = http.head(f"/v2/prod/{space}/head/manifests/v1")
        assert head.status_code == 200
        assert head.headers["docker-content-digest"] == digest
        assert head.headers["content-length"] == str(len(image.manifest))
        denied = http.head(f"/v2/prod/{space}/head-unsigned/manifests/v1")
        assert denied.status_code == 412 and denied.content == b""
        body = http.get(f"/v2/prod/{space}/head-unsigned/manifests/v1")
        assert body.status_code == 412
        [error] = body.json()["errors"]
        assert error["code"] == "DENIED" and error["detail"]["reason"] == "unsigned"


def test_path_traversal_and_encoded_paths_are_refused(
    registry: RunningRegistry, client: RegistryClient, proxy: RunningProxy, space: str
) -> None:
    push_image(client, registry.ref(f"prod/{space}/app", "v1"), build_image())
    for target in (
        f"/v2/public/../prod/{space}/app/manifests/v1",
        f"/v2/public/%2e%2e/prod/{space}/app/manifests/v1",
        f"/v2/public%2f..%2fprod/{space}/app/manifests/v1",
        f"/v2/public//prod/{space}/app/manifests/v1",
        f"/v2/prod/{space}/app/manifests/../../../../etc/passwd",
    ):
        answer = _raw(
            proxy.host, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        status = answer.split(b"\r\n", 1)[0]
        assert status.split()[1] in (b"400", b"404"), (target, status)
        assert b"NAME_INVALID" in answer and b"schemaVersion" not in answer
    outside = _raw(proxy.host, b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert outside.split()[1] == b"404"


def test_oversized_manifests_are_refused_both_ways(
    registry: RunningRegistry, keys: dict[str, Path], space: str, tmp_path: Path
) -> None:
    huge = b'{"schemaVersion":2,"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}'

    def plan(method: str, path: str, n: int) -> Action:
        if method == "GET" and path.endswith("/manifests/big"):
            return Answer(200, {"Content-Type": OCI_MANIFEST}, huge)
        return Forward()

    policy = cip(tmp_path / "policy.yaml", "127.0.0.1:*", keys["first.pub"])  # the front, any port
    with (
        running_front(registry.host, plan) as front,
        running_proxy(f"http://{front.host}", policy, ("prod/**",), _config(tmp_path)) as proxy,
        httpx.Client(base_url=f"http://{proxy.host}", timeout=30) as http,
    ):
        pulled = http.get(f"/v2/prod/{space}/app/manifests/big")
        assert pulled.status_code == 412
        assert "limit" in pulled.json()["errors"][0]["message"]
        pushed = http.put(
            f"/v2/public/{space}/app/manifests/big",
            content=huge,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert pushed.status_code == 413
        assert pushed.json()["errors"][0]["code"] == "MANIFEST_INVALID"
        puts = [entry for entry in front.log if entry[0] == "PUT"]
    assert puts == []


def test_upstream_and_verification_failures_refuse(
    registry: RunningRegistry,
    client: RegistryClient,
    keys: dict[str, Path],
    space: str,
    tmp_path: Path,
) -> None:
    ref = registry.ref(f"prod/{space}/app", "v1")
    digest = push_image(client, ref, build_image())
    sign_upstream(registry, keys["first"], str(ref), tmp_path)
    lying = "sha256:" + "0" * 64

    def plan(method: str, path: str, n: int) -> Action:
        if path.endswith(".sig"):
            return Answer(500, {}, b"broken")  # signatures cannot be read: could not check
        if path.endswith("/manifests/lies"):
            return Forward(set_headers={"Docker-Content-Digest": lying})
        return Forward()

    push_image(client, registry.ref(f"prod/{space}/app", "lies"), build_image())
    policy = cip(tmp_path / "policy.yaml", "127.0.0.1:*", keys["first.pub"])  # the front, any port
    with (
        running_front(registry.host, plan) as front,
        running_proxy(f"http://{front.host}", policy, ("prod/**",), _config(tmp_path)) as proxy,
        httpx.Client(base_url=f"http://{proxy.host}", headers={"Accept": OCI_MANIFEST}) as http,
    ):
        broken = http.get(f"/v2/prod/{space}/app/manifests/{digest}")
        assert broken.status_code == 412
        assert broken.json()["errors"][0]["detail"]["reason"] == "unreachable", broken.text
        lies = http.get(f"/v2/prod/{space}/app/manifests/lies")
        assert lies.status_code == 502 and "hashes to" in lies.text
    # An upstream that is gone: refused, never served.
    with (
        running_proxy("http://127.0.0.1:9", policy, ("prod/**",), _config(tmp_path)) as gone,
        httpx.Client(base_url=f"http://{gone.host}") as http,
    ):
        down = http.get(f"/v2/prod/{space}/app/manifests/v1")
        head = http.head(f"/v2/prod/{space}/app/manifests/v1")
    assert head.status_code == 502 and head.content == b""
    assert down.status_code == 502 and down.json()["errors"][0]["code"] == "UNAVAILABLE"


def test_credentials_pass_through_to_an_htpasswd_upstream(
    auth_registry: RunningRegistry, keys: dict[str, Path], space: str, tmp_path: Path
) -> None:
    creds = {"username": REGISTRY_USER, "password": REGISTRY_PASSWORD}
    with RegistryClient(_config(tmp_path, **creds)) as authed:
        signed = auth_registry.ref(f"prod/{space}/app", "v1")
        push_image(authed, signed, build_image())
    env = {
        "COSIGN_PASSWORD": PASSWORD,
        "SEALGATE_REGISTRY_USERNAME": REGISTRY_USER,
        "SEALGATE_REGISTRY_PASSWORD": REGISTRY_PASSWORD,
    }
    signing = ["sign", "--key", str(keys["first"]), str(signed)]
    done = run(signing, env, home=str(tmp_path))
    assert done.code == 0, done.err
    policy = cip(tmp_path / "policy.yaml", auth_registry.host, keys["first.pub"])
    # The proxy's own credentials read signatures; the client's travel with its requests.
    with running_proxy(
        f"http://{auth_registry.host}", policy, ("prod/**",), _config(tmp_path, **creds)
    ) as proxy:
        anonymous = skopeo_pull(proxy, f"prod/{space}/app:v1", tmp_path / "anon")
        assert anonymous.code != 0
        assert "unauthorized" in anonymous.err.lower() or "authentication" in anonymous.err.lower()
        login = f"{REGISTRY_USER}:{REGISTRY_PASSWORD}"
        pulled = skopeo_pull(
            proxy, f"prod/{space}/app:v1", tmp_path / "authed", "--src-creds", login
        )
        assert pulled.code == 0, pulled.err
        assert REGISTRY_PASSWORD not in pulled.err
        # A push through the proxy (chunked upload, Location rewritten back to the proxy)...
        pushed = skopeo(
            "copy", "--retry-times", "0", "--dest-tls-verify=false", "--dest-creds", login,
            f"oci:{tmp_path / 'authed'}:pulled", f"docker://{proxy.host}/prod/{space}/copy:v1",
            home=tmp_path,
        )  # fmt: skip
        assert pushed.code == 0, pushed.err
        # ...lands upstream, and the copy, signed by nobody under its new name's .sig, is
        # still the same digest, so its signature (per repository) is absent: refused.
        refused = skopeo_pull(
            proxy, f"prod/{space}/copy:v1", tmp_path / "copy", "--src-creds", login
        )
        assert refused.code != 0 and "refused by policy (unsigned)" in refused.err
    with RegistryClient(_config(tmp_path, **creds)) as authed:
        copied = authed.resolve(Reference.parse(f"{auth_registry.host}/prod/{space}/copy:v1"))
        assert copied.digest == authed.resolve(signed).digest


def test_bundle_referrers_are_read_through_the_proxy(
    registry: RunningRegistry,
    client: RegistryClient,
    proxy: RunningProxy,
    keys: dict[str, Path],
    space: str,
    tmp_path: Path,
) -> None:
    ref = registry.ref(f"prod/{space}/bundled", "v1")
    push_image(client, ref, build_image())
    sign_upstream(registry, keys["first"], str(ref), tmp_path, "--new-bundle-format")
    pulled = skopeo_pull(proxy, f"prod/{space}/bundled:v1", tmp_path / "pulled")
    assert pulled.code == 0, pulled.err
    # The verifier reads the referrers fallback index and the bundle manifest through us.
    verified = run(
        ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog",
         f"{proxy.host}/prod/{space}/bundled:v1"],
        home=str(tmp_path),
    )  # fmt: skip
    assert verified.code == 0, verified.err


def test_the_proxy_serves_tls(
    registry: RunningRegistry,
    client: RegistryClient,
    keys: dict[str, Path],
    space: str,
    tmp_path: Path,
) -> None:
    ref = registry.ref(f"prod/{space}/app", "v1")
    push_image(client, ref, build_image())
    sign_upstream(registry, keys["first"], str(ref), tmp_path)
    push_image(client, registry.ref(f"prod/{space}/app", "unsigned"), build_image())
    tls = make_test_ca(tmp_path / "tls")
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(tls.ca_cert.read_bytes())
    policy = cip(tmp_path / "policy.yaml", registry.host, keys["first.pub"])
    with running_proxy(
        f"http://{registry.host}",
        policy,
        ("prod/**",),
        _config(tmp_path),
        tls=(tls.server_cert, tls.server_key),
    ) as proxy:
        image = f"docker://{proxy.host}/prod/{space}/app"
        ok = skopeo("inspect", "--raw", "--cert-dir", str(certs), f"{image}:v1", home=tmp_path)
        assert ok.code == 0, ok.err
        refused = skopeo("inspect", "--cert-dir", str(certs), f"{image}:unsigned", home=tmp_path)
        assert refused.code != 0 and "refused by policy (unsigned)" in refused.err
        untrusted = skopeo("inspect", "--raw", f"{image}:v1", home=tmp_path)
        assert untrusted.code != 0 and "certificate" in untrusted.err


def test_bearer_token_auth_passes_through_to_the_realm(
    keys: dict[str, Path], space: str, tmp_path: Path
) -> None:
    creds = {"username": REGISTRY_USER, "password": REGISTRY_PASSWORD}
    with token_registry(tmp_path / "token-registry", REGISTRY_USER, REGISTRY_PASSWORD) as upstream:
        with RegistryClient(_config(tmp_path, **creds)) as authed:
            signed = Reference.parse(f"{upstream.host}/prod/{space}/app:v1")
            push_image(authed, signed, build_image())
            push_image(authed, signed.with_tag("unsigned"), build_image())
        env = {
            "COSIGN_PASSWORD": PASSWORD,
            "SEALGATE_REGISTRY_USERNAME": REGISTRY_USER,
            "SEALGATE_REGISTRY_PASSWORD": REGISTRY_PASSWORD,
        }
        done = run(["sign", "--key", str(keys["first"]), str(signed)], env, home=str(tmp_path))
        assert done.code == 0, done.err
        policy = cip(tmp_path / "policy.yaml", upstream.host, keys["first.pub"])
        with running_proxy(
            f"http://{upstream.host}", policy, ("prod/**",), _config(tmp_path, **creds)
        ) as proxy:
            # The realm is on another origin: the challenge comes back as the registry sent it.
            with httpx.Client(base_url=f"http://{proxy.host}") as http:
                challenge = http.get("/v2/").headers["www-authenticate"]
            assert challenge.startswith(f'Bearer realm="{upstream.realm}"')
            before = len(upstream.issued)
            login = f"{REGISTRY_USER}:{REGISTRY_PASSWORD}"
            pulled = skopeo_pull(
                proxy, f"prod/{space}/app:v1", tmp_path / "ok", "--src-creds", login
            )
            assert pulled.code == 0, pulled.err
            # skopeo got its own token from the realm, and the proxy forwarded it upstream.
            assert any(
                user == REGISTRY_USER and f"repository:prod/{space}/app:pull" in scopes
                for user, scopes in upstream.issued[before:]
            )
            refused = skopeo_pull(
                proxy, f"prod/{space}/app:unsigned", tmp_path / "no", "--src-creds", login
            )
            assert refused.code != 0 and "refused by policy (unsigned)" in refused.err
            anonymous = skopeo_pull(proxy, f"prod/{space}/app:v1", tmp_path / "anon")
            assert anonymous.code != 0 and "refused by policy" not in anonymous.err

"""Keyless signing when something is wrong: a clear one-line error, no token shown, nothing pushed.

Bad tokens (expired, wrong audience), Fulcio, Rekor or the TSA failing (500, hanging past
``--timeout``, refusing), and answers that do not check out against the trusted root (an SCT
from an untrusted CT log, a bad SET, an entry about another signature).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from sealgate.errors import ExitCode
from sealgate.oci import SIGSTORE_BUNDLE, Reference, RegistryClient
from sealgate.workflows.targets import attachment_ref
from tests.integration.conftest import RunningRegistry
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image
from tests.support.sigstore_services import SigstoreServices
from tests.support.sigstore_services.oidc import AZURE_ACCESS_TOKEN, GITHUB_REQUEST_TOKEN


def _image(client: RegistryClient, registry: RunningRegistry, repo: str) -> Reference:
    ref = registry.ref(repo, "v1")
    return ref.with_digest(push_image(client, ref, build_image()))


def _sign(
    services: SigstoreServices,
    registry: RunningRegistry,
    image: Reference,
    env: dict[str, str],
    tmp_path: Path,
    *extra: str,
) -> Result:
    root = services.write_trusted_root(tmp_path)
    args = [
        "sign",
        "--insecure-registry",
        registry.host,
        "--yes",
        "--timeout",
        "1",
        "--fulcio-url",
        services.fulcio_url,
        "--rekor-url",
        services.rekor_url,
        "--trusted-root",
        str(root),
        *extra,
        str(image),
    ]
    return run(args, env, home=str(tmp_path))


def _nothing_pushed(client: RegistryClient, image: Reference) -> None:
    assert client.get_manifest_or_none(attachment_ref(image, "sig")) is None
    assert client.get_manifest_or_none(attachment_ref(image, "")) is None
    assert client.referrers(image, artifact_type=SIGSTORE_BUNDLE) == []


def _one_line(result: Result, *secrets: str) -> None:
    lines = result.err.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), result.err
    for secret in secrets:
        assert secret not in result.err + result.out


@pytest.mark.parametrize(
    ("token_options", "expected"),
    [
        ({"issued_at": time.time() - 3600, "lifetime_s": 600}, "expired"),
        ({"audience": "not-sigstore"}, "audience"),
    ],
    ids=["expired", "wrong-audience"],
)
def test_bad_token_is_refused_and_nothing_is_pushed(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
    token_options: dict[str, object],
    expected: str,
) -> None:
    image = _image(client, registry, repo)
    token = sigstore_services.mint_token(**token_options)  # type: ignore[arg-type]
    result = _sign(sigstore_services, registry, image, {"SIGSTORE_ID_TOKEN": token}, tmp_path)
    assert result.code == ExitCode.FAILURE, result.err
    assert "Fulcio" in result.err and expected in result.err.lower()
    _one_line(result, token)
    _nothing_pushed(client, image)


@pytest.mark.parametrize(
    ("service", "mode", "code", "words"),
    [
        ("fulcio", "error", ExitCode.COULD_NOT_CHECK, "HTTP 500"),
        ("fulcio", "hang", ExitCode.COULD_NOT_CHECK, "no answer within"),
        ("rekor", "error", ExitCode.COULD_NOT_CHECK, "HTTP 500"),
        ("rekor", "hang", ExitCode.COULD_NOT_CHECK, "no answer within"),
        ("rekor", "refuse", ExitCode.FAILURE, "HTTP 400"),
        ("tsa", "reject", ExitCode.FAILURE, "refused"),
        ("tsa", "error", ExitCode.COULD_NOT_CHECK, "HTTP 500"),
        ("tsa", "wrong_imprint", ExitCode.COULD_NOT_CHECK, "other bytes"),
        ("fulcio", "wrong_sct", ExitCode.FAILURE, "SCT"),
        ("fulcio", "untrusted_ca", ExitCode.FAILURE, "chain"),
        ("rekor", "bad_set", ExitCode.FAILURE, "SET"),
        ("rekor", "other_entry", ExitCode.FAILURE, "log entry"),
        ("tsa", "untrusted", ExitCode.FAILURE, "timestamp"),
    ],
)
@pytest.mark.parametrize("layout", [[], ["--new-bundle-format"]], ids=["legacy", "bundle"])
def test_service_failure_is_one_line_and_nothing_is_pushed(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
    service: str,
    mode: str,
    code: int,
    words: str,
    layout: list[str],
) -> None:
    image = _image(client, registry, repo)
    token = sigstore_services.mint_token()
    getattr(sigstore_services, service).service.fail(mode)
    tsa = ["--timestamp-server-url", sigstore_services.tsa_url]
    result = _sign(
        sigstore_services, registry, image, {"SIGSTORE_ID_TOKEN": token}, tmp_path, *tsa, *layout
    )
    assert result.code == code, result.err
    assert words.lower() in result.err.lower(), result.err
    _one_line(result, token)
    _nothing_pushed(client, image)


def test_github_actions_token(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": sigstore_services.oidc.github_request_url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
        "SEALGATE_KEYLESS": "true",
    }
    result = _sign(sigstore_services, registry, image, env, tmp_path)
    assert result.code == 0, result.err
    assert GITHUB_REQUEST_TOKEN not in result.err
    leaf = sigstore_services.fulcio.issued[-1]
    from cryptography import x509

    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    uri = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [uri]


def test_github_actions_token_refused(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": sigstore_services.oidc.github_request_url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "wrong-request-token",
        "SEALGATE_KEYLESS": "1",
    }
    result = _sign(sigstore_services, registry, image, env, tmp_path)
    assert result.code == ExitCode.FAILURE and "GitHub Actions OIDC" in result.err
    _one_line(result, "wrong-request-token")
    _nothing_pushed(client, image)


def test_azure_devops_token(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    env = {
        "SYSTEM_OIDCREQUESTURI": sigstore_services.oidc.azure_request_uri,
        "SYSTEM_ACCESSTOKEN": AZURE_ACCESS_TOKEN,
        "SEALGATE_AZURE_SERVICE_CONNECTION_ID": "0000-signing",
        "SEALGATE_KEYLESS": "true",
    }
    result = _sign(sigstore_services, registry, image, env, tmp_path)
    assert result.code == 0, result.err
    assert "sc://acme/app/0000-signing" in result.err
    assert AZURE_ACCESS_TOKEN not in result.err


def test_buildkite_agent_token(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    token = sigstore_services.oidc.ci.mint("buildkite://acme/app")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    agent = bin_dir / "buildkite-agent"
    expected = "oidc request-token --audience sigstore"
    agent.write_text(f'#!/bin/sh\n[ "$*" = "{expected}" ] || exit 2\necho {token}\n')
    agent.chmod(agent.stat().st_mode | stat.S_IEXEC)
    env = {
        "BUILDKITE": "true",
        "SEALGATE_KEYLESS": "true",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    result = _sign(sigstore_services, registry, image, env, tmp_path)
    assert result.code == 0, result.err
    assert "buildkite://acme/app" in result.err


def test_keyless_without_token_source_is_a_usage_error(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    result = _sign(sigstore_services, registry, image, {"SEALGATE_KEYLESS": "true"}, tmp_path)
    assert result.code == ExitCode.USAGE and "identity token" in result.err
    _nothing_pushed(client, image)


def test_keyless_without_log_needs_a_timestamp(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    env = {"SIGSTORE_ID_TOKEN": sigstore_services.mint_token()}
    refused = _sign(sigstore_services, registry, image, env, tmp_path, "--tlog-upload=false")
    assert refused.code == ExitCode.USAGE and "--timestamp-server-url" in refused.err
    tsa = ["--tlog-upload=false", "--timestamp-server-url", sigstore_services.tsa_url]
    accepted = _sign(sigstore_services, registry, image, env, tmp_path, *tsa)
    assert accepted.code == 0, accepted.err


def test_token_not_a_jwt(
    sigstore_services: SigstoreServices,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    secret = "not-a-jwt-but-secret-looking"
    result = _sign(sigstore_services, registry, image, {"SIGSTORE_ID_TOKEN": secret}, tmp_path)
    assert result.code == ExitCode.DATA and "not a JWT" in result.err
    _one_line(result, secret)

"""Identity tokens (claims read without leaking the token) and Sigstore signing configs."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from sealgate.errors import ConfigError, InputError
from sealgate.sigstore_services import (
    IdentityToken,
    Selection,
    ServiceEndpoint,
    parse_signing_config,
    select_services,
)


def _jwt(claims: dict[str, object]) -> str:
    def part(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'ES256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_token_claims_and_proof_subject() -> None:
    token = IdentityToken.parse(_jwt({"iss": "https://i", "sub": "s", "email": "a@b", "exp": 10}))
    assert token.proof_subject == "a@b"
    assert token.expiry == datetime.fromtimestamp(10, tz=UTC)
    assert token.raw not in repr(token)
    workload = IdentityToken.parse(_jwt({"iss": "https://i", "sub": "repo:acme/app"}))
    assert workload.proof_subject == "repo:acme/app"


@pytest.mark.parametrize(
    "raw",
    ["secret-value", "a.b", "!!!.???.sig", _jwt({"sub": "no-issuer"}), "x" * 20000],
)
def test_bad_tokens_never_echo_the_token(raw: str) -> None:
    with pytest.raises(InputError) as caught:
        IdentityToken.parse(raw)
    assert raw[:12] not in str(caught.value)


def test_unverified_email_is_refused() -> None:
    token = IdentityToken.parse(
        _jwt({"iss": "https://i", "sub": "s", "email": "a@b", "email_verified": False})
    )
    with pytest.raises(InputError, match="not verified"):
        _ = token.proof_subject


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _service(url: str, version: int = 1, start: str = "2025-01-01T00:00:00Z") -> dict[str, object]:
    return {"url": url, "majorApiVersion": version, "validFor": {"start": start}}


def test_v02_config_selects_valid_supported_services() -> None:
    doc = {
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [_service("https://fulcio")],
        "rekorTlogUrls": [
            _service("https://rekor-v2", 2),
            _service("https://rekor-old", 1, "2030-01-01T00:00:00Z"),
            _service("https://rekor", 1),
        ],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaUrls": [_service("https://tsa/a"), _service("https://tsa/b")],
        "tsaConfig": {"selector": "EXACT", "count": 2},
    }
    config = parse_signing_config(json.dumps(doc).encode())
    rekor = select_services(
        config.rekor, config.rekor_selection, supported=(1,), now=NOW, kind="Rekor"
    )
    assert [s.url for s in rekor] == ["https://rekor"]
    tsa = select_services(config.tsa, config.tsa_selection, supported=(1,), now=NOW, kind="TSA")
    assert [s.url for s in tsa] == ["https://tsa/a", "https://tsa/b"]


def test_v01_config_and_client_trust_config() -> None:
    inner = {
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.1+json",
        "caUrl": "https://fulcio",
        "tlogUrls": ["https://rekor"],
    }
    wrapped = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "signingConfig": inner,
    }
    config = parse_signing_config(json.dumps(wrapped).encode())
    assert config.fulcio == (ServiceEndpoint("https://fulcio"),)
    assert config.rekor == (ServiceEndpoint("https://rekor"),)


@pytest.mark.parametrize(
    "doc",
    [
        {"mediaType": "application/json"},
        {"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json", "caUrls": [{}]},
        {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "tsaConfig": {"selector": "SOME"},
        },
    ],
)
def test_malformed_configs(doc: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        parse_signing_config(json.dumps(doc).encode())


def test_no_usable_service_or_too_few_is_a_config_error() -> None:
    only_v2 = (ServiceEndpoint("https://rekor-v2", 2),)
    with pytest.raises(ConfigError, match="supported"):
        select_services(only_v2, Selection(), supported=(1,), now=NOW, kind="Rekor")
    one = (ServiceEndpoint("https://tsa"),)
    with pytest.raises(ConfigError, match="asks for 2"):
        select_services(one, Selection("EXACT", 2), supported=(1,), now=NOW, kind="TSA")
    assert select_services((), Selection(), supported=(1,), now=NOW, kind="TSA") == []

"""The Sigstore service transport: caps, deadlines, status mapping, no secret in messages."""

from __future__ import annotations

import httpx
import pytest

from sealgate.deadline import Deadline
from sealgate.errors import (
    DeadlineExceeded,
    LimitExceeded,
    ServiceError,
    ServiceRefused,
    ServiceUnreachable,
)
from sealgate.sigstore_services import ServiceTransport, public_url

SECRET = "eyJhbGciOi.secret-token.value"


def _transport(handler: httpx.MockTransport) -> ServiceTransport:
    return ServiceTransport(timeout_s=5, transport=handler)


def _request(transport: ServiceTransport, **options: object) -> object:
    return transport.request(
        "Fulcio",
        "POST",
        "https://user:pw@fulcio.example/api/v2/signingCert?token=x",
        deadline=options.pop("deadline", Deadline.none()),  # type: ignore[arg-type]
        max_bytes=options.pop("max_bytes", 1024),  # type: ignore[arg-type]
        secrets=(SECRET,),
        **options,  # type: ignore[arg-type]
    )


def test_public_url_drops_query_and_credentials() -> None:
    assert public_url("https://u:p@h.example:8443/a/b?q=1#f") == "https://h.example:8443/a/b"


def test_refusal_names_service_status_and_redacts_echoed_token() -> None:
    body = {"message": f"token {SECRET} has expired\nsecond line"}
    refusing = httpx.MockTransport(lambda r: httpx.Response(401, json=body))
    with _transport(refusing) as t, pytest.raises(ServiceRefused) as caught:
        _request(t)
    text = str(caught.value)
    assert "Fulcio at https://fulcio.example/api/v2/signingCert answered HTTP 401" in text
    assert SECRET not in text and "[redacted]" in text and "\n" not in text
    assert "pw" not in text and "token=x" not in text


def test_server_error_is_could_not_check() -> None:
    failing = httpx.MockTransport(lambda r: httpx.Response(503, text="busy"))
    with _transport(failing) as t, pytest.raises(ServiceError) as caught:
        _request(t)
    assert caught.value.status == 503


def test_answer_over_cap_is_refused_while_reading() -> None:
    big = httpx.Response(200, content=b"x" * 4096, headers={"content-length": "4096"})
    with _transport(httpx.MockTransport(lambda r: big)) as t, pytest.raises(LimitExceeded):
        _request(t, max_bytes=100)


def test_connection_failure_and_timeout() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with _transport(httpx.MockTransport(refuse)) as t, pytest.raises(ServiceUnreachable):
        _request(t)
    with _transport(httpx.MockTransport(slow)) as t, pytest.raises(DeadlineExceeded):
        _request(t)


def test_spent_deadline_sends_nothing() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    spent = Deadline(expires_at=0.0, clock=lambda: 1.0)
    with _transport(httpx.MockTransport(record)) as t, pytest.raises(DeadlineExceeded):
        _request(t, deadline=spent)
    assert sent == []

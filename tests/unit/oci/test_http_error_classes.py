"""Which error class an HTTP failure becomes: what the gate reports as the reason.

401/403 after the auth dance are ``Unauthorized`` (we could not look), never a registry
outage; anything foreign escaping the transport is a bug, ``InternalError`` (exit 70).
"""

from __future__ import annotations

import httpx
import pytest

from sealgate.errors import InternalError, Unauthorized
from sealgate.oci import Reference
from tests.unit.oci.conftest import MockRegistry
from tests.unit.oci.test_http_backend import MANIFEST_DIGEST, oci_error

REF = Reference.parse("registry.test/team/app:v1")


@pytest.mark.parametrize(("status", "code"), [(401, "UNAUTHORIZED"), (403, "DENIED")])
def test_refusals_after_the_auth_dance_are_unauthorized(
    mock_registry: MockRegistry, status: int, code: str
) -> None:
    client = mock_registry.client(lambda r: oci_error(status, code, "line one\nline two"))
    for call in (
        lambda: client.get_manifest(REF),
        lambda: client.resolve(REF.with_digest(MANIFEST_DIGEST)),
        lambda: client.blob_exists(REF, MANIFEST_DIGEST),
        lambda: client.list_tags(REF),
    ):
        with pytest.raises(Unauthorized) as info:
            call()
        assert info.value.status == status
        assert info.value.reason == "unauthorized"
        assert "\n" not in str(info.value) and "registry.test/team/app" in str(info.value)


def test_foreign_exception_is_an_internal_error(mock_registry: MockRegistry) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise ValueError("secret-ish detail")

    client = mock_registry.client(broken)
    with pytest.raises(InternalError) as info:
        client.get_manifest(REF)
    assert "secret-ish" not in str(info.value)
    assert info.value.exit_code == 70 and info.value.reason == "internal"
    assert isinstance(info.value.__cause__, ValueError)

"""Fixtures shared by every test directory: the loopback Sigstore services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sigstore_services import SigstoreServices, start_sigstore_services


@pytest.fixture(scope="session")
def sigstore_session() -> Iterator[SigstoreServices]:
    """Fulcio, Rekor, a TSA and OIDC issuers on loopback, once per session."""
    with start_sigstore_services() as services:
        yield services


@pytest.fixture
def sigstore_services(sigstore_session: SigstoreServices) -> Iterator[SigstoreServices]:
    """The session's services, answering normally when the test starts and after it ends."""
    sigstore_session.reset()
    try:
        yield sigstore_session
    finally:
        sigstore_session.reset()

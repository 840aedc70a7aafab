"""Fixtures for the gate tests (helpers live in fakes.py)."""

from __future__ import annotations

import pytest

from tests.unit.gate.fakes import FakeClock, FakeVerifier


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def verifier() -> FakeVerifier:
    return FakeVerifier()

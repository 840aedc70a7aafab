"""Shared fixtures for the SBOM tests: schema validation of generated documents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from sealgate.sbom import SbomResult


def _validate_cyclonedx(result: SbomResult, version: str = "1.6") -> dict[str, Any]:
    schema = {"1.6": SchemaVersion.V1_6, "1.5": SchemaVersion.V1_5}[version]
    error = JsonStrictValidator(schema).validate_str(result.document.decode())
    assert error is None, str(error)[:2000]
    document: dict[str, Any] = json.loads(result.document)
    assert document["specVersion"] == version
    return document


@pytest.fixture
def validate_cyclonedx() -> Any:
    """Validate a result against the strict CycloneDX JSON schema; return the parsed JSON."""
    return _validate_cyclonedx

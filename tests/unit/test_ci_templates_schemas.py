"""The generated CI templates are valid against the published schemas of their CI systems.

Schemas: GitHub Actions workflows (SchemaStore ``github-workflow.json``), GitLab CI (GitLab's
``ci.json``) and Azure Pipelines (Microsoft's ``azure-pipelines-vscode`` service schema), as
vendored by the ``check-jsonschema`` package (its ``builtin_schemas/vendor``, with their
licences under ``vendor/licenses``), read from that installed package.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import pytest
import yaml

from sealgate.ci import CI_SYSTEMS, PARTS, generate

_SCHEMAS = {
    "github": "github-workflows.json",
    "gitlab": "gitlab-ci.json",
    "azure-devops": "azure-pipelines.json",
}


@functools.cache
def _validator(system: str) -> Any:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendored.joinpath(_SCHEMAS[system]).read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def test_every_ci_system_has_a_schema() -> None:
    assert set(CI_SYSTEMS) == set(_SCHEMAS)


@pytest.mark.parametrize("system", CI_SYSTEMS)
@pytest.mark.parametrize("part", PARTS)
def test_generated_template_is_valid_for_its_ci_system(system: str, part: str) -> None:
    document = yaml.safe_load(generate(system, part=part))  # type: ignore[arg-type]
    errors = sorted(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}"
        for e in _validator(system).iter_errors(document)
    )
    assert errors == []


@pytest.mark.parametrize("system", CI_SYSTEMS)
def test_the_schema_check_can_fail(system: str) -> None:
    # A template broken on purpose is caught: the validation is not vacuous.
    cases: dict[str, dict[str, Any]] = {
        "github": {"on": "push", "jobs": {"x": {"runs-on": 3, "steps": "nope"}}},
        "gitlab": {"job": {"script": 42, "when": "sometimes"}},
        "azure-devops": {"steps": [{"bash": ["not", "a", "string"]}]},
    }
    broken = cases[system]
    assert list(_validator(system).iter_errors(broken))

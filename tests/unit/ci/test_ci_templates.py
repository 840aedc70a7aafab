"""CI templates are valid YAML and wire the commands and native report features."""

from __future__ import annotations

import pytest
import yaml

from sealgate.ci import CI_SYSTEMS, GATE_FLAGS, PARTS, generate
from sealgate.errors import UsageError


@pytest.mark.parametrize("system", CI_SYSTEMS)
@pytest.mark.parametrize("part", PARTS)
def test_every_template_is_valid_yaml(system: str, part: str) -> None:
    text = generate(system, part=part)  # type: ignore[arg-type]
    assert isinstance(yaml.safe_load(text), dict)
    assert "\t" not in text


@pytest.mark.parametrize("system", CI_SYSTEMS)
def test_sign_part_signs_and_attests_by_digest(system: str) -> None:
    text = generate(system, part="sign")  # type: ignore[arg-type]
    assert 'IMAGE_REF="$(sealgate triangulate --type digest "$IMAGE")"' in text
    assert 'sealgate sign --key env://COSIGN_PRIVATE_KEY "$IMAGE_REF"' in text
    assert "sealgate attest --sbom --type cyclonedx --key env://COSIGN_PRIVATE_KEY" in text
    assert 'case "${COSIGN_PRIVATE_KEY:-}" in' in text and "exit 0" in text


@pytest.mark.parametrize("system", CI_SYSTEMS)
def test_verify_part_runs_the_gate_and_keeps_reports(system: str) -> None:
    text = generate(system, part="verify")  # type: ignore[arg-type]
    assert 'sealgate gate --config "$SEALGATE_CONFIG" --env "$SEALGATE_ENV"' in text
    assert "COSIGN_VERIFY_DISABLED" in text
    assert 'exit "$status"' in text  # the gate's own exit code (2 = blocked) reaches CI
    for flag in GATE_FLAGS[:-1]:
        assert flag in text


def test_native_features_per_system() -> None:
    azure = yaml.safe_load(generate("azure-devops", part="verify"))
    publish = azure["steps"][1]
    assert publish["task"] == "PublishTestResults@2"
    assert publish["condition"] == "succeededOrFailed()"
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    assert (
        "--vso" in azure["steps"][0]["bash"] and "task.uploadsummary" in azure["steps"][0]["bash"]
    )

    github = yaml.safe_load(generate("github", part="verify"))
    steps = github["jobs"]["verify"]["steps"]
    assert 'SUMMARY="$GITHUB_STEP_SUMMARY"' in steps[2]["run"]
    assert steps[3]["if"] == "always()"
    assert "workflow_call" in github["on"]

    gitlab = yaml.safe_load(generate("gitlab", part="verify"))
    assert gitlab[".sealgate-verify"]["artifacts"]["reports"]["junit"] == "sealgate-junit.xml"
    assert gitlab[".sealgate-verify"]["artifacts"]["when"] == "always"


def test_pipelines_wire_sign_then_verify_then_deploy() -> None:
    azure = yaml.safe_load(generate("azure-devops"))
    deploy_steps = azure["stages"][1]["jobs"][0]["steps"]
    assert "sealgate gate" in deploy_steps[0]["bash"]
    helm = deploy_steps[-1]["bash"]
    assert helm.startswith("helm upgrade")
    assert (
        "--post-renderer-args helm-postrender" in helm
        and "--env=${{ parameters.environment }}" in helm
    )
    gitlab = yaml.safe_load(generate("gitlab"))
    assert gitlab["deploy-staging2"]["needs"] == ["verify-staging2"]
    assert "--post-renderer-args --env=staging2" in gitlab["deploy-staging2"]["script"][0]
    github = yaml.safe_load(generate("github"))
    assert github["jobs"]["verify-staging2"]["needs"] == "sign"


def test_version_is_pinned_and_unknowns_are_usage_errors() -> None:
    assert '"sealgate==9.9.9"' in generate("github", part="sign", sealgate_version="9.9.9")
    with pytest.raises(UsageError, match="unknown CI system"):
        generate("jenkins")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="unknown template part"):
        generate("gitlab", part="deploy")  # type: ignore[arg-type]

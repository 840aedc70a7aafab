"""Ready-to-commit CI definitions: sign-and-attest after push, the gate before each deploy.

``generate(system, part=...)`` returns YAML text for Azure DevOps, GitHub Actions or GitLab
CI. ``part="sign"`` and ``part="verify"`` are reusable pieces (Azure step templates, GitHub
reusable workflows, GitLab hidden jobs to ``extends:``); ``part="pipeline"`` is a complete
example wiring both around a Helm deploy. Unit tests parse every output with
``yaml.safe_load`` so they never rot.

The templates rely on these CLI behaviours (kept in one place, :data:`GATE_FLAGS`):

* ``sealgate sign``/``attest`` soft-skip when ``COSIGN_PRIVATE_KEY`` is empty; the templates
  also skip explicitly, and treat an unexpanded Azure macro (``$(secret)``) as empty;
* ``sealgate triangulate --type digest IMAGE`` prints ``registry/repo@sha256:...``;
* ``sealgate gate`` reads ``COSIGN_VERIFY_DISABLED`` from the environment (audited bypass)
  and writes ``--junit``/``--markdown``/``--pin-output`` files even when it blocks (exit 2);
  ``--vso`` prints Azure ``##vso[task.logissue]`` lines;
* ``sealgate helm-postrender --env NAME`` (Helm ``--post-renderer``) re-checks the rendered
  manifests and pins every image by digest, so the tag verified is the image deployed.
"""

from __future__ import annotations

from typing import Literal

from sealgate.ci.keyless import azure_keyless_sign, github_keyless_sign, gitlab_keyless_sign
from sealgate.errors import UsageError

__all__ = ["CI_SYSTEMS", "GATE_FLAGS", "PARTS", "CISystem", "Part", "generate"]

CISystem = Literal["azure-devops", "github", "gitlab"]
Part = Literal["pipeline", "sign", "sign-keyless", "verify"]
CI_SYSTEMS: tuple[CISystem, ...] = ("azure-devops", "github", "gitlab")
PARTS: tuple[Part, ...] = ("pipeline", "sign", "sign-keyless", "verify")

#: Gate flags the templates use; the CLI must accept them.
GATE_FLAGS = ("--config", "--env", "--junit", "--markdown", "--pin-output", "--vso")

_SIGN_SCRIPT = """\
set -euo pipefail
@PRE@case "${COSIGN_PRIVATE_KEY:-}" in
  ""|'$('*)
    echo "@WARN@sealgate: COSIGN_PRIVATE_KEY is empty: $IMAGE not signed (feature/PR build)"
    exit 0 ;;
esac
IMAGE_REF="$(sealgate triangulate --type digest "$IMAGE")"
sealgate sign --key env://COSIGN_PRIVATE_KEY "$IMAGE_REF"
sealgate attest --sbom --type cyclonedx --key env://COSIGN_PRIVATE_KEY "$IMAGE_REF"
"""

_GATE_SCRIPT = """\
set -uo pipefail
@PRE@status=0
sealgate gate --config "$SEALGATE_CONFIG" --env "$SEALGATE_ENV" \\
  --junit "$OUT/sealgate-junit.xml" --markdown "$SUMMARY" \\
  --pin-output "$OUT/sealgate-pins.yaml"@EXTRA@ || status=$?
@AFTER@exit "$status"
"""

_INSTALL = 'python3 -m pip install --disable-pip-version-check --quiet "sealgate==@VERSION@"'


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def _sign(warn: str, pre: str = "") -> str:
    return _SIGN_SCRIPT.replace("@WARN@", warn).replace("@PRE@", pre)


def _gate(extra: str = "", after: str = "", pre: str = "") -> str:
    script = _GATE_SCRIPT.replace("@EXTRA@", extra).replace("@AFTER@", after)
    return script.replace("@PRE@", pre)


# --- Azure DevOps ------------------------------------------------------------------------

_AZ_WARN = "##vso[task.logissue type=warning]"
_AZ_AFTER = 'if [ -f "$SUMMARY" ]; then echo "##vso[task.uploadsummary]$SUMMARY"; fi\n'


def _azure_sign_steps() -> str:
    script = _sign(_AZ_WARN, _INSTALL + "\n")
    return f"""\
- bash: |
{_indent(script, 4)}  displayName: Sign and attest ${{{{ parameters.image }}}}
  env:
    IMAGE: ${{{{ parameters.image }}}}
    COSIGN_PRIVATE_KEY: $(${{{{ parameters.privateKeySecret }}}})
    COSIGN_PASSWORD: $(${{{{ parameters.passwordSecret }}}})
"""


def _azure_verify_steps() -> str:
    script = _gate(" --vso", _AZ_AFTER, _INSTALL + "\n")
    return f"""\
# Registry credentials come from the Docker config (run Docker@2 login first).
# COSIGN_VERIFY_DISABLED=true as a pipeline variable (exported automatically) is the audited
# emergency bypass; environments with allowBypass: false refuse it.
- bash: |
{_indent(script, 4)}  displayName: Verify image signatures (${{{{ parameters.environment }}}})
  env:
    SEALGATE_ENV: ${{{{ parameters.environment }}}}
    SEALGATE_CONFIG: ${{{{ parameters.config }}}}
    OUT: $(Agent.TempDirectory)
    SUMMARY: $(Agent.TempDirectory)/sealgate-summary.md
- task: PublishTestResults@2
  displayName: Publish signature verification results
  condition: succeededOrFailed()
  inputs:
    testResultsFormat: JUnit
    testResultsFiles: $(Agent.TempDirectory)/sealgate-junit.xml
    testRunTitle: sealgate gate ${{{{ parameters.environment }}}}
    failTaskOnFailedTests: false
"""


_AZ_SIGN_PARAMS = """\
  - name: image
    type: string
  - name: privateKeySecret
    type: string
    default: cosign-private-key
  - name: passwordSecret
    type: string
    default: cosign-password
"""
_AZ_VERIFY_PARAMS = """\
  - name: environment
    type: string
  - name: config
    type: string
    default: sealgate.yaml
"""


def _azure(part: Part) -> str:
    if part == "sign":
        return (
            "# sealgate step template: sign and attest an image right after `docker push`.\n"
            f"parameters:\n{_AZ_SIGN_PARAMS}steps:\n{_indent(_azure_sign_steps(), 2)}"
        )
    if part == "verify":
        return (
            "# sealgate step template: verify every image of an environment before HelmDeploy.\n"
            f"parameters:\n{_AZ_VERIFY_PARAMS}steps:\n{_indent(_azure_verify_steps(), 2)}"
        )
    params = _AZ_SIGN_PARAMS.replace("  - name: image\n    type: string\n", "") + _AZ_VERIFY_PARAMS
    params = params.replace("  - name: environment\n    type: string\n", "")
    sign = _azure_sign_steps().replace("${{ parameters.image }}", "$(IMAGE)")
    verify = _azure_verify_steps()
    return f"""\
# sealgate: sign at push time, verify before every Helm deploy (Azure DevOps).
parameters:
{params}  - name: environment
    type: string
    default: staging2
trigger:
  branches:
    include: [main]
variables:
  IMAGE: myregistry.azurecr.io/app:$(Build.BuildId)
stages:
  - stage: build
    jobs:
      - job: build_sign
        pool:
          vmImage: ubuntu-latest
        steps:
          - script: docker build -t "$(IMAGE)" . && docker push "$(IMAGE)"
            displayName: Build and push
{_indent(sign, 10)}  - stage: deploy
    dependsOn: build
    jobs:
      - job: deploy
        pool:
          vmImage: ubuntu-latest
        steps:
{_indent(verify, 10)}          # helm itself, not HelmDeploy@0: that task needs a service
          # connection this template cannot know. Point KUBECONFIG at your cluster.
          - bash: |
              helm upgrade --install app deploy/chart \\
                --post-renderer sealgate --post-renderer-args helm-postrender \\
                --post-renderer-args --env=${{{{ parameters.environment }}}}
            displayName: Helm upgrade (images pinned to verified digests)
"""


# --- GitHub Actions ----------------------------------------------------------------------

_GH_SUMMARY = 'SUMMARY="$GITHUB_STEP_SUMMARY"\n'
_GH_LOGIN = """\
- name: Install sealgate
  run: @INSTALL@
"""


def _github_sign_steps() -> str:
    return (
        _GH_LOGIN.replace("@INSTALL@", _INSTALL)
        + f"""\
- name: Sign and attest
  env:
    IMAGE: ${{{{ inputs.image }}}}
    COSIGN_PRIVATE_KEY: ${{{{ secrets.COSIGN_PRIVATE_KEY }}}}
    COSIGN_PASSWORD: ${{{{ secrets.COSIGN_PASSWORD }}}}
    SEALGATE_REGISTRY_USERNAME: ${{{{ github.actor }}}}
    SEALGATE_REGISTRY_PASSWORD: ${{{{ secrets.REGISTRY_PASSWORD || github.token }}}}
  run: |
{_indent(_sign("::warning::"), 4)}"""
    )


def _github_verify_steps() -> str:
    return (
        "- uses: actions/checkout@v4  # pin to a commit SHA in your repository\n"
        + _GH_LOGIN.replace("@INSTALL@", _INSTALL)
        + f"""\
- name: Verify image signatures
  env:
    SEALGATE_ENV: ${{{{ inputs.environment }}}}
    SEALGATE_CONFIG: ${{{{ inputs.config }}}}
    OUT: ${{{{ runner.temp }}}}
    COSIGN_VERIFY_DISABLED: ${{{{ vars.COSIGN_VERIFY_DISABLED }}}}
    SEALGATE_REGISTRY_USERNAME: ${{{{ github.actor }}}}
    SEALGATE_REGISTRY_PASSWORD: ${{{{ secrets.REGISTRY_PASSWORD || github.token }}}}
  run: |
{_indent(_gate(pre=_GH_SUMMARY), 4)}- name: Keep verification results
  if: always()
  uses: actions/upload-artifact@v4  # pin to a commit SHA in your repository
  with:
    name: sealgate-${{{{ inputs.environment }}}}
    path: |
      ${{{{ runner.temp }}}}/sealgate-junit.xml
      ${{{{ runner.temp }}}}/sealgate-pins.yaml
"""
    )


def _github(part: Part) -> str:
    sign_inputs = "      image:\n        type: string\n        required: true\n"
    verify_inputs = (
        "      environment:\n        type: string\n        required: true\n"
        "      config:\n        type: string\n        default: sealgate.yaml\n"
    )
    secrets = (
        "    secrets:\n      COSIGN_PRIVATE_KEY:\n        required: false\n"
        "      COSIGN_PASSWORD:\n        required: false\n"
        "      REGISTRY_PASSWORD:\n        required: false\n"
    )
    if part in ("sign", "verify"):
        inputs = sign_inputs if part == "sign" else verify_inputs
        steps = _github_sign_steps() if part == "sign" else _github_verify_steps()
        env_line = "" if part == "sign" else "    environment: ${{ inputs.environment }}\n"
        packages = "write" if part == "sign" else "read"
        purpose = "sign and attest after push" if part == "sign" else "verify before deploy"
        return f"""\
# sealgate reusable workflow: {purpose}.
name: sealgate {part}
"on":
  workflow_call:
    inputs:
{inputs}{secrets}permissions:
  contents: read
  packages: {packages}
jobs:
  {part}:
    runs-on: ubuntu-latest
{env_line}    steps:
{_indent(steps, 6)}"""
    return """\
# sealgate: sign at push time, verify before every deploy (GitHub Actions).
name: build-sign-deploy
"on":
  push:
    branches: [main]
permissions:
  contents: read
  packages: write
jobs:
  sign:
    uses: ./.github/workflows/sealgate-sign.yml
    with:
      image: ghcr.io/${{ github.repository }}:${{ github.sha }}
    secrets: inherit
  verify-staging2:
    needs: sign
    uses: ./.github/workflows/sealgate-verify.yml
    with:
      environment: staging2
    secrets: inherit
"""


# --- GitLab CI ---------------------------------------------------------------------------

_GL_HIDDEN = """\
.sealgate:
  image: python:3.12-slim
  variables:
    SEALGATE_VERSION: "@VERSION@"
  before_script:
    - python3 -m pip install --disable-pip-version-check --quiet "sealgate==${SEALGATE_VERSION}"
"""


def _gitlab_sign() -> str:
    return f"""\
.sealgate-sign:
  extends: .sealgate
  variables:
    IMAGE: $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA
    SEALGATE_REGISTRY_USERNAME: $CI_REGISTRY_USER
    SEALGATE_REGISTRY_PASSWORD: $CI_REGISTRY_PASSWORD
  script:
    - |
{_indent(_sign("WARNING: "), 6)}"""


def _gitlab_verify() -> str:
    return f"""\
.sealgate-verify:
  extends: .sealgate
  variables:
    SEALGATE_CONFIG: sealgate.yaml
    OUT: $CI_PROJECT_DIR
    SUMMARY: $CI_PROJECT_DIR/sealgate-summary.md
    SEALGATE_REGISTRY_USERNAME: $CI_REGISTRY_USER
    SEALGATE_REGISTRY_PASSWORD: $CI_REGISTRY_PASSWORD
  script:
    - |
{_indent(_gate(), 6)}  artifacts:
    when: always
    paths: [sealgate-summary.md, sealgate-pins.yaml]
    reports:
      junit: sealgate-junit.xml
"""


def _gitlab(part: Part) -> str:
    header = "# sealgate: COSIGN_VERIFY_DISABLED=true (a CI/CD variable) is the audited bypass.\n"
    if part == "sign":
        return header + _GL_HIDDEN + _gitlab_sign()
    if part == "verify":
        return header + _GL_HIDDEN + _gitlab_verify()
    return (
        header
        + "stages: [build, sign, verify, deploy]\n"
        + _GL_HIDDEN
        + _gitlab_sign()
        + _gitlab_verify()
        + """\
sign-and-attest:
  stage: sign
  extends: .sealgate-sign
verify-staging2:
  stage: verify
  extends: .sealgate-verify
  variables:
    SEALGATE_ENV: staging2
deploy-staging2:
  stage: deploy
  needs: [verify-staging2]
  script:
    - helm upgrade --install app deploy/chart --post-renderer sealgate
      --post-renderer-args helm-postrender --post-renderer-args --env=staging2
"""
    )


def generate(system: CISystem, *, part: Part = "pipeline", sealgate_version: str = "0.1.0") -> str:
    """Return CI YAML for ``system``.

    Args:
        system: ``azure-devops``, ``github`` or ``gitlab``.
        part: ``pipeline`` (complete example), ``sign``, ``sign-keyless`` (the job's OIDC
            identity instead of a key: :mod:`sealgate.ci.keyless`) or ``verify``.
        sealgate_version: Version pinned in the ``pip install`` lines.

    Returns:
        YAML text, ready to commit.

    Raises:
        UsageError: unknown system or part.
    """
    if part not in PARTS:
        raise UsageError(f"unknown template part {part!r}; choose one of {', '.join(PARTS)}")
    if part == "sign-keyless":
        keyless = {
            "azure-devops": azure_keyless_sign,
            "github": github_keyless_sign,
            "gitlab": gitlab_keyless_sign,
        }.get(system)
        if keyless is None:
            raise UsageError(f"unknown CI system {system!r}; choose one of {', '.join(CI_SYSTEMS)}")
        return keyless(_INSTALL).replace("@VERSION@", sealgate_version)
    builders = {"azure-devops": _azure, "github": _github, "gitlab": _gitlab}
    builder = builders.get(system)
    if builder is None:
        raise UsageError(f"unknown CI system {system!r}; choose one of {', '.join(CI_SYSTEMS)}")
    return builder(part).replace("@VERSION@", sealgate_version)

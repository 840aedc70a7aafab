"""Keyless signing steps for each CI system: the pipeline's OIDC identity instead of a key.

``sealgate sign``/``attest`` with no key and ``SEALGATE_KEYLESS=true`` get a short-lived Fulcio
certificate for the job's OIDC token, sign, and log to Rekor. Each system hands the token over
its own way: GitHub Actions through ``ACTIONS_ID_TOKEN_REQUEST_*`` (the job needs
``id-token: write``), GitLab through an ``id_tokens`` entry named ``SIGSTORE_ID_TOKEN`` with
audience ``sigstore``, Azure DevOps through the pipeline's OIDC request endpoint
(``SYSTEM_OIDCREQUESTURI`` with ``System.AccessToken``) for a service connection whose issuer a
private Fulcio trusts. Verification then names the identity (``--certificate-identity`` or the
gate config's ``identities``) instead of a public key.
"""

from __future__ import annotations

__all__ = ["azure_keyless_sign", "github_keyless_sign", "gitlab_keyless_sign"]

_SCRIPT = """\
set -euo pipefail
@PRE@IMAGE_REF="$(sealgate triangulate --type digest "$IMAGE")"
sealgate sign --yes@SERVICES@ "$IMAGE_REF"
sealgate attest --yes@SERVICES@ --sbom --type cyclonedx "$IMAGE_REF"
"""
_PRIVATE_SERVICES = ' --fulcio-url "$FULCIO_URL" --rekor-url "$REKOR_URL"'


def _script(pre: str = "", services: str = "") -> str:
    return _SCRIPT.replace("@PRE@", pre).replace("@SERVICES@", services)


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def github_keyless_sign(install: str) -> str:
    """A reusable GitHub Actions workflow that signs with the job's OIDC identity."""
    return f"""\
# sealgate reusable workflow: keyless sign and attest after push (Fulcio + Rekor).
# Verify with: --certificate-identity-regexp "^https://github.com/<org>/<repo>/" \\
#   --certificate-oidc-issuer https://token.actions.githubusercontent.com
"on":
  workflow_call:
    inputs:
      image:
        type: string
        required: true
    secrets:
      REGISTRY_PASSWORD:
        required: false
jobs:
  sign:
    runs-on: ubuntu-latest
    permissions:
      id-token: write   # the OIDC token Fulcio certifies
      packages: write
      contents: read
    steps:
      - uses: actions/setup-python@v5  # pin to a commit SHA in your repository
        with:
          python-version: "3.12"
      - name: Install sealgate
        run: {install}
      - name: Keyless sign and attest
        env:
          IMAGE: ${{{{ inputs.image }}}}
          SEALGATE_KEYLESS: "true"
          SEALGATE_REGISTRY_USERNAME: ${{{{ github.actor }}}}
          SEALGATE_REGISTRY_PASSWORD: ${{{{ secrets.REGISTRY_PASSWORD || github.token }}}}
        run: |
{_indent(_script(), 10)}"""


def gitlab_keyless_sign(install: str) -> str:
    """A GitLab CI hidden job that signs with the pipeline's ``id_tokens`` identity."""
    return f"""\
# sealgate: keyless sign and attest (Fulcio + Rekor) with the job's OIDC identity.
# Verify with: --certificate-identity "https://gitlab.com/<group>/<project>//.gitlab-ci.yml@refs/heads/main"
#   --certificate-oidc-issuer https://gitlab.com
.sealgate-sign-keyless:
  image: python:3.12-slim
  id_tokens:
    SIGSTORE_ID_TOKEN:
      aud: sigstore
  variables:
    IMAGE: $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA
    SEALGATE_KEYLESS: "true"
    SEALGATE_REGISTRY_USERNAME: $CI_REGISTRY_USER
    SEALGATE_REGISTRY_PASSWORD: $CI_REGISTRY_PASSWORD
  before_script:
    - {install}
  script:
    - |
{_indent(_script(), 6)}"""


def azure_keyless_sign(install: str) -> str:
    """Azure DevOps steps that sign with the pipeline's workload identity (a private Fulcio)."""
    script = _script(install + "\n", _PRIVATE_SERVICES)
    return f"""\
# sealgate step template: keyless sign and attest with the pipeline's workload identity.
# Azure DevOps OIDC tokens have audience api://AzureADTokenExchange: point --fulcio-url (or a
# SigningConfig) at a Fulcio configured to accept that issuer and audience.
parameters:
  - name: image
    type: string
  - name: fulcioUrl
    type: string
  - name: rekorUrl
    type: string
  - name: serviceConnectionId
    type: string
steps:
  - bash: |
{_indent(script, 6)}    displayName: Keyless sign and attest ${{{{ parameters.image }}}}
    env:
      IMAGE: ${{{{ parameters.image }}}}
      SEALGATE_KEYLESS: "true"
      SYSTEM_ACCESSTOKEN: $(System.AccessToken)
      SEALGATE_AZURE_SERVICE_CONNECTION_ID: ${{{{ parameters.serviceConnectionId }}}}
      FULCIO_URL: ${{{{ parameters.fulcioUrl }}}}
      REKOR_URL: ${{{{ parameters.rekorUrl }}}}
"""

"""Test OIDC issuers: ES256 JWTs (PyJWT), and the CI endpoints that hand them out.

Three issuers share one loopback service, each with its own key: ``email`` (tokens with an
``email`` claim, like Google or Dex), ``github`` (GitHub Actions workflow claims) and ``ci``
(a URI subject, like Azure DevOps workload identity or Buildkite). The service also plays the
CI systems' token endpoints:

* ``GET /github/token?audience=A`` with ``Authorization: bearer <request token>`` answers
  ``{"value": jwt}``, as ``ACTIONS_ID_TOKEN_REQUEST_URL`` does;
* ``POST /azure/oidctoken?api-version=7.1-preview.1[&serviceConnectionId=ID]`` with
  ``Authorization: Bearer <System.AccessToken>`` answers ``{"oidcToken": jwt}`` (audience
  ``api://AzureADTokenExchange``, as Azure DevOps issues it), as ``SYSTEM_OIDCREQUESTURI`` does.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, TypedDict

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.sigstore_services.http import HttpError, LoopbackService, Request, Response

__all__ = [
    "AZURE_ACCESS_TOKEN",
    "AZURE_AUDIENCE",
    "GITHUB_REQUEST_TOKEN",
    "OidcIssuers",
    "TestIssuer",
    "github_claims",
]

AZURE_AUDIENCE = "api://AzureADTokenExchange"
#: The bearer secrets the CI token endpoints accept (stand-ins for the CI systems' own).
GITHUB_REQUEST_TOKEN = "gh-request-token-for-tests"
AZURE_ACCESS_TOKEN = "azure-system-access-token-for-tests"


@dataclass
class TestIssuer:
    """One issuer: its ``iss`` URL and signing key."""

    __test__ = False

    issuer: str
    key: ec.EllipticCurvePrivateKey
    kid: str

    def mint(
        self,
        subject: str,
        *,
        audience: str = "sigstore",
        lifetime_s: int = 600,
        issued_at: float | None = None,
        **claims: Any,
    ) -> str:
        """A signed JWT; ``issued_at`` in the past (and a short lifetime) makes it expired."""
        now = int(time.time() if issued_at is None else issued_at)
        body = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": self.kid})


class GithubClaims(TypedDict):
    """The GitHub Actions workflow claims Fulcio requires (all strings)."""

    job_workflow_ref: str
    job_workflow_sha: str
    sha: str
    event_name: str
    repository: str
    workflow: str
    ref: str
    runner_environment: str
    repository_id: str
    repository_owner: str
    repository_owner_id: str
    repository_visibility: str
    workflow_ref: str
    workflow_sha: str
    run_id: str
    run_attempt: str


def github_claims(
    repository: str = "acme/app", ref: str = "refs/heads/main", sha: str = "a" * 40
) -> GithubClaims:
    """The claims GitHub Actions puts in a workflow token (those Fulcio requires)."""
    owner = repository.split("/", maxsplit=1)[0]
    workflow_ref = f"{repository}/.github/workflows/release.yml@{ref}"
    return {
        "job_workflow_ref": workflow_ref,
        "job_workflow_sha": sha,
        "sha": sha,
        "event_name": "push",
        "repository": repository,
        "workflow": "release",
        "ref": ref,
        "runner_environment": "github-hosted",
        "repository_id": "1234",
        "repository_owner": owner,
        "repository_owner_id": "5678",
        "repository_visibility": "private",
        "workflow_ref": workflow_ref,
        "workflow_sha": sha,
        "run_id": "42",
        "run_attempt": "1",
    }


class OidcIssuers:
    """The issuers and the CI token endpoints, on one loopback service."""

    def __init__(self) -> None:
        self.service = LoopbackService(
            "oidc",
            {
                ("GET", "/github/token"): self._github_token,
                ("POST", "/azure/oidctoken"): self._azure_token,
            },
        )
        base = self.service.url
        self.issuers = {
            name: TestIssuer(f"{base}/{name}", ec.generate_private_key(ec.SECP256R1()), name)
            for name in ("email", "github", "ci")
        }

    @property
    def email(self) -> TestIssuer:
        return self.issuers["email"]

    @property
    def github(self) -> TestIssuer:
        return self.issuers["github"]

    @property
    def ci(self) -> TestIssuer:
        return self.issuers["ci"]

    @property
    def github_request_url(self) -> str:
        """What GitHub puts in ``ACTIONS_ID_TOKEN_REQUEST_URL`` (it already has a query)."""
        return f"{self.service.url}/github/token?api-version=2.0"

    @property
    def azure_request_uri(self) -> str:
        """What Azure DevOps puts in ``SYSTEM_OIDCREQUESTURI``."""
        return f"{self.service.url}/azure/oidctoken"

    def _github_token(self, request: Request) -> Response:
        if request.bearer() != GITHUB_REQUEST_TOKEN:
            raise HttpError(401, "bad request token")
        audience = request.query.get("audience", ["sigstore"])[0]
        token = self.github.mint(
            "repo:acme/app:ref:refs/heads/main", audience=audience, **github_claims()
        )
        return Response.json(200, {"count": 1, "value": token})

    def _azure_token(self, request: Request) -> Response:
        if request.bearer() != AZURE_ACCESS_TOKEN:
            raise HttpError(401, "bad access token")
        if request.query.get("api-version") != ["7.1-preview.1"]:
            raise HttpError(400, "api-version 7.1-preview.1 required")
        connection = request.query.get("serviceConnectionId", [""])[0]
        subject = f"sc://acme/app/{connection}" if connection else "p://acme/app/release"
        token = self.ci.mint(subject, audience=AZURE_AUDIENCE)
        return Response.json(200, {"oidcToken": token})

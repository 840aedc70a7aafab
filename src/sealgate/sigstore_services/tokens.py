"""OIDC identity tokens for keyless signing, and the CI systems that hand them out.

A token is a JWT; sealgate reads its claims without verifying it (Fulcio verifies it) to sign
the proof of possession over its subject and to word errors. The raw token is a secret: it is
never in a ``repr``, a log line or an error message.

Where tokens come from (values are passed in by the CLI, the only layer that reads the
environment):

* a value or file given by the user (``--identity-token``), or ``SIGSTORE_ID_TOKEN`` (GitLab CI
  sets it through ``id_tokens:``);
* GitHub Actions: ``GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore`` with
  ``Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`` answers ``{"value": jwt}``
  (the job needs ``permissions: id-token: write``);
* Azure DevOps workload identity federation: ``POST
  $SYSTEM_OIDCREQUESTURI?api-version=7.1-preview.1[&serviceConnectionId=ID]`` with
  ``Authorization: Bearer $SYSTEM_ACCESSTOKEN`` answers ``{"oidcToken": jwt}`` (Azure DevOps REST
  API "Oidctoken - Create"). Its audience is always ``api://AzureADTokenExchange``, so only a
  Fulcio configured with that client ID for the Azure DevOps issuer accepts it;
* Buildkite: ``buildkite-agent oidc request-token --audience sigstore`` prints the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sealgate.deadline import Deadline
from sealgate.errors import DeadlineExceeded, InputError, ServiceError, ServiceUnreachable
from sealgate.sigstore_services.transport import ServiceTransport

__all__ = [
    "AZURE_DEVOPS_API_VERSION",
    "IdentityToken",
    "azure_devops_token",
    "buildkite_token",
    "github_actions_token",
]

AZURE_DEVOPS_API_VERSION = "7.1-preview.1"
_MAX_TOKEN_ANSWER = 64 * 1024
_MAX_TOKEN = 16 * 1024


def _segment(text: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InputError(f"the identity token is not a JWT (its {what} cannot be read)") from None
    if not isinstance(doc, dict):
        raise InputError(f"the identity token is not a JWT (its {what} is not an object)")
    return doc


@dataclass(frozen=True)
class IdentityToken:
    """An OIDC identity token and its (unverified) claims.

    Attributes:
        raw: The compact JWT: a secret, kept out of ``repr``.
        claims: The payload's claims.
    """

    raw: str = field(repr=False)
    claims: dict[str, Any] = field(repr=False)

    @classmethod
    def parse(cls, raw: str) -> IdentityToken:
        """Read a compact JWT's claims (no signature check: Fulcio verifies the token).

        Raises:
            InputError: not a three-part JWT with JSON header and payload, too large, or no
                ``iss``/``sub`` claims. The message never contains the token.
        """
        text = raw.strip()
        if len(text) > _MAX_TOKEN:
            raise InputError(f"the identity token is larger than {_MAX_TOKEN} bytes")
        parts = text.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            raise InputError("the identity token is not a JWT (header.payload.signature)")
        _segment(parts[0], "header")
        claims = _segment(parts[1], "payload")
        if not isinstance(claims.get("iss"), str) or not isinstance(claims.get("sub"), str):
            raise InputError("the identity token has no iss or sub claim")
        return cls(text, claims)

    @property
    def issuer(self) -> str:
        return str(self.claims["iss"])

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])

    @property
    def expiry(self) -> datetime | None:
        exp = self.claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool) and 0 <= exp < 2**40:
            return datetime.fromtimestamp(exp, tz=UTC)
        return None

    @property
    def proof_subject(self) -> str:
        """What the proof of possession signs: the email claim, else ``sub`` (Fulcio's rule).

        Raises:
            InputError: the token has an email its issuer did not verify.
        """
        email = self.claims.get("email")
        if isinstance(email, str) and email:
            if self.claims.get("email_verified") is False:
                raise InputError("the identity token's email is not verified by its issuer")
            return email
        return self.subject

    def describe(self) -> str:
        """``subject (issuer)`` for messages: no secret in it."""
        return f"{self.proof_subject} ({self.issuer})"

    def __repr__(self) -> str:
        return f"IdentityToken(issuer={self.issuer!r})"


def _token_from(doc: object, key: str, where: str) -> IdentityToken:
    value = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(value, str) or not value:
        raise ServiceError(f"{where} answered without a token")
    return IdentityToken.parse(value)


def github_actions_token(
    transport: ServiceTransport,
    request_url: str,
    request_token: str,
    *,
    audience: str = "sigstore",
    deadline: Deadline,
) -> IdentityToken:
    """Ask GitHub Actions for an OIDC token (``ACTIONS_ID_TOKEN_REQUEST_URL``/``_TOKEN``).

    Raises:
        ServiceRefused: GitHub refused (the job lacks ``id-token: write``).
        ServiceError: GitHub failed or answered without a token.
        InputError: the token handed out is not a JWT.
        CheckFailed: the endpoint could not be reached in time (subclasses).
    """
    separator = "&" if "?" in request_url else "?"
    url = f"{request_url}{separator}{urlencode({'audience': audience})}"
    answer = transport.request(
        "GitHub Actions OIDC",
        "GET",
        url,
        deadline=deadline,
        max_bytes=_MAX_TOKEN_ANSWER,
        headers={"Authorization": f"bearer {request_token}", "Accept": "application/json"},
        secrets=(request_token,),
        accept=(200,),
    )
    return _token_from(answer.json("GitHub Actions OIDC"), "value", "GitHub Actions OIDC")


def azure_devops_token(
    transport: ServiceTransport,
    request_uri: str,
    access_token: str,
    *,
    service_connection_id: str | None = None,
    deadline: Deadline,
) -> IdentityToken:
    """Ask Azure DevOps for a pipeline OIDC token (``SYSTEM_OIDCREQUESTURI``/``ACCESSTOKEN``).

    Raises:
        ServiceRefused: Azure DevOps refused (no access token mapped into the step, or a
            service connection the pipeline may not use).
        ServiceError: Azure DevOps failed or answered without a token.
        InputError: the token handed out is not a JWT.
        CheckFailed: the endpoint could not be reached in time (subclasses).
    """
    query = {"api-version": AZURE_DEVOPS_API_VERSION}
    if service_connection_id:
        query["serviceConnectionId"] = service_connection_id
    separator = "&" if "?" in request_uri else "?"
    answer = transport.request(
        "Azure DevOps OIDC",
        "POST",
        f"{request_uri}{separator}{urlencode(query)}",
        deadline=deadline,
        max_bytes=_MAX_TOKEN_ANSWER,
        content=b"",
        headers={
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        secrets=(access_token,),
        accept=(200,),
    )
    return _token_from(answer.json("Azure DevOps OIDC"), "oidcToken", "Azure DevOps OIDC")


def buildkite_token(
    *, audience: str = "sigstore", deadline: Deadline, agent: str = "buildkite-agent"
) -> IdentityToken:
    """Ask the Buildkite agent for an OIDC token.

    Raises:
        ServiceUnreachable: the agent is not installed or failed.
        DeadlineExceeded: the agent did not answer in time.
        InputError: what it printed is not a JWT.
    """
    timeout = deadline.timeout(30.0, "buildkite-agent oidc request-token")
    try:
        done = subprocess.run(
            [agent, "oidc", "request-token", "--audience", audience],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise ServiceUnreachable(f"{agent} is not installed (Buildkite OIDC)") from None
    except subprocess.TimeoutExpired:
        raise DeadlineExceeded(f"{agent} oidc request-token: no answer in time") from None
    if done.returncode != 0:
        # Its stderr may quote the job's token: only the exit status is shown.
        raise ServiceUnreachable(f"{agent} oidc request-token exited {done.returncode}")
    return IdentityToken.parse(done.stdout[:_MAX_TOKEN].decode("ascii", "replace"))

"""Fulcio API v2 client: a short-lived code-signing certificate for an identity token.

``POST /api/v2/signingCert`` with the token as a bearer credential and a ``publicKeyRequest``:
the PEM public key and a proof of possession, a signature over the token's subject (its
``email`` claim, else ``sub``), as sigstore-go's ``Fulcio.GetCertificate`` sends it. The answer's
``signedCertificateEmbeddedSct`` (or ``signedCertificateDetachedSct``) chain is leaf first.
``GET /api/v2/trustBundle`` lists the CA chains. (fulcio ``fulcio.proto``; sigstore-go
``pkg/sign/certificate.go``.)
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography import x509

from sealgate.deadline import Deadline
from sealgate.errors import ServiceError
from sealgate.sigstore_services.tokens import IdentityToken
from sealgate.sigstore_services.transport import ServiceTransport

__all__ = ["FulcioClient"]

_MAX_ANSWER = 1024 * 1024  # sigstore-go reads at most 1 MiB
_MAX_CHAIN = 10


def _chain(doc: object) -> list[x509.Certificate]:
    if not isinstance(doc, dict):
        raise ServiceError("Fulcio answered with something that is not a JSON object")
    holder: Any = doc.get("signedCertificateEmbeddedSct") or doc.get("signedCertificateDetachedSct")
    try:
        pems = holder["chain"]["certificates"]
    except (KeyError, TypeError) as exc:
        raise ServiceError("Fulcio's answer holds no certificate chain") from exc
    if not isinstance(pems, list) or not pems or len(pems) > _MAX_CHAIN:
        raise ServiceError("Fulcio's answer holds no usable certificate chain")
    try:
        return [x509.load_pem_x509_certificate(str(pem).encode()) for pem in pems]
    except ValueError as exc:
        raise ServiceError("Fulcio's answer holds a certificate that cannot be parsed") from exc


class FulcioClient:
    """One Fulcio instance."""

    def __init__(self, transport: ServiceTransport, base_url: str) -> None:
        self._transport = transport
        self.base_url = base_url.rstrip("/")

    def signing_certificate(
        self,
        token: IdentityToken,
        public_key_pem: bytes,
        proof_of_possession: bytes,
        *,
        algorithm: str = "ECDSA",
        deadline: Deadline,
    ) -> list[x509.Certificate]:
        """Ask for a certificate for ``public_key_pem``.

        Args:
            token: The identity token (sent as a bearer credential, never logged).
            public_key_pem: The ephemeral public key (PKIX PEM).
            proof_of_possession: The key's signature over ``token.proof_subject``.
            algorithm: Fulcio's ``PublicKeyAlgorithm`` name.
            deadline: The caller's budget.

        Returns:
            The chain, leaf first.

        Raises:
            ServiceRefused: Fulcio refused the token or the request (4xx).
            ServiceError: Fulcio failed (5xx) or answered without a usable chain.
            CheckFailed: Fulcio could not be reached in time (subclasses).
        """
        body = {
            "publicKeyRequest": {
                "publicKey": {"algorithm": algorithm, "content": public_key_pem.decode("ascii")},
                "proofOfPossession": base64.b64encode(proof_of_possession).decode("ascii"),
            }
        }
        answer = self._transport.request(
            "Fulcio",
            "POST",
            f"{self.base_url}/api/v2/signingCert",
            deadline=deadline,
            max_bytes=_MAX_ANSWER,
            content=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {token.raw}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            secrets=(token.raw,),
        )
        return _chain(answer.json("Fulcio"))

    def trust_bundle(self, *, deadline: Deadline) -> list[list[x509.Certificate]]:
        """The CA chains Fulcio issues under.

        Raises:
            ServiceError: Fulcio failed or answered without chains.
            CheckFailed: Fulcio could not be reached in time (subclasses).
        """
        answer = self._transport.request(
            "Fulcio",
            "GET",
            f"{self.base_url}/api/v2/trustBundle",
            deadline=deadline,
            max_bytes=_MAX_ANSWER,
        )
        doc = answer.json("Fulcio")
        chains = doc.get("chains") if isinstance(doc, dict) else None
        if not isinstance(chains, list) or not chains:
            raise ServiceError("Fulcio's trust bundle lists no chains")
        return [_chain({"signedCertificateEmbeddedSct": {"chain": c}}) for c in chains[:8]]

"""A Fulcio-compatible CA on loopback (Fulcio API v2, real crypto).

``POST /api/v2/signingCert`` takes the identity token as a bearer header (sigstore-go,
sealgate) or in ``credentials.oidcIdentityToken`` (the gRPC-gateway body), and either a
``publicKeyRequest`` (PEM public key + ``proofOfPossession``: a signature over the token's email,
or its ``sub`` when there is no email, as Fulcio's challenges check) or a
``certificateSigningRequest`` (base64 PEM CSR, as sigstore-python sends). The token must be
signed by a known test issuer, unexpired, for an accepted audience. The answer is a 10-minute
leaf with Fulcio's extensions (issuer OIDs .1.1 and .1.8, email or URI SAN, GitHub workflow
extensions .1.2-.1.6 and .1.9-.1.22 when the claims are there) and an embedded SCT from the test
CT log, signed through the precertificate flow; chained to a test intermediate and root.
``GET /api/v2/trustBundle`` lists the chain.

Failure modes beyond the common ones: ``wrong_sct`` (SCT from an untrusted CT log key),
``no_sct`` (no SCT extension), ``untrusted_ca`` (issued under a CA outside the trusted root),
``refuse`` (401 for any token).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.pki import Issued, make_ca
from tests.support.sigstore_services.ct import TestCtLog, der_tlv
from tests.support.sigstore_services.http import HttpError, LoopbackService, Request, Response
from tests.support.sigstore_services.oidc import AZURE_AUDIENCE, TestIssuer

__all__ = ["FulcioCa", "pem"]

_OID = "1.3.6.1.4.1.57264.1."
_GITHUB_LEGACY = {2: "event_name", 3: "sha", 4: "workflow", 5: "repository", 6: "ref"}
LEAF_LIFETIME = timedelta(minutes=10)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _utf8(text: str) -> bytes:
    return der_tlv(0x0C, text.encode())


def _ext(number: int, value: bytes) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(f"{_OID}{number}"), value)


def _github_extensions(claims: dict[str, Any]) -> list[x509.ExtensionType]:
    base = "https://github.com/"
    repo = claims["repository"]
    values = {
        9: base + claims["job_workflow_ref"],
        10: claims["job_workflow_sha"],
        11: claims["runner_environment"],
        12: base + repo,
        13: claims["sha"],
        14: claims["ref"],
        15: claims["repository_id"],
        16: base + claims["repository_owner"],
        17: claims["repository_owner_id"],
        18: base + claims["workflow_ref"],
        19: claims["workflow_sha"],
        20: claims["event_name"],
        21: f"{base}{repo}/actions/runs/{claims['run_id']}/attempts/{claims['run_attempt']}",
        22: claims["repository_visibility"],
    }
    legacy: list[x509.ExtensionType] = [
        _ext(n, str(claims[name]).encode()) for n, name in _GITHUB_LEGACY.items()
    ]
    return legacy + [_ext(n, _utf8(str(v))) for n, v in values.items()]


class FulcioCa:
    """The CA, its CT log, the issuers it trusts, and the HTTP service."""

    def __init__(self, issuers: dict[str, TestIssuer]) -> None:
        self.root = make_ca(
            "sealgate-test-fulcio-root", not_before=datetime.now(UTC) - timedelta(days=1)
        )
        self.intermediate = make_ca(
            "sealgate-test-fulcio", parent=self.root, not_before=self.root.cert.not_valid_before_utc
        )
        self.ctlog = TestCtLog()
        self.rogue_ctlog = TestCtLog()
        self.rogue_root = make_ca("rogue-root", not_before=self.root.cert.not_valid_before_utc)
        self.rogue_intermediate = make_ca(
            "rogue", parent=self.rogue_root, not_before=self.root.cert.not_valid_before_utc
        )
        self.issuers = {issuer.issuer: issuer for issuer in issuers.values()}
        #: Accepted audiences; the CI issuer also accepts Azure DevOps' fixed audience, as a
        #: private Fulcio configured with that client ID would.
        self.audiences = {"sigstore", AZURE_AUDIENCE}
        self.issued: list[x509.Certificate] = []
        self.service = LoopbackService(
            "fulcio",
            {
                ("POST", "/api/v2/signingCert"): self._signing_cert,
                ("GET", "/api/v2/trustBundle"): self._trust_bundle,
            },
        )

    # --- token and key ------------------------------------------------------------------------

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            issuer_url = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as exc:
            raise HttpError(401, "identity token is not a JWT") from exc
        issuer = self.issuers.get(str(issuer_url))
        if issuer is None:
            raise HttpError(401, "identity token from an unknown issuer")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                issuer.key.public_key(),
                algorithms=["ES256"],
                audience=sorted(self.audiences),
                issuer=issuer.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise HttpError(401, f"invalid identity token: {exc}") from exc
        return claims

    @staticmethod
    def _key_from_request(doc: dict[str, Any], subject: str) -> Any:
        if "certificateSigningRequest" in doc:
            try:
                csr = x509.load_pem_x509_csr(base64.b64decode(doc["certificateSigningRequest"]))
            except (ValueError, binascii.Error) as exc:
                raise HttpError(400, "certificateSigningRequest is not a PEM CSR") from exc
            if not csr.is_signature_valid:
                raise HttpError(400, "CSR signature does not verify")
            return csr.public_key()
        request = doc.get("publicKeyRequest") or {}
        try:
            key = serialization.load_pem_public_key(request["publicKey"]["content"].encode())
            proof = base64.b64decode(request["proofOfPossession"])
        except (KeyError, TypeError, ValueError, UnsupportedAlgorithm, binascii.Error) as exc:
            raise HttpError(400, "publicKeyRequest is malformed") from exc
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(proof, subject.encode(), ec.ECDSA(hashes.SHA256()))
            elif isinstance(key, rsa.RSAPublicKey):
                from cryptography.hazmat.primitives.asymmetric import padding

                key.verify(proof, subject.encode(), padding.PKCS1v15(), hashes.SHA256())
            else:
                raise HttpError(400, "unsupported public key type")
        except InvalidSignature as exc:
            raise HttpError(400, "proof of possession does not verify") from exc
        return key

    # --- issuance -----------------------------------------------------------------------------

    def _identity(
        self, claims: dict[str, Any]
    ) -> tuple[x509.GeneralName, list[x509.ExtensionType]]:
        if "email" in claims:
            if not claims.get("email_verified", True):
                raise HttpError(401, "email not verified")
            return x509.RFC822Name(claims["email"]), []
        if "job_workflow_ref" in claims:
            uri = "https://github.com/" + claims["job_workflow_ref"]
            return x509.UniformResourceIdentifier(uri), _github_extensions(claims)
        return x509.UniformResourceIdentifier(claims["sub"]), []

    def issue(self, public_key: Any, claims: dict[str, Any]) -> list[x509.Certificate]:
        """Issue a leaf for ``public_key``; returns ``[leaf, intermediate, root]``."""
        ca: Issued = (
            self.rogue_intermediate if self.service.mode == "untrusted_ca" else self.intermediate
        )
        root = self.rogue_root if ca is self.rogue_intermediate else self.root
        san, extra = self._identity(claims)
        now = datetime.now(UTC).replace(microsecond=0)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(ca.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + LEAF_LIFETIME)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
            )
            .add_extension(x509.SubjectAlternativeName([san]), True)
            .add_extension(_ext(1, claims["iss"].encode()), False)
            .add_extension(_ext(8, _utf8(claims["iss"])), False)
        )
        for extension in extra:
            builder = builder.add_extension(extension, False)
        if self.service.mode != "no_sct":
            precert = builder.add_extension(x509.PrecertPoison(), True).sign(
                ca.key, hashes.SHA256()
            )
            log = self.rogue_ctlog if self.service.mode == "wrong_sct" else self.ctlog
            sct = log.sct(precert.public_bytes(serialization.Encoding.DER), ca.cert)
            builder = builder.add_extension(TestCtLog.sct_list_extension([sct]), False)
        leaf = builder.sign(ca.key, hashes.SHA256())
        self.issued.append(leaf)
        return [leaf, ca.cert, root.cert]

    # --- routes -------------------------------------------------------------------------------

    def _signing_cert(self, request: Request) -> Response:
        if self.service.mode == "refuse":
            raise HttpError(401, "identity token refused (test failure mode)")
        doc = request.json()
        if not isinstance(doc, dict):
            raise HttpError(400, "request is not a JSON object")
        token = request.bearer() or (doc.get("credentials") or {}).get("oidcIdentityToken")
        if not token:
            raise HttpError(401, "no identity token")
        claims = self._claims(token)
        subject = claims["email"] if "email" in claims else claims["sub"]
        key = self._key_from_request(doc, subject)
        chain = self.issue(key, claims)
        body = {
            "signedCertificateEmbeddedSct": {"chain": {"certificates": [pem(c) for c in chain]}}
        }
        return Response.json(200, body)

    def _trust_bundle(self, request: Request) -> Response:
        del request
        chain = [pem(self.intermediate.cert), pem(self.root.cert)]
        return Response.json(200, {"chains": [{"certificates": chain}]})

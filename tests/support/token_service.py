"""A small Docker token service on loopback for the registry's ``auth.token`` mode.

It implements the token endpoint of the distribution token authentication spec
(``docs/spec/auth/token.md``, ``jwt.md``): ``GET /token?service=...&scope=...`` with optional
Basic credentials answers ``{"token", "access_token", "expires_in", "issued_at"}``, where the
token is an ES256 JWT carrying ``x5c`` (its signing certificate, which is the registry's
``rootcertbundle``) and an ``access`` claim. Anonymous callers get ``pull`` only; the one
configured user gets what it asks for. It records every request, and can hand out an already
expired token first, so a test sees a client refresh without sleeping.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVICE = "sealgate-test-registry"
ISSUER = "sealgate-test-token-issuer"


@dataclass
class Issued:
    """One token request as the service saw it."""

    account: str
    scopes: list[str]
    granted: list[dict[str, object]]
    expired: bool


@dataclass
class TokenService:
    """The running service; ``realm`` goes into the registry's config."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    cert_path: Path
    username: str
    password: str
    issued: list[Issued] = field(default_factory=list)
    #: Tokens to hand out already expired before valid ones again.
    expired_first: int = 0

    @property
    def realm(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/token"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _signing_identity(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "token-signer.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _grant(scope: str, authenticated: bool) -> dict[str, object] | None:
    parts = scope.split(":")
    if len(parts) != 3 or parts[0] != "repository":
        return None
    wanted = [a for a in parts[2].split(",") if a]
    allowed = wanted if authenticated else [a for a in wanted if a == "pull"]
    return {"type": "repository", "name": parts[1], "actions": allowed}


def start_token_service(directory: Path, username: str, password: str) -> TokenService:
    """Start the service on 127.0.0.1 (a free port); its certificate is written in ``directory``."""
    key, cert = _signing_identity(directory)
    x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")]
    holder: list[TokenService] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            del format, args

        def do_GET(self) -> None:
            service = holder[0]
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path != "/token" or query.get("service") != [SERVICE]:
                self.send_error(404)
                return
            account = ""
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
                if (user, secret) != (service.username, service.password):
                    self.send_error(401)
                    return
                account = user
            scopes = query.get("scope", [])
            granted = [g for s in scopes if (g := _grant(s, bool(account))) is not None]
            expired = service.expired_first > 0
            service.expired_first -= int(expired)
            now = int(time.time())
            lifetime = 300
            claims = {
                "iss": ISSUER,
                "sub": account,
                "aud": SERVICE,
                "iat": now - 3600 if expired else now,
                "nbf": now - 3600 if expired else now - 5,
                "exp": now - 1800 if expired else now + lifetime,
                "jti": uuid.uuid4().hex,
                "access": granted,
            }
            token = jwt.encode(claims, key, algorithm="ES256", headers={"x5c": x5c})
            service.issued.append(Issued(account, scopes, granted, expired))
            body = json.dumps(
                {"token": token, "access_token": token, "expires_in": lifetime}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    service = TokenService(server, thread, directory / "token-signer.pem", username, password)
    holder.append(service)
    thread.start()
    return service

"""The real registry behind distribution token auth, with a loopback token server.

``docker-registry`` is configured with ``auth: token`` (distribution ``docs/spec/auth/token.md``):
a request without a valid bearer token is answered 401 with
``WWW-Authenticate: Bearer realm="http://127.0.0.1:<port>/token",service=...,scope=...``; the
token server here checks Basic credentials and issues an ES256 JWT carrying the certificate
(``x5c``) the registry trusts (``rootcertbundle``) and the access asked for.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.registry_server import REGISTRY_BINARY, free_port

SERVICE = "sealgate-token-registry"
ISSUER = "sealgate-token-issuer"


@dataclass
class TokenRegistry:
    """A registry at ``host`` whose tokens come from ``realm``."""

    host: str
    realm: str
    username: str
    password: str
    #: Token requests seen: (user or "", scopes).
    issued: list[tuple[str, list[str]]]


def _signing_material(workdir: Path) -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealgate test token issuer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (workdir / "token.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _token_server(
    key: ec.EllipticCurvePrivateKey,
    x5c: str,
    username: str,
    password: str,
    issued: list[tuple[str, list[str]]],
) -> ThreadingHTTPServer:
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            del format, args

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            scopes = query.get("scope", [])
            user = username if self.headers.get("Authorization") == expected else ""
            issued.append((user, scopes))
            if not user:
                self._answer(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                return
            access = []
            for scope in scopes:
                kind, name, actions = scope.split(":", 2)
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
            now = int(time.time())
            claims = {
                "iss": ISSUER,
                "sub": user,
                "aud": query.get("service", [SERVICE])[0],
                "exp": now + 300,
                "nbf": now - 10,
                "iat": now,
                "jti": uuid.uuid4().hex,
                "access": access,
            }
            token = jwt.encode(claims, key, algorithm="ES256", headers={"x5c": [x5c]})
            self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def _config(workdir: Path, port: int, realm: str) -> str:
    return "\n".join(
        [
            "version: 0.1",
            "log: {level: info, formatter: text}",
            "storage:",
            f"  filesystem: {{rootdirectory: {workdir / 'storage'}}}",
            "  delete: {enabled: true}",
            "http:",
            f"  addr: 127.0.0.1:{port}",
            "  secret: sealgate-test-secret",
            "auth:",
            "  token:",
            f"    realm: {realm}",
            f"    service: {SERVICE}",
            f"    issuer: {ISSUER}",
            f"    rootcertbundle: {workdir / 'token.pem'}",
            "",
        ]
    )


@contextmanager
def token_registry(workdir: Path, username: str, password: str) -> Iterator[TokenRegistry]:
    """Run the token server and a token-auth registry until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    key, x5c = _signing_material(workdir)
    issued: list[tuple[str, list[str]]] = []
    server = _token_server(key, x5c, username, password, issued)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    realm = f"http://127.0.0.1:{server.server_address[1]}/token"
    port = free_port()
    (workdir / "config.yml").write_text(_config(workdir, port, realm))
    with (workdir / "registry.log").open("ab") as log:
        process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(workdir / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", ""), "OTEL_TRACES_EXPORTER": "none"},
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((workdir / "registry.log").read_text()) from None
                time.sleep(0.05)
        yield TokenRegistry(f"127.0.0.1:{port}", realm, username, password, issued)
    finally:
        process.terminate()
        process.wait(timeout=10)
        server.shutdown()
        server.server_close()

"""Start the real CNCF distribution registry (Debian ``docker-registry``) on loopback.

Variants: plain HTTP, TLS with a throw-away CA made here, and htpasswd basic auth.
Each server gets a free port, a temp storage dir, deletes enabled, and a log file
(``<workdir>/registry.log``) to read when a test fails.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REGISTRY_BINARY = os.environ.get("SEALGATE_TEST_REGISTRY", "/usr/bin/docker-registry")
STARTUP_TIMEOUT_S = 20.0


def registry_available() -> bool:
    """Tell whether the registry binary is installed."""
    return Path(REGISTRY_BINARY).is_file() or shutil.which("docker-registry") is not None


def stop_process(process: subprocess.Popen[bytes], *, grace_s: float = 10) -> None:
    """Terminate ``process`` if it still runs; kill it when it outlasts ``grace_s``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TlsMaterial:
    """A CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_test_ca(directory: Path) -> TlsMaterial:
    """Write a fresh CA and a server certificate (IP SAN 127.0.0.1, DNS localhost)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealgate test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = TlsMaterial(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.server_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def write_htpasswd(path: Path, username: str, password: str) -> None:
    """Write an htpasswd file with one bcrypt entry (the only hash distribution accepts)."""
    import bcrypt

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    path.write_text(f"{username}:{hashed}\n")


@dataclass
class RegistryServer:
    """A running registry; ``host`` is ``127.0.0.1:<port>``."""

    host: str
    workdir: Path
    process: subprocess.Popen[bytes]
    ca: TlsMaterial | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / "registry.log"

    @property
    def storage(self) -> Path:
        return self.workdir / "storage"

    def log(self) -> str:
        """The registry's log so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the registry (and wait, bounded)."""
        stop_process(self.process)


@dataclass(frozen=True)
class TokenAuth:
    """The registry's ``auth.token`` settings (distribution token authentication)."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


def _config(
    workdir: Path,
    port: int,
    ca: TlsMaterial | None,
    htpasswd: Path | None,
    token: TokenAuth | None = None,
) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: info",
        "  formatter: text",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {workdir / 'storage'}",
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        "  secret: sealgate-test-secret",
        "  headers:",
        "    X-Content-Type-Options: [nosniff]",
    ]
    if ca is not None:
        lines += ["  tls:", f"    certificate: {ca.server_cert}", f"    key: {ca.server_key}"]
    if htpasswd is not None:
        lines += ["auth:", "  htpasswd:", "    realm: sealgate-test", f"    path: {htpasswd}"]
    if token is not None:
        lines += [
            "auth:",
            "  token:",
            f"    realm: {token.realm}",
            f"    service: {token.service}",
            f"    issuer: {token.issuer}",
            f"    rootcertbundle: {token.rootcertbundle}",
        ]
    return "\n".join(lines) + "\n"


def _wait_ready(server: RegistryServer) -> None:
    scheme = "https" if server.ca else "http"
    verify: bool | ssl.SSLContext = (
        ssl.create_default_context(cafile=str(server.ca.ca_cert)) if server.ca else False
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"registry exited early:\n{server.log()}")
        try:
            # Any HTTP answer (200, or 401 with auth) means it is serving.
            httpx.get(f"{scheme}://{server.host}/v2/", verify=verify, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"registry not ready after {STARTUP_TIMEOUT_S}s:\n{server.log()}")


def start_registry(
    workdir: Path,
    *,
    tls: bool = False,
    username: str | None = None,
    password: str | None = None,
    token: TokenAuth | None = None,
) -> RegistryServer:
    """Start a registry in ``workdir`` and wait until ``/v2/`` answers.

    Raises:
        RuntimeError: the registry did not start (its log is in the message).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    ca = make_test_ca(workdir / "tls") if tls else None
    htpasswd = None
    if username is not None and password is not None:
        htpasswd = workdir / "htpasswd"
        write_htpasswd(htpasswd, username, password)
    last_error: Exception | None = None
    for _ in range(3):  # a free port can be taken between probe and bind
        port = free_port()
        config = workdir / "config.yml"
        config.write_text(_config(workdir, port, ca, htpasswd, token))
        log = (workdir / "registry.log").open("ab")
        process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", ""), "OTEL_TRACES_EXPORTER": "none"},
        )
        log.close()
        server = RegistryServer(f"127.0.0.1:{port}", workdir, process, ca, username, password)
        try:
            _wait_ready(server)
            return server
        except RuntimeError as e:
            last_error = e
            server.stop()
        except BaseException:
            server.stop()
            raise
    raise RuntimeError(f"could not start registry: {last_error}")

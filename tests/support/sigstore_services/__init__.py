"""Loopback Sigstore services for tests: Fulcio, Rekor, an RFC 3161 TSA and OIDC issuers.

Each runs on 127.0.0.1 and a free port with real keys; nothing of sealgate's is mocked. Start
them with :func:`start_sigstore_services` (a context manager) or the ``sigstore_services``
pytest fixture; :meth:`SigstoreServices.trusted_root_json` is the Sigstore ``TrustedRoot`` for
them, :meth:`SigstoreServices.signing_config_json` the ``SigningConfig``, and
:meth:`SigstoreServices.mint_token` an identity token Fulcio accepts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.support.sigstore_services.fulcio import FulcioCa
from tests.support.sigstore_services.oidc import OidcIssuers, TestIssuer, github_claims
from tests.support.sigstore_services.rekor import RekorLog
from tests.support.sigstore_services.tsa import TimestampAuthority

__all__ = [
    "TEST_EMAIL",
    "SigstoreServices",
    "TestIssuer",
    "github_claims",
    "start_sigstore_services",
]

TEST_EMAIL: str = "signer@example.com"


def _der(cert: x509.Certificate) -> dict[str, str]:
    return {"rawBytes": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()}


def _valid_from(when: datetime) -> dict[str, str]:
    return {"start": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _log(url: str, spki: bytes, log_id: bytes, start: datetime) -> dict[str, Any]:
    return {
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": base64.b64encode(spki).decode(),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": _valid_from(start),
        },
        "logId": {"keyId": base64.b64encode(log_id).decode()},
    }


@dataclass
class SigstoreServices:
    """The running services."""

    oidc: OidcIssuers
    fulcio: FulcioCa
    rekor: RekorLog
    tsa: TimestampAuthority

    @property
    def fulcio_url(self) -> str:
        return self.fulcio.service.url

    @property
    def rekor_url(self) -> str:
        return self.rekor.service.url

    @property
    def tsa_url(self) -> str:
        return self.tsa.url

    def mint_token(
        self, email: str = TEST_EMAIL, *, audience: str = "sigstore", **options: Any
    ) -> str:
        """A token from the test email issuer (``options``: see :meth:`TestIssuer.mint`)."""
        return self.oidc.email.mint(
            f"sub-{email}", audience=audience, email=email, email_verified=True, **options
        )

    def trusted_root(self) -> dict[str, Any]:
        """A Sigstore ``TrustedRoot`` (protobuf JSON) trusting exactly these services."""
        start = self.fulcio.root.cert.not_valid_before_utc
        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [_log(self.rekor_url, self.rekor.spki, self.rekor.log_id, start)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "sealgate-test", "commonName": "fulcio"},
                    "uri": self.fulcio_url,
                    "certChain": {
                        "certificates": [
                            _der(self.fulcio.intermediate.cert),
                            _der(self.fulcio.root.cert),
                        ]
                    },
                    "validFor": _valid_from(start),
                }
            ],
            "ctlogs": [
                _log(self.fulcio_url, self.fulcio.ctlog.spki, self.fulcio.ctlog.log_id, start)
            ],
            "timestampAuthorities": [
                {
                    "subject": {"organization": "sealgate-test", "commonName": "tsa"},
                    "uri": self.tsa_url,
                    "certChain": {
                        "certificates": [_der(self.tsa.leaf.cert), _der(self.tsa.root.cert)]
                    },
                    "validFor": _valid_from(start),
                }
            ],
        }

    def trusted_root_json(self) -> bytes:
        """:meth:`trusted_root` serialized."""
        return json.dumps(self.trusted_root(), indent=2).encode()

    def signing_config(self, *, tsa: bool = True) -> dict[str, Any]:
        """A Sigstore ``SigningConfig`` v0.2 naming these services."""
        start = _valid_from(self.fulcio.root.cert.not_valid_before_utc)

        def service(url: str) -> dict[str, Any]:
            return {"url": url, "majorApiVersion": 1, "validFor": start, "operator": "test"}

        config: dict[str, Any] = {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(self.fulcio_url)],
            "oidcUrls": [service(self.oidc.email.issuer)],
            "rekorTlogUrls": [service(self.rekor_url)],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaUrls": [service(self.tsa_url)] if tsa else [],
            "tsaConfig": {"selector": "ANY"},
        }
        return config

    def signing_config_json(self, *, tsa: bool = True) -> bytes:
        return json.dumps(self.signing_config(tsa=tsa), indent=2).encode()

    def client_trust_config_json(self) -> bytes:
        """A ``ClientTrustConfig`` (trusted root + signing config), as sigstore-python reads."""
        doc = {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        }
        return json.dumps(doc).encode()

    def write_trusted_root(self, directory: Path) -> Path:
        path = directory / "trusted_root.json"
        path.write_bytes(self.trusted_root_json())
        return path

    def reset(self) -> None:
        """Every service back to normal answers (hung requests are released)."""
        for service in (
            self.oidc.service,
            self.fulcio.service,
            self.rekor.service,
            self.tsa.service,
        ):
            service.fail("ok")

    def stop(self) -> None:
        for service in (
            self.oidc.service,
            self.fulcio.service,
            self.rekor.service,
            self.tsa.service,
        ):
            service.stop()


@contextmanager
def start_sigstore_services() -> Iterator[SigstoreServices]:
    """Start OIDC issuers, Fulcio, Rekor and a TSA on loopback; stop them afterwards."""
    oidc = OidcIssuers()
    services = SigstoreServices(
        oidc=oidc, fulcio=FulcioCa(oidc.issuers), rekor=RekorLog(), tsa=TimestampAuthority()
    )
    try:
        yield services
    finally:
        services.stop()

"""Path helpers for the vendored interop vectors in ``tests/fixtures/interop`` (see its README)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from sealgate.errors import SignatureInvalid
from sealgate.formats.cosign_manifest import SignatureLayer

SIGSTORE_JSON_PREFIX = b"\x00sigstore-json\n"


def interop_dir() -> Path:
    """The vendored interop directory; a missing one is an error, never a skip."""
    path = Path(__file__).resolve().parents[1] / "fixtures" / "interop"
    if not path.is_dir():
        raise FileNotFoundError(f"vendored interop fixtures missing at {path}")
    return path


def containers_fixtures() -> Path:
    """``containers-image/signature/fixtures`` inside the interop directory."""
    return interop_dir() / "containers-image" / "signature" / "fixtures"


def cosign_testdata() -> Path:
    """``cosign/pkg/cosign/testdata`` inside the interop directory."""
    return interop_dir() / "cosign" / "pkg" / "cosign" / "testdata"


def load_signature_file(path: Path) -> SignatureLayer:
    """Parse a containers/image ``dir:`` ``signature-N`` file into one attachment layer."""
    raw = path.read_bytes()
    assert raw.startswith(SIGSTORE_JSON_PREFIX), path
    doc = json.loads(raw[len(SIGSTORE_JSON_PREFIX) :])
    return SignatureLayer(
        media_type=doc["mimeType"],
        payload=base64.b64decode(doc["payload"]),
        annotations=dict(doc.get("annotations") or {}),
    )


class TestVerifier:
    """A tiny Verifier adapter over ``cryptography`` (the real one lives in sealgate.keys)."""

    __test__ = False  # not a test class

    def __init__(self, pem: bytes) -> None:
        self._key = serialization.load_pem_public_key(pem)
        self._pem = self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify(self, signature: bytes, data: bytes) -> None:
        key = self._key
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            elif isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, data)
            else:
                raise SignatureInvalid("unsupported key type")
        except InvalidSignature as exc:
            raise SignatureInvalid("signature does not verify") from exc

    def public_pem(self) -> bytes:
        return self._pem


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return containers_fixtures()

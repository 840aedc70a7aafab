"""Key files produced by cosign and containers/image load as cosign loads them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sealgate.errors import KeyMaterialError, SignatureInvalid
from sealgate.keys import load_signer, load_signer_pem, load_verifier, load_verifier_pem
from sealgate.keys.pem import decode_pem
from tests.interop.conftest import interop_dir

INTEROP = interop_dir()
COSIGN = INTEROP / "cosign"
EXTRACTED = COSIGN / "pkg/cosign/keys_test-extracted"
CONTAINERS_FIXTURES = INTEROP / "containers-image/signature/fixtures"


@pytest.mark.parametrize("name", ["pemcosignkey", "pemsigstorekey"])
def test_cosign_test_keys_decrypt_to_derived_public_key(name: str) -> None:
    signer = load_signer(str(EXTRACTED / f"{name}.pem"), lambda: b"hello")
    assert signer.verifier().public_pem() == (EXTRACTED / f"{name}.derived.pub").read_bytes()
    verifier = load_verifier(str(EXTRACTED / f"{name}.derived.pub"))
    verifier.verify(signer.sign(b"interop"), b"interop")


def test_cosign_sec1_plaintext_key_rejected() -> None:
    with pytest.raises(KeyMaterialError, match="not PKCS#8"):
        load_signer(str(EXTRACTED / "pemcosigneckey.pem"), lambda: b"hello")


def test_cosign_test_keys_wrong_password() -> None:
    with pytest.raises(KeyMaterialError, match="wrong password"):
        load_signer(str(EXTRACTED / "pemsigstorekey.pem"), lambda: b"not-hello")


def test_cosign_ci_key_parses_but_wrong_password_fails() -> None:
    path = COSIGN / ".github/workflows/cosign-test.key"
    block = decode_pem(path.read_bytes())
    assert block.label == "ENCRYPTED COSIGN PRIVATE KEY"
    doc = json.loads(block.body)
    assert doc["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    with pytest.raises(KeyMaterialError, match="wrong password or corrupted key") as info:
        load_signer_pem(path.read_bytes(), b"definitely-wrong")
    assert "definitely-wrong" not in str(info.value)


def _public_keys() -> list[Path]:
    found = sorted(CONTAINERS_FIXTURES.glob("*.pub")) + sorted(EXTRACTED.glob("*.pub"))
    found.append(COSIGN / ".github/workflows/cosign-test.pub")
    return [p for p in found if p.exists()]


@pytest.mark.parametrize("path", _public_keys(), ids=lambda p: p.name)
def test_every_fixture_public_key_loads(path: Path) -> None:
    verifier = load_verifier(str(path))
    # Public keys cosign wrote come back byte-identical from public_pem().
    assert verifier.public_pem() == path.read_bytes()


def _signature_file(name: str) -> tuple[bytes, bytes, dict[str, str]]:
    """(payload, signature, annotations) from a containers/image ``signature-N`` file."""
    raw = (CONTAINERS_FIXTURES / name).read_bytes()
    # The file starts with a format tag line ("\0sigstore-json\n") before the JSON.
    doc = json.loads(raw.split(b"\n", 1)[1])
    annotations: dict[str, str] = doc["annotations"]
    signature = base64.b64decode(annotations["dev.cosignproject.cosign/signature"])
    return base64.b64decode(doc["payload"]), signature, annotations


def test_real_cosign_ecdsa_signature_verifies() -> None:
    payload, signature, _ = _signature_file("dir-img-cosign-valid/signature-1")
    load_verifier(str(CONTAINERS_FIXTURES / "cosign.pub")).verify(signature, payload)
    with pytest.raises(SignatureInvalid):
        load_verifier(str(CONTAINERS_FIXTURES / "cosign2.pub")).verify(signature, payload)
    with pytest.raises(SignatureInvalid):
        load_verifier(str(CONTAINERS_FIXTURES / "cosign.pub")).verify(signature, payload + b" ")


def test_real_cosign_rsa_certificate_signature_verifies() -> None:
    payload, signature, annotations = _signature_file("dir-img-cosign-pki-valid/signature-1")
    verifier = load_verifier_pem(annotations["dev.sigstore.cosign/certificate"].encode())
    verifier.verify(signature, payload)


def test_real_keyless_signature_verifies_with_leaf_certificate() -> None:
    verifier = load_verifier(str(CONTAINERS_FIXTURES / "fulcio-cert"))
    signature = base64.b64decode((CONTAINERS_FIXTURES / "rekor-sig").read_bytes())
    verifier.verify(signature, (CONTAINERS_FIXTURES / "rekor-payload").read_bytes())

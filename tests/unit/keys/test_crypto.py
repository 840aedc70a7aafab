"""Signers and verifiers for every supported key type, and the PEM loaders."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from sealgate.errors import KeyMaterialError, SignatureInvalid
from sealgate.keys import Signer, Verifier, fingerprint, load_signer_pem, load_verifier_pem
from sealgate.keys.crypto import EcdsaSigner, signer_from_private_key

_NONE = serialization.NoEncryption()


def _pkcs8_pem(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _NONE)


def _keys() -> list[object]:
    return [
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP521R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ed25519.Ed25519PrivateKey.generate(),
    ]


@pytest.mark.parametrize("key", _keys(), ids=["p256", "p384", "p521", "rsa2048", "ed25519"])
def test_sign_verify_every_key_type(key: object) -> None:
    signer = signer_from_private_key(key)
    assert isinstance(signer, Signer)
    signature = signer.sign(b"payload")
    verifier = load_verifier_pem(signer.verifier().public_pem())
    assert isinstance(verifier, Verifier)
    verifier.verify(signature, b"payload")
    with pytest.raises(SignatureInvalid, match=r"does not verify with key sha256:[0-9a-f]{16}$"):
        verifier.verify(signature, b"tampered")
    with pytest.raises(SignatureInvalid):
        verifier.verify(b"\x30\x03\x02\x01", b"payload")  # malformed DER
    with pytest.raises(SignatureInvalid):
        verifier.verify(b"", b"payload")


@pytest.mark.parametrize(
    ("curve", "hash_alg"),
    [
        (ec.SECP256R1(), hashes.SHA256()),
        (ec.SECP384R1(), hashes.SHA384()),
        (ec.SECP521R1(), hashes.SHA512()),
    ],
)
def test_ecdsa_uses_the_curve_hash(curve: ec.EllipticCurve, hash_alg: hashes.HashAlgorithm) -> None:
    key = ec.generate_private_key(curve)
    EcdsaSigner(key).verifier()  # construction works
    key.public_key().verify(EcdsaSigner(key).sign(b"m"), b"m", ec.ECDSA(hash_alg))


def test_plain_private_key_labels_load() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    trad = serialization.PrivateFormat.TraditionalOpenSSL
    for key in (ec_key, rsa_key):
        for pem in (_pkcs8_pem(key), key.private_bytes(serialization.Encoding.PEM, trad, _NONE)):
            signer = load_signer_pem(pem, b"")
            signer.verifier().verify(signer.sign(b"x"), b"x")
    assert b"EC PRIVATE KEY" in ec_key.private_bytes(serialization.Encoding.PEM, trad, _NONE)


def test_label_must_match_key_type() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    sec1 = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, _NONE
    )
    with pytest.raises(KeyMaterialError):
        load_signer_pem(sec1.replace(b"EC PRIVATE KEY", b"RSA PRIVATE KEY"), b"")
    with pytest.raises(KeyMaterialError, match="PKCS#8"):
        load_signer_pem(sec1.replace(b"EC PRIVATE KEY", b"PRIVATE KEY"), b"")


def test_rsa_public_key_pkcs1_and_certificate() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = signer_from_private_key(key)
    pkcs1 = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    assert pkcs1.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    verifier = load_verifier_pem(pkcs1)
    verifier.verify(signer.sign(b"data"), b"data")
    assert verifier.public_pem() == signer.verifier().public_pem()

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealgate test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_verifier = load_verifier_pem(
        b"leading text\n" + cert.public_bytes(serialization.Encoding.PEM)
    )
    cert_verifier.verify(signer.sign(b"data"), b"data")


def test_small_rsa_key_rejected() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused
    with pytest.raises(KeyMaterialError, match="RSA key size"):
        load_signer_pem(_pkcs8_pem(key), b"")
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyMaterialError, match="RSA key size"):
        load_verifier_pem(pub)


def test_unsupported_curve_rejected() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(KeyMaterialError, match="curve"):
        load_signer_pem(_pkcs8_pem(key), b"")


def test_fingerprint_is_sha256_of_spki() -> None:
    import hashlib

    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = signer_from_private_key(key).verifier()
    assert (
        fingerprint(verifier) == fingerprint(key.public_key()) == hashlib.sha256(spki).hexdigest()
    )


@pytest.mark.parametrize(
    ("curve", "digest"), [(ec.SECP256R1(), "-sha256"), (ec.SECP384R1(), "-sha384")]
)
def test_ecdsa_signature_verifies_with_openssl(
    curve: ec.EllipticCurve, digest: str, tmp_path: Path
) -> None:
    # scripts/setup.sh installs openssl: a skip would hide a broken install.
    assert shutil.which("openssl"), "openssl CLI not installed (run ./scripts/setup.sh)"
    signer = signer_from_private_key(ec.generate_private_key(curve))
    data = tmp_path / "data"
    data.write_bytes(b"cross-check with openssl\n")
    (tmp_path / "sig.der").write_bytes(signer.sign(data.read_bytes()))
    (tmp_path / "pub.pem").write_bytes(signer.verifier().public_pem())
    result = subprocess.run(
        [
            "openssl",
            "dgst",
            digest,
            "-verify",
            str(tmp_path / "pub.pem"),
            "-signature",
            str(tmp_path / "sig.der"),
            str(data),
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"Verified OK" in result.stdout


def test_p384_accepts_sha256_from_older_cosign() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    verifier = signer_from_private_key(key).verifier()
    verifier.verify(key.sign(b"m", ec.ECDSA(hashes.SHA256())), b"m")
    with pytest.raises(SignatureInvalid):
        verifier.verify(key.sign(b"m", ec.ECDSA(hashes.SHA1())), b"m")  # noqa: S303 - must be refused

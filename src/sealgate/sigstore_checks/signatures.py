"""The signature itself: a message signature over an artifact (digest) or a DSSE envelope's PAE.

A Sigstore message signature signs the artifact with the hash its ``messageDigest`` names, so it
verifies from the digest alone (prehashed) for ECDSA and RSA; Ed25519 needs the artifact. ECDSA
keys verify with their curve's hash and, as cosign does for certificates, with SHA-256.
"""

from __future__ import annotations

import hashlib
from typing import TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.x509 import Certificate

from sealgate.errors import DigestMismatch, MalformedData, SignatureInvalid
from sealgate.formats.dsse import Envelope

__all__ = ["SigningKey", "signing_key", "verify_artifact_signature", "verify_dsse_signature"]

SigningKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_CURVE_HASH = {"secp256r1": "sha256", "secp384r1": "sha384", "secp521r1": "sha512"}


def signing_key(source: Certificate | bytes) -> SigningKey:
    """The public key of a certificate, or of a DER SubjectPublicKeyInfo.

    Args:
        source: A certificate, or SPKI DER bytes.

    Returns:
        The key.

    Raises:
        MalformedData: If the key cannot be parsed or its type cannot sign.
    """
    try:
        key = (
            source.public_key()
            if isinstance(source, Certificate)
            else serialization.load_der_public_key(source)
        )
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise MalformedData("signing key cannot be parsed") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise MalformedData("signing key type is not supported")
    return key


def _verify_data(key: SigningKey, signature: bytes, data: bytes) -> bool:
    candidates = ["sha256"]
    if isinstance(key, ec.EllipticCurvePublicKey):
        candidates.insert(0, _CURVE_HASH.get(key.curve.name, "sha256"))
    for name in dict.fromkeys(candidates):
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, data)
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, data, padding.PKCS1v15(), _HASHES[name]())
            else:
                key.verify(signature, data, ec.ECDSA(_HASHES[name]()))
        except (InvalidSignature, ValueError):
            continue
        return True
    return False


def verify_artifact_signature(
    key: SigningKey,
    signature: bytes,
    *,
    digest: tuple[str, bytes],
    artifact: bytes | None = None,
    claimed_digest: tuple[str, bytes] | None = None,
) -> None:
    """Verify a message signature over an artifact.

    Args:
        key: The signer's public key (certificate key or managed key).
        signature: The raw signature.
        digest: ``(algorithm, digest)`` of the artifact, computed by the caller.
        artifact: The artifact bytes (needed for Ed25519 only).
        claimed_digest: The bundle's ``messageDigest``, which must equal ``digest``.

    Raises:
        DigestMismatch: If the bundle claims another digest than the artifact's.
        SignatureInvalid: If the signature does not verify.
        MalformedData: If the digest algorithm is unsupported or an Ed25519 artifact is missing.
    """
    algorithm, value = digest
    if algorithm not in _HASHES:
        raise MalformedData(f"digest algorithm {algorithm[:20]} is not supported")
    if claimed_digest is not None and claimed_digest != digest:
        raise DigestMismatch("the bundle's message digest is not the artifact's digest")
    if artifact is not None and hashlib.new(algorithm, artifact).digest() != value:
        raise DigestMismatch("artifact does not hash to the given digest")
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if artifact is None:
                raise MalformedData("an Ed25519 signature needs the artifact, not its digest")
            key.verify(signature, artifact)
        elif isinstance(key, rsa.RSAPublicKey):
            prehashed = utils.Prehashed(_HASHES[algorithm]())
            key.verify(signature, value, padding.PKCS1v15(), prehashed)
        else:
            key.verify(signature, value, ec.ECDSA(utils.Prehashed(_HASHES[algorithm]())))
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature does not verify over the artifact") from None


def verify_dsse_signature(key: SigningKey, envelope: Envelope) -> None:
    """Verify that ``key`` signed the envelope's PAE (one valid signature suffices).

    Args:
        key: The signer's public key.
        envelope: The DSSE envelope.

    Raises:
        SignatureInvalid: If no envelope signature verifies.
    """
    message = envelope.pae()
    if not any(_verify_data(key, s.sig, message) for s in envelope.signatures):
        raise SignatureInvalid("DSSE envelope signature does not verify")

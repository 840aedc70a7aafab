"""Entry-to-artifact binding: the log entry must be about *this* signature, key and artifact.

Without it a valid log entry for something else would vouch for any signature (CVE-2022-36056).
Rekor v1 kinds (sigstore-go ``VerifyTlogEntry``, cosign ``VerifyBundle``): the logged signature(s)
and verifier equal the signature's and its certificate or key (compared as DER, not as one
writer's PEM); a hashedrekord's digest equals the artifact's; a dsse/intoto entry's payload hash
equals SHA-256 of the envelope payload. The envelope hash is one serialization of the envelope,
so it is compared only when the caller has the exact logged bytes (cosign's legacy ``.att`` layer).
Rekor v2 (``hashedrekord`` 0.0.2): the entry is rebuilt from the signature, verifier and digest
(for DSSE, the digest of the PAE) and its leaf hash is what the inclusion proof must prove
(rekor-tiles ``hashedrekord.ToEntryHash``), so a v2 body is never trusted on its own.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509 import load_der_x509_certificate

from sealgate.errors import MalformedData, TlogInvalid
from sealgate.formats.dsse import Envelope
from sealgate.formats.rekor_body import LoggedEntry, LoggedSignature
from sealgate.sigstore_checks.merkle import hash_leaf

__all__ = ["SignedContent", "check_entry_binding", "rekor_v2_leaf_hash"]

_V2_HASH_NAME = {"sha256": "SHA2_256", "sha384": "SHA2_384", "sha512": "SHA2_512"}


@dataclass(frozen=True)
class SignedContent:
    """What was signed, as the signature (not the log) states it.

    Attributes:
        signature: The message signature, or the DSSE envelope's (first) signature.
        verifier_der: DER of the signing certificate, or of the public key (SPKI).
        verifier_is_certificate: Whether ``verifier_der`` is a certificate.
        digest: ``(algorithm, digest)`` of the artifact for a message signature, computed by
            the caller from the artifact itself.
        envelope: The DSSE envelope for an attestation.
        envelope_bytes: The exact envelope bytes when the carrier stores them (cosign ``.att``).
    """

    signature: bytes
    verifier_der: bytes
    verifier_is_certificate: bool
    digest: tuple[str, bytes] | None = None
    envelope: Envelope | None = None
    envelope_bytes: bytes | None = None


def _canonical_spki(der: bytes) -> bytes:
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        return der
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _same_verifier(logged: LoggedSignature, content: SignedContent) -> bool:
    if logged.verifier_is_certificate != content.verifier_is_certificate:
        return False
    if content.verifier_is_certificate:
        return logged.verifier_der == content.verifier_der
    return _canonical_spki(logged.verifier_der) == _canonical_spki(content.verifier_der)


def _hash(algorithm: str, data: bytes) -> bytes:
    return hashlib.new(algorithm, data).digest()


def check_entry_binding(entry: LoggedEntry, content: SignedContent) -> None:
    """Check that a Rekor v1 entry records this signature, verifier and artifact.

    Args:
        entry: The decoded entry body.
        content: The signature being verified.

    Raises:
        TlogInvalid: If any logged value differs, or the entry kind does not fit the content
            (a hashedrekord for an envelope, a dsse entry for a message signature).
    """
    if not all(_same_verifier(s, content) for s in entry.signatures):
        raise TlogInvalid("log entry names another certificate or key than the signature")
    if entry.kind in ("hashedrekord", "rekord"):
        if content.digest is None or entry.data_digest is None:
            raise TlogInvalid(f"a {entry.kind} log entry needs a signed artifact digest")
        if entry.data_digest != content.digest:
            raise TlogInvalid("log entry is for another artifact (digest differs)")
        if entry.signatures[0].signature != content.signature:
            raise TlogInvalid("log entry records another signature")
        return
    if content.envelope is None or entry.payload_hash is None:
        raise TlogInvalid(f"a {entry.kind} log entry needs a DSSE envelope")
    algorithm, logged = entry.payload_hash
    if _hash(algorithm, content.envelope.payload) != logged:
        raise TlogInvalid("log entry is for another DSSE payload (payload hash differs)")
    if content.envelope_bytes is not None and entry.envelope_hash is not None:
        algorithm, logged = entry.envelope_hash
        if _hash(algorithm, content.envelope_bytes) != logged:
            raise TlogInvalid("log entry is for another DSSE envelope (envelope hash differs)")
    logged_sigs = sorted(s.signature for s in entry.signatures if s.signature)
    envelope_sigs = sorted(s.sig for s in content.envelope.signatures)
    if logged_sigs and logged_sigs != envelope_sigs:
        raise TlogInvalid("log entry records other DSSE signatures than the envelope's")


def _key_details(content: SignedContent) -> tuple[str, str, bytes]:
    """(keyDetails, hash name, verifier key DER) as sigstore's algorithm registry names them."""
    try:
        key = (
            load_der_x509_certificate(content.verifier_der).public_key()
            if content.verifier_is_certificate
            else serialization.load_der_public_key(content.verifier_der)
        )
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise MalformedData("signing key cannot be parsed") from exc
    if isinstance(key, ec.EllipticCurvePublicKey):
        bits = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 521}.get(key.curve.name)
        if bits is None:
            raise TlogInvalid(f"curve {key.curve.name} cannot sign a Rekor v2 entry")
        digest = {256: "sha256", 384: "sha384", 521: "sha512"}[bits]
        return f"PKIX_ECDSA_P{bits}_SHA_{digest[3:]}", digest, content.verifier_der
    if isinstance(key, rsa.RSAPublicKey) and key.key_size in (2048, 3072, 4096):
        return f"PKIX_RSA_PKCS1V15_{key.key_size}_SHA256", "sha256", content.verifier_der
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "PKIX_ED25519_PH", "sha512", content.verifier_der
    raise TlogInvalid("this key type cannot sign a Rekor v2 hashedrekord entry")


def rekor_v2_leaf_hash(content: SignedContent) -> bytes:
    """The Merkle leaf hash of the ``hashedrekord`` 0.0.2 entry this signature must have.

    Args:
        content: The signature being verified (a message signature with its artifact digest,
            or a DSSE envelope, whose PAE is hashed with the key's hash).

    Returns:
        ``hash_leaf(JCS(entry))`` as rekor-tiles computes it.

    Raises:
        TlogInvalid: If the key cannot sign Rekor v2 entries, or the artifact digest uses
            another hash than the key's algorithm.
        MalformedData: If the signing key cannot be parsed.
    """
    details, digest_name, raw = _key_details(content)
    if content.envelope is not None:
        digest = _hash(digest_name, content.envelope.pae())
    elif content.digest is not None and content.digest[0] == digest_name:
        digest = content.digest[1]
    else:
        raise TlogInvalid(f"a Rekor v2 entry signed with {details} needs a {digest_name} digest")
    holder = "x509Certificate" if content.verifier_is_certificate else "publicKey"
    entry: dict[str, Any] = {
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {
            "hashedRekordV002": {
                "data": {
                    "algorithm": _V2_HASH_NAME[digest_name],
                    "digest": base64.b64encode(digest).decode("ascii"),
                },
                "signature": {
                    "content": base64.b64encode(content.signature).decode("ascii"),
                    "verifier": {
                        holder: {"rawBytes": base64.b64encode(raw).decode("ascii")},
                        "keyDetails": details,
                    },
                },
            }
        },
    }
    return hash_leaf(rfc8785.dumps(entry))

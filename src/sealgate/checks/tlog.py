"""Offline transparency-log checks: the Rekor SET and cosign's ``VerifyBundle`` (SPEC §4.4).

No inclusion proof travels in the legacy annotation, so offline trust is the SET: an ECDSA
signature by the Rekor key over the canonical JSON of the bundle payload. We also check that
the logged entry is about *this* signature (CVE-2022-36056 class: a valid SET for another entry).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealgate.checks._pem import first_pem_block
from sealgate.errors import KeyMaterialError, TlogInvalid
from sealgate.formats.rekor import RekorBundle, RekorEntry

__all__ = [
    "NO_TLOG_MESSAGE",
    "RekorKey",
    "TlogInvalid",
    "TlogPolicy",
    "load_rekor_keys",
    "verify_rekor_bundle",
    "verify_set",
]

NO_TLOG_MESSAGE = "no transparency log entry; use --insecure-ignore-tlog for signatures without one"

_KINDS = {
    "signature": frozenset({"hashedrekord", "rekord"}),
    "attestation": frozenset({"dsse", "intoto"}),
}


@dataclass(frozen=True)
class RekorKey:
    """A trusted Rekor public key (ECDSA only, as cosign's legacy path requires).

    Attributes:
        log_id: Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
        public_key: The ECDSA key.
    """

    log_id: str
    public_key: ec.EllipticCurvePublicKey

    @classmethod
    def from_der(cls, der: bytes) -> RekorKey:
        """Load a DER SubjectPublicKeyInfo (e.g. a trusted root's ``tlogs[].publicKey.rawBytes``).

        Args:
            der: The SPKI DER bytes.

        Returns:
            The key.

        Raises:
            KeyMaterialError: If the bytes are not an ECDSA public key.
        """
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyMaterialError("Rekor public key cannot be parsed") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise KeyMaterialError("Rekor public key must be ECDSA")
        canonical = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(hashlib.sha256(canonical).hexdigest(), key)

    @classmethod
    def from_pem(cls, pem: bytes) -> RekorKey:
        """Load a ``PUBLIC KEY`` PEM such as ``rekor.pub``.

        Args:
            pem: The PEM bytes.

        Returns:
            The key.

        Raises:
            KeyMaterialError: If the PEM is unreadable or not an ECDSA public key.
        """
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyMaterialError("Rekor public key cannot be parsed") from exc
        return cls.from_der(
            key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def load_rekor_keys(pems: Sequence[bytes]) -> tuple[RekorKey, ...]:
    """Load trusted Rekor keys from PEM texts, dropping duplicates (order kept).

    Args:
        pems: ``PUBLIC KEY`` PEMs (``--rekor-public-key``, a config's ``rekorKeys``).

    Returns:
        The keys.

    Raises:
        KeyMaterialError: A PEM is unreadable or not an ECDSA key.
    """
    keys: dict[str, RekorKey] = {}
    for pem in pems:
        key = RekorKey.from_pem(pem)
        keys.setdefault(key.log_id, key)
    return tuple(keys.values())


@dataclass(frozen=True)
class TlogPolicy:
    """How transparency-log evidence is required.

    Attributes:
        insecure_ignore_tlog: cosign's ``--insecure-ignore-tlog``: skip every tlog check.
        rekor_keys: Trusted Rekor keys; the bundle's logID picks one.
    """

    insecure_ignore_tlog: bool = False
    rekor_keys: tuple[RekorKey, ...] = ()


def verify_set(bundle: RekorBundle, rekor_keys: Sequence[RekorKey]) -> RekorKey:
    """Verify the SignedEntryTimestamp with the Rekor key whose log ID matches.

    Args:
        bundle: The parsed bundle.
        rekor_keys: Trusted Rekor keys.

    Returns:
        The key that verified the SET.

    Raises:
        TlogInvalid: If no trusted key has the bundle's log ID or the SET does not verify.
    """
    key = next((k for k in rekor_keys if k.log_id == bundle.log_id), None)
    if key is None:
        raise TlogInvalid(f"no trusted Rekor key has log ID {bundle.log_id}")
    try:
        key.public_key.verify(
            bundle.signed_entry_timestamp, bundle.canonical_payload(), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature as exc:
        raise TlogInvalid("Rekor signed entry timestamp does not verify") from exc
    return key


def verify_rekor_bundle(
    bundle: RekorBundle,
    *,
    rekor_keys: Sequence[RekorKey],
    payload: bytes,
    signature_b64: str,
    public_pem: bytes,
    kind: str | None = None,
) -> RekorEntry:
    """cosign ``VerifyBundle``: the entry matches this signature and the SET verifies.

    Args:
        bundle: The parsed ``dev.sigstore.cosign/bundle`` annotation.
        rekor_keys: Trusted Rekor keys.
        payload: The exact layer bytes (simple-signing payload, or the DSSE envelope).
        signature_b64: The layer's signature annotation; ``""`` for attestations (not compared).
        public_pem: The certificate PEM if the layer has one, else the verifying key's PEM.
        kind: ``"signature"`` or ``"attestation"`` to restrict entry kinds; None accepts all.

    Returns:
        The decoded entry (its ``integrated_time`` is on ``bundle``).

    Raises:
        TlogInvalid: If the entry does not match the signature, key or payload, or the SET fails.
        MalformedData: If the entry body cannot be decoded.
    """
    # 1. The body is a string holding a supported entry kind.
    entry = bundle.entry()
    if kind is not None and entry.kind not in _KINDS.get(kind, frozenset()):
        raise TlogInvalid(f"Rekor entry kind {entry.kind} does not fit a {kind}")
    # 2. Body signature == annotation signature (skipped for attestations: annotation empty).
    if signature_b64 and entry.signature_b64 != signature_b64:
        raise TlogInvalid("Rekor entry signature does not match the layer signature")
    # 3. Body public key (first PEM block, as DER) == our certificate / key.
    logged_label, logged_der = first_pem_block(entry.public_key_pem)
    expected_label, expected_der = first_pem_block(public_pem)
    if (logged_label, logged_der) != (expected_label, expected_der):
        raise TlogInvalid("Rekor entry public key does not match the verifying key")
    # 4. Hash algorithm sha256 and value == sha256(layer payload) (dsse: envelopeHash).
    if entry.hash_algorithm != "sha256" or entry.hash_value != hashlib.sha256(payload).hexdigest():
        raise TlogInvalid("Rekor entry hash does not match the payload")
    # 5. The SET verifies with the trusted key named by logID.
    verify_set(bundle, rekor_keys)
    return entry

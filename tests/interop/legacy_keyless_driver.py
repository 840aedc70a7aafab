"""Test-only composition for cosign's legacy keyless signatures (``.sig`` layer annotations).

cosign ``verifyInternal`` order: the Rekor bundle (SET only, no proof) is checked against the
signature, certificate and payload and gives the signing time; the certificate chains to a
trusted CA at that time with the chain annotation's intermediates; SCT; identity; signature;
the payload names the image digest. Without a Rekor bundle (``--insecure-ignore-tlog``) the
reference time the caller injects is the signing time.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealgate.errors import DigestMismatch, MalformedData, TlogInvalid
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    SIGNATURE_ANNOTATION,
)
from sealgate.formats.rekor import RekorBundle
from sealgate.formats.rekor_body import parse_rekor_body
from sealgate.formats.simplesigning import parse_payload
from sealgate.formats.tlog_entry import tlog_entry_from_cosign_bundle
from sealgate.sigstore_checks import (
    IdentityPolicy,
    SignedContent,
    check_valid_at,
    match_identity,
    signing_key,
    verify_artifact_signature,
    verify_certificate_chain,
    verify_embedded_scts,
    verify_tlog_entry,
)
from sealgate.trust import TrustedRoot

__all__ = ["LegacySignature", "verify_legacy_keyless"]


@dataclass(frozen=True)
class LegacySignature:
    """The parts of one ``.sig`` layer."""

    payload: bytes
    signature_b64: str
    certificate_pem: bytes
    chain_pem: bytes = b""
    bundle_json: str | None = None

    @classmethod
    def from_layer(cls, layer: SignatureLayer) -> LegacySignature:
        notes = layer.annotations
        return cls(
            payload=layer.payload,
            signature_b64=notes[SIGNATURE_ANNOTATION],
            certificate_pem=notes[CERTIFICATE_ANNOTATION].encode(),
            chain_pem=notes.get(CHAIN_ANNOTATION, "").encode(),
            bundle_json=notes.get(BUNDLE_ANNOTATION),
        )


def verify_legacy_keyless(
    sig: LegacySignature,
    trusted_root: TrustedRoot,
    policy: IdentityPolicy,
    *,
    image_digest: str | None,
    reference_time: datetime,
    ignore_sct: bool = False,
) -> datetime:
    """Verify one legacy keyless signature; returns the signing time used.

    Raises:
        SealgateError: Whatever check fails first.
    """
    try:
        leaf = x509.load_pem_x509_certificate(sig.certificate_pem)
        chain = x509.load_pem_x509_certificates(sig.chain_pem) if sig.chain_pem else []
        # Go skips line breaks in base64 (the BYO-PKI vector wraps its signature).
        signature = base64.b64decode(sig.signature_b64.replace("\n", ""), validate=True)
    except ValueError as exc:
        raise MalformedData("certificate, chain or signature annotation is malformed") from exc
    digest = ("sha256", hashlib.sha256(sig.payload).digest())
    content = SignedContent(
        signature, leaf.public_bytes(serialization.Encoding.DER), True, digest=digest
    )
    signing_time = reference_time
    if sig.bundle_json is not None:
        bundle = RekorBundle.parse(sig.bundle_json)
        body = parse_rekor_body(base64.b64decode(bundle.body))
        entry = tlog_entry_from_cosign_bundle(bundle, kind=body.kind, version=body.version)
        verified = verify_tlog_entry(entry, trusted_root, content)
        if verified.integrated_time is None:  # a SET is the only evidence here
            raise TlogInvalid("Rekor bundle has no verified integrated time")
        signing_time = verified.integrated_time
    path = verify_certificate_chain(
        leaf, trusted_root.certificate_authorities, at=signing_time, untrusted_intermediates=chain
    )
    check_valid_at(leaf, signing_time)
    if not ignore_sct:
        verify_embedded_scts(leaf, path.chain, trusted_root.ctlogs)
    match_identity(leaf, policy)
    verify_artifact_signature(signing_key(leaf), signature, digest=digest, artifact=sig.payload)
    if image_digest is not None and parse_payload(sig.payload).manifest_digest != image_digest:
        raise DigestMismatch("signature payload names another image digest")
    return signing_time

"""``verify-blob`` and ``verify-blob-attestation``: one signed blob through the one pipeline.

The blob is a file, or only its digest (``sha256:<hex>``, as the Sigstore conformance client
protocol passes it). The signature comes as a Sigstore bundle (``--bundle``; cosign's older
``{"base64Signature", "cert", "rekorBundle"}`` bundle too), or as a bare signature with an
optional certificate (``--signature``, ``--certificate``). For a DSSE bundle
the blob's digest must be a subject of the in-toto statement; a message signature covers the
blob itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from sealgate.checks.authorities import CheckContext
from sealgate.checks.pipeline import ClaimsCheck, SignatureResult, check_signed
from sealgate.checks.signed import SignedThing, bundle_thing
from sealgate.errors import DigestMismatch, InputError, MalformedData, SignatureInvalid
from sealgate.formats import _gojson
from sealgate.formats.dsse import parse_envelope
from sealgate.formats.intoto import Statement, parse_statement
from sealgate.policy import Policy

__all__ = ["Blob", "verify_blob"]

_HASHES = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class Blob:
    """The artifact: its bytes, or only its digest.

    Attributes:
        data: The blob, when it is a file.
        digest: ``(algorithm, digest)`` when only the digest is known.
    """

    data: bytes | None = None
    digest: tuple[str, bytes] | None = None

    @classmethod
    def from_digest(cls, text: str) -> Blob:
        """Parse ``sha256:<hex>`` (or sha384, sha512).

        Raises:
            InputError: Not an algorithm and hex digest of the right length.
        """
        algorithm, _, hexdigest = text.partition(":")
        if _HASHES.get(algorithm) != len(hexdigest):
            raise InputError(f"{text[:80]!r} is not a sha256/sha384/sha512 digest")
        try:
            return cls(digest=(algorithm, bytes.fromhex(hexdigest)))
        except ValueError as err:
            raise InputError(f"{text[:80]!r} is not a hex digest") from err

    def hexdigest(self, algorithm: str) -> str | None:
        """The blob's digest in ``algorithm``, when it can be known."""
        if self.data is not None:
            return hashlib.new(algorithm, self.data).hexdigest()
        if self.digest is not None and self.digest[0] == algorithm:
            return self.digest[1].hex()
        return None


def _subject_claims(blob: Blob) -> ClaimsCheck[Statement | None]:
    def check(thing: SignedThing) -> Statement | None:
        if thing.kind != "dsse":
            return None
        statement = parse_statement(thing.payload)
        for subject in statement.subjects:
            for algorithm, value in subject.digest.items():
                if algorithm in _HASHES and blob.hexdigest(algorithm) == value:
                    return statement
        raise DigestMismatch(f"{thing.label}: no statement subject is the blob")

    return check


def _is_legacy_bundle(raw: bytes) -> bool:
    # cosign's pre-Sigstore-bundle ``--bundle`` (LocalSignedPayload) has no mediaType.
    return raw.lstrip().startswith(b"{") and b'"base64Signature"' in raw[:4096]


def _legacy_bundle(raw: bytes) -> tuple[bytes, x509.Certificate | None, str | None]:
    """(signature, certificate, Rekor bundle JSON) of cosign's legacy blob bundle.

    ``cert`` holds the base64 of a certificate PEM, or of the public key PEM for a key.

    Raises:
        MalformedData: Not that format.
    """
    doc = _gojson.loads(raw, "cosign blob bundle")
    if not isinstance(doc, dict):
        raise MalformedData("cosign blob bundle is not a JSON object")
    signature = _gojson.b64decode(doc.get("base64Signature"), "base64Signature")
    cert_pem = _gojson.b64decode(doc.get("cert") or "", "cert")
    certificate = None
    if b"-----BEGIN CERTIFICATE-----" in cert_pem:
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as err:
            raise MalformedData("cosign blob bundle cert is not a PEM certificate") from err
    rekor = doc.get("rekorBundle")
    if rekor is not None and not isinstance(rekor, dict):
        raise MalformedData("cosign blob bundle rekorBundle is not a JSON object")
    return signature, certificate, json.dumps(rekor) if rekor is not None else None


def verify_blob(
    policy: Policy,
    blob: Blob,
    *,
    reference_time: datetime,
    bundle: bytes | None = None,
    signature: bytes | None = None,
    certificate: x509.Certificate | None = None,
    dsse: bool = False,
) -> SignatureResult[Statement | None]:
    """Verify one blob signature against the policy's authorities.

    Args:
        policy: Who may sign, and the tlog requirement.
        blob: The artifact, or its digest.
        reference_time: "Now" for validity windows.
        bundle: A Sigstore bundle (``--bundle``).
        signature: A raw signature (``--signature``), when there is no bundle.
        certificate: The signing certificate that goes with ``signature``.
        dsse: The signature must be a DSSE envelope (``verify-blob-attestation``).

    Returns:
        The passing result (its claims: the statement of a DSSE bundle).

    Raises:
        VerificationFailed: The signature does not satisfy the policy (``error`` of the
            result: wrong key or identity, untrusted chain, invalid log entry, digest...).
        MalformedData: The bundle is malformed.
        CheckFailed: An authority's trust material could not be used.
        InputError: Neither a bundle nor a signature, or a digest-only blob for a bare
            signature.
    """
    tlog: str | None = None
    if bundle is not None and _is_legacy_bundle(bundle):
        signature, certificate, tlog = _legacy_bundle(bundle)
        bundle = None
    if bundle is not None:
        thing = bundle_thing(bundle, "signature 1", artifact=blob.data, artifact_digest=blob.digest)
    elif signature is not None and dsse:
        # A legacy attestation bundle's "signature" is the whole DSSE envelope.
        envelope = parse_envelope(signature)
        thing = SignedThing(
            kind="dsse",
            label="signature 1",
            content=signature,
            message=envelope.pae(),
            signatures=tuple(s.sig for s in envelope.signatures),
            payload=envelope.payload,
            envelope=envelope,
            certificate=certificate,
            tlog_annotation=tlog,
        )
    elif signature is not None:
        digest = blob.digest
        if blob.data is not None:
            digest = ("sha256", hashlib.sha256(blob.data).digest())
        thing = SignedThing(
            kind="message",
            label="signature 1",
            content=signature,
            message=blob.data,
            signatures=(signature,),
            payload=b"",
            digest=digest,
            certificate=certificate,
            tlog_annotation=tlog,
        )
    else:
        raise InputError("give the signature: --bundle FILE, or --signature")
    if dsse and thing.kind != "dsse":
        raise SignatureInvalid("signature 1: not a DSSE attestation (a message signature)")
    context = CheckContext(reference_time, policy.tlog)
    result = check_signed(thing, policy.authorities, context, _subject_claims(blob))
    if result.error is not None:
        raise result.error
    return result

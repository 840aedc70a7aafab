"""Sign an in-toto statement into a Sigstore bundle (v0.3) and attach it to an image.

cosign 3's path for ``sign`` and ``attest`` with ``--new-bundle-format``: the statement is
signed in a DSSE envelope, the signature is timestamped (over the signature bytes, as
sigstore-go does) and logged as a ``dsse`` entry, and the bundle (certificate or key hint,
entries with inclusion proofs, timestamps, envelope) is pushed as an OCI 1.1 referrer.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from sealgate.formats.cosign_types import INTOTO_PAYLOAD_TYPE
from sealgate.formats.dsse import DsseSignature, Envelope, build_envelope, pae
from sealgate.formats.sigstore_bundle_writer import build_sigstore_bundle
from sealgate.oci import Reference, RegistryClient
from sealgate.workflows.referrers import push_bundle_referrer
from sealgate.workflows.signing import Credential, Evidence, SigningServices, record_envelope

__all__ = [
    "SignedBundle",
    "attach_statement_bundle",
    "bundle_for",
    "key_hint",
    "sign_statement_bundle",
]


@dataclass(frozen=True)
class SignedBundle:
    """A signed statement in a bundle.

    Attributes:
        bundle: The bundle JSON.
        envelope: The DSSE envelope inside it.
        evidence: Its log entries and timestamps.
        referrer: Where it was pushed (None when not uploaded).
    """

    bundle: bytes
    envelope: Envelope
    evidence: Evidence
    referrer: Reference | None = None


def key_hint(credential: Credential) -> str:
    """A key-signed bundle's ``publicKey.hint``: base64 SHA-256 of the key (sigstore-go)."""
    return base64.b64encode(hashlib.sha256(credential.verifier_der).digest()).decode("ascii")


def bundle_for(
    credential: Credential,
    evidence: Evidence,
    *,
    message_signature: tuple[bytes, bytes] | None = None,
    dsse_envelope: Envelope | None = None,
) -> bytes:
    """The v0.3 bundle of a signature (over a digest, or a DSSE envelope) with its evidence.

    Raises:
        MalformedData: a log entry has no inclusion proof.
    """
    keyless = credential.certificate is not None
    return build_sigstore_bundle(
        certificate_der=credential.verifier_der if keyless else None,
        public_key_hint=None if keyless else key_hint(credential),
        tlog_entries=evidence.tlog_entries,
        rfc3161_timestamps=evidence.timestamps,
        message_signature=message_signature,
        dsse_envelope=dsse_envelope,
    )


def sign_statement_bundle(
    credential: Credential, services: SigningServices, statement: bytes
) -> SignedBundle:
    """Sign ``statement`` in DSSE, get its evidence, and wrap it in a bundle.

    Raises:
        SealgateError: a service failed or refused, or its answer does not check out.
    """
    signature = credential.signer.sign(pae(INTOTO_PAYLOAD_TYPE, statement))
    envelope = Envelope(INTOTO_PAYLOAD_TYPE, statement, (DsseSignature(signature),))
    envelope_bytes = build_envelope(INTOTO_PAYLOAD_TYPE, statement, signature)
    evidence = record_envelope(credential, services, envelope, envelope_bytes)
    bundle = bundle_for(credential, evidence, dsse_envelope=envelope)
    return SignedBundle(bundle, envelope, evidence)


def attach_statement_bundle(
    client: RegistryClient,
    credential: Credential,
    services: SigningServices,
    image: Reference,
    statement: bytes,
    *,
    predicate_type: str,
    upload: bool = True,
    repository: Reference | None = None,
) -> SignedBundle:
    """:func:`sign_statement_bundle`, then push the bundle as a referrer of ``image``.

    Raises:
        SealgateError: signing, a service or the registry failed; nothing is pushed unless
            every piece of evidence was obtained and checked.
    """
    signed = sign_statement_bundle(credential, services, statement)
    if not upload:
        return signed
    pushed = push_bundle_referrer(
        client, image, signed.bundle, predicate_type=predicate_type, repository=repository
    )
    return SignedBundle(signed.bundle, signed.envelope, signed.evidence, pushed.manifest)

"""Key-based verification of legacy ``.sig`` signature layers (SPEC §4.2).

A signature set passes when at least one simple-signing layer passes every check; only the
passing layers are returned (cosign prints only those). Everything here is pure: the caller
fetches the manifest and blobs, and passes the trusted keys and the resolved image digest.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sealgate.checks._pem import fingerprint, spki_der
from sealgate.checks.tlog import TlogInvalid, TlogPolicy, verify_rekor_bundle
from sealgate.errors import (
    DigestMismatch,
    MalformedData,
    NoMatchingSignatures,
    NoSignaturesFound,
    SealgateError,
    SignatureInvalid,
    VerificationFailed,
)
from sealgate.formats import _gojson
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.rekor import RekorBundle
from sealgate.formats.simplesigning import SimpleSigningPayload, parse_payload
from sealgate.keys.protocols import Verifier

__all__ = [
    "NO_TLOG_MESSAGE",
    "VerifiedSignature",
    "find_verifier",
    "render_cosign_json",
    "verify_signature_layer",
    "verify_signature_set",
]

NO_TLOG_MESSAGE = "no transparency log entry; use --insecure-ignore-tlog for signatures without one"


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature layer that passed every check.

    Attributes:
        payload: The parsed simple-signing payload.
        raw_payload: The exact signed bytes.
        annotations: The layer annotations.
        key_fingerprint: Hex SHA-256 of the matching key's DER SPKI.
        key_index: Index of the matching verifier in the ``verifiers`` argument.
        bundle: The verified Rekor bundle, or None when the tlog was ignored.
        layer_digest: ``sha256:<hex>`` of the payload.
    """

    payload: SimpleSigningPayload
    raw_payload: bytes
    annotations: Mapping[str, str]
    key_fingerprint: str
    key_index: int
    bundle: RekorBundle | None
    layer_digest: str

    def to_cosign_json(self) -> dict[str, Any]:
        """The element cosign prints for this signature (``-o json``, SPEC §4.6).

        Returns:
            The simple-signing object with ``optional`` augmented by ``Bundle`` when present.
        """
        obj = self.payload.to_json_obj()
        optional = None if self.payload.optional is None else dict(self.payload.optional)
        if self.bundle is not None:
            optional = optional or {}
            optional["Bundle"] = None  # placeholder: sorted with the other keys below
        if optional is not None:
            optional = _gojson.sort_maps(optional)  # Go map[string]interface{}: sorted keys
            if self.bundle is not None:
                optional["Bundle"] = self.bundle.to_json_obj()  # struct: Go field order
        obj["optional"] = optional
        return obj


def render_cosign_json(verified: Sequence[VerifiedSignature]) -> bytes:
    """Serialize verified signatures as cosign's ``-o json`` array (no surrounding newlines).

    Args:
        verified: The verified signatures, in layer order.

    Returns:
        Go-``encoding/json`` bytes of the array.
    """
    return _gojson.dumps([v.to_cosign_json() for v in verified])


def find_verifier(
    verifiers: Sequence[Verifier], signature: bytes, data: bytes
) -> tuple[int, Verifier]:
    """Return the first verifier (index, key) that accepts ``signature`` over ``data``.

    Args:
        verifiers: Trusted keys (several during a key rotation window).
        signature: Raw signature bytes.
        data: The exact signed bytes.

    Returns:
        ``(index, verifier)`` of the first key that verifies.

    Raises:
        SignatureInvalid: If no key verifies the signature.
    """
    for index, verifier in enumerate(verifiers):
        try:
            verifier.verify(signature, data)
        except SealgateError:
            continue
        return index, verifier
    raise SignatureInvalid("signature does not verify with any trusted key")


def _decode_signature(layer: SignatureLayer) -> tuple[str, bytes]:
    signature_b64 = layer.annotations.get(SIGNATURE_ANNOTATION)
    if not signature_b64:
        raise SignatureInvalid("signature layer has no signature annotation")
    try:
        return signature_b64, base64.b64decode(signature_b64, validate=True)
    except binascii.Error as exc:
        raise SignatureInvalid("signature annotation is not valid base64") from exc


def _check_certificate_key(layer: SignatureLayer, verifier: Verifier) -> bytes | None:
    """4. With ``--key``, a certificate annotation (if any) must hold that very key."""
    cert_pem = layer.annotations.get(CERTIFICATE_ANNOTATION)
    if not cert_pem:
        return None
    if spki_der(cert_pem.encode("utf-8")) != spki_der(verifier.public_pem()):
        raise SignatureInvalid("both public key and certificate were provided but did not match")
    return cert_pem.encode("utf-8")


def _check_tlog(
    layer: SignatureLayer,
    *,
    tlog: TlogPolicy,
    signature_b64: str,
    public_pem: bytes,
    kind: str,
) -> RekorBundle | None:
    """3. Unless ``--insecure-ignore-tlog``: a bundle annotation that ``VerifyBundle`` accepts."""
    if tlog.insecure_ignore_tlog:
        return None
    annotation = layer.annotations.get(BUNDLE_ANNOTATION)
    if not annotation:
        raise TlogInvalid(NO_TLOG_MESSAGE)
    bundle = RekorBundle.parse(annotation)
    verify_rekor_bundle(
        bundle,
        rekor_keys=tlog.rekor_keys,
        payload=layer.payload,
        signature_b64=signature_b64,
        public_pem=public_pem,
        kind=kind,
    )
    return bundle


def verify_signature_layer(
    layer: SignatureLayer,
    *,
    verifiers: Sequence[Verifier],
    image_digest: str,
    required_annotations: Mapping[str, str] | None = None,
    tlog: TlogPolicy,
) -> VerifiedSignature:
    """Verify one simple-signing layer with ``--key`` semantics.

    Args:
        layer: The layer and its exact payload bytes.
        verifiers: Trusted keys; any one may match (rotation windows).
        image_digest: ``sha256:<hex>`` of the image manifest being verified.
        required_annotations: cosign ``-a k=v``: each must equal a string in ``optional``.
        tlog: Transparency-log requirements.

    Returns:
        The verified signature.

    Raises:
        SignatureInvalid: Not a signature layer, no/undecodable signature annotation, no key
            verifies, or a certificate annotation holds another key.
        DigestMismatch: The payload names another manifest digest.
        TlogInvalid: Transparency-log evidence missing or not matching (unless ignored).
        MalformedData: The payload or the Rekor bundle is malformed.
    """
    # 1. Only simple-signing layers are image signatures.
    if layer.media_type != SIMPLESIGNING_MEDIA_TYPE:
        raise SignatureInvalid(f"layer media type {layer.media_type} is not a cosign signature")
    signature_b64, signature = _decode_signature(layer)
    # 5. Signature over the exact payload bytes with any trusted key (done before 3/4 so that
    #    the tlog and certificate checks compare against the key that actually matched).
    index, verifier = find_verifier(verifiers, signature, layer.payload)
    # 4. Certificate annotation, if present, must carry the same key.
    cert_pem = _check_certificate_key(layer, verifier)
    # 3. Transparency log (offline: bundle annotation + SET).
    bundle = _check_tlog(
        layer,
        tlog=tlog,
        signature_b64=signature_b64,
        public_pem=cert_pem or verifier.public_pem(),
        kind="signature",
    )
    # 6. Claims: the payload's manifest digest is the image digest; -a annotations match.
    payload = parse_payload(layer.payload)
    if payload.manifest_digest != image_digest:
        raise DigestMismatch(
            f"signature is for {payload.manifest_digest or 'no digest'}, image is {image_digest}"
        )
    optional = payload.optional or {}
    for key, value in (required_annotations or {}).items():
        actual = optional.get(key)
        if not isinstance(actual, str) or actual != value:
            raise SignatureInvalid(f"annotation {key}={value} is not in the signed payload")
    return VerifiedSignature(
        payload=payload,
        raw_payload=layer.payload,
        annotations=dict(layer.annotations),
        key_fingerprint=fingerprint(verifier.public_pem()),
        key_index=index,
        bundle=bundle,
        layer_digest=layer.digest,
    )


def verify_signature_set(
    layers: Sequence[SignatureLayer],
    *,
    verifiers: Sequence[Verifier],
    image_digest: str,
    required_annotations: Mapping[str, str] | None = None,
    tlog: TlogPolicy,
) -> list[VerifiedSignature]:
    """Verify every simple-signing layer of a ``.sig`` manifest; keep those that pass.

    Args:
        layers: All layers of the signature manifest with their blobs.
        verifiers: Trusted keys.
        image_digest: ``sha256:<hex>`` of the image manifest.
        required_annotations: cosign ``-a`` requirements.
        tlog: Transparency-log requirements.

    Returns:
        The verified signatures, in layer order (at least one).

    Raises:
        NoSignaturesFound: No layer has the simple-signing media type.
        NoMatchingSignatures: Signature layers exist but none passed; ``failures`` holds one
            :class:`VerificationFailed` per layer (malformed layers become SignatureInvalid).
    """
    candidates = [layer for layer in layers if layer.media_type == SIMPLESIGNING_MEDIA_TYPE]
    if not candidates:
        raise NoSignaturesFound("no signatures found")
    verified: list[VerifiedSignature] = []
    failures: list[VerificationFailed] = []
    for number, layer in enumerate(candidates, start=1):
        try:
            verified.append(
                verify_signature_layer(
                    layer,
                    verifiers=verifiers,
                    image_digest=image_digest,
                    required_annotations=required_annotations,
                    tlog=tlog,
                )
            )
        except VerificationFailed as exc:
            failures.append(exc)
        except MalformedData as exc:
            # A malformed layer is a bad signature, not an undecidable check (cosign: exit 12).
            failures.append(SignatureInvalid(f"signature {number}: {exc.message}"))
    if verified:
        return verified
    reasons = "; ".join(f.message for f in failures)
    raise NoMatchingSignatures(f"no matching signatures: {reasons}", failures)

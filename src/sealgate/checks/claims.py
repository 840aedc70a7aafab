"""Claims a signed payload makes about the image, checked after an authority vouched for it.

cosign's claim verifiers: a simple-signing payload names the image manifest digest (and
carries the ``-a`` annotations in ``optional``); an in-toto statement has a subject whose
digest is the image digest (``IntotoSubjectClaimVerifier``). Neither depends on who signed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sealgate.checks.pipeline import ClaimsCheck
from sealgate.checks.signed import SignedThing
from sealgate.errors import DigestMismatch, SignatureInvalid
from sealgate.formats.cosign_types import COSIGN_SIGN_PREDICATE_TYPE
from sealgate.formats.intoto import Statement, parse_statement
from sealgate.formats.simplesigning import SimpleSigningPayload, parse_payload

__all__ = ["image_signature_claims", "statement_claims"]


def image_signature_claims(
    image_digest: str, required_annotations: Mapping[str, str] | None = None
) -> ClaimsCheck[SimpleSigningPayload]:
    """The claims check of an image signature.

    Args:
        image_digest: ``sha256:<hex>`` of the image manifest being verified.
        required_annotations: cosign ``-a k=v``: each must equal a string in ``optional``.

    Returns:
        A check that returns the parsed payload, or raises ``DigestMismatch`` (another
        digest), ``SignatureInvalid`` (an annotation missing) or ``MalformedData``.
    """
    required = dict(required_annotations or {})

    def check(thing: SignedThing) -> SimpleSigningPayload:
        if thing.kind != "simplesigning":
            return _bundle_signature_claims(thing, image_digest, required)
        payload = parse_payload(thing.payload)
        if payload.manifest_digest != image_digest:
            raise DigestMismatch(
                f"{thing.label}: signature is for {payload.manifest_digest or 'no digest'}, "
                f"image is {image_digest}"
            )
        optional = payload.optional or {}
        for key, value in required.items():
            actual = optional.get(key)
            if not isinstance(actual, str) or actual != value:
                raise SignatureInvalid(
                    f"{thing.label}: annotation {key}={value} is not in the signed payload"
                )
        return payload

    return check


def _bundle_signature_claims(
    thing: SignedThing, image_digest: str, required: Mapping[str, str]
) -> SimpleSigningPayload:
    """A cosign 3 image signature: an in-toto statement of cosign's sign predicate type.

    cosign's ``IntotoSubjectClaimVerifier``: a subject carries the image digest, and every
    ``-a`` pair is among that subject's annotations. The result is shaped like a simple-signing
    payload, as cosign prints it (``transformOutput``).
    """
    statement = parse_statement(thing.payload)
    if statement.predicate_type != COSIGN_SIGN_PREDICATE_TYPE:
        raise SignatureInvalid(
            f"{thing.label}: bundle holds a {statement.predicate_type} statement, "
            "not an image signature"
        )
    subject = next(
        (
            s
            for s in statement.subjects
            if any(f"{alg}:{value}" == image_digest for alg, value in s.digest.items())
        ),
        None,
    )
    if subject is None:
        raise DigestMismatch(
            f"{thing.label}: no signature subject matches the image digest {image_digest}"
        )
    for key, value in required.items():
        actual = subject.annotations.get(key)
        if not isinstance(actual, str) or actual != value:
            raise SignatureInvalid(
                f"{thing.label}: annotation {key}={value} is not in the signed statement"
            )
    optional = dict(subject.annotations) or None
    return SimpleSigningPayload(
        docker_reference=subject.name,
        manifest_digest=image_digest,
        type=statement.predicate_type,
        optional=optional,
    )


def statement_claims(image_digest: str) -> ClaimsCheck[Statement]:
    """The claims check of an attestation: a statement subject has the image digest.

    Args:
        image_digest: ``sha256:<hex>`` of the image manifest being verified.

    Returns:
        A check that returns the parsed statement, or raises ``DigestMismatch`` or
        ``MalformedData``.
    """

    def check(thing: SignedThing) -> Statement:
        statement = parse_statement(thing.payload)
        if not statement.has_subject_digest(image_digest):
            raise DigestMismatch(
                f"{thing.label}: no attestation subject matches the image digest {image_digest}"
            )
        return statement

    return check

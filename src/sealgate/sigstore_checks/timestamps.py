"""RFC 3161 signed timestamps over a signature, from a TSA in the trusted root.

sigstore-go ``SigstoreTimestampingAuthority.Verify``: the token must be signed by the TSA's
certificate chained to the TSA root (every certificate valid at the token's genTime), its message
imprint must be the hash of the signature bytes, and genTime must lie inside the TSA's
``validFor`` window, both ends inclusive (sigstore-python's end is exclusive; the conformance case
``trust-root-tsa-validity-end-inclusive`` pins the inclusive reading). The CMS and chain checks
are ``rfc3161-client``'s (the library sigstore-python uses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rfc3161_client import TimeStampResponse, VerifierBuilder, decode_timestamp_response
from rfc3161_client.errors import VerificationError

from sealgate.errors import MalformedData, UntrustedChain
from sealgate.trust import TimestampAuthority

__all__ = ["VerifiedTimestamp", "verify_rfc3161_timestamp"]

MAX_TIMESTAMP_BYTES = 64 * 1024


@dataclass(frozen=True)
class VerifiedTimestamp:
    """A timestamp that verified.

    Attributes:
        time: genTime (aware UTC).
        authority: The TSA that signed it.
    """

    time: datetime
    authority: TimestampAuthority


def _decode(der: bytes) -> tuple[TimeStampResponse, datetime]:
    if len(der) > MAX_TIMESTAMP_BYTES:
        raise MalformedData("RFC 3161 timestamp is larger than 64 KiB")
    try:
        response = decode_timestamp_response(der)
        # The token inside is parsed lazily: touch it here so a bad one is malformed data.
        gen_time = response.tst_info.gen_time
        response.tst_info.message_imprint.message  # noqa: B018
    except (ValueError, TypeError) as exc:
        raise MalformedData("RFC 3161 timestamp cannot be parsed") from exc
    if gen_time.tzinfo is None:
        gen_time = gen_time.replace(tzinfo=UTC)
    return response, gen_time.astimezone(UTC)


def _verify_with(
    authority: TimestampAuthority, response: TimeStampResponse, message: bytes
) -> None:
    builder = VerifierBuilder().add_root_certificate(authority.root)
    if authority.leaf is not None:
        builder = builder.tsa_certificate(authority.leaf)
    for certificate in authority.intermediates:
        builder = builder.add_intermediate_certificate(certificate)
    builder.build().verify_message(response, message)


def verify_rfc3161_timestamp(
    timestamp_der: bytes, signature: bytes, authorities: Sequence[TimestampAuthority]
) -> VerifiedTimestamp:
    """Verify one timestamp over ``signature`` with the first TSA that accepts it.

    Args:
        timestamp_der: A DER ``TimeStampResp``.
        signature: The signature bytes the timestamp must cover.
        authorities: Trusted TSAs.

    Returns:
        The verified time and TSA.

    Raises:
        MalformedData: If the response cannot be parsed.
        UntrustedChain: If no trusted TSA signed it, it covers other bytes, or its time is
            outside every accepting TSA's validity window.
    """
    response, gen_time = _decode(timestamp_der)
    if not authorities:
        raise UntrustedChain("signed timestamp present but the trusted root has no TSA")
    reasons: list[str] = []
    for authority in authorities:
        try:
            _verify_with(authority, response, signature)
        except (VerificationError, ValueError) as exc:
            reasons.append(str(exc)[:200])
            continue
        if not authority.valid_for.contains(gen_time):
            reasons.append(f"time {gen_time.isoformat()} is outside the TSA's validity")
            continue
        return VerifiedTimestamp(time=gen_time, authority=authority)
    raise UntrustedChain(f"RFC 3161 timestamp does not verify: {reasons[-1]}")

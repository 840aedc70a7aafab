"""X.509 path validation to a trusted CA at the signing time, and the code-signing leaf profile.

Semantics are cosign's and sigstore-go's (``root.FulcioCertificateAuthority.Verify``): for each
trusted CA whose ``validFor`` window contains the signing time, build a path from the leaf through
that CA's intermediates (plus, for cosign's legacy chain annotation and BYO PKI, intermediates the
signature carried) to its root, with every certificate valid at that time (the "hybrid model").
Path building is :mod:`cryptography.x509.verification`; its WebPKI extension profile is relaxed to
what Go's ``x509.Verify`` checks (basic constraints on CAs, no unknown critical extension), since
private PKIs and Fulcio are not WebPKI. The leaf must not be a CA and must allow code signing: an
EKU extension, if present on any certificate of the path, must list codeSigning or anyEKU (Go's
rule; a certificate without EKU allows every usage).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from sealgate.errors import MalformedData, UntrustedChain
from sealgate.trust import CertificateAuthority

__all__ = ["VerifiedChain", "check_valid_at", "verify_certificate_chain"]

# Extensions Go's crypto/x509 understands; any other critical extension fails verification.
_HANDLED_CRITICAL = frozenset(
    {
        ExtensionOID.KEY_USAGE,
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.NAME_CONSTRAINTS,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.CERTIFICATE_POLICIES,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    }
)
_CODE_SIGNING_OK = frozenset(
    {ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
)


@dataclass(frozen=True)
class VerifiedChain:
    """A validated path.

    Attributes:
        chain: Leaf first, trusted root last.
        authority: The trusted CA the path ends in.
    """

    chain: tuple[x509.Certificate, ...]
    authority: CertificateAuthority


def _extensions(cert: x509.Certificate) -> x509.Extensions:
    try:
        return cert.extensions
    except (ValueError, x509.UnsupportedGeneralNameType) as exc:  # duplicate or undecodable
        raise MalformedData(f"certificate extensions cannot be parsed: {exc}") from exc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(_extensions(cert).get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _check_profile(chain: Sequence[x509.Certificate]) -> None:
    for cert in chain:
        for ext in _extensions(cert):
            if ext.critical and ext.oid not in _HANDLED_CRITICAL:
                raise UntrustedChain(f"certificate has an unknown critical extension {ext.oid}")
        try:
            usages = _extensions(cert).get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if not _CODE_SIGNING_OK.intersection(usages):
            raise UntrustedChain("certificate path does not allow code signing (EKU)")


def _require_ca(_policy: object, _cert: x509.Certificate, value: x509.BasicConstraints) -> None:
    if not value.ca:
        raise ValueError("issuer is not a CA")


def _verifier_policy(at: datetime, root: x509.Certificate) -> PolicyBuilder:
    ca_policy = ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, Criticality.AGNOSTIC, _require_ca
    )
    return (
        PolicyBuilder()
        .store(Store([root]))
        .time(at)
        .extension_policies(ca_policy=ca_policy, ee_policy=ExtensionPolicy.permit_all())
    )


def check_valid_at(cert: x509.Certificate, at: datetime, what: str = "signing certificate") -> None:
    """Require ``notBefore <= at <= notAfter`` (RFC 5280: both bounds inclusive).

    Args:
        cert: The certificate.
        at: The instant (aware).
        what: What to call the certificate in the message.

    Raises:
        UntrustedChain: If ``at`` is outside the certificate's validity.
    """
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise UntrustedChain(
            f"{what} was not valid at {at.isoformat()} "
            f"(valid {cert.not_valid_before_utc.isoformat()} to "
            f"{cert.not_valid_after_utc.isoformat()})"
        )


def verify_certificate_chain(
    leaf: x509.Certificate,
    authorities: Sequence[CertificateAuthority],
    *,
    at: datetime,
    untrusted_intermediates: Sequence[x509.Certificate] = (),
) -> VerifiedChain:
    """Validate ``leaf`` up to one of ``authorities`` at the signing time ``at``.

    Args:
        leaf: The signing certificate.
        authorities: Trusted CAs (from a trusted root or ``--ca-roots``).
        at: The signing time (an integrated time or a verified timestamp), aware.
        untrusted_intermediates: Extra CA certificates the signature carried (cosign's chain
            annotation); they help build a path but are never anchors.

    Returns:
        The first path found.

    Raises:
        UntrustedChain: If the leaf is a CA, no CA is valid at ``at``, no path validates at
            ``at``, or the path does not allow code signing.
        MalformedData: If a certificate's extensions cannot be decoded.
    """
    if _is_ca(leaf):
        raise UntrustedChain("signing certificate is a CA certificate")
    candidates = [ca for ca in authorities if ca.valid_for.contains(at)]
    if not candidates:
        raise UntrustedChain(f"no trusted certificate authority is valid at {at.isoformat()}")
    errors: list[str] = []
    for authority in candidates:
        pool = [*authority.intermediates, *untrusted_intermediates]
        verifier = _verifier_policy(at, authority.root).build_client_verifier()
        try:
            verified = verifier.verify(leaf, pool)
        except (VerificationError, ValueError, x509.UnsupportedGeneralNameType) as exc:
            errors.append(str(exc).split("\n")[0][:200])
            continue
        chain = tuple(verified.chain)
        _check_profile(chain)
        return VerifiedChain(chain=chain, authority=authority)
    raise UntrustedChain(
        f"certificate does not chain to a trusted root at {at.isoformat()}: {errors[-1]}"
    )

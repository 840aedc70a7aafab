"""Who a Fulcio certificate names, and cosign's ``--certificate-*`` identity matching.

Subject: the email, URI and Fulcio ``otherName`` (OID 1.3.6.1.4.1.57264.1.7, one UTF8String)
SANs; the policy matches if any of them matches (cosign ``CheckCertificatePolicy``; sigstore-go's
summary picks one of the same three kinds). Issuer: the Fulcio extension 1.3.6.1.4.1.57264.1.8
(DER UTF8String) or its deprecated raw-string predecessor 1.3.6.1.4.1.57264.1.1; if both are
present they must agree. Exact values compare byte for byte; ``*-regexp`` values use RE2, the
engine behind Go's ``regexp``, and search unanchored (``MatchString``), so ``^...$`` is the
caller's job, exactly as in cosign. Both a subject and an issuer criterion are required. The
``--certificate-github-workflow-*`` flags compare the raw values of extensions 1.2 to 1.6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2
from cryptography import x509

from sealgate.errors import MalformedData, UsageError, WrongIdentity

__all__ = ["CertificateIdentity", "IdentityPolicy", "certificate_identity", "match_identity"]

_OTHERNAME_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")
_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_GITHUB = {
    "github_workflow_trigger": x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.2"),
    "github_workflow_sha": x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.3"),
    "github_workflow_name": x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.4"),
    "github_workflow_repository": x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.5"),
    "github_workflow_ref": x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.6"),
}
_UTF8STRING = 0x0C
_IDENTITY_FLAG = "--certificate-identity-regexp"
_ISSUER_FLAG = "--certificate-oidc-issuer-regexp"


def _der_utf8(der: bytes, what: str) -> str:
    """Decode one DER UTF8String TLV (no trailing data)."""
    if len(der) < 2 or der[0] != _UTF8STRING:
        raise MalformedData(f"{what} is not a DER UTF8String")
    length, offset = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            raise MalformedData(f"{what} has a bad DER length")
        length, offset = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    if offset + length != len(der):
        raise MalformedData(f"{what} has a bad DER length")
    try:
        return der[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedData(f"{what} is not UTF-8") from exc


@dataclass(frozen=True)
class CertificateIdentity:
    """The identity claims of a certificate.

    Attributes:
        subjects: Email, URI and Fulcio otherName SANs, in certificate order.
        issuer: The OIDC issuer ("" when the certificate has none, e.g. a private PKI).
        extensions: Raw values of the GitHub workflow extensions present, by policy field name.
    """

    subjects: tuple[str, ...]
    issuer: str
    extensions: dict[str, str] = field(default_factory=dict)


def _raw_text(ext: x509.Extension[Any]) -> str:
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise MalformedData(f"certificate extension {ext.oid} is not a raw value")
    return value.value.decode("utf-8", "replace")


def certificate_identity(cert: x509.Certificate) -> CertificateIdentity:
    """Read the SANs, OIDC issuer and GitHub workflow extensions of ``cert``.

    Args:
        cert: A (Fulcio or private PKI) signing certificate.

    Returns:
        The identity claims.

    Raises:
        MalformedData: If extensions cannot be decoded, the Fulcio otherName or issuer (v2)
            extension is malformed, or the two issuer extensions disagree.
        WrongIdentity: Never; see :func:`match_identity`.
    """
    try:
        extensions = cert.extensions
    except (ValueError, x509.UnsupportedGeneralNameType) as exc:
        raise MalformedData(f"certificate extensions cannot be parsed: {exc}") from exc
    subjects: list[str] = []
    issuers: dict[str, str] = {}
    github: dict[str, str] = {}
    for ext in extensions:
        if isinstance(ext.value, x509.SubjectAlternativeName):
            for name in ext.value:
                if isinstance(name, x509.RFC822Name | x509.UniformResourceIdentifier):
                    subjects.append(name.value)
                elif isinstance(name, x509.OtherName) and name.type_id == _OTHERNAME_OID:
                    subjects.append(_der_utf8(name.value, "Fulcio otherName SAN"))
        elif ext.oid == _ISSUER_V1:
            issuers["v1"] = _raw_text(ext)
        elif ext.oid == _ISSUER_V2:
            value = ext.value
            raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
            issuers["v2"] = _der_utf8(raw, "Fulcio issuer extension")
        else:
            for name, oid in _GITHUB.items():
                if ext.oid == oid:
                    github[name] = _raw_text(ext)
    if len(set(issuers.values())) > 1:
        raise MalformedData("certificate's two OIDC issuer extensions disagree")
    issuer = issuers.get("v2", issuers.get("v1", ""))
    return CertificateIdentity(tuple(subjects), issuer, github)


@lru_cache(maxsize=64)
def _compile(pattern: str, flag: str) -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print parse errors to stderr itself
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        raise UsageError(f"{flag}: invalid regular expression (Go RE2 syntax)") from exc


@dataclass(frozen=True)
class IdentityPolicy:
    """cosign's certificate identity flags; construct once per verification.

    Attributes:
        identity: ``--certificate-identity`` (exact SAN).
        identity_regexp: ``--certificate-identity-regexp`` (RE2, unanchored search).
        issuer: ``--certificate-oidc-issuer`` (exact).
        issuer_regexp: ``--certificate-oidc-issuer-regexp`` (RE2, unanchored search).
        github_workflow_trigger: ``--certificate-github-workflow-trigger`` (exact, optional).
        github_workflow_sha: ``--certificate-github-workflow-sha``.
        github_workflow_name: ``--certificate-github-workflow-name``.
        github_workflow_repository: ``--certificate-github-workflow-repository``.
        github_workflow_ref: ``--certificate-github-workflow-ref``.
    """

    identity: str = ""
    identity_regexp: str = ""
    issuer: str = ""
    issuer_regexp: str = ""
    github_workflow_trigger: str = ""
    github_workflow_sha: str = ""
    github_workflow_name: str = ""
    github_workflow_repository: str = ""
    github_workflow_ref: str = ""

    def __post_init__(self) -> None:
        """Reject an incomplete policy or a bad regexp before any verification runs.

        Raises:
            UsageError: If no subject or no issuer criterion is set, or a regexp is invalid.
        """
        if not (self.identity or self.identity_regexp):
            raise UsageError("--certificate-identity or --certificate-identity-regexp is required")
        if not (self.issuer or self.issuer_regexp):
            raise UsageError(
                "--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required"
            )
        if self.identity_regexp:
            _compile(self.identity_regexp, _IDENTITY_FLAG)
        if self.issuer_regexp:
            _compile(self.issuer_regexp, _ISSUER_FLAG)

    def subject_matches(self, subject: str) -> bool:
        """Whether one SAN satisfies the subject criteria (all that are set)."""
        if self.identity and subject != self.identity:
            return False
        if not self.identity_regexp:
            return True
        return _compile(self.identity_regexp, _IDENTITY_FLAG).search(subject) is not None

    def issuer_matches(self, issuer: str) -> bool:
        """Whether the OIDC issuer satisfies the issuer criteria (all that are set)."""
        if self.issuer and issuer != self.issuer:
            return False
        if not self.issuer_regexp:
            return True
        return _compile(self.issuer_regexp, _ISSUER_FLAG).search(issuer) is not None


def match_identity(cert: x509.Certificate, policy: IdentityPolicy) -> CertificateIdentity:
    """Check ``cert`` against ``policy``.

    Args:
        cert: The signing certificate (already chained to a trusted CA).
        policy: The expected identity.

    Returns:
        The certificate's identity claims.

    Raises:
        WrongIdentity: If no SAN matches, the issuer does not match, or a GitHub workflow
            extension differs.
        MalformedData: See :func:`certificate_identity`.
    """
    claims = certificate_identity(cert)
    for name in _GITHUB:
        expected = getattr(policy, name)
        if expected and claims.extensions.get(name, "") != expected:
            flag = "--certificate-" + name.replace("_", "-")
            raise WrongIdentity(f"certificate does not match {flag}")
    if not any(policy.subject_matches(subject) for subject in claims.subjects):
        shown = ", ".join(claims.subjects)[:200] or "none"
        raise WrongIdentity(f"certificate identity does not match: got subjects [{shown}]")
    if not policy.issuer_matches(claims.issuer):
        raise WrongIdentity(
            f"certificate OIDC issuer does not match: got {claims.issuer[:200] or 'none'}"
        )
    return claims

"""Path validation at the signing time, the code-signing profile, and cosign identity matching."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from sealgate.errors import MalformedData, UntrustedChain, UsageError, WrongIdentity
from sealgate.sigstore_checks import (
    IdentityPolicy,
    certificate_identity,
    check_valid_at,
    match_identity,
    verify_certificate_chain,
)
from sealgate.trust import CertificateAuthority, TimeRange
from tests.support.pki import OTHERNAME, T0, Issued, der_utf8, make_ca, make_leaf

AT = T0 + timedelta(minutes=5)


#: A root CA and an intermediate it issued.
Hierarchy = tuple[Issued, Issued]


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    root = make_ca("root")
    intermediate = make_ca("intermediate", parent=root)
    return root, intermediate


def _ca(hierarchy: Hierarchy, valid_for: TimeRange | None = None) -> CertificateAuthority:
    root, intermediate = hierarchy
    window = TimeRange.unbounded() if valid_for is None else valid_for
    return CertificateAuthority(
        root=root.cert, intermediates=(intermediate.cert,), valid_for=window
    )


def test_chain_validates_at_the_signing_time_not_now(hierarchy: Hierarchy) -> None:
    leaf = make_leaf(hierarchy[1]).cert
    verified = verify_certificate_chain(leaf, [_ca(hierarchy)], at=AT)
    assert [c.subject for c in verified.chain][1:] == [
        hierarchy[1].cert.subject,
        hierarchy[0].cert.subject,
    ]
    # Both ends of the leaf's validity are inclusive; a second later it is expired.
    verify_certificate_chain(leaf, [_ca(hierarchy)], at=leaf.not_valid_after_utc)
    with pytest.raises(UntrustedChain):
        verify_certificate_chain(
            leaf, [_ca(hierarchy)], at=leaf.not_valid_after_utc + timedelta(seconds=1)
        )
    with pytest.raises(UntrustedChain):
        check_valid_at(leaf, T0 - timedelta(seconds=1))


def test_intermediates_from_the_signature_help_but_never_anchor(hierarchy: Hierarchy) -> None:
    root, intermediate = hierarchy
    leaf = make_leaf(intermediate).cert
    roots_only = CertificateAuthority(root=root.cert)
    with pytest.raises(UntrustedChain):
        verify_certificate_chain(leaf, [roots_only], at=AT)
    verify_certificate_chain(leaf, [roots_only], at=AT, untrusted_intermediates=[intermediate.cert])
    # An intermediate is not a trust anchor by itself.
    with pytest.raises(UntrustedChain):
        verify_certificate_chain(
            leaf,
            [CertificateAuthority(root=make_ca("other").cert)],
            at=AT,
            untrusted_intermediates=[intermediate.cert, root.cert],
        )


def test_ca_validity_window_is_closed(hierarchy: Hierarchy) -> None:
    leaf = make_leaf(hierarchy[1]).cert
    window = _ca(hierarchy, valid_for=TimeRange(T0 - timedelta(days=1), AT))
    verify_certificate_chain(leaf, [window], at=AT)
    with pytest.raises(UntrustedChain, match="no trusted certificate authority"):
        verify_certificate_chain(leaf, [window], at=AT + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ca": True}, "is a CA"),
        ({"eku": [ExtendedKeyUsageOID.SERVER_AUTH]}, "code signing"),
        (
            {"extra": [(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"x"), True)]},
            "critical extension",
        ),
    ],
)
def test_leaf_profile(hierarchy: Hierarchy, kwargs: dict[str, Any], message: str) -> None:
    leaf = make_leaf(hierarchy[1], **kwargs).cert
    with pytest.raises(UntrustedChain, match=message):
        verify_certificate_chain(leaf, [_ca(hierarchy)], at=AT)


def test_no_eku_means_any_usage_as_in_go(hierarchy: Hierarchy) -> None:
    leaf = make_leaf(hierarchy[1], eku=[]).cert
    verify_certificate_chain(leaf, [_ca(hierarchy)], at=AT)


def test_identity_claims_email_uri_othername_not_dns(hierarchy: Hierarchy) -> None:
    leaf = make_leaf(
        hierarchy[1],
        sans=[
            x509.DNSName("host.example"),
            x509.UniformResourceIdentifier(
                "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main"
            ),
            x509.OtherName(OTHERNAME, der_utf8("user!example.com")),
            x509.RFC822Name("dev@example.com"),
        ],
    ).cert
    claims = certificate_identity(leaf)
    assert claims.subjects == (
        "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main",
        "user!example.com",
        "dev@example.com",
    )
    assert claims.issuer == "https://issuer.example"
    for subject in (*claims.subjects, "host.example"):
        policy = IdentityPolicy(identity=subject, issuer="https://issuer.example")
        if subject == "host.example":
            with pytest.raises(WrongIdentity):
                match_identity(leaf, policy)
        else:
            match_identity(leaf, policy)


@pytest.mark.parametrize(
    ("v1", "v2", "issuer"),
    [("https://a", None, "https://a"), (None, "https://b", "https://b"), (None, None, "")],
)
def test_issuer_from_either_extension(
    hierarchy: Hierarchy, v1: str | None, v2: str | None, issuer: str
) -> None:
    leaf = make_leaf(hierarchy[1], oidc_issuer_v1=v1, oidc_issuer_v2=v2).cert
    assert certificate_identity(leaf).issuer == issuer


def test_disagreeing_issuer_extensions_are_malformed(hierarchy: Hierarchy) -> None:
    leaf = make_leaf(hierarchy[1], oidc_issuer_v1="https://a", oidc_issuer_v2="https://b").cert
    with pytest.raises(MalformedData):
        certificate_identity(leaf)


def test_regexps_are_go_re2_unanchored_searches(hierarchy: Hierarchy) -> None:
    leaf = make_leaf(hierarchy[1]).cert  # dev@example.com, https://issuer.example
    match_identity(leaf, IdentityPolicy(identity_regexp="example", issuer_regexp="issuer"))
    match_identity(leaf, IdentityPolicy(identity_regexp=r"^dev@example\.com$", issuer_regexp="."))
    with pytest.raises(WrongIdentity):
        match_identity(leaf, IdentityPolicy(identity_regexp="^example", issuer_regexp="."))
    with pytest.raises(WrongIdentity):
        match_identity(leaf, IdentityPolicy(identity="dev@example.com", issuer_regexp="^issuer"))
    # Go's regexp is RE2: no backreferences or lookarounds (Python's re would accept them).
    with pytest.raises(UsageError):
        IdentityPolicy(identity_regexp=r"(a)\1", issuer="x")
    with pytest.raises(UsageError):
        IdentityPolicy(identity_regexp=r"(?=dev)", issuer="x")


def test_subject_and_issuer_criteria_are_both_required() -> None:
    with pytest.raises(UsageError, match="identity"):
        IdentityPolicy(issuer="https://x")
    with pytest.raises(UsageError, match="issuer"):
        IdentityPolicy(identity="a@b")


def test_github_workflow_extensions(hierarchy: Hierarchy) -> None:
    trigger = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.2")
    repo = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.5")
    leaf = make_leaf(
        hierarchy[1],
        extra=[
            (x509.UnrecognizedExtension(trigger, b"push"), False),
            (x509.UnrecognizedExtension(repo, b"o/r"), False),
        ],
    ).cert
    base = {"identity": "dev@example.com", "issuer": "https://issuer.example"}
    match_identity(
        leaf,
        IdentityPolicy(**base, github_workflow_trigger="push", github_workflow_repository="o/r"),
    )
    with pytest.raises(WrongIdentity, match="workflow-trigger"):
        match_identity(leaf, IdentityPolicy(**base, github_workflow_trigger="release"))
    with pytest.raises(WrongIdentity, match="workflow-sha"):
        match_identity(leaf, IdentityPolicy(**base, github_workflow_sha="abc"))

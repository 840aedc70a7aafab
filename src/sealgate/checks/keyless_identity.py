"""Keyless authorities as policies write them; verification itself is not in this build yet.

A keyless authority trusts whoever holds a short-lived certificate naming an identity
(``subject``/``issuer``, exact or as regular expressions) under some trust roots. Policies
(ClusterImagePolicy ``keyless``, Kyverno ``keyless``/``certificates``) are loaded into
:class:`KeylessAuthority` so that a report names them and a threshold counts them; until the
certificate and Rekor checks land, :meth:`KeylessAuthority.check` always refuses with
:data:`KEYLESS_UNAVAILABLE`. It never accepts a signature.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from sealgate.checks.authorities import Acceptance, CheckContext
from sealgate.checks.signed import SignedThing
from sealgate.errors import ConfigError, VerificationFailed

__all__ = [
    "KEYLESS_UNAVAILABLE",
    "CertificateAuthority",
    "IdentitySpec",
    "KeylessAuthority",
    "KeylessUnavailable",
]

KEYLESS_UNAVAILABLE = "keyless verification is not available in this build"


class KeylessUnavailable(VerificationFailed):
    """A keyless authority was asked to vouch for a signature; this build cannot check one."""

    reason = "keyless-unavailable"


def _compile(text: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except (re.error, RecursionError, OverflowError) as err:
        raise ConfigError(f"{what} {text[:100]!r} is not a valid regular expression") from err


@dataclass(frozen=True)
class IdentitySpec:
    """Who the certificate must name (cosign ``Identity``): exact values or RE2-style regexps.

    Attributes:
        issuer: The OIDC issuer, exactly.
        subject: The subject (email, URI), exactly.
        issuer_regexp: A regular expression the issuer must match (Go ``regexp.MatchString``,
            so unanchored unless the expression anchors itself).
        subject_regexp: Likewise for the subject.
    """

    issuer: str = ""
    subject: str = ""
    issuer_regexp: str = ""
    subject_regexp: str = ""

    def __post_init__(self) -> None:
        if not (self.issuer or self.issuer_regexp or self.subject or self.subject_regexp):
            raise ConfigError("an identity needs an issuer or a subject (exact or regexp)")
        regexps = ((self.issuer_regexp, "issuerRegExp"), (self.subject_regexp, "subjectRegExp"))
        for text, what in regexps:
            if text:
                _compile(text, what)

    def matches(self, issuer: str, subject: str) -> bool:
        """Whether a certificate's issuer and subject satisfy this identity."""
        if self.issuer and issuer != self.issuer:
            return False
        if self.subject and subject != self.subject:
            return False
        if self.issuer_regexp and not _compile(self.issuer_regexp, "issuerRegExp").search(issuer):
            return False
        return not (
            self.subject_regexp
            and not _compile(self.subject_regexp, "subjectRegExp").search(subject)
        )

    def describe(self) -> str:
        """``subject S from issuer I`` for reports."""
        subject = self.subject or f"~/{self.subject_regexp}/"
        issuer = self.issuer or f"~/{self.issuer_regexp}/"
        return f"{subject} from {issuer}"


@dataclass(frozen=True)
class KeylessAuthority:
    """A keyless (certificate identity) authority; fails closed in this build.

    Attributes:
        name: How reports name it.
        identities: Any of these identities may sign.
        roots_pem: Trusted root/intermediate certificates (PEM), when the policy gives them.
        url: The Fulcio URL named by the policy (informational).
        trust_root_ref: A TrustRoot resource name, when the policy names one.
    """

    name: str
    identities: tuple[IdentitySpec, ...]
    roots_pem: bytes | None = field(default=None, repr=False)
    url: str = ""
    trust_root_ref: str = ""

    def __post_init__(self) -> None:
        if not self.identities:
            raise ConfigError(f"keyless authority {self.name}: no identities (who may sign?)")

    @property
    def id(self) -> str:
        spec = {
            "identities": sorted(
                [i.issuer, i.subject, i.issuer_regexp, i.subject_regexp] for i in self.identities
            ),
            "roots": hashlib.sha256(self.roots_pem or b"").hexdigest(),
            "trustRootRef": self.trust_root_ref,
        }
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        return f"keyless:sha256:{digest}"

    def describe(self) -> str:
        """The identities, for reports."""
        return "; ".join(i.describe() for i in self.identities)

    def check(self, thing: SignedThing, context: CheckContext) -> Acceptance:
        del context
        raise KeylessUnavailable(f"{thing.label}: authority {self.name}: {KEYLESS_UNAVAILABLE}")


@dataclass(frozen=True)
class CertificateAuthority:
    """A given signing certificate and chain (Kyverno ``certificates``); fails closed for now.

    Attributes:
        name: How reports name it.
        cert_pem: The signing certificate, when given.
        chain_pem: Its chain, when given.
    """

    name: str
    cert_pem: bytes | None = field(default=None, repr=False)
    chain_pem: bytes | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        digest = hashlib.sha256(
            (self.cert_pem or b"") + b"\0" + (self.chain_pem or b"")
        ).hexdigest()
        return f"certificate:sha256:{digest}"

    def check(self, thing: SignedThing, context: CheckContext) -> Acceptance:
        del context
        raise KeylessUnavailable(
            f"{thing.label}: authority {self.name}: certificate {KEYLESS_UNAVAILABLE}"
        )

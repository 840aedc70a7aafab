"""Keyless authorities: whoever holds a short-lived certificate naming a trusted identity.

A keyless authority (cosign ``--certificate-identity``/``--certificate-oidc-issuer``,
ClusterImagePolicy ``keyless``, Kyverno ``keyless``) vouches for a signature when, in cosign's
order (``verifyInternal``; sigstore-go ``Verifier.Verify`` for bundles):

1. every transparency-log entry verifies and is about this signature and certificate (unless
   the log is waived); SET-covered integrated times are signing times;
2. RFC 3161 timestamps from a trusted TSA add signing times (one that does not verify just
   does not count, as in sigstore-go; an unparseable one fails);
3. with no signing time at all: the reference time when the log is waived (cosign: "now"),
   else the signature is refused;
4. the certificate chains to a trusted CA, and is valid, at every signing time;
5. the embedded SCT verifies against a trusted CT log (unless ``--insecure-ignore-sct``);
6. the certificate names one of the authority's identities (subject and issuer);
7. the signature verifies with the certificate's key.

Kyverno ``certificates`` (a given certificate instead of an identity) is
:class:`CertificateAuthority`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealgate.checks._pem import certificate_spki
from sealgate.checks.authorities import Acceptance, CheckContext
from sealgate.checks.signed import SignedThing
from sealgate.checks.tlog import verify_log_entries
from sealgate.errors import (
    ConfigError,
    MalformedData,
    SignatureInvalid,
    UntrustedChain,
    UsageError,
    WrongIdentity,
)
from sealgate.formats.rekor import RekorBundle
from sealgate.sigstore_checks import (
    CertificateIdentity,
    IdentityPolicy,
    check_valid_at,
    match_identity,
    signing_key,
    verify_artifact_signature,
    verify_certificate_chain,
    verify_dsse_signature,
    verify_embedded_scts,
    verify_rfc3161_timestamp,
)
from sealgate.trust import TrustedRoot, parse_ca_set

__all__ = ["CertificateAuthority", "IdentitySpec", "KeylessAuthority"]

# A criterion a policy leaves out matches anything (as policy-controller and Kyverno read it);
# cosign's command line requires both and says so before this is built.
_ANY = ".*"


@dataclass(frozen=True)
class IdentitySpec:
    """Who the certificate must name: exact values or Go (RE2) regular expressions.

    Attributes:
        issuer: The OIDC issuer, exactly.
        subject: The subject (email, URI, Fulcio otherName), exactly.
        issuer_regexp: A regular expression the issuer must match (Go ``regexp.MatchString``:
            unanchored unless the expression anchors itself).
        subject_regexp: Likewise for the subject.
        github_workflow_trigger: ``--certificate-github-workflow-trigger`` (exact, optional);
            likewise ``_sha``, ``_name``, ``_repository`` and ``_ref``.
    """

    issuer: str = ""
    subject: str = ""
    issuer_regexp: str = ""
    subject_regexp: str = ""
    github_workflow_trigger: str = ""
    github_workflow_sha: str = ""
    github_workflow_name: str = ""
    github_workflow_repository: str = ""
    github_workflow_ref: str = ""

    def __post_init__(self) -> None:
        if not (self.issuer or self.issuer_regexp or self.subject or self.subject_regexp):
            raise ConfigError("an identity needs an issuer or a subject (exact or regexp)")
        try:
            self.policy()
        except UsageError as err:
            # The flag names in the message are the command line's; a policy has regexps.
            which = "issuer" if "issuer" in err.message else "subject"
            raise ConfigError(f"{which} is not a valid regular expression (Go RE2 syntax)") from err

    def policy(self) -> IdentityPolicy:
        """The identity as the certificate checks take it.

        Raises:
            UsageError: A regular expression does not compile (RE2 syntax).
        """
        return IdentityPolicy(
            identity=self.subject,
            identity_regexp=self.subject_regexp or ("" if self.subject else _ANY),
            issuer=self.issuer,
            issuer_regexp=self.issuer_regexp or ("" if self.issuer else _ANY),
            github_workflow_trigger=self.github_workflow_trigger,
            github_workflow_sha=self.github_workflow_sha,
            github_workflow_name=self.github_workflow_name,
            github_workflow_repository=self.github_workflow_repository,
            github_workflow_ref=self.github_workflow_ref,
        )

    def describe(self) -> str:
        """``subject S from issuer I`` for reports."""
        subject = self.subject or f"~/{self.subject_regexp or _ANY}/"
        issuer = self.issuer or f"~/{self.issuer_regexp or _ANY}/"
        return f"{subject} from {issuer}"


def _signing_times(
    thing: SignedThing, leaf: x509.Certificate, root: TrustedRoot, context: CheckContext
) -> list[datetime]:
    """Steps 1 to 3: the times the certificate must have been valid at."""
    times: list[datetime] = []
    if not context.tlog.insecure_ignore_tlog:
        content = thing.signed_content(
            leaf.public_bytes(serialization.Encoding.DER), is_certificate=True
        )
        entries = verify_log_entries(
            thing.log_entries(),
            content,
            context.tlog,
            require_inclusion_proof=thing.bundle_version in ("0.2", "0.3"),
        )
        times.extend(e.integrated_time for e in entries if e.integrated_time is not None)
    for stamp in thing.timestamps():
        try:
            times.append(
                verify_rfc3161_timestamp(
                    stamp, thing.signatures[0], root.timestamp_authorities
                ).time
            )
        except UntrustedChain:
            continue
    if not times:
        if not context.tlog.insecure_ignore_tlog:
            raise UntrustedChain(
                f"{thing.label}: no verified signing time (no log entry time, no trusted timestamp)"
            )
        times.append(context.reference_time)
    return times


def _verify_signature(thing: SignedThing, leaf: x509.Certificate) -> None:
    """Step 7: the signature with the certificate's key."""
    key = signing_key(leaf)
    if thing.envelope is not None:
        verify_dsse_signature(key, thing.envelope)
    elif thing.digest is not None:
        verify_artifact_signature(
            key, thing.signatures[0], digest=thing.digest, artifact=thing.message
        )
    else:
        raise MalformedData(f"{thing.label}: nothing to verify the signature over")


@dataclass(frozen=True)
class KeylessAuthority:
    """Certificate identities under trusted CAs (Fulcio, or a private PKI).

    Attributes:
        name: How reports name it.
        identities: Any of these may sign.
        trusted_root: CAs, CT logs and TSAs to trust (the transparency logs are the policy's).
        roots_pem: A policy's own CA certificates (ClusterImagePolicy ``ca-cert``), which
            replace the trusted root's CAs.
        ignore_sct: ``--insecure-ignore-sct`` (a private CA without CT).
        url: The Fulcio URL a policy names (informational).
        trust_root_ref: A TrustRoot resource name, when a policy names one.
    """

    name: str
    identities: tuple[IdentitySpec, ...]
    trusted_root: TrustedRoot = field(default_factory=TrustedRoot, repr=False)
    roots_pem: bytes | None = field(default=None, repr=False)
    ignore_sct: bool = False
    url: str = ""
    trust_root_ref: str = ""

    def __post_init__(self) -> None:
        if not self.identities:
            raise ConfigError(f"keyless authority {self.name}: no identities (who may sign?)")
        if self.roots_pem is not None:
            parse_ca_set(self.roots_pem)  # ConfigError now, not at the first signature

    @property
    def id(self) -> str:
        spec = {
            "identities": sorted(
                [
                    i.issuer,
                    i.subject,
                    i.issuer_regexp,
                    i.subject_regexp,
                    i.github_workflow_trigger,
                    i.github_workflow_sha,
                    i.github_workflow_name,
                    i.github_workflow_repository,
                    i.github_workflow_ref,
                ]
                for i in self.identities
            ),
            "roots": hashlib.sha256(self.roots_pem or b"").hexdigest(),
            "trustRoot": sorted(
                hashlib.sha256(ca.root.public_bytes(serialization.Encoding.DER)).hexdigest()
                for ca in self._root().certificate_authorities
            ),
            "ctlogs": sorted(key.log_id_hex for key in self._root().ctlogs),
            "tsas": sorted(
                hashlib.sha256(tsa.root.public_bytes(serialization.Encoding.DER)).hexdigest()
                for tsa in self._root().timestamp_authorities
            ),
            "trustRootRef": self.trust_root_ref,
            "sct": not self.ignore_sct,
        }
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        return f"keyless:sha256:{digest}"

    def describe(self) -> str:
        """The identities, for reports."""
        return "; ".join(i.describe() for i in self.identities)

    def _root(self) -> TrustedRoot:
        if self.roots_pem is None:
            return self.trusted_root
        own = parse_ca_set(self.roots_pem)
        return TrustedRoot(
            certificate_authorities=own.certificate_authorities,
            tlogs=self.trusted_root.tlogs,
            ctlogs=self.trusted_root.ctlogs,
            timestamp_authorities=self.trusted_root.timestamp_authorities,
            source=f"{self.name} ca-cert",
        )

    def _identity(self, leaf: x509.Certificate, label: str) -> CertificateIdentity:
        """Step 6: any of the identities."""
        refusals: list[str] = []
        for spec in self.identities:
            try:
                return match_identity(leaf, spec.policy())
            except WrongIdentity as error:
                refusals.append(error.message)
        raise WrongIdentity(f"{label}: {refusals[-1]} (expected {self.describe()})")

    def check(self, thing: SignedThing, context: CheckContext) -> Acceptance:
        leaf = thing.certificate
        if leaf is None:
            raise SignatureInvalid(f"{thing.label}: no certificate (a keyless signature has one)")
        root = self._root()
        times = _signing_times(thing, leaf, root, context)
        chain: tuple[x509.Certificate, ...] = ()
        for instant in times:
            path = verify_certificate_chain(
                leaf, root.certificate_authorities, at=instant, untrusted_intermediates=thing.chain
            )
            check_valid_at(leaf, instant)
            chain = tuple(path.chain)
        if not self.ignore_sct:
            verify_embedded_scts(leaf, chain, root.ctlogs)
        identity = self._identity(leaf, thing.label)
        _verify_signature(thing, leaf)
        subject = identity.subjects[0] if identity.subjects else ""
        verified_annotation = (
            RekorBundle.parse(thing.tlog_annotation)
            if thing.tlog_annotation is not None and not context.tlog.insecure_ignore_tlog
            else None
        )
        return Acceptance(
            authority=self.id,
            name=self.name,
            signer=f"{subject} ({identity.issuer})",
            bundle=verified_annotation,
            signing_time=min(times),
            subject=subject,
            issuer=identity.issuer,
        )


@dataclass(frozen=True)
class CertificateAuthority:
    """A given signing certificate (Kyverno ``certificates``, cosign ``--certificate``).

    The signature must verify with the given certificate's key; a signature that carries its
    own certificate must carry this one. With a chain, the given certificate must chain to it
    at the reference time.

    Attributes:
        name: How reports name it.
        cert_pem: The signing certificate.
        chain_pem: Its chain (intermediates and root), when given.
    """

    name: str
    cert_pem: bytes | None = field(default=None, repr=False)
    chain_pem: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.cert_pem:
            raise ConfigError(f"certificate authority {self.name}: no certificate given")
        self._leaf()

    def _leaf(self) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(self.cert_pem or b"")
        except ValueError as err:
            raise ConfigError(f"certificate authority {self.name}: not a PEM certificate") from err

    @property
    def id(self) -> str:
        digest = hashlib.sha256(
            (self.cert_pem or b"") + b"\0" + (self.chain_pem or b"")
        ).hexdigest()
        return f"certificate:sha256:{digest}"

    def check(self, thing: SignedThing, context: CheckContext) -> Acceptance:
        leaf = self._leaf()
        if thing.certificate is not None and certificate_spki(
            thing.certificate
        ) != certificate_spki(leaf):
            raise SignatureInvalid(
                f"{thing.label}: signed with another certificate than {self.name}"
            )
        if self.chain_pem:
            cas = parse_ca_set(self.chain_pem).certificate_authorities
            verify_certificate_chain(leaf, cas, at=context.reference_time)
        if not context.tlog.insecure_ignore_tlog:
            content = thing.signed_content(
                leaf.public_bytes(serialization.Encoding.DER), is_certificate=True
            )
            verify_log_entries(thing.log_entries(), content, context.tlog)
        _verify_signature(thing, leaf)
        return Acceptance(self.id, self.name, f"certificate {self.name}")

"""``audit``: who signed every image, in both storage formats, through the one pipeline.

For each image the ``.sig``/``.att`` tags and the cosign 3 bundle referrers are read (always
both: an audit wants the whole picture, not the first format that satisfies a policy), and
every stored signature and attestation goes through :mod:`sealgate.policy` with one authority
per trusted key, retired key and trusted identity. Each one is then classed by who vouched:

* ``trusted``: a trusted key or identity accepted it and its claims hold;
* ``retired``: only a retired key did (the image fails the gate once that key is removed);
* ``invalid``: a known signer, but the evidence does not hold (claims about another digest,
  missing or bad log entry, unreadable layer);
* ``unknown``: no authority accepted it and every refusal was "not my signature".

Per image: ``signed`` (a trusted signature), ``retired``, ``untrusted`` (signatures, none by a
known signer), ``unsigned``, or ``error`` (could not be read: never counted as anything else).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sealgate.checks.authorities import Authority
from sealgate.checks.pipeline import SignatureResult
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import (
    InternalError,
    SealgateError,
    SignatureInvalid,
    UntrustedChain,
    UsageError,
    WrongIdentity,
)
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.intoto import parse_statement
from sealgate.formats.simplesigning import SimpleSigningPayload, parse_payload
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import Policy
from sealgate.sigstore_checks import certificate_identity
from sealgate.workflows.attachments import fetch_attachment_layers, fetch_bundle_layers
from sealgate.workflows.audit_targets import AuditTarget, UnresolvedImage
from sealgate.workflows.rotation_checks import attestation_results, signature_results
from sealgate.workflows.targets import attachment_ref

__all__ = [
    "SBOM_PREDICATE_PREFIXES",
    "AuditReport",
    "AuditTrust",
    "Finding",
    "ImageAudit",
    "audit_image",
    "run_audit",
]

Role = Literal["trusted", "retired"]
FindingStatus = Literal["trusted", "retired", "invalid", "unknown"]
ImageStatus = Literal["signed", "retired", "untrusted", "unsigned", "error"]
SbomStatus = Literal["trusted", "retired", "untrusted", "none"]
StorageFormat = Literal["legacy", "bundle"]

#: Predicate types of SBOM attestations (cosign ``--type cyclonedx``/``spdx``/``spdxjson``).
SBOM_PREDICATE_PREFIXES = ("https://cyclonedx.org/bom", "https://spdx.dev/Document")
_MAX_ANNOTATIONS = 16
_MAX_ANNOTATION_CHARS = 256
# Refusals that only say "this authority did not sign it": the signer is someone else.
_NOT_MINE = (SignatureInvalid, WrongIdentity, UntrustedChain)


@dataclass(frozen=True)
class AuditTrust:
    """Who the audit knows: trusted authorities, retired ones, and the tlog rule.

    Attributes:
        trusted: Keys and identities the gate trusts now.
        retired: Keys that used to be trusted.
        tlog: Transparency-log requirement (as the gate's ``tlog`` setting).
    """

    trusted: tuple[Authority, ...]
    retired: tuple[Authority, ...] = ()
    tlog: TlogPolicy = field(default_factory=TlogPolicy)

    def __post_init__(self) -> None:
        if not self.trusted and not self.retired:
            raise UsageError("say whose signatures to look for: --key, an identity, or a config")
        both = {a.id for a in self.trusted} & {a.id for a in self.retired}
        if both:
            raise UsageError("a key cannot be both trusted and retired")

    def policy(self) -> Policy:
        """Every known authority, any-of: the pipeline keeps each one's answer."""
        return Policy(name="audit", authorities=(*self.trusted, *self.retired), tlog=self.tlog)

    def role(self, authority_id: str) -> Role:
        """``trusted`` or ``retired``."""
        return "retired" if any(a.id == authority_id for a in self.retired) else "trusted"

    def names(self, role: Role) -> tuple[str, ...]:
        """The names of the authorities of ``role``."""
        return tuple(a.name for a in (self.trusted if role == "trusted" else self.retired))


@dataclass(frozen=True)
class Finding:
    """One stored signature or attestation and who made it.

    Attributes:
        kind: ``signature`` or ``attestation``.
        storage: ``legacy`` (``.sig``/``.att`` tag) or ``bundle`` (cosign 3 referrer).
        label: ``signature 1``... within its storage.
        status: See the module docstring.
        signer: Who vouched (authority names), or who it claims to be (unverified).
        predicate_type: The statement's predicate type (attestations; "" if unreadable).
        detail: Why it does not count, when it does not.
        annotations: A signature payload's ``optional`` pairs (cosign ``-a``), capped; as the
            registry holds them, so hostile until escaped.
    """

    kind: Literal["signature", "attestation"]
    storage: StorageFormat
    label: str
    status: FindingStatus
    signer: str
    predicate_type: str = ""
    detail: str = ""
    annotations: tuple[tuple[str, str], ...] = ()

    @property
    def is_sbom(self) -> bool:
        """True for an attestation of an SBOM predicate type."""
        return self.predicate_type.startswith(SBOM_PREDICATE_PREFIXES)


@dataclass(frozen=True)
class ImageAudit:
    """What the audit found about one image.

    Attributes:
        repository: ``registry/repository``.
        digest: ``sha256:<hex>``, or "" when the reference could not be resolved.
        tags: Tags pointing at it.
        reference: How the user or the listing named it.
        signatures: Findings for its signatures.
        attestations: Findings for its attestations.
        error: Why it could not be checked, or "".
    """

    repository: str
    digest: str
    tags: tuple[str, ...]
    reference: str
    signatures: tuple[Finding, ...] = ()
    attestations: tuple[Finding, ...] = ()
    error: str = ""

    @property
    def status(self) -> ImageStatus:
        """The image's class (module docstring)."""
        if self.error:
            return "error"
        found = {f.status for f in self.signatures}
        if "trusted" in found:
            return "signed"
        if "retired" in found:
            return "retired"
        return "untrusted" if found else "unsigned"

    @property
    def sbom(self) -> SbomStatus:
        """The best SBOM attestation: by a trusted, a retired, or an unknown signer."""
        found = {f.status for f in self.attestations if f.is_sbom}
        if "trusted" in found:
            return "trusted"
        if "retired" in found:
            return "retired"
        return "untrusted" if found else "none"


@dataclass(frozen=True)
class AuditReport:
    """An audit run: what was trusted, every image, and when.

    Attributes:
        trusted: Names of the trusted keys and identities.
        retired: Names of the retired keys.
        images: One entry per image, in the order given or listed.
        generated_at: When the audit ran (the injected clock).
    """

    trusted: tuple[str, ...]
    retired: tuple[str, ...]
    images: tuple[ImageAudit, ...]
    generated_at: datetime


def _names(result: SignatureResult[Any]) -> str:
    parts = []
    for acceptance in result.accepted:
        parts.append(f"{acceptance.subject} ({acceptance.issuer})" if acceptance.issuer else "")
        parts[-1] = parts[-1] or acceptance.name
    return ", ".join(dict.fromkeys(parts))


def _claimed_signer(result: SignatureResult[Any]) -> str:
    """Who an unaccepted signature claims to be: its certificate's identity, if it has one."""
    thing = result.thing
    if thing is None or thing.certificate is None:
        return "unknown key"
    try:
        identity = certificate_identity(thing.certificate)
    except SealgateError:
        return "unknown certificate"
    who = ", ".join(identity.subjects) or "no identity"
    return f"unverified certificate: {who}" + (f" ({identity.issuer})" if identity.issuer else "")


def _predicate_type(result: SignatureResult[Any]) -> str:
    claims = result.claims
    if claims is not None and hasattr(claims, "predicate_type"):
        return str(claims.predicate_type)
    if result.thing is None:
        return ""
    try:  # what an unverified statement says, for display only
        return parse_statement(result.thing.payload).predicate_type
    except SealgateError:
        return ""


def _annotations(result: SignatureResult[Any]) -> tuple[tuple[str, str], ...]:
    claims = result.claims
    optional = claims.optional if isinstance(claims, SimpleSigningPayload) else None
    if claims is None and result.thing is not None and result.thing.kind == "simplesigning":
        try:  # what an unverified payload says, for display only
            optional = parse_payload(result.thing.payload).optional
        except SealgateError:
            optional = None
    pairs = []
    for key, value in list((optional or {}).items())[:_MAX_ANNOTATIONS]:
        text = value if isinstance(value, str) else json.dumps(value)
        pairs.append((str(key)[:_MAX_ANNOTATION_CHARS], text[:_MAX_ANNOTATION_CHARS]))
    return tuple(pairs)


def _finding(
    result: SignatureResult[Any],
    trust: AuditTrust,
    kind: Literal["signature", "attestation"],
    storage: StorageFormat,
) -> Finding:
    predicate = _predicate_type(result) if kind == "attestation" else ""
    detail = result.error.message if result.error is not None else ""

    notes = _annotations(result) if kind == "signature" else ()

    def make(status: FindingStatus, signer: str) -> Finding:
        return Finding(kind, storage, result.label, status, signer, predicate, detail, notes)

    if result.ok:
        roles = {trust.role(a.authority) for a in result.accepted}
        return make("trusted" if "trusted" in roles else "retired", _names(result))
    if result.accepted:  # a known signer, but the payload's claims do not hold
        return make("invalid", _names(result))
    specific = [r for r in result.rejected if not isinstance(r.error, _NOT_MINE)]
    if specific:
        return make("invalid", specific[0].name)
    if result.thing is None:
        return make("invalid", "unreadable")
    return make("unknown", _claimed_signer(result))


def _layers(
    client: RegistryClient, target: AuditTarget, suffix: str, repo: Reference | None
) -> list[SignatureLayer]:
    return fetch_attachment_layers(client, attachment_ref(target.ref, suffix, repository=repo))


def audit_image(
    client: RegistryClient,
    target: AuditTarget,
    trust: AuditTrust,
    *,
    reference_time: datetime,
    repository: Reference | None = None,
) -> ImageAudit:
    """Every signature and attestation of one image, and who made it.

    A failure to read the image is recorded in the result (``error``), never raised: one
    unreadable image must not hide the rest of the audit.

    Raises:
        InternalError: a bug.
    """
    where = (target.repository, target.digest, target.tags, str(target.ref))
    policy = trust.policy()
    try:
        stored: dict[StorageFormat, tuple[list[SignatureLayer], list[SignatureLayer]]] = {
            "legacy": (
                _layers(client, target, "sig", repository),
                _layers(client, target, "att", repository),
            ),
        }
        bundles = fetch_bundle_layers(client, target.ref)
        stored["bundle"] = (bundles, bundles)
        signatures: list[Finding] = []
        attestations: list[Finding] = []
        for storage, (sig_layers, att_layers) in stored.items():
            for result in signature_results(sig_layers, policy, target.digest, reference_time):
                signatures.append(_finding(result, trust, "signature", storage))
            for att in attestation_results(att_layers, policy, target.digest, reference_time):
                attestations.append(_finding(att, trust, "attestation", storage))
    except InternalError:
        raise
    except SealgateError as error:
        return ImageAudit(*where, error=error.message)
    return ImageAudit(*where, tuple(signatures), tuple(attestations))


def unresolved_audit(image: UnresolvedImage) -> ImageAudit:
    """The audit entry of a reference that could not be resolved."""
    tags = (image.tag,) if image.tag else ()
    return ImageAudit(image.repository, "", tags, image.reference, error=image.error.message)


def run_audit(
    client: RegistryClient,
    targets: Sequence[AuditTarget],
    trust: AuditTrust,
    *,
    clock: Callable[[], datetime],
    concurrency: int,
    unresolved: Sequence[UnresolvedImage] = (),
    repository: Reference | None = None,
    progress: Callable[[ImageAudit], None] | None = None,
) -> AuditReport:
    """Audit every target on a bounded pool; the report keeps the targets' order.

    Args:
        client: Registry client (thread-safe; its limits cap every request).
        targets: The images.
        trust: Trusted and retired authorities.
        clock: "Now", read once for the whole run.
        concurrency: Images checked at once.
        unresolved: References that could not be resolved (reported as errors).
        repository: ``COSIGN_REPOSITORY``.
        progress: Called after each image.

    Returns:
        The report.

    Raises:
        InternalError: a bug.
    """
    now = clock()

    def one(target: AuditTarget) -> ImageAudit:
        result = audit_image(client, target, trust, reference_time=now, repository=repository)
        if progress is not None:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        images = list(pool.map(one, targets))
    images.extend(unresolved_audit(u) for u in unresolved)
    images.sort(key=lambda i: (i.repository, i.tags or ("~",), i.digest))
    return AuditReport(trust.names("trusted"), trust.names("retired"), tuple(images), now)

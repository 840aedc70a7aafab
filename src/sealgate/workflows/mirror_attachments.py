"""The mirror's attachments: upstream signatures carried over, and "already signed by us?".

Upstream signatures, attestations and SBOMs are copied in both storage formats:

* cosign's ``sha256-<hex>.sig/.att/.sbom`` tags: the upstream's layers are *merged* into the
  target's tag (any layer not already there is appended), never written over it, because the
  mirror's own signature lives in the same ``.sig`` tag. Verifiers check layers (payload and
  signature annotation), not the tag manifest's digest, so a merged tag verifies the same;
* Sigstore bundle referrers (OCI 1.1 ``subject``): each referrer manifest is copied byte for
  byte by digest (blobs first), and the target's referrers fallback index is extended when
  the target registry has no referrers API (OCI distribution spec, "Unavailable Referrers
  API").

Idempotence asks whether the target already carries a signature by the mirror's credential:
a key must verify the signature (any storage format); keyless, whose key is new every run,
a signature must verify under a certificate naming the same identity and issuer. This is not
a trust decision (a consumer's verification is): a forged one only makes the mirror skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from sealgate.checks.authorities import Acceptance, Authority, CheckContext, KeyAuthority
from sealgate.checks.keyless_identity import CertificateAuthority
from sealgate.checks.signed import SignedThing
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import SignatureInvalid, VerificationFailed, WrongIdentity
from sealgate.formats.predicates import resolve_predicate_type
from sealgate.formats.referrers import add_to_referrers_index
from sealgate.formats.sigstore_bundle import BUNDLE_MEDIA_TYPES
from sealgate.oci import (
    COSIGN_ARTIFACT_SIG,
    OCI_INDEX,
    SIGSTORE_BUNDLE,
    Reference,
    RegistryClient,
)
from sealgate.policy import AttestationRule, Policy
from sealgate.sigstore_checks.identity import certificate_identity
from sealgate.workflows.attachments import (
    MAX_BUNDLE_REFERRERS,
    fetch_attachment_layers,
    write_attachment,
)
from sealgate.workflows.copy import copy_manifest_tree
from sealgate.workflows.signing import Credential
from sealgate.workflows.targets import ATTACHMENT_SUFFIXES, attachment_ref, pinned_digest
from sealgate.workflows.verify import verify_attestations, verify_signatures

__all__ = ["attested_sbom_by", "copy_upstream_signatures", "signed_by"]

_SIGNATURE_ARTIFACTS = frozenset({SIGSTORE_BUNDLE, COSIGN_ARTIFACT_SIG, *BUNDLE_MEDIA_TYPES})


def _in_repository(
    repository: Reference, *, tag: str | None = None, digest: str | None = None
) -> Reference:
    return Reference(repository.registry, repository.repository, tag=tag, digest=digest)


def _merge_tags(
    src: RegistryClient, dst: RegistryClient, entity: Reference, target: Reference
) -> int:
    added = 0
    for suffix in ATTACHMENT_SUFFIXES:
        upstream = fetch_attachment_layers(src, attachment_ref(entity, suffix))
        if not upstream:
            continue
        tag = _in_repository(target, tag=attachment_ref(entity, suffix).tag)
        existing = fetch_attachment_layers(dst, tag)
        merged = list(existing) + [layer for layer in upstream if layer not in existing]
        if len(merged) > len(existing):
            write_attachment(dst, tag, merged)
            added += len(merged) - len(existing)
    return added


def _copy_referrers(
    src: RegistryClient, dst: RegistryClient, entity: Reference, target: Reference
) -> int:
    digest = pinned_digest(entity)
    found = [d for d in src.referrers(entity) if (d.artifact_type or "") in _SIGNATURE_ARTIFACTS]
    if not found:
        return 0
    subject = _in_repository(target, digest=digest)
    keeps_list = dst.has_referrers_api(subject)
    fallback = _in_repository(target, tag=digest.replace(":", "-"))
    for descriptor in found[:MAX_BUNDLE_REFERRERS]:
        source = _in_repository(entity, digest=descriptor.digest)
        manifest = src.get_manifest(source)
        copy_manifest_tree(
            src, dst, source, _in_repository(target, digest=descriptor.digest), manifest
        )
        if keeps_list:
            continue
        current = dst.get_manifest_or_none(fallback)
        updated = add_to_referrers_index(
            None if current is None else current.data,
            manifest.data,
            artifact_type=descriptor.artifact_type or SIGSTORE_BUNDLE,
            annotations=descriptor.annotations or {},
        )
        if updated is not None:
            dst.put_manifest(fallback, updated, OCI_INDEX)
    return min(len(found), MAX_BUNDLE_REFERRERS)


def copy_upstream_signatures(
    src: RegistryClient, dst: RegistryClient, entities: Sequence[Reference], target: Reference
) -> int:
    """Copy what is attached to each upstream manifest in ``entities`` to ``target``'s repository.

    Args:
        src: Client for the upstream.
        dst: Client for the target.
        entities: Upstream manifests (pinned) that were mirrored with their digests unchanged.
        target: The target repository.

    Returns:
        How many layers and referrers were added.

    Raises:
        CheckFailed: either registry could not be read or written, or an attachment is
            malformed or too large.
    """
    return sum(
        _merge_tags(src, dst, entity, target) + _copy_referrers(src, dst, entity, target)
        for entity in entities
    )


@dataclass(frozen=True)
class _SameIdentity:
    """Accepts a signature whose certificate names ``subjects`` and ``issuer`` and verifies it."""

    subjects: tuple[str, ...]
    issuer: str

    @property
    def id(self) -> str:
        return f"mirror-identity:{self.issuer}:{','.join(self.subjects)}"

    @property
    def name(self) -> str:
        return f"{', '.join(self.subjects)} ({self.issuer})"

    def check(self, thing: SignedThing, context: CheckContext) -> Acceptance:
        certificate = thing.certificate
        if certificate is None:
            raise SignatureInvalid(f"{thing.label}: no certificate")
        identity = certificate_identity(certificate)
        if (identity.subjects, identity.issuer) != (self.subjects, self.issuer):
            raise WrongIdentity(f"{thing.label}: signed by another identity")
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        return CertificateAuthority(self.name, cert_pem=pem).check(thing, context)


def _mirror_policy(credential: Credential, rules: tuple[AttestationRule, ...] = ()) -> Policy:
    authority: Authority
    if credential.certificate is None:
        authority = KeyAuthority.of(credential.signer.verifier(), name="mirror key")
    else:
        identity = certificate_identity(credential.certificate)
        authority = _SameIdentity(identity.subjects, identity.issuer)
    return Policy(
        name="mirror",
        authorities=(authority,),
        tlog=TlogPolicy(insecure_ignore_tlog=True),
        attestations=rules,
    )


def signed_by(
    client: RegistryClient, image: Reference, credential: Credential, *, now: datetime
) -> bool:
    """Whether ``image`` (pinned) carries a signature by ``credential`` (see the module doc).

    Raises:
        CheckFailed: the registry could not be read, or a signature manifest is malformed.
    """
    try:
        verify_signatures(
            client, image, _mirror_policy(credential), reference_time=now, known_to_exist=True
        )
    except VerificationFailed:
        return False
    return True


def attested_sbom_by(
    client: RegistryClient, image: Reference, credential: Credential, *, now: datetime
) -> bool:
    """Whether ``image`` carries a CycloneDX attestation by ``credential``.

    Raises:
        CheckFailed: the registry could not be read, or an attestation is malformed.
    """
    rule = AttestationRule("cyclonedx", resolve_predicate_type("cyclonedx"))
    try:
        verify_attestations(client, image, _mirror_policy(credential), (rule,), reference_time=now)
    except VerificationFailed:
        return False
    return True

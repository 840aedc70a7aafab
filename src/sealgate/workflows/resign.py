"""``resign``: sign again, with a new key, everything an old key signed (key rotation).

For an image whose signatures verify under the old key (the one pipeline, with the old key as
the only authority), every payload the old key signed is signed anew with the new key, byte
for byte: the simple-signing payload of a ``.sig`` layer (its docker-reference and ``-a``
annotations kept), cosign 3's sign statement of a bundle, and the in-toto statement of every
attestation the old key made (so an SBOM attestation moves to the new key with its content
unchanged). Each new signature goes where the old one was (``.sig``/``.att`` tag or bundle
referrer). Old signatures stay: during the rotation window either key verifies; once the old
key is retired from the gate, only re-signed images pass.

Idempotent: a payload the new key already signed is not signed again. An image the old key
did not sign is left alone, whatever else is attached to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sealgate.checks.authorities import Authority
from sealgate.checks.pipeline import SignatureResult
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import InternalError, SealgateError
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.intoto import Statement
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import Policy
from sealgate.workflows.attachments import fetch_attachment_layers, fetch_bundle_layers
from sealgate.workflows.attest import AttestOptions, attach_statement
from sealgate.workflows.audit_targets import AuditTarget
from sealgate.workflows.rotation_checks import attestation_results, signature_results
from sealgate.workflows.sign import SignOptions, sign_payload
from sealgate.workflows.signing import Credential, SigningServices
from sealgate.workflows.targets import attachment_ref

__all__ = ["ResignOptions", "ResignOutcome", "resign_image", "run_resign"]

ResignStatus = Literal["resigned", "would-resign", "up-to-date", "not-signed-by-old-key", "error"]
Storage = Literal["legacy", "bundle"]


@dataclass(frozen=True)
class ResignOptions:
    """How re-signing runs.

    Attributes:
        old: The old key(s) (any-of) and the tlog rule their signatures are checked with.
        new: The new key, as an authority (to skip payloads it already signed).
        services: Rekor logs and TSAs for the new signatures' evidence.
        dry_run: Report what would be signed; write nothing.
        repository: ``COSIGN_REPOSITORY``.
        docker_media_types: ``COSIGN_DOCKER_MEDIA_TYPES``.
    """

    old: Policy
    new: Authority
    services: SigningServices = field(default_factory=SigningServices)
    dry_run: bool = False
    repository: Reference | None = None
    docker_media_types: bool = False


@dataclass(frozen=True)
class ResignOutcome:
    """What happened to one image.

    Attributes:
        target: The image.
        status: ``resigned``, ``would-resign`` (dry run), ``up-to-date`` (the new key signed
            everything already), ``not-signed-by-old-key``, or ``error``.
        signatures: Signatures added (or that would be).
        attestations: Attestations added (or that would be).
        detail: The error, for ``error``.
    """

    target: AuditTarget
    status: ResignStatus
    signatures: int = 0
    attestations: int = 0
    detail: str = ""


@dataclass(frozen=True)
class _Work:
    signatures: list[tuple[Storage, bytes]]
    attestations: list[tuple[Storage, bytes, str]]


def _stored(
    client: RegistryClient, target: AuditTarget, repository: Reference | None
) -> dict[Storage, tuple[list[SignatureLayer], list[SignatureLayer]]]:
    def tag(suffix: str) -> list[SignatureLayer]:
        where = attachment_ref(target.ref, suffix, repository=repository)
        return fetch_attachment_layers(client, where)

    bundles = fetch_bundle_layers(client, target.ref)
    return {"legacy": (tag("sig"), tag("att")), "bundle": (bundles, bundles)}


def _payloads(results: Sequence[SignatureResult[Any]]) -> list[bytes]:
    return list(dict.fromkeys(r.thing.payload for r in results if r.ok and r.thing is not None))


def _plan(
    stored: dict[Storage, tuple[list[SignatureLayer], list[SignatureLayer]]],
    target: AuditTarget,
    options: ResignOptions,
    now: datetime,
) -> _Work | None:
    """What the new key must sign; None when the old key signed no image signature."""
    # The new key's signatures only decide what to skip: no log is asked for them here.
    new = Policy("new key", (options.new,), tlog=TlogPolicy(insecure_ignore_tlog=True))
    work = _Work([], [])
    signed_by_old = False
    for storage, (sig_layers, att_layers) in stored.items():
        old_sigs = signature_results(sig_layers, options.old, target.digest, now)
        signed_by_old = signed_by_old or any(r.ok for r in old_sigs)
        have = set(_payloads(signature_results(sig_layers, new, target.digest, now)))
        work.signatures.extend((storage, p) for p in _payloads(old_sigs) if p not in have)
        old_atts = attestation_results(att_layers, options.old, target.digest, now)
        have = set(_payloads(attestation_results(att_layers, new, target.digest, now)))
        for result in old_atts:
            statement: Statement | None = result.claims
            if not result.ok or result.thing is None or statement is None:
                continue
            if result.thing.payload in have:
                continue
            have.add(result.thing.payload)
            work.attestations.append((storage, result.thing.payload, statement.predicate_type))
    return work if signed_by_old else None


def _apply(
    client: RegistryClient,
    credential: Credential,
    target: AuditTarget,
    work: _Work,
    o: ResignOptions,
) -> None:
    for storage, payload in work.signatures:
        sign_options = SignOptions(
            annotations={},
            repository=o.repository,
            docker_media_types=o.docker_media_types,
            services=o.services,
            bundle_format=storage == "bundle",
        )
        sign_payload(client, credential, target.ref, payload, sign_options)
    for storage, statement, predicate_type in work.attestations:
        attest_options = AttestOptions(
            repository=o.repository,
            docker_media_types=o.docker_media_types,
            services=o.services,
            bundle_format=storage == "bundle",
        )
        attach_statement(
            client,
            credential,
            target.ref,
            statement,
            predicate_type_uri=predicate_type,
            options=attest_options,
        )


def resign_image(
    client: RegistryClient,
    credential: Credential,
    target: AuditTarget,
    options: ResignOptions,
    *,
    reference_time: datetime,
) -> ResignOutcome:
    """Re-sign one image with the new key if the old key signed it (module docstring).

    Failures are recorded in the outcome (``error``), never raised, so one image cannot stop
    the others.

    Raises:
        InternalError: a bug.
    """
    try:
        stored = _stored(client, target, options.repository)
        work = _plan(stored, target, options, reference_time)
        if work is None:
            return ResignOutcome(target, "not-signed-by-old-key")
        counts = (len(work.signatures), len(work.attestations))
        if not any(counts):
            return ResignOutcome(target, "up-to-date")
        if options.dry_run:
            return ResignOutcome(target, "would-resign", *counts)
        _apply(client, credential, target, work, options)
        return ResignOutcome(target, "resigned", *counts)
    except InternalError:
        raise
    except SealgateError as error:
        return ResignOutcome(target, "error", detail=error.message)


def run_resign(
    client: RegistryClient,
    credential: Credential,
    targets: Sequence[AuditTarget],
    options: ResignOptions,
    *,
    clock: Callable[[], datetime],
    concurrency: int,
) -> list[ResignOutcome]:
    """:func:`resign_image` for every target on a bounded pool, in the targets' order.

    Raises:
        InternalError: a bug.
    """
    now = clock()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(
            pool.map(
                lambda t: resign_image(client, credential, t, options, reference_time=now),
                targets,
            )
        )

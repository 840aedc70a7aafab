"""``attest``: an in-toto statement about the image digest, signed in DSSE, on the ``.att`` tag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sealgate.formats.cosign_manifest import (
    SignatureLayer,
    append_layer,
    replace_attestation_layers,
)
from sealgate.formats.cosign_types import (
    DSSE_LAYER_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
)
from sealgate.formats.dsse import DsseSignature, Envelope, build_envelope, pae
from sealgate.formats.intoto import build_statement
from sealgate.formats.predicates import load_predicate, resolve_predicate_type
from sealgate.keys import Signer
from sealgate.oci import Reference, RegistryClient
from sealgate.workflows.attachments import fetch_attachment_layers, write_attachment
from sealgate.workflows.bundles import attach_statement_bundle
from sealgate.workflows.signing import (
    Credential,
    SigningServices,
    legacy_annotations,
    record_envelope,
)
from sealgate.workflows.targets import attachment_ref, pinned_digest, resolve_image

__all__ = [
    "AttestOptions",
    "AttestOutcome",
    "attach_statement",
    "attest_image",
    "build_attestation_layer",
    "statement_layer",
]


@dataclass(frozen=True)
class AttestOptions:
    predicate_type: str = "custom"
    #: cosign's ``--replace``: drop earlier attestations of the same predicate type.
    replace: bool = False
    repository: Reference | None = None
    docker_media_types: bool = False
    upload: bool = True
    #: Rekor logs and TSAs to get evidence from (none: a bare envelope, as before).
    services: SigningServices = field(default_factory=SigningServices)
    #: ``--new-bundle-format``: a Sigstore bundle as an OCI referrer instead of a ``.att`` layer.
    bundle_format: bool = False


@dataclass(frozen=True)
class AttestOutcome:
    image: Reference
    #: The ``.att`` tag, or the referrer manifest of a bundle.
    attestation_tag: Reference
    predicate_type: str
    envelope: bytes
    bundle: bytes | None = None


def statement_layer(
    signer: Signer | Credential,
    statement: bytes,
    predicate_type_uri: str,
    *,
    services: SigningServices | None = None,
) -> SignatureLayer:
    """The ``.att`` layer cosign writes for ``statement``: a DSSE envelope, signed now.

    With ``services``, the envelope is timestamped (over the envelope bytes: what cosign's
    verifier checks on a ``.att`` layer) and logged as a ``dsse`` entry of exactly these bytes,
    and the layer carries the certificate, chain, Rekor bundle and timestamp annotations.

    Raises:
        SealgateError: a service failed or refused, or its answer does not check out.
    """
    credential = signer if isinstance(signer, Credential) else Credential(signer)
    signature = credential.signer.sign(pae(INTOTO_PAYLOAD_TYPE, statement))
    envelope = build_envelope(INTOTO_PAYLOAD_TYPE, statement, signature)
    notes = {SIGNATURE_ANNOTATION: "", PREDICATE_TYPE_ANNOTATION: predicate_type_uri}
    if services is not None:
        parsed = Envelope(INTOTO_PAYLOAD_TYPE, statement, (DsseSignature(signature),))
        evidence = record_envelope(credential, services, parsed, envelope, timestamp_over=envelope)
        notes.update(legacy_annotations(credential, evidence))
    return SignatureLayer(DSSE_LAYER_MEDIA_TYPE, envelope, notes)


def build_attestation_layer(
    signer: Signer | Credential,
    image: Reference,
    predicate_type_uri: str,
    predicate: object,
    *,
    services: SigningServices | None = None,
) -> SignatureLayer:
    """The ``.att`` layer of a new statement about ``image`` (see :func:`statement_layer`).

    Raises:
        SealgateError: a service failed or refused, or its answer does not check out.
    """
    statement = build_statement(
        image.name, pinned_digest(image).removeprefix("sha256:"), predicate_type_uri, predicate
    )
    return statement_layer(signer, statement, predicate_type_uri, services=services)


def attach_statement(
    client: RegistryClient,
    signer: Signer | Credential,
    image: Reference,
    statement: bytes,
    *,
    predicate_type_uri: str,
    options: AttestOptions,
) -> AttestOutcome:
    """Sign ``statement`` as it is and attach it to ``image`` (pinned): ``.att`` or a bundle.

    ``resign`` uses this to sign an old attestation's exact statement with a new key.

    Raises:
        CheckFailed: the registry, Rekor or a TSA could not be read or written.
        ServiceRefused: Rekor or a TSA refused; nothing was stored.
    """
    credential = signer if isinstance(signer, Credential) else Credential(signer)
    if options.bundle_format:
        signed = attach_statement_bundle(
            client,
            credential,
            options.services,
            image,
            statement,
            predicate_type=predicate_type_uri,
            upload=options.upload,
            repository=options.repository,
        )
        where = signed.referrer or attachment_ref(image, "", repository=options.repository)
        envelope = build_envelope(INTOTO_PAYLOAD_TYPE, statement, signed.envelope.signatures[0].sig)
        return AttestOutcome(image, where, predicate_type_uri, envelope, signed.bundle)
    layer = statement_layer(credential, statement, predicate_type_uri, services=options.services)
    tag = attachment_ref(image, "att", repository=options.repository)
    if options.upload:
        existing = fetch_attachment_layers(client, tag)
        if options.replace:
            layers = replace_attestation_layers(existing, layer, predicate_type_uri)
        else:
            # ECDSA signatures are randomised: a new envelope never equals an old one: no dedupe.
            layers = append_layer(existing, layer, None)
        write_attachment(client, tag, layers, docker_media_types=options.docker_media_types)
    return AttestOutcome(image, tag, predicate_type_uri, layer.payload)


def attest_image(
    client: RegistryClient,
    signer: Signer | Credential,
    ref: Reference,
    predicate_raw: bytes,
    options: AttestOptions,
    *,
    digest: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AttestOutcome:
    """Attest ``ref`` by digest with the predicate file's content.

    Raises:
        InputError: the predicate does not fit its type (for example not a JSON object).
        UsageError: unknown ``--type``.
        ImageNotFound: the tag does not exist.
        CheckFailed: the registry, Rekor or a TSA could not be read or written.
        ServiceRefused: Rekor or a TSA refused; nothing was stored.
    """
    predicate_type_uri = resolve_predicate_type(options.predicate_type)
    predicate = load_predicate(options.predicate_type, predicate_raw, clock=clock)
    image = resolve_image(client, ref, digest=digest).ref
    statement = build_statement(
        image.name, pinned_digest(image).removeprefix("sha256:"), predicate_type_uri, predicate
    )
    return attach_statement(
        client, signer, image, statement, predicate_type_uri=predicate_type_uri, options=options
    )

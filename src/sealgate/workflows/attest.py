"""``attest``: an in-toto statement about the image digest, signed in DSSE, on the ``.att`` tag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from sealgate.formats.dsse import build_envelope, pae
from sealgate.formats.intoto import build_statement
from sealgate.formats.predicates import load_predicate, resolve_predicate_type
from sealgate.keys import Signer
from sealgate.oci import Reference, RegistryClient
from sealgate.workflows.attachments import fetch_attachment_layers, write_attachment
from sealgate.workflows.targets import attachment_ref, pinned_digest, resolve_image

__all__ = ["AttestOptions", "AttestOutcome", "attest_image", "build_attestation_layer"]


@dataclass(frozen=True)
class AttestOptions:
    predicate_type: str = "custom"
    #: cosign's ``--replace``: drop earlier attestations of the same predicate type.
    replace: bool = False
    repository: Reference | None = None
    docker_media_types: bool = False
    upload: bool = True


@dataclass(frozen=True)
class AttestOutcome:
    image: Reference
    attestation_tag: Reference
    predicate_type: str
    envelope: bytes


def build_attestation_layer(
    signer: Signer,
    image: Reference,
    predicate_type_uri: str,
    predicate: object,
) -> SignatureLayer:
    """The ``.att`` layer cosign 2.x writes: a DSSE envelope with an empty signature annotation."""
    statement = build_statement(
        image.name, pinned_digest(image).removeprefix("sha256:"), predicate_type_uri, predicate
    )
    signature = signer.sign(pae(INTOTO_PAYLOAD_TYPE, statement))
    envelope = build_envelope(INTOTO_PAYLOAD_TYPE, statement, signature)
    return SignatureLayer(
        DSSE_LAYER_MEDIA_TYPE,
        envelope,
        {SIGNATURE_ANNOTATION: "", PREDICATE_TYPE_ANNOTATION: predicate_type_uri},
    )


def attest_image(
    client: RegistryClient,
    signer: Signer,
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
        CheckFailed: the registry could not be read or written.
    """
    predicate_type_uri = resolve_predicate_type(options.predicate_type)
    predicate = load_predicate(options.predicate_type, predicate_raw, clock=clock)
    image = resolve_image(client, ref, digest=digest).ref
    layer = build_attestation_layer(signer, image, predicate_type_uri, predicate)
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

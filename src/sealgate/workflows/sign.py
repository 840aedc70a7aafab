"""``sign``: resolve to a digest, sign the digest, append the signature to its ``.sig`` tag."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sealgate.errors import MalformedData
from sealgate.formats.cosign_manifest import SignatureLayer, append_layer
from sealgate.formats.cosign_types import SIGNATURE_ANNOTATION, SIMPLESIGNING_MEDIA_TYPE
from sealgate.formats.simplesigning import build_payload
from sealgate.keys import Signer
from sealgate.oci import INDEX_TYPES, Reference, RegistryClient, parse_index
from sealgate.workflows.attachments import fetch_attachment_layers, write_attachment
from sealgate.workflows.targets import attachment_ref, pinned_digest, resolve_image

__all__ = ["SignOptions", "SignOutcome", "sign_image"]

logger = logging.getLogger(__name__)

# Nested indexes deeper than this are a malformed (or hostile) image, not a real build.
_MAX_INDEX_DEPTH = 4


@dataclass(frozen=True)
class SignOptions:
    """What ``sealgate sign`` does beyond the key and the image."""

    annotations: Mapping[str, str]
    recursive: bool = False
    #: ``--sign-container-identity``: the docker-reference to claim instead of the repository.
    identity: str | None = None
    #: ``COSIGN_REPOSITORY``: where the ``.sig`` tags live.
    repository: Reference | None = None
    docker_media_types: bool = False
    #: ``--upload=false``: sign and report, push nothing.
    upload: bool = True


@dataclass(frozen=True)
class SignOutcome:
    """One signed digest."""

    image: Reference
    signature_tag: Reference
    payload: bytes
    signature_b64: str
    #: False when an identical signature was already there (cosign's dedupe).
    added: bool


def _digests_to_sign(
    client: RegistryClient, image: Reference, media_type: str | None, depth: int = 0
) -> list[Reference]:
    """The image itself, and with ``--recursive`` every manifest below an index."""
    refs = [image]
    if media_type not in INDEX_TYPES:
        return refs
    if depth >= _MAX_INDEX_DEPTH:
        raise MalformedData(f"{image} nests indexes deeper than {_MAX_INDEX_DEPTH}")
    for child in parse_index(client.get_manifest(image)):
        child_ref = image.with_digest(child.digest)
        refs.extend(_digests_to_sign(client, child_ref, child.media_type, depth + 1))
    return refs


def _sign_one(
    client: RegistryClient, signer: Signer, image: Reference, options: SignOptions
) -> SignOutcome:
    digest = pinned_digest(image)
    payload = build_payload(options.identity or image.name, digest, options.annotations or None)
    signature_b64 = base64.b64encode(signer.sign(payload)).decode()
    layer = SignatureLayer(SIMPLESIGNING_MEDIA_TYPE, payload, {SIGNATURE_ANNOTATION: signature_b64})
    tag = attachment_ref(image, "sig", repository=options.repository)
    if not options.upload:
        return SignOutcome(image, tag, payload, signature_b64, added=False)
    # Read-modify-write like cosign: concurrent signers of one digest can race (SPEC §1.6).
    existing = fetch_attachment_layers(client, tag)
    layers = append_layer(existing, layer, signer.verifier())
    added = len(layers) > len(existing)
    if added:
        write_attachment(client, tag, layers, docker_media_types=options.docker_media_types)
    else:
        logger.info("%s already carries this signature; nothing added", image)
    return SignOutcome(image, tag, payload, signature_b64, added=added)


def sign_image(
    client: RegistryClient,
    signer: Signer,
    ref: Reference,
    options: SignOptions,
    *,
    digest: str | None = None,
) -> list[SignOutcome]:
    """Sign ``ref`` by digest (never by tag), and its platform manifests with ``recursive``.

    Args:
        client: Registry client.
        signer: The private key.
        ref: The image; a tag is resolved to a digest first.
        options: Annotations, recursion, identity, target repository, media types.
        digest: A digest from build metadata, used instead of asking the registry.

    Returns:
        One outcome per signed digest, the top-level image first.

    Raises:
        ImageNotFound: the tag does not exist.
        CheckFailed: the registry could not be read or written.
    """
    resolved = resolve_image(client, ref, digest=digest)
    media_type = resolved.descriptor.media_type if resolved.descriptor else None
    if options.recursive and media_type is None:
        media_type = client.get_manifest(resolved.ref).media_type
    targets = (
        _digests_to_sign(client, resolved.ref, media_type) if options.recursive else [resolved.ref]
    )
    return [_sign_one(client, signer, target, options) for target in targets]

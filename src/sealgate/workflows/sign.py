"""``sign``: resolve to a digest, sign the digest, append the signature to its ``.sig`` tag."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sealgate.errors import InputError, MalformedData
from sealgate.formats.cosign_manifest import SignatureLayer, append_layer
from sealgate.formats.cosign_types import SIGNATURE_ANNOTATION, SIMPLESIGNING_MEDIA_TYPE
from sealgate.formats.intoto import COSIGN_SIGN_PREDICATE_TYPE, build_sign_statement
from sealgate.formats.scan_reports import ScanReport, ScanReportForAnotherImage
from sealgate.formats.simplesigning import build_payload
from sealgate.keys import Signer
from sealgate.oci import INDEX_TYPES, Descriptor, Reference, RegistryClient, parse_index
from sealgate.workflows.attachments import fetch_attachment_layers, write_attachment
from sealgate.workflows.bundles import attach_statement_bundle
from sealgate.workflows.signing import (
    Credential,
    SigningServices,
    legacy_annotations,
    record_message_signature,
)
from sealgate.workflows.targets import attachment_ref, pinned_digest, resolve_image

__all__ = ["SignOptions", "SignOutcome", "bind_scan_report", "sign_image", "sign_payload"]

logger = logging.getLogger(__name__)

# Nested indexes deeper than this are a malformed (or hostile) image, not a real build.
_MAX_INDEX_DEPTH = 4
# Platform manifests whose configs are fetched to match a report's image ID; real indexes
# list a handful, and a hostile one must not turn a check into thousands of requests.
_MAX_PLATFORMS_FOR_IMAGE_ID = 64


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
    #: ``--upload=false``: sign and report, push nothing (log entries are still made).
    upload: bool = True
    #: Rekor logs and TSAs to get evidence from (none: a bare signature, as before).
    services: SigningServices = field(default_factory=SigningServices)
    #: ``--new-bundle-format``: a Sigstore bundle as an OCI referrer instead of a ``.sig`` layer.
    bundle_format: bool = False


@dataclass(frozen=True)
class SignOutcome:
    """One signed digest."""

    image: Reference
    #: The ``.sig`` tag, or the referrer manifest of a bundle.
    signature_tag: Reference
    payload: bytes
    signature_b64: str
    #: False when an identical signature was already there (cosign's dedupe).
    added: bool
    #: The Sigstore bundle, with ``bundle_format``.
    bundle: bytes | None = None


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


def _sign_bundle(
    client: RegistryClient,
    credential: Credential,
    image: Reference,
    statement: bytes,
    options: SignOptions,
) -> SignOutcome:
    signed = attach_statement_bundle(
        client,
        credential,
        options.services,
        image,
        statement,
        predicate_type=COSIGN_SIGN_PREDICATE_TYPE,
        upload=options.upload,
        repository=options.repository,
    )
    signature_b64 = base64.b64encode(signed.envelope.signatures[0].sig).decode()
    where = signed.referrer or attachment_ref(image, "", repository=options.repository)
    return SignOutcome(
        image,
        where,
        statement,
        signature_b64,
        added=signed.referrer is not None,
        bundle=signed.bundle,
    )


def sign_payload(
    client: RegistryClient,
    signer: Signer | Credential,
    image: Reference,
    payload: bytes,
    options: SignOptions,
) -> SignOutcome:
    """Sign ``payload`` as it is and attach the signature to ``image`` (pinned).

    ``payload`` is what a signature of ``image`` covers: a simple-signing payload for a
    ``.sig`` layer, or cosign's sign statement with ``options.bundle_format``. ``resign`` uses
    this to sign an old signature's exact payload with a new key; ``sign`` builds a new one.

    Raises:
        CheckFailed: the registry, Rekor or a TSA could not be read or written.
        ServiceRefused: Rekor or a TSA refused; nothing was stored.
    """
    credential = signer if isinstance(signer, Credential) else Credential(signer)
    if options.bundle_format:
        return _sign_bundle(client, credential, image, payload, options)
    signature = credential.signer.sign(payload)
    signature_b64 = base64.b64encode(signature).decode()
    # Evidence first: a signature is never stored without the log entry that was asked for.
    evidence = record_message_signature(credential, options.services, payload, signature)
    annotations = {SIGNATURE_ANNOTATION: signature_b64, **legacy_annotations(credential, evidence)}
    layer = SignatureLayer(SIMPLESIGNING_MEDIA_TYPE, payload, annotations)
    tag = attachment_ref(image, "sig", repository=options.repository)
    if not options.upload:
        return SignOutcome(image, tag, payload, signature_b64, added=False)
    # Read-modify-write like cosign: concurrent signers of one digest can race (formats.md 1.6).
    existing = fetch_attachment_layers(client, tag)
    layers = append_layer(existing, layer, credential.signer.verifier())
    added = len(layers) > len(existing)
    if added:
        write_attachment(client, tag, layers, docker_media_types=options.docker_media_types)
    else:
        logger.info("%s already carries this signature; nothing added", image)
    return SignOutcome(image, tag, payload, signature_b64, added=added)


def _sign_one(
    client: RegistryClient, credential: Credential, image: Reference, options: SignOptions
) -> SignOutcome:
    digest = pinned_digest(image)
    if options.bundle_format:
        payload = build_sign_statement(digest, dict(options.annotations) or None)
    else:
        payload = build_payload(options.identity or image.name, digest, options.annotations or None)
    return sign_payload(client, credential, image, payload, options)


def sign_image(
    client: RegistryClient,
    signer: Signer | Credential,
    ref: Reference,
    options: SignOptions,
    *,
    digest: str | None = None,
) -> list[SignOutcome]:
    """Sign ``ref`` by digest (never by tag), and its platform manifests with ``recursive``.

    Args:
        client: Registry client.
        signer: The private key, or a credential (a key with its Fulcio certificate).
        ref: The image; a tag is resolved to a digest first.
        options: Annotations, recursion, identity, target repository, media types, the
            services to get log entries and timestamps from, and the storage format.
        digest: A digest from build metadata, used instead of asking the registry.

    Returns:
        One outcome per signed digest, the top-level image first.

    Raises:
        ImageNotFound: the tag does not exist.
        CheckFailed: the registry, Rekor or a TSA could not be read or written.
        ServiceRefused: Rekor or a TSA refused; nothing was stored for that digest.
        TlogInvalid: the log answered with an entry that is not about this signature.
    """
    credential = signer if isinstance(signer, Credential) else Credential(signer)
    resolved = resolve_image(client, ref, digest=digest)
    media_type = resolved.descriptor.media_type if resolved.descriptor else None
    if options.recursive and media_type is None:
        media_type = client.get_manifest(resolved.ref).media_type
    targets = (
        _digests_to_sign(client, resolved.ref, media_type) if options.recursive else [resolved.ref]
    )
    return [_sign_one(client, credential, target, options) for target in targets]


def _config_digest(client: RegistryClient, image: Reference) -> str | None:
    config = client.get_manifest(image).json().get("config")
    if not isinstance(config, dict):
        return None
    return Descriptor.from_dict(config).digest


def bind_scan_report(
    client: RegistryClient, image: Reference, report: ScanReport, *, allow_unbound: bool
) -> None:
    """Refuse a scan report that is not about ``image`` (pinned to a digest).

    The report is about ``image`` when a digest it names is ``image``'s digest or, for an
    index, one of its platform manifests (scanners resolve a tag to one platform), or when
    its image ID is the config digest of one of those manifests. Manifests are fetched only
    when the digest alone does not settle it.

    Args:
        client: Registry client.
        image: The image about to be signed or attested, pinned to its digest.
        report: The parsed scan report.
        allow_unbound: Accept a report that names no image at all (``--scan-report-unbound``).

    Raises:
        InputError: the report names no image and ``allow_unbound`` is false.
        ScanReportForAnotherImage: the report names images, and ``image`` is none of them.
        CheckFailed: the registry could not be read.
    """
    digest = pinned_digest(image)
    if not report.names_an_image:
        if allow_unbound:
            return
        raise InputError(
            f"the {report.scanner} scan report names no image digest, so nothing ties it to "
            f"{image.name}@{digest}; scan the image by digest, or pass --scan-report-unbound"
        )
    if report.describes({digest}):
        return
    manifest = client.get_manifest(image)
    if manifest.media_type in INDEX_TYPES:
        platforms = [image.with_digest(child.digest) for child in parse_index(manifest)]
    else:
        platforms = [image]
    manifests = {digest, *(platform.digest for platform in platforms if platform.digest)}
    configs: set[str] = set()
    if report.config_digests and not report.describes(manifests):
        for platform in platforms[:_MAX_PLATFORMS_FOR_IMAGE_ID]:
            config = _config_digest(client, platform)
            if config is not None:
                configs.add(config)
    if not report.describes(manifests, configs):
        raise ScanReportForAnotherImage(
            f"the {report.scanner} scan report is about {report.subject()}, "
            f"not {image.name}@{digest}; refusing it"
        )

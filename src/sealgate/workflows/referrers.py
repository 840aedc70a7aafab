"""Push a Sigstore bundle as an OCI 1.1 referrer of an image (cosign 3's storage).

Blobs first (the empty config and the bundle), then the referrer manifest by digest, then,
unless the registry keeps the referrers list itself (the referrers API answers with an index),
the fallback index tagged ``<alg>-<hex>`` is read, extended and written back: a
read-modify-write, as go-containerregistry does, so two writers racing on one image can lose
one descriptor (the referrer manifest itself is never lost and can be re-listed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sealgate.formats.referrers import (
    BUNDLE_CONTENT_ANNOTATION,
    BUNDLE_PREDICATE_TYPE_ANNOTATION,
    CREATED_ANNOTATION,
    EMPTY_CONFIG,
    add_to_referrers_index,
    build_referrer_manifest,
)
from sealgate.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    SIGSTORE_BUNDLE,
    Reference,
    RegistryClient,
    digest_of,
)
from sealgate.workflows.targets import pinned_digest

__all__ = ["ReferrerPush", "push_bundle_referrer"]


@dataclass(frozen=True)
class ReferrerPush:
    """Where a bundle went.

    Attributes:
        manifest: The referrer manifest, by digest.
        index_tag: The fallback index tag written, or None when the registry lists referrers.
    """

    manifest: Reference
    index_tag: Reference | None


def push_bundle_referrer(
    client: RegistryClient,
    image: Reference,
    bundle: bytes,
    *,
    predicate_type: str,
    repository: Reference | None = None,
    now: datetime | None = None,
) -> ReferrerPush:
    """Attach ``bundle`` to ``image`` (pinned to a digest) as a referrer.

    Args:
        client: Registry client.
        image: The signed image, pinned.
        bundle: The Sigstore bundle (v0.3) JSON.
        predicate_type: Its statement's predicate type (the manifest annotation).
        repository: ``COSIGN_REPOSITORY``: where referrers are written instead.
        now: Creation time annotation (injected in tests).

    Raises:
        CheckFailed: the registry could not be read or written, or the fallback tag holds
            something other than an index (subclasses).
    """
    subject = client.resolve(image)
    annotations = {
        CREATED_ANNOTATION: (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        BUNDLE_CONTENT_ANNOTATION: "dsse-envelope",
        BUNDLE_PREDICATE_TYPE_ANNOTATION: predicate_type,
    }
    manifest = build_referrer_manifest(
        artifact_type=SIGSTORE_BUNDLE,
        layer=bundle,
        layer_media_type=SIGSTORE_BUNDLE,
        subject={"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
        annotations=annotations,
    )
    base = repository or image
    target = Reference(registry=base.registry, repository=base.repository, layout=base.layout)
    client.put_blob(target, EMPTY_CONFIG)
    client.put_blob(target, bundle)
    digest = client.put_manifest(target.with_digest(digest_of(manifest)), manifest, OCI_MANIFEST)
    pushed = target.with_digest(digest)
    if client.has_referrers_api(target.with_digest(pinned_digest(image))):
        return ReferrerPush(pushed, None)
    tag = target.with_tag(pinned_digest(image).replace(":", "-"))
    current = client.get_manifest_or_none(tag)
    updated = add_to_referrers_index(
        None if current is None else current.data,
        manifest,
        artifact_type=SIGSTORE_BUNDLE,
        annotations=annotations,
    )
    if updated is not None:
        client.put_manifest(tag, updated, OCI_INDEX)
    return ReferrerPush(pushed, tag)

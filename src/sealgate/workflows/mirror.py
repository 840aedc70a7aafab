"""``mirror``: copy upstream images into your registry, verified first, signed by the mirror key.

Per image, in this order, so that a failure anywhere leaves nothing signed that was not
completely copied, and a consumer never finds the target tag on an unsigned image:

1. resolve the upstream to a digest (once) and fetch its manifest;
2. with a policy set, judge the upstream digest (:mod:`sealgate.workflows.pinned_verdict`)
   and refuse what does not pass;
3. plan what to write (every platform byte for byte, or a filtered index:
   :mod:`sealgate.workflows.mirror_plan`); if the target tag already holds that digest,
   signed by the mirror's credential (and SBOM-attested when asked), skip it;
4. stream every blob, then platform manifests, then the manifest itself, *by digest*;
   read it back and check it hashes to the digest planned (the upstream's, unless filtered);
5. on request, copy the upstream's signatures and attestations (both storage formats);
6. on request, generate the SBOM from the mirrored layers (before signing: a failure here
   signs nothing);
7. sign the mirrored digest (:func:`sealgate.workflows.sign.sign_image`), then attest the SBOM;
8. point the target tag at the digest, last, and read it back.

Images run in parallel on a thread pool sharing one registry client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sealgate.errors import CheckFailed, IntegrityError, SealgateError, UsageError
from sealgate.gate import VERIFICATION_FAILURE_REASONS
from sealgate.oci import Descriptor, Reference, RegistryClient
from sealgate.policy import PolicySet
from sealgate.workflows.attest import AttestOptions, attest_image
from sealgate.workflows.copy import copy_manifest_tree
from sealgate.workflows.mirror_attachments import (
    attested_sbom_by,
    copy_upstream_signatures,
    signed_by,
)
from sealgate.workflows.mirror_config import MirrorItem
from sealgate.workflows.mirror_plan import MirrorPlan, plan_mirror
from sealgate.workflows.pinned_verdict import judge_pinned
from sealgate.workflows.sbom import IncompleteSbom, image_sboms
from sealgate.workflows.sign import SignOptions, sign_image
from sealgate.workflows.signing import Credential, SigningServices

__all__ = [
    "MIRROR_SOURCE_ANNOTATION",
    "MirrorOptions",
    "MirrorResult",
    "mirror_image",
    "mirror_images",
]

logger = logging.getLogger(__name__)

#: Signed annotation naming the upstream image a mirrored digest was copied from.
MIRROR_SOURCE_ANNOTATION = "dev.sealgate.mirror/source"

Status = Literal["mirrored", "skipped", "refused", "failed"]
Progress = Callable[[int, int, "MirrorResult"], None]


@dataclass(frozen=True)
class MirrorOptions:
    """What every image of one run shares.

    Attributes:
        credential: The mirror's signing credential (a key, or keyless).
        services: Where signature evidence comes from (Rekor, TSAs).
        policies: Judge the upstream first (None: mirror without verifying).
        bundle_format: Sign and attest as Sigstore bundle referrers (cosign 3).
        concurrency: Images mirrored at once.
        clock: "Now" for validity windows.
    """

    credential: Credential
    clock: Callable[[], datetime]
    services: SigningServices = field(default_factory=SigningServices)
    policies: PolicySet | None = None
    bundle_format: bool = False
    concurrency: int = 4


@dataclass(frozen=True)
class MirrorResult:
    """What happened to one image."""

    source: str
    target: str
    status: Status
    digest: str | None = None
    upstream_digest: str | None = None
    reason: str | None = None
    message: str = ""
    blobs_copied: int = 0
    signatures_copied: int = 0
    sbom_attested: bool = False
    #: Where the entry was written.
    where: str = ""
    #: Whether every failure was "could not check" (for the exit code).
    could_not_check: bool = False

    def as_json(self) -> dict[str, object]:
        """The result as ``-o json`` prints it."""
        return {
            "source": self.source,
            "target": self.target,
            "status": self.status,
            "digest": self.digest,
            "upstreamDigest": self.upstream_digest,
            "reason": self.reason,
            "message": self.message,
            "blobsCopied": self.blobs_copied,
            "signaturesCopied": self.signatures_copied,
            "sbomAttested": self.sbom_attested,
            "where": self.where,
        }


def _target_text(item: MirrorItem) -> str:
    return str(item.target) if item.target.tag else item.target.name


class _Mirror:
    """One image's run (see the module docstring for the steps)."""

    def __init__(self, client: RegistryClient, item: MirrorItem, options: MirrorOptions) -> None:
        self.client, self.item, self.options = client, item, options
        self.repository = Reference(item.target.registry, item.target.repository)
        self.upstream_digest: str | None = None
        self.digest: str | None = None

    def result(self, status: Status, message: str, **extra: object) -> MirrorResult:
        return MirrorResult(
            source=str(self.item.source),
            target=_target_text(self.item),
            status=status,
            digest=self.digest,
            upstream_digest=self.upstream_digest,
            message=message,
            where=self.item.where,
            **extra,  # type: ignore[arg-type]
        )

    def run(self) -> MirrorResult:
        client, item = self.client, self.item
        # One GET: a tag's digest is the hash of the bytes received, never a header.
        manifest = client.get_manifest(item.source)
        self.upstream_digest = manifest.digest
        upstream = item.source.with_digest(manifest.digest)
        if self.options.policies is not None:
            verdict = judge_pinned(
                client,
                upstream,
                Descriptor(manifest.media_type, manifest.digest, len(manifest.data)),
                self.options.policies,
                reference_time=self.options.clock(),
            )
            if not verdict.ok:
                return self.result(
                    "refused",
                    f"upstream not verified: {verdict.message}",
                    reason=verdict.reason,
                    could_not_check=verdict.reason not in VERIFICATION_FAILURE_REASONS,
                )
        plan = plan_mirror(client, upstream, manifest, item.platforms)
        self.digest = plan.digest
        pinned = self.repository.with_digest(plan.digest)
        current = client.get_manifest_or_none(item.target) if item.target.tag else None
        if self._already_done(pinned, current is not None and current.digest == plan.digest):
            return self.result("skipped", "already mirrored and signed by this key")
        blobs = self._copy(plan, pinned)
        copied = 0
        if item.copy_signatures:
            mirrored = list(plan.children) if plan.filtered else [upstream]
            copied = copy_upstream_signatures(client, client, mirrored, self.repository)
        sboms = self._sboms(pinned) if item.sbom else []
        self._sign(pinned, upstream)
        for image, document in sboms:
            attest_image(
                client,
                self.options.credential,
                image,
                document,
                AttestOptions(
                    predicate_type="cyclonedx",
                    services=self.options.services,
                    bundle_format=self.options.bundle_format,
                ),
            )
        moved = self._tag(plan, current.digest if current is not None else None)
        what = "mirrored, verified and signed" if self.options.policies else "mirrored and signed"
        return self.result(
            "mirrored",
            what + (f"; tag moved from {moved}" if moved else ""),
            blobs_copied=blobs,
            signatures_copied=copied,
            sbom_attested=bool(sboms),
        )

    def _already_done(self, pinned: Reference, tag_matches: bool) -> bool:
        if self.item.target.tag and not tag_matches:
            return False
        if not self.item.target.tag and self.client.get_manifest_or_none(pinned) is None:
            return False
        now = self.options.clock()
        if not signed_by(self.client, pinned, self.options.credential, now=now):
            return False
        return not self.item.sbom or attested_sbom_by(
            self.client, pinned, self.options.credential, now=now
        )

    def _copy(self, plan: MirrorPlan, pinned: Reference) -> int:
        # An index's platform manifests (a filtered index's too) go first, by digest.
        report = copy_manifest_tree(self.client, self.client, plan.upstream, pinned, plan.manifest)
        # Read back: the target must hold exactly the planned bytes (the client hashes them).
        stored = self.client.get_manifest(pinned)
        if stored.digest != plan.digest or (
            not plan.filtered and stored.digest != self.upstream_digest
        ):
            raise IntegrityError(f"{pinned}: the target holds {stored.digest}")
        return report.blobs_copied

    def _sboms(self, pinned: Reference) -> list[tuple[Reference, bytes]]:
        top, sboms = image_sboms(self.client, pinned)
        incomplete = [s for s in sboms if not s.result.complete]
        if incomplete and not self.item.allow_incomplete_sbom:
            first = incomplete[0]
            raise IncompleteSbom(
                f"the SBOM of {first.image} is incomplete: {first.result.gaps[0]}; "
                "nothing signed (allowIncompleteSbom attests it marked incomplete)"
            )
        # Each platform its own SBOM; an index the first platform's too, attested last, so
        # its presence means every platform is done (what the idempotence check looks at).
        targets = [(s.image, s.result.document) for s in sboms if s.image.digest != top.digest]
        targets.append((top, sboms[0].result.document))
        return targets

    def _sign(self, pinned: Reference, upstream: Reference) -> None:
        annotations = {MIRROR_SOURCE_ANNOTATION: f"{upstream.name}@{upstream.digest}"}
        options = SignOptions(
            annotations=annotations,
            services=self.options.services,
            bundle_format=self.options.bundle_format,
        )
        sign_image(self.client, self.options.credential, pinned, options, digest=pinned.digest)

    def _tag(self, plan: MirrorPlan, previous: str | None) -> str | None:
        tag = self.item.target.tag
        if tag is None or previous == plan.digest:
            return None
        tagged = self.repository.with_tag(tag)
        self.client.put_manifest(tagged, plan.manifest.data, plan.manifest.media_type)
        if self.client.resolve(tagged).digest != plan.digest:
            raise IntegrityError(f"{tagged} does not resolve to {plan.digest} after tagging")
        return previous


def mirror_image(client: RegistryClient, item: MirrorItem, options: MirrorOptions) -> MirrorResult:
    """Mirror one image (see the module docstring).

    Returns:
        The result; never raises for what a registry or an image did (a failed result
        names the reason). A bug still raises.
    """
    run = _Mirror(client, item, options)
    try:
        return run.run()
    except SealgateError as error:
        return run.result(
            "failed",
            error.message,
            reason=error.reason,
            could_not_check=isinstance(error, CheckFailed),
        )


def mirror_images(
    client: RegistryClient,
    items: Sequence[MirrorItem],
    options: MirrorOptions,
    *,
    progress: Progress | None = None,
) -> list[MirrorResult]:
    """Mirror every item, ``options.concurrency`` at a time.

    Returns:
        One result per item, in the items' order.

    Raises:
        UsageError: ``concurrency`` is not positive.
    """
    if options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    results: list[MirrorResult | None] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=min(options.concurrency, max(len(items), 1))) as pool:
        futures = {
            pool.submit(mirror_image, client, item, options): i for i, item in enumerate(items)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            results[futures[future]] = result
            if progress is not None:
                progress(done, len(items), result)
    return [r for r in results if r is not None]

"""What a mirror writes for one upstream image: the manifest to push and the platforms in it.

With every platform (the default) the upstream manifest is written byte for byte, so the
mirrored digest *is* the upstream digest and the upstream's signatures stay valid. With a
chosen set, a multi-platform index is rewritten to list only those platforms: the platform
manifests keep their digests, the new index gets its own (deterministic: the same upstream
index always gives the same bytes), and the mirror key is what vouches for it. A
single-platform image is kept when its platform is in the set, refused otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sealgate.errors import MalformedData, UsageError
from sealgate.oci import (
    INDEX_TYPES,
    Descriptor,
    FetchedManifest,
    Reference,
    RegistryClient,
    digest_of,
    parse_index,
)

__all__ = ["MirrorPlan", "plan_mirror", "platform_name"]

_MAX_CONFIG = 8 * 1024 * 1024


@dataclass(frozen=True)
class MirrorPlan:
    """The manifest to write and where its parts come from.

    Attributes:
        upstream: The upstream image, pinned.
        manifest: The manifest to write at the target (upstream's, or a filtered index).
        filtered: True when ``manifest`` is a new index (its digest is not upstream's).
        children: Upstream manifests (pinned) a filtered index lists, to copy by digest.
    """

    upstream: Reference
    manifest: FetchedManifest
    filtered: bool = False
    children: tuple[Reference, ...] = ()

    @property
    def digest(self) -> str:
        """The digest the target will hold."""
        return self.manifest.digest


def platform_name(platform: object) -> str | None:
    """``os/arch[/variant]`` of an OCI platform object, or None when it has none."""
    if not isinstance(platform, dict):
        return None
    os_name, arch = platform.get("os"), platform.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        return None
    variant = platform.get("variant")
    return f"{os_name}/{arch}" + (f"/{variant}" if isinstance(variant, str) and variant else "")


def _wanted(name: str | None, platforms: Sequence[str]) -> bool:
    # "linux/arm64" asks for every arm64 variant; "linux/arm/v7" for exactly that one.
    return name is not None and any(name == p or name.startswith(p + "/") for p in platforms)


def _filtered_index(
    upstream: Reference, manifest: FetchedManifest, platforms: Sequence[str]
) -> MirrorPlan:
    document = manifest.json()
    entries = document.get("manifests")
    if not isinstance(entries, list):
        raise MalformedData(f"{upstream}: the index has no manifest list")
    kept = [
        e
        for e in entries
        if isinstance(e, dict) and _wanted(platform_name(e.get("platform")), platforms)
    ]
    if not kept:
        offered = sorted(
            {n for e in entries if isinstance(e, dict) if (n := platform_name(e.get("platform")))}
        )
        raise UsageError(
            f"{upstream} has no platform {', '.join(platforms)} "
            f"(it has {', '.join(offered) or 'none'})"
        )
    children = tuple(upstream.with_digest(Descriptor.from_dict(e).digest) for e in kept)
    # Everything else in the index (annotations, subject...) stays; only the list shrinks.
    data = json.dumps({**document, "manifests": kept}, separators=(",", ":")).encode()
    return MirrorPlan(
        upstream,
        FetchedManifest(data, manifest.media_type, digest_of(data)),
        filtered=True,
        children=children,
    )


def _single_platform(
    client: RegistryClient, upstream: Reference, manifest: FetchedManifest
) -> str | None:
    config = manifest.json().get("config")
    if config is None:
        return None
    descriptor = Descriptor.from_dict(config)
    raw = client.get_blob(upstream, descriptor.digest, max_bytes=min(descriptor.size, _MAX_CONFIG))
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise MalformedData(f"{upstream}: the image config is not JSON") from error
    return platform_name(document)


def plan_mirror(
    client: RegistryClient,
    upstream: Reference,
    manifest: FetchedManifest,
    platforms: Sequence[str] | None,
) -> MirrorPlan:
    """Decide what to write for ``upstream`` (pinned) given the platforms asked for.

    Raises:
        UsageError: none of the platforms is offered.
        MalformedData: the index or image config is malformed.
        CheckFailed: the upstream could not be read.
    """
    if not platforms:
        return MirrorPlan(upstream, manifest)
    if manifest.media_type in INDEX_TYPES:
        plan = _filtered_index(upstream, manifest, platforms)
        if len(plan.children) == len(parse_index(manifest)):
            return MirrorPlan(upstream, manifest)  # every platform kept: keep the digest too
        return plan
    name = _single_platform(client, upstream, manifest)
    if not _wanted(name, platforms):
        raise UsageError(
            f"{upstream} is a single-platform image for {name or 'an unknown platform'}, "
            f"not {', '.join(platforms)}"
        )
    return MirrorPlan(upstream, manifest)

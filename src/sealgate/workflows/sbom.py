"""``sbom``: fetch an image's layers as streams and hand them to the pure SBOM generator."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from sealgate.errors import CheckFailed, MalformedData, UsageError
from sealgate.oci import INDEX_TYPES, Descriptor, Reference, RegistryClient, parse_index
from sealgate.sbom import LayerSource, SbomResult, generate_sbom
from sealgate.workflows.targets import pinned_digest, resolve_image

__all__ = ["IncompleteSbom", "LayerProgress", "PlatformSbom", "combined_document", "image_sboms"]

#: ``on_layer(done, total)``: ``done`` of the ``total`` layers (all platforms) are read.
LayerProgress = Callable[[int, int], None]

#: Largest single layer we stream (compressed); the generator caps what it decompresses.
MAX_LAYER_BYTES = 16 * 1024**3


class IncompleteSbom(CheckFailed):
    """The SBOM misses packages of the image (a cataloger failed, a database was unreadable).

    The image's inventory could not be fully checked; attesting the SBOM anyway would
    vouch for an inventory that is not one, so the caller must opt in.
    """

    reason = "incomplete-sbom"


@dataclass(frozen=True)
class PlatformSbom:
    image: Reference
    platform: str | None
    result: SbomResult


def _platform_name(descriptor: Descriptor) -> str | None:
    platform = descriptor.platform or {}
    os_name, arch = platform.get("os"), platform.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        return None
    variant = platform.get("variant")
    return f"{os_name}/{arch}" + (f"/{variant}" if isinstance(variant, str) and variant else "")


def _is_attestation_manifest(descriptor: Descriptor) -> bool:
    # BuildKit stores provenance as "unknown/unknown" children of the index.
    annotations = descriptor.annotations or {}
    return "vnd.docker.reference.type" in annotations or _platform_name(descriptor) in {
        "unknown/unknown"
    }


def _opener(
    client: RegistryClient, ref: Reference, layer: Descriptor
) -> Callable[[], AbstractContextManager[BinaryIO]]:
    return lambda: client.open_blob(ref, layer.digest, max_bytes=min(layer.size, MAX_LAYER_BYTES))


def _layer_sources(client: RegistryClient, image: Reference) -> list[LayerSource]:
    manifest = client.get_manifest(image)
    document = manifest.json()
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise MalformedData(f"{image} is a {manifest.media_type} without layers")
    sources = []
    for raw in layers:
        layer = Descriptor.from_dict(raw)
        if layer.size > MAX_LAYER_BYTES:
            raise MalformedData(f"layer {layer.digest} claims {layer.size} bytes; limit exceeded")
        sources.append(LayerSource(layer.digest, layer.media_type, _opener(client, image, layer)))
    return sources


def _counted(layers: list[list[LayerSource]], on_layer: LayerProgress) -> list[list[LayerSource]]:
    """``layers`` with openers that report each layer done with to ``on_layer``."""
    total = sum(len(sources) for sources in layers)
    done = 0

    def counting(
        opener: Callable[[], AbstractContextManager[BinaryIO]],
    ) -> Callable[[], AbstractContextManager[BinaryIO]]:
        @contextmanager
        def opened() -> Iterator[BinaryIO]:
            nonlocal done
            try:
                with opener() as stream:
                    yield stream
            finally:  # a layer given up on (empty, past a cap) is done with too
                done += 1
                on_layer(done, total)

        return opened

    return [
        [LayerSource(s.digest, s.media_type, counting(s.open)) for s in sources]
        for sources in layers
    ]


def image_sboms(
    client: RegistryClient,
    ref: Reference,
    *,
    spec_version: str = "1.6",
    output_format: str = "cyclonedx-json",
    platform: str | None = None,
    on_layer: LayerProgress | None = None,
) -> tuple[Reference, list[PlatformSbom]]:
    """One SBOM per platform of ``ref`` (one for a single-platform image).

    Args:
        client: Registry client.
        ref: The image, by tag or digest.
        spec_version: CycloneDX version of the documents.
        output_format: ``cyclonedx-json`` or ``spdx-json``.
        platform: Only this ``os/arch[/variant]`` of an index.
        on_layer: Called as each layer is done with (a big image takes minutes).

    Returns:
        ``ref`` pinned to its digest (the index for a multi-platform image), and the SBOMs.

    Raises:
        UsageError: ``platform`` names no platform of the index.
        ImageNotFound: the image does not exist.
        CheckFailed: the registry could not be read, or a layer is malformed or too large.
    """
    image = resolve_image(client, ref).ref
    manifest = client.get_manifest(image)
    if manifest.media_type not in INDEX_TYPES:
        targets: list[tuple[Reference, str | None]] = [(image, None)]
    else:
        targets = [
            (image.with_digest(child.digest), _platform_name(child))
            for child in parse_index(manifest)
            if not _is_attestation_manifest(child)
        ]
        if not targets:
            raise MalformedData(f"index {image} lists no image manifests")
    if platform is not None:
        targets = [target for target in targets if target[1] in {platform, None}]
        if not targets:
            raise UsageError(f"{ref} has no platform {platform}")
    layers = [_layer_sources(client, target) for target, _ in targets]
    if on_layer is not None:
        layers = _counted(layers, on_layer)
    results = []
    for (target, name), sources in zip(targets, layers, strict=True):
        result = generate_sbom(
            sources,
            image_name=target.name,
            image_digest=pinned_digest(target),
            spec_version=spec_version,
            output_format=output_format,
            platform=name,
        )
        results.append(PlatformSbom(target, name, result))
    return image, results


def combined_document(sboms: list[PlatformSbom]) -> bytes:
    """One SBOM as is; several as a JSON array in platform order (documented in the CLI)."""
    if len(sboms) == 1:
        return sboms[0].result.document
    return json.dumps([json.loads(s.result.document) for s in sboms], indent=2).encode()

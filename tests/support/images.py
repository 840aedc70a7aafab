"""Build small random OCI images in Python and push them, or write them as OCI layouts."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from sealgate.oci import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    Descriptor,
    Reference,
    RegistryClient,
    digest_of,
)


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode()


def make_layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """Return (gzip tar bytes, diff_id) for a layer holding ``files``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, mtime=0), digest_of(uncompressed)


@dataclass
class BuiltImage:
    """An image: manifest, config and layer blobs, all as bytes."""

    manifest: bytes
    config: bytes
    layers: list[bytes]
    platform: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)

    @property
    def media_type(self) -> str:
        return OCI_MANIFEST

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(
            OCI_MANIFEST, self.digest, len(self.manifest), platform=self.platform or None
        )

    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers]


@dataclass
class BuiltIndex:
    """A multi-platform index and its child images."""

    index: bytes
    images: list[BuiltImage]

    @property
    def digest(self) -> str:
        return digest_of(self.index)

    @property
    def media_type(self) -> str:
        return OCI_INDEX


def build_image(
    *, layers: int = 2, file_size: int = 512, os_name: str = "linux", arch: str = "amd64"
) -> BuiltImage:
    """Build a random image with ``layers`` layers of real files."""
    return image_from_layers(
        [
            make_layer(
                {f"data/file{n}.bin": os.urandom(file_size), f"etc/layer{n}": b"layer %d\n" % n}
            )
            for n in range(layers)
        ],
        os_name=os_name,
        arch=arch,
    )


def image_from_layers(
    layers: list[tuple[bytes, str]], *, os_name: str = "linux", arch: str = "amd64"
) -> BuiltImage:
    """An image over ready-made ``(blob, diff_id)`` layers (blobs may be deliberately broken)."""
    blobs = [blob for blob, _ in layers]
    diff_ids = [diff_id for _, diff_id in layers]
    config = _json(
        {
            "architecture": arch,
            "os": os_name,
            "config": {"Env": ["PATH=/usr/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": "sealgate tests"} for _ in blobs],
        }
    )
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER_GZIP, "digest": digest_of(b), "size": len(b)} for b in blobs
            ],
        }
    )
    return BuiltImage(manifest, config, blobs, {"os": os_name, "architecture": arch})


def build_index(
    platforms: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64")),
) -> BuiltIndex:
    """Build an OCI index over one random image per (os, arch)."""
    return index_of([build_image(layers=1, os_name=o, arch=a) for o, a in platforms])


def index_of(images: list[BuiltImage]) -> BuiltIndex:
    """An OCI index listing ``images`` with their platforms."""
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": image.digest,
                    "size": len(image.manifest),
                    "platform": image.platform,
                }
                for image in images
            ],
        }
    )
    return BuiltIndex(index, images)


def push_image(client: RegistryClient, ref: Reference, image: BuiltImage) -> str:
    """Push blobs and manifest to ``ref`` (tag or digest); return the manifest digest."""
    for blob in image.blobs():
        client.put_blob(ref, blob)
    return client.put_manifest(ref, image.manifest, OCI_MANIFEST)


def push_index(client: RegistryClient, ref: Reference, built: BuiltIndex) -> str:
    """Push every child by digest, then the index to ``ref``; return the index digest."""
    for image in built.images:
        # By digest only: with_digest() keeps the tag, and put_manifest prefers the tag.
        child = Reference(ref.registry, ref.repository, digest=image.digest, layout=ref.layout)
        push_image(client, child, image)
    return client.put_manifest(ref, built.index, OCI_INDEX)


def write_layout(directory: Path, image: BuiltImage | BuiltIndex, tag: str) -> Reference:
    """Write ``image`` as an OCI layout at ``directory`` under ``tag``; return its ``oci:`` ref."""
    ref = Reference.parse(f"oci:{directory}:{tag}")
    with RegistryClient() as client:
        if isinstance(image, BuiltIndex):
            push_index(client, ref, image)
        else:
            push_image(client, ref, image)
    return ref


def skopeo_copy(layout: Reference, dest: str, *, timeout_s: float = 60.0) -> None:
    """Copy an OCI layout image to a plain-HTTP registry with skopeo (``dest`` = host/repo:tag).

    Raises:
        RuntimeError: skopeo failed (its stderr is in the message).
    """
    src = f"oci:{layout.repository}:{layout.tag}"
    proc = subprocess.run(
        ["skopeo", "copy", "--all", "--dest-tls-verify=false", src, f"docker://{dest}"],
        capture_output=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"skopeo copy failed: {proc.stderr.decode(errors='replace')}")

"""Descriptors and fetched manifests: the values the registry client hands out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sealgate.errors import MalformedData
from sealgate.oci.mediatypes import INDEX_TYPES, is_valid_digest

__all__ = ["Descriptor", "FetchedManifest", "parse_index"]


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor (image-spec ``descriptor.md``)."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] | None = None
    platform: dict[str, Any] | None = None
    artifact_type: str | None = None

    @classmethod
    def from_dict(cls, obj: object) -> Descriptor:
        """Validate a decoded JSON descriptor.

        Raises:
            MalformedData: a required field is missing or has the wrong type.
        """
        if not isinstance(obj, dict):
            raise MalformedData("descriptor is not a JSON object")
        media_type, digest, size = obj.get("mediaType"), obj.get("digest"), obj.get("size")
        if not isinstance(media_type, str) or not media_type:
            raise MalformedData("descriptor has no mediaType")
        if not isinstance(digest, str) or not is_valid_digest(digest):
            raise MalformedData("descriptor digest is not a sha256 digest")
        # bool is an int subclass in Python; JSON true must not pass as size 1.
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise MalformedData("descriptor size is not a non-negative integer")
        annotations = obj.get("annotations")
        if annotations is not None and not (
            isinstance(annotations, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())
        ):
            raise MalformedData("descriptor annotations are not a string map")
        platform = obj.get("platform")
        if platform is not None and not isinstance(platform, dict):
            raise MalformedData("descriptor platform is not an object")
        artifact_type = obj.get("artifactType")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise MalformedData("descriptor artifactType is not a string")
        return cls(media_type, digest, size, annotations, platform, artifact_type)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form, fields in go-containerregistry order."""
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "size": self.size,
            "digest": self.digest,
        }
        if self.annotations is not None:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = dict(self.platform)
        if self.artifact_type is not None:
            out["artifactType"] = self.artifact_type
        return out


@dataclass(frozen=True)
class FetchedManifest:
    """Manifest bytes exactly as served, with their verified digest."""

    data: bytes
    media_type: str
    #: ``sha256`` of ``data``: checked against the requested or announced digest.
    digest: str

    @property
    def descriptor(self) -> Descriptor:
        """A descriptor pointing at this manifest."""
        return Descriptor(self.media_type, self.digest, len(self.data))

    def json(self) -> dict[str, Any]:
        """Decode the manifest as a JSON object.

        Raises:
            MalformedData: not a JSON object.
        """
        try:
            obj = json.loads(self.data)
        except (ValueError, RecursionError) as e:
            raise MalformedData(f"manifest {self.digest} is not valid JSON") from e
        if not isinstance(obj, dict):
            raise MalformedData(f"manifest {self.digest} is not a JSON object")
        return obj


def parse_index(manifest: FetchedManifest) -> list[Descriptor]:
    """Return the ``manifests`` of an OCI index or Docker manifest list.

    Raises:
        MalformedData: not an index, or a child descriptor is malformed.
    """
    if manifest.media_type not in INDEX_TYPES:
        raise MalformedData(f"{manifest.digest} is a {manifest.media_type}, not an index")
    children = manifest.json().get("manifests", [])
    if not isinstance(children, list):
        raise MalformedData(f"index {manifest.digest} has no manifests list")
    return [Descriptor.from_dict(child) for child in children]

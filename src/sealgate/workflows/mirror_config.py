"""``mirror.yaml``: the images ``sealgate mirror --config`` copies, read and validated.

The schema ships with the package (``mirror-config.schema.json``, also in ``docs/``)::

    apiVersion: sealgate.dev/v1alpha1     # optional
    kind: MirrorConfig                    # optional
    defaults: {platforms: all, copySignatures: true, sbom: false}
    images:
      - source: docker.io/library/nginx:1.27          # by tag or digest, registry host included
        target: registry.example.com/mirror/nginx      # repository (tag kept) or repo:tag
        platforms: [linux/amd64, linux/arm64]          # or "all" (byte-identical, same digest)
        sbom: true

YAML is read with :mod:`sealgate.documents` (capped, no YAML bombs, duplicate keys refused),
then checked against the schema; every error names the file and line.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import jsonschema  # type: ignore[import-untyped,unused-ignore]

from sealgate.documents.yaml import PathKey, YamlDocument, format_path, read_yaml_file
from sealgate.errors import ConfigError, UsageError
from sealgate.oci import Reference

__all__ = ["MirrorItem", "load_mirror_config", "mirror_item", "mirror_schema"]

_MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class MirrorItem:
    """One image to mirror.

    Attributes:
        source: The upstream image (tag or digest).
        target: The target repository, with the tag to write (None: by digest only).
        platforms: ``os/arch[/variant]`` to keep, or None for the image as published.
        copy_signatures: Copy the upstream's ``.sig``/``.att``/``.sbom`` and bundle referrers.
        sbom: Attach a generated SBOM attestation signed by the mirror key.
        allow_incomplete_sbom: Attest an SBOM a cataloger could not complete.
        where: Where the entry was written (``mirror.yaml:12``), for messages.
    """

    source: Reference
    target: Reference
    platforms: tuple[str, ...] | None = None
    copy_signatures: bool = False
    sbom: bool = False
    allow_incomplete_sbom: bool = False
    where: str = "command line"


@functools.cache
def mirror_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``mirror.yaml``, as shipped in this package."""
    text = resources.files(__package__).joinpath("mirror-config.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


def _schema_errors(doc: YamlDocument) -> list[str]:
    validator = jsonschema.Draft202012Validator(mirror_schema())
    found: list[tuple[int, str]] = []
    for error in validator.iter_errors(doc.data):
        path: tuple[PathKey, ...] = tuple(
            p if isinstance(p, int) else str(p) for p in error.absolute_path
        )
        line = doc.line_of(path)
        where = format_path(path) or "(top)"
        found.append((line, f"{doc.source}:{line}: {where}: {error.message}"))
    return [message for _, message in sorted(found)]


def mirror_item(
    source: str,
    target: str,
    *,
    platforms: Sequence[str] | None = None,
    copy_signatures: bool = False,
    sbom: bool = False,
    allow_incomplete_sbom: bool = False,
    where: str = "command line",
) -> MirrorItem:
    """Build one item from references as written.

    Raises:
        UsageError: a reference is invalid, or the target names a digest.
    """
    try:
        src = Reference.parse(source.strip())
        dst = Reference.parse(target.strip())
    except UsageError as error:
        raise UsageError(f"{where}: {error.message}") from None
    if src.layout or dst.layout:
        raise UsageError(f"{where}: mirror copies between registries, not oci: layouts")
    if dst.digest is not None:
        raise UsageError(f"{where}: the target {target!r} is a repository or repository:tag")
    # A bare repository keeps the source's tag; a digest-only source is pushed by digest.
    tag = dst.tag if ":" in target.rsplit("/", 1)[-1] else src.tag
    dst = Reference(dst.registry, dst.repository, tag=tag)
    return MirrorItem(
        source=src,
        target=dst,
        platforms=tuple(platforms) if platforms else None,
        copy_signatures=copy_signatures,
        sbom=sbom,
        allow_incomplete_sbom=allow_incomplete_sbom,
        where=where,
    )


def load_mirror_config(path: Path) -> list[MirrorItem]:
    """Read, validate and expand ``mirror.yaml``.

    Raises:
        ConfigError: unreadable, not YAML, a YAML bomb, schema violations (with lines),
            an invalid reference, or the same target written twice.
    """
    documents = read_yaml_file(path, max_bytes=_MAX_CONFIG_BYTES, max_aliases=50)
    documents = [d for d in documents if d.data is not None]
    if len(documents) != 1:
        raise ConfigError(f"{path}: expected one YAML document, found {len(documents)}")
    doc = documents[0]
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}:1: the mirror configuration must be a mapping")
    errors = _schema_errors(doc)
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConfigError("; ".join(errors[:5]) + more)
    defaults: dict[str, Any] = doc.data.get("defaults") or {}
    items: list[MirrorItem] = []
    targets: dict[str, str] = {}
    for index, raw in enumerate(doc.data["images"]):
        where = f"{doc.source}:{doc.line_of(('images', index))}"
        settings = {**defaults, **raw}
        platforms = settings.get("platforms", "all")
        try:
            item = mirror_item(
                raw["source"],
                raw["target"],
                platforms=None if platforms == "all" else platforms,
                copy_signatures=bool(settings.get("copySignatures", False)),
                sbom=bool(settings.get("sbom", False)),
                allow_incomplete_sbom=bool(settings.get("allowIncompleteSbom", False)),
                where=where,
            )
        except UsageError as error:
            raise ConfigError(error.message) from None
        key = str(item.target) if item.target.tag else f"{item.target.name}@{item.source}"
        if key in targets:
            raise ConfigError(f"{where}: target {key} is already written by {targets[key]}")
        targets[key] = where
        items.append(item)
    return items

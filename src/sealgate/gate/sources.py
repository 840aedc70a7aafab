"""Find the images a deploy will run, in versions files, Helm values and rendered manifests.

Three readers, chosen per file (``fmt="auto"`` picks one):

``manifests``
    Multi-document Kubernetes YAML (``helm template`` output, ``kubectl`` files): every
    ``initContainers``/``containers``/``ephemeralContainers`` image of Pod, PodTemplate,
    Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController,
    ``*List`` objects and any unknown kind with a pod spec at ``spec.template.spec``.
    Chosen by ``auto`` when a document has ``apiVersion`` and ``kind``.
``helm-values``
    Lenient: only values under image-ish keys (``image``, ``images``, ``fooImage``,
    ``foo_image``) count, as strings or ``{registry, repository, tag, digest}`` blocks; other
    strings are ignored. Chosen by ``auto`` for ``values*.yaml`` / ``*.values.yaml``.
``versions``
    Strict, the default for everything else (``*-versions.yaml``): flat ``service: image``
    maps, nested ``{repository|repo|image, tag|version, digest, registry}`` blocks, lists,
    any nesting. Every string must be an image reference and every other scalar is an error
    ("unknown shape"), except top-level metadata keys (``version``, ``schemaVersion``,
    ``generated``, ``generatedAt``, ``comment``, ``description``) and keys starting with
    ``x-`` or ``_``. Strictness is deliberate: a value the reader does not understand could
    be an image the gate would otherwise never check.

References must name their registry host. ``nginx:1.25`` is refused (it silently means Docker
Hub) unless the configuration sets ``defaultRegistry`` (prefixed) or
``allowDockerHubShorthand: true`` (normalised to ``index.docker.io/library/nginx``). Block
tags that YAML reads as floats (``tag: 1.10`` is ``1.1``) are refused; quote them.
Every error is a :class:`~sealgate.errors.ConfigError` naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from sealgate.documents import (
    PathKey,
    YamlDocument,
    format_path,
    image_volumes,
    is_k8s_object,
    parse_yaml,
    workload_images,
)
from sealgate.errors import ConfigError, UsageError
from sealgate.files import read_capped
from sealgate.gate.config import EnvironmentConfig, ImageRules
from sealgate.gate.model import ImageSpec, SourceLocation
from sealgate.oci.reference import Reference

__all__ = [
    "SourceFormat",
    "collect_images",
    "dedupe",
    "environment_images",
    "has_registry_host",
    "images_from_text",
    "normalise_reference",
]

SourceFormat = Literal["auto", "versions", "helm-values", "manifests"]

_METADATA_KEYS = frozenset(
    {"version", "schemaVersion", "generated", "generatedAt", "comment", "description"}
)
_BLOCK_KEYS = frozenset({"registry", "repository", "repo", "image", "tag", "version", "digest"})
_BLOCK_IGNORED = frozenset({"pullPolicy", "imagePullPolicy", "pullSecrets", "imagePullSecrets"})
_IMAGE_KEY = re.compile(r"^(images?|.*[a-z0-9](Image|Images)|.*[_-][iI]mages?)$")
_VALUES_NAME = re.compile(r"^(values([._-].*)?|.*[._-]values)\.ya?ml$")
_MAX_SOURCE_BYTES = 32 * 1024 * 1024
_NO_SHORTHAND = ImageRules()


def has_registry_host(text: str) -> bool:
    """True when ``text`` names its registry (``ghcr.io/x``, ``localhost:5000/x``...).

    Uses Docker's rule: the first path component is a host if it contains ``.`` or ``:``,
    is ``localhost``, is an IPv6 literal, or is not all lowercase.
    """
    first, slash, _ = text.partition("/")
    if not slash:
        return False
    return (
        "." in first
        or ":" in first
        or first == "localhost"
        or first.startswith("[")
        or first.lower() != first
    )


def normalise_reference(text: str, where: str, rules: ImageRules) -> Reference:
    """Parse an image reference found in a file, applying the registry-host rules.

    Args:
        text: The reference as written.
        where: ``file:line`` for error messages.
        rules: The configuration's short-name rules.

    Returns:
        The parsed reference.

    Raises:
        ConfigError: malformed, an OCI layout, or no registry host without a rule allowing it.
    """
    if text.startswith("oci:"):
        raise ConfigError(f"{where}: {text!r} is an OCI layout, not something a cluster can pull")
    if not has_registry_host(text):
        try:
            Reference.parse(text)  # a malformed reference is reported as such first
        except UsageError as err:
            raise ConfigError(f"{where}: {err}") from None
        if rules.default_registry:
            text = f"{rules.default_registry}/{text}"
        elif not rules.allow_docker_hub_shorthand:
            raise ConfigError(
                f"{where}: image {text!r} has no registry host; write it in full "
                "(e.g. docker.io/library/nginx:1.25) or set defaultRegistry or "
                "allowDockerHubShorthand in sealgate.yaml"
            )
    try:
        return Reference.parse(text)
    except UsageError as err:
        raise ConfigError(f"{where}: {err}") from None


class _Reader:
    """Collects images from one document; one instance per document."""

    def __init__(self, doc: YamlDocument, rules: ImageRules) -> None:
        self.doc = doc
        self.rules = rules
        self.found: list[ImageSpec] = []
        # A versions file may name one image thousands of times: parse each text once.
        self._parsed: dict[str, Reference] = {}

    def fail(self, path: tuple[PathKey, ...], message: str) -> ConfigError:
        return ConfigError(f"{self.doc.where(path)}: {message} at {format_path(path)}")

    def add(self, text: str, path: tuple[PathKey, ...]) -> None:
        line = self.doc.line_of(path)
        ref = self._parsed.get(text)
        if ref is None:
            ref = normalise_reference(text, f"{self.doc.source}:{line}", self.rules)
            self._parsed[text] = ref
        location = SourceLocation(self.doc.source, line, format_path(path), self.doc.index)
        self.found.append(ImageSpec(ref, text, (location,)))

    # --- blocks -----------------------------------------------------------------------

    @staticmethod
    def is_block(node: dict[Any, Any]) -> bool:
        if isinstance(node.get("repository"), str) or isinstance(node.get("repo"), str):
            return True
        return isinstance(node.get("image"), str) and any(
            k in node for k in ("tag", "digest", "registry", "version")
        )

    def _text_field(self, node: dict[Any, Any], key: str, path: tuple[PathKey, ...]) -> str:
        value = node.get(key)
        if value is None:
            return ""
        if isinstance(value, (bool, float)):
            raise self.fail(
                (*path, key), f"{key} {value!r} is a YAML {type(value).__name__}; quote it"
            )
        if isinstance(value, int) and key in ("tag", "version"):
            return str(value)
        if not isinstance(value, str):
            raise self.fail((*path, key), f"{key} must be a string")
        return value.strip()

    def add_block(self, node: dict[Any, Any], path: tuple[PathKey, ...]) -> None:
        registry = self._text_field(node, "registry", path)
        repo_key = next(k for k in ("repository", "repo", "image") if isinstance(node.get(k), str))
        repository = self._text_field(node, repo_key, path)
        tag = self._text_field(node, "tag", path) or self._text_field(node, "version", path)
        digest = self._text_field(node, "digest", path)
        if not repository:
            raise self.fail(path, "image block with an empty repository")
        text = f"{registry.rstrip('/')}/{repository}" if registry else repository
        last = text.rsplit("/", 1)[-1]
        if tag and (":" in last or "@" in last):
            raise self.fail(path, f"image block has a tag both in {repo_key} and in tag")
        if digest and "@" in text:
            raise self.fail(path, f"image block has a digest both in {repo_key} and in digest")
        if not tag and not digest and ":" not in last and "@" not in last:
            raise self.fail(
                path,
                "image block without tag or digest (the chart decides the version: "
                "verify rendered manifests instead)",
            )
        text += (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        self.add(text, (*path, repo_key))

    # --- versions files (strict) ------------------------------------------------------

    def versions(self, node: object, path: tuple[PathKey, ...]) -> None:
        if isinstance(node, str):
            self.add(node.strip(), path)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self.versions(item, (*path, i))
        elif isinstance(node, dict):
            rest = node
            if self.is_block(node):
                self.add_block(node, path)
                rest = {k: v for k, v in node.items() if k not in _BLOCK_KEYS | _BLOCK_IGNORED}
            for key, value in rest.items():
                name = str(key)
                if name.startswith(("x-", "_")) or (not path and name in _METADATA_KEYS):
                    continue
                self.versions(value, (*path, name))
        elif node is None:
            raise self.fail(path, "empty value (expected an image reference)")
        else:
            raise self.fail(path, f"unknown shape: {type(node).__name__} {node!r}")

    # --- Helm values (lenient) --------------------------------------------------------

    def values(self, node: object, path: tuple[PathKey, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                name = str(key)
                if _IMAGE_KEY.match(name):
                    self.image_value(value, (*path, name))
                else:
                    self.values(value, (*path, name))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self.values(item, (*path, i))

    def image_value(self, node: object, path: tuple[PathKey, ...]) -> None:
        if isinstance(node, str):
            if node.strip():
                self.add(node.strip(), path)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self.image_value(item, (*path, i))
        elif isinstance(node, dict):
            if self.is_block(node):
                self.add_block(node, path)
            elif "tag" in node or "digest" in node:
                raise self.fail(
                    path,
                    "image block without repository (a partial override?): "
                    "verify rendered manifests instead",
                )
            else:
                # e.g. ``images: {api: ghcr.io/x:1}``: values under an image-ish key are images.
                for key, value in node.items():
                    if str(key) not in _BLOCK_IGNORED:
                        self.image_value(value, (*path, str(key)))

    # --- rendered manifests -----------------------------------------------------------

    def manifests(self) -> None:
        # Image volumes (volumes[].image.reference) are pulled like container images.
        for field in (*workload_images(self.doc.data), *image_volumes(self.doc.data)):
            if field.image is None or not field.image.strip():
                what = "container without an image"
                if field.path[-1] == "reference":
                    what = "image volume without a reference"
                raise self.fail(field.path[:-1], what)
            self.add(field.image.strip(), field.path)


def _detect(documents: Sequence[YamlDocument], source: str) -> SourceFormat:
    if any(is_k8s_object(d.data) for d in documents):
        return "manifests"
    if _VALUES_NAME.match(Path(source).name):
        return "helm-values"
    return "versions"


def images_from_text(
    text: str | bytes,
    *,
    source: str,
    rules: ImageRules = _NO_SHORTHAND,
    fmt: SourceFormat = "auto",
) -> tuple[ImageSpec, ...]:
    """Find the images in one YAML stream (not deduplicated across files).

    Args:
        text: The file's content.
        source: Its name for messages and reports (a path, or ``<stdin>``).
        rules: Registry-host rules from the configuration.
        fmt: Which reader to use; ``auto`` detects (see the module docstring).

    Returns:
        Every image found, deduplicated within this file, in order of appearance.

    Raises:
        ConfigError: not YAML, a YAML bomb, an unknown shape, a bad or host-less reference,
            or no image at all (names file and line).
    """
    documents = parse_yaml(text, source=source)
    kind = _detect(documents, source) if fmt == "auto" else fmt
    found: list[ImageSpec] = []
    for doc in documents:
        if doc.data is None:
            continue
        reader = _Reader(doc, rules)
        if kind == "manifests":
            if not is_k8s_object(doc.data):
                raise ConfigError(
                    f"{doc.where(())}: document {doc.index} is not a Kubernetes object"
                )
            reader.manifests()
        elif kind == "helm-values":
            reader.values(doc.data, ())
        else:
            reader.versions(doc.data, ())
        found.extend(reader.found)
    if not found:
        raise ConfigError(f"{source}: no images found (fmt={kind}); is this the right file?")
    return dedupe(found)


def dedupe(images: Iterable[ImageSpec]) -> tuple[ImageSpec, ...]:
    """Merge images with the same normalised reference, keeping first-seen order.

    Returns:
        One :class:`ImageSpec` per reference, with every source location merged.
    """
    # Linear: sources are gathered in a list with a set beside it for membership, and each
    # merged ImageSpec is built once at the end (a versions file may repeat one image 100k
    # times; rebuilding tuples per duplicate was quadratic).
    first: dict[str, ImageSpec] = {}
    sources: dict[str, list[SourceLocation]] = {}
    known: dict[str, set[SourceLocation]] = {}
    for image in images:
        key = image.key
        if key not in first:
            first[key], sources[key], known[key] = image, [], set()
        seen, found = known[key], sources[key]
        for location in image.sources:
            if location not in seen:
                seen.add(location)
                found.append(location)
    merged: list[ImageSpec] = []
    for key, image in first.items():
        locations = tuple(sources[key])
        same = locations == image.sources
        merged.append(image if same else ImageSpec(image.ref, image.text, locations))
    return tuple(merged)


def collect_images(
    paths: Iterable[Path | str],
    *,
    rules: ImageRules = _NO_SHORTHAND,
    fmt: SourceFormat = "auto",
    stdin: bytes | None = None,
) -> tuple[ImageSpec, ...]:
    """Find and deduplicate the images of several files.

    Args:
        paths: Files to read; ``-`` means ``stdin``.
        rules: Registry-host rules from the configuration.
        fmt: Reader for every file (``auto`` detects per file).
        stdin: The bytes of standard input when a path is ``-`` (the CLI reads it).

    Returns:
        Deduplicated images in first-seen order.

    Raises:
        ConfigError: any file fails (see :func:`images_from_text`), or ``-`` without stdin.
    """
    found: list[ImageSpec] = []
    for path in paths:
        if str(path) == "-":
            if stdin is None:
                raise ConfigError("'-' given but no standard input was provided")
            found.extend(images_from_text(stdin, source="<stdin>", rules=rules, fmt=fmt))
            continue
        raw = _read(Path(path))
        found.extend(images_from_text(raw, source=str(path), rules=rules, fmt=fmt))
    return dedupe(found)


def _read(path: Path) -> bytes:
    return read_capped(path, _MAX_SOURCE_BYTES, error=ConfigError)


def environment_images(env: EnvironmentConfig) -> tuple[ImageSpec, ...]:
    """The deduplicated images of every ``versions`` file of an environment.

    Raises:
        ConfigError: a versions entry matches no file, or any file fails to read.
    """
    return collect_images(env.version_files(), rules=env.image_rules)

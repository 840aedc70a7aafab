"""Where Kubernetes objects keep their pod specs, containers and images.

Shared by the gate's image collection (read), the Helm post-renderer (rewrite) and anything
that sees one object at a time (an admission webhook, a policy engine), so all of them agree
on exactly which images an object runs. Pure: decoded objects in, paths and mappings out.

Covered: ``initContainers``/``containers``/``ephemeralContainers`` of Pod, PodTemplate,
Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController and
``*List`` objects, then every container-like mapping anywhere in the object (custom resources:
Argo Rollouts and Workflows, Tekton, KEDA ScaledJob, Knative...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sealgate.documents.yaml import PathKey

__all__ = [
    "CONTAINER_FIELDS",
    "TEMPLATED_KINDS",
    "Container",
    "ImageField",
    "containers",
    "image_volumes",
    "is_k8s_object",
    "json_pointer",
    "pod_specs",
    "workload_images",
]

#: Every container list of a PodSpec; all of them pull images.
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")

#: Kinds whose pod template is at ``spec.template.spec``. Unknown kinds are also searched
#: there (Argo Rollouts, Knative, OpenKruise...), so this list documents rather than limits.
TEMPLATED_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}
)

#: ``(path to the container mapping, the container mapping)``.
Container = tuple[tuple[PathKey, ...], dict[str, Any]]


def is_k8s_object(doc: object) -> bool:
    """True for a mapping with string ``apiVersion`` and ``kind`` (a Kubernetes object)."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("apiVersion"), str)
        and isinstance(doc.get("kind"), str)
    )


def _dig(obj: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def pod_specs(
    doc: object, prefix: tuple[PathKey, ...] = ()
) -> Iterator[tuple[tuple[PathKey, ...], dict[str, Any]]]:
    """Yield ``(path, podSpec)`` for every pod spec in one Kubernetes object.

    Handles Pod, PodTemplate, the templated workload kinds, CronJob
    (``spec.jobTemplate.spec.template.spec``), ``List`` objects (``items``) and any unknown
    kind with a pod spec at ``spec.template.spec``.

    Args:
        doc: One decoded YAML document.
        prefix: Path of ``doc`` inside its document (for ``List`` items).

    Yields:
        The path of each pod spec and the pod spec mapping itself (not a copy).
    """
    if not isinstance(doc, dict):
        return
    kind = doc.get("kind")
    items = doc.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for i, item in enumerate(items):
            yield from pod_specs(item, (*prefix, "items", i))
        return
    paths: tuple[tuple[str, ...], ...]
    if kind == "Pod":
        paths = (("spec",),)
    elif kind == "PodTemplate":
        paths = (("template", "spec"),)
    elif kind == "CronJob":
        paths = (("spec", "jobTemplate", "spec", "template", "spec"),)
    else:
        paths = (("spec", "template", "spec"),)
    for path in paths:
        spec = _dig(doc, *path)
        if isinstance(spec, dict) and any(f in spec for f in CONTAINER_FIELDS):
            yield (*prefix, *path), spec


#: Lists of container-like mappings outside a PodSpec: Tekton steps/sidecars, Argo sidecars.
_EXTRA_LIST_FIELDS = ("steps", "sidecars")
#: Single container-like mappings: Argo Workflows ``templates[].container`` / ``script``.
_SINGLE_FIELDS = ("container", "script")
_MAX_DEPTH = 64
#: The path key of a stand-in container for what lies deeper than ``_MAX_DEPTH``.
TOO_DEEP = f"<nested deeper than {_MAX_DEPTH} levels>"


def _walk(obj: object, path: tuple[PathKey, ...], seen: set[int]) -> Iterator[Container]:
    if len(path) > _MAX_DEPTH:
        # What is not looked at may hold an image: a container without one stands in for it,
        # which every caller refuses (fail closed), rather than nothing.
        if isinstance(obj, dict | list) and obj:
            yield (*path, TOO_DEEP), {}
        return
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _walk(item, (*path, i), seen)
        return
    if not isinstance(obj, dict):
        return
    for key, value in obj.items():
        if not isinstance(key, str):
            continue
        if key in CONTAINER_FIELDS or key in _EXTRA_LIST_FIELDS:
            if isinstance(value, list):
                for i, entry in enumerate(value):
                    if isinstance(entry, dict) and "image" in entry and id(entry) not in seen:
                        seen.add(id(entry))
                        yield (*path, key, i), entry
        elif (
            key in _SINGLE_FIELDS
            and isinstance(value, dict)
            and "image" in value
            and id(value) not in seen
        ):
            seen.add(id(value))
            yield (*path, key), value
        yield from _walk(value, (*path, key), seen)


def containers(doc: object) -> Iterator[Container]:
    """Yield every container mapping of one Kubernetes object, wherever it sits.

    Known pod specs come first (in the order :func:`pod_specs` finds them); then the whole
    document is walked, so images inside custom resources (KEDA ScaledJob, Argo Workflows,
    Tekton tasks...) are never silently skipped: an image the gate does not see is an image
    it does not verify, and one the post-renderer cannot pin.

    Args:
        doc: One decoded YAML document.

    Yields:
        ``(path, container)``; the mapping is the live object so callers may rewrite it.
    """
    seen: set[int] = set()
    for path, spec in pod_specs(doc):
        for field in CONTAINER_FIELDS:
            entries = spec.get(field)
            if not isinstance(entries, list):
                continue
            for i, entry in enumerate(entries):
                if isinstance(entry, dict) and id(entry) not in seen:
                    seen.add(id(entry))
                    yield (*path, field, i), entry
    yield from _walk(doc, (), seen)


@dataclass(frozen=True)
class ImageField:
    """The ``image`` field of one container-like mapping of a Kubernetes object."""

    #: Path of the ``image`` field inside the object: ``("spec", "containers", 0, "image")``.
    path: tuple[PathKey, ...]
    #: The field's value when it is a string (as written); None when missing or not a string.
    image: str | None
    #: The container mapping itself (the live object, so a caller may rewrite ``image``).
    container: dict[str, Any]

    @property
    def pointer(self) -> str:
        """The path as an RFC 6901 JSON Pointer, as JSON Patch (RFC 6902) operations use it."""
        return json_pointer(self.path)


def json_pointer(path: tuple[PathKey, ...]) -> str:
    """Render a value path as an RFC 6901 JSON Pointer: ``/spec/containers/0/image``.

    ``~`` and ``/`` inside keys are escaped as ``~0`` and ``~1`` (RFC 6901 section 3).
    """
    return "".join(
        "/" + (str(p) if isinstance(p, int) else p.replace("~", "~0").replace("/", "~1"))
        for p in path
    )


def workload_images(obj: object) -> Iterator[ImageField]:
    """Yield the image of every container of one decoded Kubernetes object, with its path.

    For an admission webhook: pass ``request.object`` of an AdmissionReview (a Pod, a
    workload, a CronJob or a custom resource) and check or patch every image it yields.
    Containers without a string ``image`` are yielded too (``image`` None): a caller that
    cannot see an image must not allow it.

    Args:
        obj: One decoded object (YAML or JSON); anything else yields nothing.

    Yields:
        One :class:`ImageField` per container, pod-spec containers first, in document order.
    """
    for path, container in containers(obj):
        value = container.get("image")
        yield ImageField((*path, "image"), value if isinstance(value, str) else None, container)


def image_volumes(obj: object) -> Iterator[ImageField]:
    """Yield the image of every image volume (``volumes[].image.reference``) of the pod specs.

    Kubernetes 1.31+ mounts an OCI image as a volume (``ImageVolumeSource``); the kubelet pulls
    it like a container image, so an admission check must see it too.

    Args:
        obj: One decoded object.

    Yields:
        One :class:`ImageField` per image volume (``path`` ends in ``reference``;
        ``container`` is the ``image`` source mapping); ``image`` None when not a string.
    """
    for path, spec in pod_specs(obj):
        volumes = spec.get("volumes")
        for i, volume in enumerate(volumes if isinstance(volumes, list) else ()):
            source = volume.get("image") if isinstance(volume, dict) else None
            if isinstance(source, dict):
                value = source.get("reference")
                yield ImageField(
                    (*path, "volumes", i, "image", "reference"),
                    value if isinstance(value, str) else None,
                    source,
                )

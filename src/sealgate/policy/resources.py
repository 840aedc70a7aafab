"""Which Kubernetes resource an image comes from, and the two projects' resource matching.

A policy may apply only to some resources: ClusterImagePolicy ``spec.match`` (group, version,
plural resource name, label selector) and Kyverno ``match``/``exclude`` (kinds, namespaces,
names, label selector). ``sealgate policy test`` has no cluster: the resource is the manifest
given with ``--resource``, or else :data:`IMPLICIT_POD` (a bare ``v1/Pod`` in namespace
``default`` without labels), so a decision never depends on something that was not said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sealgate.errors import ConfigError, InputError
from sealgate.policy.globs import wildcard_match

__all__ = [
    "IMPLICIT_POD",
    "POD_CONTROLLERS",
    "KyvernoResourceFilter",
    "LabelRequirement",
    "LabelSelector",
    "Resource",
    "SigstoreResourceMatch",
    "guess_plural",
    "resource_images",
]

#: Kinds whose pod template Kyverno's auto-generated rules cover (its default
#: ``pod-policies.kyverno.io/autogen-controllers``).
POD_CONTROLLERS = frozenset(
    {
        "DaemonSet",
        "Deployment",
        "Job",
        "StatefulSet",
        "ReplicaSet",
        "ReplicationController",
        "CronJob",
    }
)
_POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"Pod": ("spec",), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
)
_CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class Resource:
    """The resource being admitted.

    Attributes:
        kind: ``Pod``, ``Deployment``...
        api_version: ``v1``, ``apps/v1``...
        namespace: Its namespace (``""`` for cluster-scoped resources).
        name: ``metadata.name``.
        labels: ``metadata.labels``.
        implicit: True when no manifest was given (the bare default pod).
    """

    kind: str = "Pod"
    api_version: str = "v1"
    namespace: str = "default"
    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    implicit: bool = False

    @property
    def group(self) -> str:
        """The API group (``""`` for the core group)."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        """The API version without its group."""
        return self.api_version.rpartition("/")[2]

    @classmethod
    def from_manifest(cls, manifest: object, *, source: str) -> Resource:
        """Read kind, apiVersion, namespace, name and labels from a decoded manifest.

        Raises:
            InputError: Not a Kubernetes object.
        """
        if not isinstance(manifest, dict):
            raise InputError(f"{source}: not a Kubernetes object")
        kind, api_version = manifest.get("kind"), manifest.get("apiVersion")
        meta = manifest.get("metadata") or {}
        if not isinstance(kind, str) or not isinstance(api_version, str) or not kind:
            raise InputError(f"{source}: a resource needs kind and apiVersion")
        if not isinstance(meta, dict):
            raise InputError(f"{source}: metadata must be a mapping")
        labels = meta.get("labels") or {}
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            raise InputError(f"{source}: metadata.labels must map strings to strings")
        namespace = meta.get("namespace", "default")
        name = meta.get("name", "")
        if not isinstance(namespace, str) or not isinstance(name, str):
            raise InputError(f"{source}: metadata.namespace and metadata.name must be strings")
        return cls(kind, api_version, namespace, name, dict(labels))


#: The resource assumed when none is given.
IMPLICIT_POD = Resource(implicit=True)


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def resource_images(manifest: object) -> list[str]:
    """Every container image of a pod or pod controller manifest, in manifest order.

    Returns:
        The images (duplicates removed); empty for kinds without a pod template.
    """
    if not isinstance(manifest, dict):
        return []
    kind = manifest.get("kind")
    path = _POD_SPEC_PATHS.get(kind, ("spec", "template", "spec")) if isinstance(kind, str) else ()
    spec = _walk(manifest, path)
    images: dict[str, None] = {}
    for container_field in _CONTAINER_FIELDS:
        containers = spec.get(container_field) if isinstance(spec, dict) else None
        for container in containers if isinstance(containers, list) else []:
            image = container.get("image") if isinstance(container, dict) else None
            if isinstance(image, str) and image.strip():
                images.setdefault(image.strip(), None)
    return list(images)


@dataclass(frozen=True)
class LabelRequirement:
    """One ``matchExpressions`` entry (Kubernetes set-based selector)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ConfigError(f"label selector operator {self.operator!r} is not valid")
        if self.operator in ("In", "NotIn") and not self.values:
            raise ConfigError(f"label selector operator {self.operator} needs values")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ConfigError(f"label selector operator {self.operator} takes no values")

    def matches(self, labels: Mapping[str, str], *, wildcards: bool = False) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        found = present and any(
            wildcard_match(v, labels[self.key]) if wildcards else v == labels[self.key]
            for v in self.values
        )
        # Kubernetes: NotIn also matches a resource without the label.
        return found if self.operator == "In" else not found


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes ``LabelSelector`` (every requirement must hold; empty matches all)."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    expressions: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str], *, wildcards: bool = False) -> bool:
        """Whether ``labels`` satisfy the selector.

        Args:
            labels: The resource's labels.
            wildcards: Kyverno compares ``matchLabels`` values as wildcards.
        """
        for key, value in self.match_labels.items():
            if key not in labels:
                return False
            if not (wildcard_match(value, labels[key]) if wildcards else value == labels[key]):
                return False
        return all(e.matches(labels, wildcards=wildcards) for e in self.expressions)


def guess_plural(kind: str) -> str:
    """apimachinery ``meta.UnsafeGuessKindToResource``: ``Pod`` -> ``pods``, ``y`` -> ``ies``.

    Returns:
        The guessed plural resource name.
    """
    singular = kind.lower()
    if not singular or singular.endswith("endpoints"):
        return singular
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


@dataclass(frozen=True)
class SigstoreResourceMatch:
    """One ClusterImagePolicy ``spec.match[]`` entry (policy-controller ``GetMatchingPolicies``)."""

    group: str
    version: str
    resource: str
    selector: LabelSelector | None = None

    def matches(self, target: Resource) -> bool:
        if self.resource != guess_plural(target.kind):
            return False
        if self.version not in (target.version, "*") or self.group != target.group:
            return False
        return self.selector is None or self.selector.matches(target.labels)


def _kind_matches(pattern: str, target: Resource, *, autogen: frozenset[str]) -> bool:
    parts = pattern.split("/")
    kind_pattern = parts[-1]
    if len(parts) >= 2 and not wildcard_match(parts[-2], target.version):
        return False
    if len(parts) >= 3 and not wildcard_match("/".join(parts[:-2]), target.group):
        return False
    if wildcard_match(kind_pattern, target.kind):
        return True
    # Kyverno auto-generates the rules of a Pod policy for the pod controllers.
    return kind_pattern == "Pod" and len(parts) == 1 and target.kind in autogen


@dataclass(frozen=True)
class KyvernoResourceFilter:
    """The supported part of a Kyverno ``ResourceDescription`` (every given field must hold).

    Attributes:
        kinds: ``Pod``, ``apps/v1/Deployment``, wildcards allowed; empty means any kind.
        namespaces: Wildcards allowed; empty means any.
        names: Wildcards allowed; empty means any.
        selector: Label selector (values may hold wildcards), or None.
        operations: Admission operations; ``policy test`` models a ``CREATE``.
    """

    kinds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    selector: LabelSelector | None = None
    operations: tuple[str, ...] = ()

    def matches(self, target: Resource, *, autogen: frozenset[str] = POD_CONTROLLERS) -> bool:
        if self.kinds and not any(_kind_matches(k, target, autogen=autogen) for k in self.kinds):
            return False
        if self.namespaces and not any(
            wildcard_match(n, target.namespace) for n in self.namespaces
        ):
            return False
        if self.names and not any(wildcard_match(n, target.name) for n in self.names):
            return False
        if self.operations and "CREATE" not in self.operations:
            return False
        return self.selector is None or self.selector.matches(target.labels, wildcards=True)

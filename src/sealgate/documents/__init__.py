"""sealgate.documents: defensive YAML and the Kubernetes workload walker (pure core).

Used by the deploy gate (configs, versions files, rendered manifests), and meant for the policy
engine and the admission webhook, so every entry point reads YAML under the same limits and
finds the same images in the same objects::

    docs = read_yaml_file(Path("sealgate.yaml"), max_bytes=MiB)   # ConfigError names file:line
    for field in workload_images(admission_request["object"]):
        check(field.image, at=field.pointer)                     # "/spec/containers/0/image"
"""

from sealgate.documents.workloads import (
    CONTAINER_FIELDS,
    TEMPLATED_KINDS,
    Container,
    ImageField,
    containers,
    image_volumes,
    is_k8s_object,
    json_pointer,
    pod_specs,
    workload_images,
)
from sealgate.documents.yaml import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_NODES,
    PathKey,
    YamlDocument,
    format_path,
    parse_yaml,
    read_yaml_file,
)

__all__ = [
    "CONTAINER_FIELDS",
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_NODES",
    "TEMPLATED_KINDS",
    "Container",
    "ImageField",
    "PathKey",
    "YamlDocument",
    "containers",
    "format_path",
    "image_volumes",
    "is_k8s_object",
    "json_pointer",
    "parse_yaml",
    "pod_specs",
    "read_yaml_file",
    "workload_images",
]

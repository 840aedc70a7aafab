"""AdmissionReview v1 request bodies shaped as the Kubernetes API reference shows them."""

from __future__ import annotations

import uuid
from typing import Any

#: (group, version, kind, plural) of the kinds the tests send.
KINDS = {
    "Pod": ("", "v1", "pods"),
    "ReplicationController": ("", "v1", "replicationcontrollers"),
    "Deployment": ("apps", "v1", "deployments"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
    "ConfigMap": ("", "v1", "configmaps"),
}


def pod_spec(
    *images: str, init: tuple[str, ...] = (), ephemeral: tuple[str, ...] = ()
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    }
    if init:
        spec["initContainers"] = [{"name": f"init{i}", "image": im} for i, im in enumerate(init)]
    if ephemeral:
        spec["ephemeralContainers"] = [
            {"name": f"debug{i}", "image": im, "targetContainerName": "c0"}
            for i, im in enumerate(ephemeral)
        ]
    return spec


def workload(
    kind: str,
    spec: dict[str, Any],
    *,
    name: str = "app",
    namespace: str = "team-a",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Pod, a pod controller or a CronJob carrying ``spec`` as its pod spec."""
    group, version, _ = KINDS[kind]
    meta = {"name": name, "namespace": namespace, "labels": labels or {"app": name}}
    obj: dict[str, Any] = {
        "apiVersion": f"{group}/{version}" if group else version,
        "kind": kind,
        "metadata": meta,
    }
    template = {"metadata": {"labels": meta["labels"]}, "spec": spec}
    if kind == "Pod":
        obj["spec"] = spec
    elif kind == "CronJob":
        obj["spec"] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "ConfigMap":
        obj["data"] = {"image": spec["containers"][0]["image"]}
    else:
        obj["spec"] = {
            "replicas": 2,
            "selector": {"matchLabels": meta["labels"]},
            "template": template,
        }
    return obj


def review_body(
    obj: dict[str, Any] | None,
    *,
    kind: str = "Pod",
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    sub_resource: str | None = None,
    namespace: str = "team-a",
    uid: str | None = None,
) -> dict[str, Any]:
    """An AdmissionReview request for ``obj``."""
    group, version, plural = KINDS[kind]
    kind_ref = {"group": group, "version": version, "kind": kind}
    resource_ref = {"group": group, "version": version, "resource": plural}
    request: dict[str, Any] = {
        "uid": uid or str(uuid.uuid4()),
        "kind": kind_ref,
        "resource": resource_ref,
        "requestKind": kind_ref,
        "requestResource": resource_ref,
        "name": (obj or old or {}).get("metadata", {}).get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {
            "username": "admin",
            "uid": "014fbff9a07c",
            "groups": ["system:authenticated"],
        },
        "object": obj,
        "oldObject": old,
        "dryRun": False,
        "options": {
            "apiVersion": "meta.k8s.io/v1",
            "kind": {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions"}.get(
                operation, "DeleteOptions"
            ),
        },
    }
    if sub_resource:
        request["subResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}

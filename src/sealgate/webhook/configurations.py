"""Validating and mutating webhook entries: which requests reach the webhook.

Pods (and their ``ephemeralcontainers`` subresource), ReplicationControllers, Deployments,
ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs, on CREATE and UPDATE, from namespaces
that opt in: ``sealgate.dev/include: "true"``, or policy-controller's
``policy.sigstore.dev/include: "true"`` for teams moving over (a second entry that skips
namespaces the first one already covers). The webhook's own namespace is always excluded.
"""

from __future__ import annotations

import base64
from typing import Any

__all__ = ["INCLUDE_LABEL", "POLICY_CONTROLLER_LABEL", "RULES", "webhook_entries"]

INCLUDE_LABEL = "sealgate.dev/include"
POLICY_CONTROLLER_LABEL = "policy.sigstore.dev/include"
#: (API group, resources) sent to the webhook.
RULES = (
    ("", ("pods", "pods/ephemeralcontainers", "replicationcontrollers")),
    ("apps", ("deployments", "replicasets", "statefulsets", "daemonsets")),
    ("batch", ("jobs", "cronjobs")),
)


def webhook_entries(
    namespace: str,
    name: str,
    endpoint: str,
    ca_bundle: bytes | None,
    *,
    timeout_s: int,
    policy_controller_label: bool = True,
) -> list[dict[str, Any]]:
    """The ``webhooks`` of one configuration: one per opt-in label, ``failurePolicy: Fail``.

    Args:
        namespace: The webhook's namespace (never sent to itself).
        name: The Service name.
        endpoint: ``validate`` or ``mutate``.
        ca_bundle: The CA PEM, or None when cert-manager injects it.
        timeout_s: ``timeoutSeconds``.
        policy_controller_label: Add the entry for ``policy.sigstore.dev/include``.

    Returns:
        The entries.
    """
    own = {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [namespace]}
    selectors = [[{"key": INCLUDE_LABEL, "operator": "In", "values": ["true"]}, own]]
    if policy_controller_label:
        selectors.append(
            [
                {"key": POLICY_CONTROLLER_LABEL, "operator": "In", "values": ["true"]},
                {"key": INCLUDE_LABEL, "operator": "NotIn", "values": ["true"]},
                own,
            ]
        )
    client: dict[str, Any] = {
        "service": {
            "namespace": namespace,
            "name": name,
            "path": f"/{endpoint}",
            "port": 443,
        }
    }
    if ca_bundle is not None:
        client["caBundle"] = base64.b64encode(ca_bundle).decode("ascii")
    names = ("", "compat.")
    return [
        {
            "name": f"{endpoint}.{names[i]}sealgate.dev",
            "clientConfig": client,
            "rules": [
                {
                    "apiGroups": [group],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": list(resources),
                    "scope": "Namespaced",
                }
                for group, resources in RULES
            ],
            "namespaceSelector": {"matchExpressions": expressions},
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": timeout_s,
            **({"reinvocationPolicy": "IfNeeded"} if endpoint == "mutate" else {}),
        }
        for i, expressions in enumerate(selectors)
    ]

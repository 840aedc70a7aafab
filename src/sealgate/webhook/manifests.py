"""The Kubernetes objects that install the webhook, as plain dicts (``sealgate webhook manifests``).

Namespace, ServiceAccount, the policies as a ConfigMap, the serving certificate (a self-signed
CA made here, or cert-manager ``Issuer``/``Certificate`` with CA injection), a Deployment of 3
replicas spread by anti-affinity with HTTPS probes, a Service, a PodDisruptionBudget, an HPA,
and Validating and Mutating webhook configurations with ``failurePolicy: Fail``.

Namespaces opt in: the configurations list two webhooks each, one for namespaces labelled
``sealgate.dev/include: "true"`` and one for policy-controller's ``policy.sigstore.dev/include:
"true"`` (teams moving over keep their labels), never both for one namespace, and never the
webhook's own namespace (it must be able to restart while it denies).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from sealgate.errors import ConfigError
from sealgate.webhook.configurations import (
    INCLUDE_LABEL,
    POLICY_CONTROLLER_LABEL,
    webhook_entries,
)

__all__ = ["INCLUDE_LABEL", "POLICY_CONTROLLER_LABEL", "ManifestOptions", "webhook_manifests"]

_MAX_CONFIGMAP = 1024 * 1024
_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+")


@dataclass(frozen=True)
class ManifestOptions:
    """What varies between installations.

    Attributes:
        namespace: Where the webhook runs (excluded from its own selector).
        name: Name of the Deployment, Service and friends.
        image: The sealgate container image (pin it by digest).
        replicas: Deployment replicas (and the HPA's minimum).
        timeout_s: ``timeoutSeconds`` of the configurations (1-30).
        tls: ``self-signed`` (a CA and serving certificate made now) or ``cert-manager``.
        policies: (file name, content) pairs for the policies ConfigMap.
        redis_url: Shared cache; a random cache key Secret is generated with it.
        policy_controller_label: Also honour ``policy.sigstore.dev/include``.
        mutate: Install the mutating configuration (tag -> digest pinning).
        extra_args: More ``webhook serve`` flags (``--insecure-registry``...).
    """

    namespace: str = "sealgate-system"
    name: str = "sealgate-webhook"
    image: str = "ghcr.io/sealgate/sealgate:0.1.0"
    replicas: int = 3
    timeout_s: int = 10
    tls: Literal["self-signed", "cert-manager"] = "self-signed"
    policies: Sequence[tuple[str, bytes]] = ()
    redis_url: str | None = field(default=None, repr=False)
    policy_controller_label: bool = True
    mutate: bool = True
    extra_args: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.timeout_s <= 30:
            raise ConfigError("timeoutSeconds must be 1-30")
        if self.replicas < 1:
            raise ConfigError("replicas must be at least 1")

    @property
    def service_dns(self) -> tuple[str, ...]:
        """The names the API server uses to reach the Service."""
        base = f"{self.name}.{self.namespace}.svc"
        return (base, f"{base}.cluster.local")


def _labels(options: ManifestOptions) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "sealgate-webhook",
        "app.kubernetes.io/instance": options.name,
    }


def _meta(options: ManifestOptions, name: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name or options.name,
        "namespace": options.namespace,
        "labels": _labels(options),
        **extra,
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _policy_configmap(options: ManifestOptions) -> dict[str, Any]:
    data: dict[str, str] = {}
    for i, (name, content) in enumerate(options.policies):
        key = PurePath(name).name
        if key in data or not _KEY_RE.fullmatch(key):
            key = f"{i:03d}-" + re.sub(r"[^-._a-zA-Z0-9]", "_", key)
        try:
            data[key] = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{name}: a policy file must be UTF-8 text") from None
    if sum(len(v.encode()) for v in data.values()) > _MAX_CONFIGMAP:
        raise ConfigError("the policies exceed a ConfigMap's 1 MiB: split them or mount them")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(options, f"{options.name}-policies"),
        "data": data,
    }


def _container(options: ManifestOptions) -> dict[str, Any]:
    args = [
        "webhook",
        "serve",
        "--policy",
        "/etc/sealgate/policies",
        "--tls-cert",
        "/etc/sealgate/tls/tls.crt",
        "--tls-key",
        "/etc/sealgate/tls/tls.key",
        "--port",
        "8443",
        "--webhook-timeout",
        str(options.timeout_s),
    ]
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": "/tmp"},  # noqa: S108 - an emptyDir; the root is read-only
        {"name": "DOCKER_CONFIG", "value": "/etc/sealgate/docker"},
    ]
    if options.redis_url:
        args += ["--cache", options.redis_url]
        env.append(
            {
                "name": "SEALGATE_CACHE_KEY",
                "valueFrom": {"secretKeyRef": {"name": f"{options.name}-cache-key", "key": "key"}},
            }
        )
    probe = {"scheme": "HTTPS", "port": "https"}
    return {
        "name": "webhook",
        "image": options.image,
        "args": [*args, *options.extra_args],
        "env": env,
        "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", **probe}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", **probe}, "periodSeconds": 10},
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tls", "mountPath": "/etc/sealgate/tls", "readOnly": True},
            {"name": "policies", "mountPath": "/etc/sealgate/policies", "readOnly": True},
            {"name": "registry-credentials", "mountPath": "/etc/sealgate/docker", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
        ],
    }


def _deployment(options: ManifestOptions, tls_secret: str) -> dict[str, Any]:
    selector = _labels(options)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(options),
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "serviceAccountName": options.name,
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "fsGroup": 65532},
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {"matchLabels": selector},
                                        "topologyKey": "kubernetes.io/hostname",
                                    },
                                }
                            ]
                        }
                    },
                    "containers": [_container(options)],
                    "volumes": [
                        {"name": "tls", "secret": {"secretName": tls_secret}},
                        {"name": "policies", "configMap": {"name": f"{options.name}-policies"}},
                        {
                            "name": "registry-credentials",
                            "secret": {
                                "secretName": f"{options.name}-registry-credentials",
                                "optional": True,
                                "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
                            },
                        },
                        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                    ],
                },
            },
        },
    }


def _tls_objects(
    options: ManifestOptions, secret: str
) -> tuple[list[dict[str, Any]], bytes | None]:
    if options.tls == "cert-manager":
        issuer = f"{options.name}-selfsigned"
        return [
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Issuer",
                "metadata": _meta(options, issuer),
                "spec": {"selfSigned": {}},
            },
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": _meta(options),
                "spec": {
                    "secretName": secret,
                    "dnsNames": list(options.service_dns),
                    "issuerRef": {"name": issuer, "kind": "Issuer"},
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                },
            },
        ], None
    from sealgate.webhook.certs import self_signed_serving_certificate

    ca, cert, key = self_signed_serving_certificate(options.name, options.service_dns)
    tls = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": _meta(options, secret),
        "data": {"tls.crt": _b64(cert), "tls.key": _b64(key), "ca.crt": _b64(ca)},
    }
    return [tls], ca


def _webhook_configuration(
    options: ManifestOptions, kind: str, endpoint: str, ca: bytes | None
) -> dict[str, Any]:
    # Without our own CA, cert-manager injects its CA into the configuration.
    annotations = (
        {"cert-manager.io/inject-ca-from": f"{options.namespace}/{options.name}"}
        if ca is None
        else {}
    )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": options.name, "labels": _labels(options), "annotations": annotations},
        "webhooks": webhook_entries(
            options.namespace,
            options.name,
            endpoint,
            ca,
            timeout_s=options.timeout_s,
            policy_controller_label=options.policy_controller_label,
        ),
    }


def webhook_manifests(options: ManifestOptions) -> list[dict[str, Any]]:
    """Every object, in apply order.

    Raises:
        ConfigError: Invalid options or policies that do not fit a ConfigMap.
    """
    secret = f"{options.name}-tls"
    tls_objects, ca = _tls_objects(options, secret)
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": options.namespace,
                "labels": {"app.kubernetes.io/part-of": "sealgate"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(options),
            "automountServiceAccountToken": False,
        },
        _policy_configmap(options),
        *tls_objects,
    ]
    if options.redis_url:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": _meta(options, f"{options.name}-cache-key"),
                "data": {"key": _b64(os.urandom(32).hex().encode("ascii"))},
            }
        )
    selector = _labels(options)
    objects += [
        _deployment(options, secret),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(options),
            "spec": {
                "selector": selector,
                "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(options),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(options),
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": options.name,
                },
                "minReplicas": options.replicas,
                "maxReplicas": options.replicas * 3,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
        _webhook_configuration(options, "ValidatingWebhookConfiguration", "validate", ca),
    ]
    if options.mutate:
        objects.append(
            _webhook_configuration(options, "MutatingWebhookConfiguration", "mutate", ca)
        )
    return objects

"""Install manifests: the generator and the Helm chart, validated against the Kubernetes schemas.

kubernetes-validate checks every built-in object (strict: unknown fields fail). cert-manager's
Issuer and Certificate have no schema there; their fields are asserted by hand. No helm binary
exists here: the chart is rendered by tests/support/helm_subset.py, which implements only the
template subset the chart uses and refuses anything else, and must equal the generator's output.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any, Literal

import kubernetes_validate  # type: ignore[import-untyped]  # no stubs or py.typed
import pytest
import yaml
from cryptography import x509

from sealgate.policy.loaders import load_policy_set
from sealgate.webhook.manifests import ManifestOptions, webhook_manifests
from tests.support.cli import run
from tests.support.helm_subset import TemplateError, render

K8S_VERSION = "1.33"
CHART = Path(__file__).parents[3] / "deploy" / "helm" / "sealgate"
POLICY = b"""\
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: lab}
spec:
  images: [{glob: "registry.example/**"}]
  authorities: [{static: {action: pass}}]
"""


def _by_kind(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        found.setdefault(obj["kind"], []).append(obj)
    return found


def _validate(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["apiVersion"].startswith("cert-manager.io/"):
            continue
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_validator_catches_a_broken_object() -> None:
    [webhook] = _by_kind(webhook_manifests(ManifestOptions()))["ValidatingWebhookConfiguration"]
    broken = copy.deepcopy(webhook)
    broken["webhooks"][0]["failurePolicy"] = 7
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_generated_manifests_are_valid_and_complete() -> None:
    options = ManifestOptions(
        policies=[("policies/lab.yaml", POLICY)], redis_url="redis://r:6379/0"
    )
    objects = webhook_manifests(options)
    _validate(objects)
    kinds = _by_kind(objects)
    assert set(kinds) == {
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
    [deployment] = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    assert "podAntiAffinity" in pod["affinity"]
    assert "--cache" in pod["containers"][0]["args"]
    [configmap] = kinds["ConfigMap"]
    loaded = load_policy_set(list(configmap["data"].items()))
    assert [p.name for p in loaded.policies] == ["ClusterImagePolicy/lab"]

    tls = next(s for s in kinds["Secret"] if s["type"] == "kubernetes.io/tls")
    ca = x509.load_pem_x509_certificate(base64.b64decode(tls["data"]["ca.crt"]))
    leaf = x509.load_pem_x509_certificate(base64.b64decode(tls["data"]["tls.crt"]))
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "sealgate-webhook.sealgate-system.svc" in names.get_values_for_type(x509.DNSName)

    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        [configuration] = kinds[kind]
        first, compat = configuration["webhooks"]
        for entry in (first, compat):
            assert entry["failurePolicy"] == "Fail"
            assert entry["timeoutSeconds"] == 10
            assert entry["clientConfig"]["caBundle"] == tls["data"]["ca.crt"]
            own = {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["sealgate-system"],
            }
            assert own in entry["namespaceSelector"]["matchExpressions"]
            resources = {r for rule in entry["rules"] for r in rule["resources"]}
            assert "pods/ephemeralcontainers" in resources and "cronjobs" in resources
        assert first["namespaceSelector"]["matchExpressions"][0]["key"] == "sealgate.dev/include"
        assert compat["namespaceSelector"]["matchExpressions"][0]["key"] == (
            "policy.sigstore.dev/include"
        )


def test_cert_manager_variant() -> None:
    objects = webhook_manifests(ManifestOptions(tls="cert-manager", policy_controller_label=False))
    _validate(objects)
    kinds = _by_kind(objects)
    [certificate] = kinds["Certificate"]
    assert certificate["spec"]["secretName"] == "sealgate-webhook-tls"
    assert kinds["Issuer"][0]["spec"] == {"selfSigned": {}}
    [configuration] = kinds["ValidatingWebhookConfiguration"]
    assert configuration["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "sealgate-system/sealgate-webhook"
    }
    assert len(configuration["webhooks"]) == 1
    assert "caBundle" not in configuration["webhooks"][0]["clientConfig"]


def _chart(values: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    base = yaml.safe_load((CHART / "values.yaml").read_text())
    merged = {**base, **values}
    objects = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        text = render(template.read_text(), merged, namespace)
        objects += [d for d in yaml.safe_load_all(text) if d]
    return objects


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


@pytest.mark.parametrize("mode", ["self-signed", "cert-manager"])
def test_helm_chart_renders_the_same_objects_as_the_generator(
    mode: Literal["self-signed", "cert-manager"],
) -> None:
    options = ManifestOptions(
        namespace="guard", tls=mode, policies=[("lab.yaml", POLICY)], redis_url="redis://r:6379/0"
    )
    generated = webhook_manifests(options)
    kinds = _by_kind(generated)
    values: dict[str, Any] = {
        "namespace": {"create": True},
        "policies": {"lab.yaml": POLICY.decode()},
        "cache": {"redisUrl": "redis://r:6379/0", "key": ""},
        "tls": {"mode": mode, "crt": "", "key": "", "caBundle": ""},
    }
    [cache_key] = [s for s in kinds["Secret"] if s["metadata"]["name"].endswith("cache-key")]
    values["cache"]["key"] = base64.b64decode(cache_key["data"]["key"]).decode()
    if mode == "self-signed":
        tls = next(s for s in kinds["Secret"] if s["type"] == "kubernetes.io/tls")
        values["tls"] = {
            "mode": "provided",
            "crt": tls["data"]["tls.crt"],
            "key": tls["data"]["tls.key"],
            "caBundle": tls["data"]["ca.crt"],
        }
    rendered = _chart(values, "guard")
    _validate(rendered)
    assert sorted(map(_key, rendered)) == sorted(map(_key, generated))
    by_key = {_key(o): o for o in rendered}
    for obj in generated:
        assert by_key[_key(obj)] == obj, _key(obj)


def test_the_subset_renderer_refuses_what_it_does_not_implement() -> None:
    for template in ('{{ include "x" . }}', "{{ .Values.a | upper }}", "{{ if .Values.a }}"):
        with pytest.raises(TemplateError):
            render(template, {"a": "b"}, "ns")


def test_manifests_command_prints_yaml(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_bytes(POLICY)
    result = run(["webhook", "manifests", "--policy", str(tmp_path), "--namespace", "guard"])
    assert result.code == 0, result.err
    objects = list(yaml.safe_load_all(result.out))
    _validate(objects)
    assert objects[0] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "guard", "labels": {"app.kubernetes.io/part-of": "sealgate"}},
    }

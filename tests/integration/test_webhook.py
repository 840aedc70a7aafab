"""The admission webhook end to end: real AdmissionReview bodies over HTTPS to the running server,
images signed by ``sealgate sign`` on the real registry, JSONPatch applied with ``jsonpatch``."""

from __future__ import annotations

import base64
import copy
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonpatch
import pytest

from tests.integration.conftest import RunningRegistry
from tests.integration.webhook_estate import Estate, build_estate, hanging_listener
from tests.support.admission import pod_spec, review_body, workload
from tests.support.registry_server import make_test_ca
from tests.support.webhook_server import WebhookServer, start_webhook


@pytest.fixture(scope="module")
def estate(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    listener = hanging_listener()
    try:
        yield build_estate(
            registry, tmp_path_factory.mktemp("wh-estate"), listener.getsockname()[1]
        )
    finally:
        listener.close()


@pytest.fixture(scope="module")
def webhook(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookServer]:
    server = start_webhook(
        tmp_path_factory.mktemp("wh-server"),
        [estate.policies],
        [
            "--insecure-registry",
            estate.host,
            "--insecure-registry",
            estate.hang,
            "--webhook-timeout",
            "3",
        ],
    )
    try:
        yield server
    finally:
        server.stop()


def _patched(obj: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    assert response["allowed"] is True, response
    if "patch" not in response:
        return obj
    assert response["patchType"] == "JSONPatch"
    operations = json.loads(base64.b64decode(response["patch"]))
    patched: dict[str, Any] = jsonpatch.apply_patch(copy.deepcopy(obj), operations)
    return patched


def test_signed_pod_is_admitted_and_unsigned_denied_with_the_reason(
    webhook: WebhookServer, estate: Estate
) -> None:
    body = review_body(workload("Pod", pod_spec(estate.image("enforced/app"))))
    response = webhook.review("/validate", body)
    assert response["uid"] == body["request"]["uid"]
    assert response["allowed"] is True
    assert "warnings" not in response and "patch" not in response

    unsigned = estate.image("enforced/unsigned")
    body = review_body(workload("Pod", pod_spec(estate.image("enforced/app"), unsigned)))
    response = webhook.review("/validate", body)
    assert response["uid"] == body["request"]["uid"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    message = response["status"]["message"]
    assert f"image {unsigned}" in message and "ClusterImagePolicy/enforced" in message
    assert "no signatures" in message or "unsigned" in message
    assert estate.image("enforced/app") + ":" not in message  # the signed one is not blamed


def test_image_no_policy_matches_is_denied(webhook: WebhookServer, estate: Estate) -> None:
    response = webhook.review(
        "/validate", review_body(workload("Pod", pod_spec(estate.image("other/app"))))
    )
    assert response["allowed"] is False
    assert "no matching policies" in response["status"]["message"]


def test_mutate_pins_containers_init_ephemeral_and_image_volumes(
    webhook: WebhookServer, estate: Estate
) -> None:
    spec = pod_spec(
        estate.image("enforced/app"),
        init=(estate.image("enforced/sidecar"),),
        ephemeral=(estate.image("enforced/tools"),),
    )
    spec["volumes"] = [{"name": "data", "image": {"reference": estate.image("enforced/volume")}}]
    pod = workload("Pod", spec)
    patched = _patched(pod, webhook.review("/mutate", review_body(pod)))
    new = patched["spec"]
    assert new["containers"][0]["image"] == (
        f"{estate.image('enforced/app')}@{estate.digests['enforced/app']}"
    )
    assert new["initContainers"][0]["image"].endswith("@" + estate.digests["enforced/sidecar"])
    assert new["ephemeralContainers"][0]["image"].endswith("@" + estate.digests["enforced/tools"])
    assert new["volumes"][0]["image"]["reference"] == (
        f"{estate.image('enforced/volume')}@{estate.digests['enforced/volume']}"
    )
    # Everything but the images is untouched.
    patched["spec"]["containers"][0]["image"] = pod["spec"]["containers"][0]["image"]
    assert patched["metadata"] == pod["metadata"]


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("Deployment", ("spec", "template", "spec")),
        ("StatefulSet", ("spec", "template", "spec")),
        ("DaemonSet", ("spec", "template", "spec")),
        ("ReplicaSet", ("spec", "template", "spec")),
        ("ReplicationController", ("spec", "template", "spec")),
        ("Job", ("spec", "template", "spec")),
        ("CronJob", ("spec", "jobTemplate", "spec", "template", "spec")),
    ],
)
def test_mutate_pins_every_pod_controller(
    webhook: WebhookServer, estate: Estate, kind: str, path: tuple[str, ...]
) -> None:
    obj = workload(kind, pod_spec(estate.image("enforced/app")))
    patched = _patched(obj, webhook.review("/mutate", review_body(obj, kind=kind)))
    spec: Any = patched
    for key in path:
        spec = spec[key]
    assert spec["containers"][0]["image"].endswith("@" + estate.digests["enforced/app"])


def test_policy_without_pinning_and_pinned_images_are_not_patched(
    webhook: WebhookServer, estate: Estate
) -> None:
    pinned = f"{estate.image('enforced/app')}@{estate.digests['enforced/app']}"
    pod = workload("Pod", pod_spec(estate.image("plain/app"), pinned))
    response = webhook.review("/mutate", review_body(pod))
    assert response["allowed"] is True
    assert "patch" not in response


def test_warn_mode_admits_with_warnings(webhook: WebhookServer, estate: Estate) -> None:
    tool = estate.image("warned/tool")
    response = webhook.review("/validate", review_body(workload("Pod", pod_spec(tool))))
    assert response["allowed"] is True
    [warning] = response["warnings"]
    assert warning.startswith(f"sealgate: image {tool}: ImagePolicy/audit-tools")


def test_operations_that_bring_no_new_image_are_skipped(
    webhook: WebhookServer, estate: Estate
) -> None:
    unsigned = workload("Deployment", pod_spec(estate.image("enforced/unsigned")))
    scaled = copy.deepcopy(unsigned)
    scaled["spec"]["replicas"] = 0
    cases = [
        review_body(None, kind="Deployment", operation="DELETE", old=unsigned),
        review_body(scaled, kind="Deployment", operation="UPDATE", old=unsigned),
        review_body(
            scaled, kind="Deployment", operation="UPDATE", old=unsigned, sub_resource="status"
        ),
        review_body({"kind": "Scale"}, kind="Deployment", operation="UPDATE", sub_resource="scale"),
    ]
    for body in cases:
        response = webhook.review("/validate", body)
        assert response["allowed"] is True, (body["request"]["operation"], response)

    changed = copy.deepcopy(unsigned)
    changed["spec"]["template"]["spec"]["containers"].append(
        {"name": "new", "image": estate.image("other/app")}
    )
    body = review_body(changed, kind="Deployment", operation="UPDATE", old=unsigned)
    response = webhook.review("/validate", body)
    assert response["allowed"] is False
    assert estate.image("other/app") in response["status"]["message"]
    assert f"image {estate.image('enforced/unsigned')}" not in response["status"]["message"]


def test_ephemeral_container_subresource_is_judged(webhook: WebhookServer, estate: Estate) -> None:
    old = workload("Pod", pod_spec(estate.image("enforced/app")))
    new = workload(
        "Pod", pod_spec(estate.image("enforced/app"), ephemeral=(estate.image("other/app"),))
    )
    body = review_body(new, operation="UPDATE", old=old, sub_resource="ephemeralcontainers")
    response = webhook.review("/validate", body)
    assert response["allowed"] is False
    assert estate.image("other/app") in response["status"]["message"]


def test_kinds_out_of_scope_are_admitted(webhook: WebhookServer, estate: Estate) -> None:
    config = workload("ConfigMap", pod_spec(estate.image("other/app")))
    response = webhook.review("/validate", review_body(config, kind="ConfigMap"))
    assert response["allowed"] is True


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"kind": "AdmissionReview"}', b"[" * 100_000, b"\xff\xfe"],
)
def test_bodies_that_are_not_reviews_get_400(webhook: WebhookServer, raw: bytes) -> None:
    answer = webhook.post("/validate", raw)
    assert answer.status_code == 400
    assert "error" in answer.json()


def test_reviews_with_a_uid_but_broken_request_are_denied_in_kind(webhook: WebhookServer) -> None:
    for broken in ("a string", None):
        body = review_body({"kind": "Pod"})
        body["request"]["object"] = broken
        response = webhook.review("/validate", body)
        assert response["uid"] == body["request"]["uid"]
        assert response["allowed"] is False
        assert response["status"]["code"] == 400
    body = review_body(workload("Pod", pod_spec("x")))
    body["request"]["object"]["metadata"]["labels"] = {"a": 1}
    assert webhook.review("/validate", body)["allowed"] is False


def test_oversized_body_is_refused(webhook: WebhookServer) -> None:
    answer = webhook.post("/validate", b" " * (9 * 1024 * 1024))
    assert answer.status_code == 413


def test_a_thousand_containers_in_one_pod(webhook: WebhookServer, estate: Estate) -> None:
    images = [estate.image("enforced/app"), estate.image("enforced/sidecar")] * 500
    pod = workload("Pod", pod_spec(*images))
    patched = _patched(pod, webhook.review("/mutate", review_body(pod)))
    assert len(patched["spec"]["containers"]) == 1000
    assert all("@sha256:" in c["image"] for c in patched["spec"]["containers"])

    distinct = [f"{estate.host}/wh/many/app{i}:v1" for i in range(1000)]
    response = webhook.review("/validate", review_body(workload("Pod", pod_spec(*distinct))))
    assert response["allowed"] is False
    assert "1000 distinct images" in response["status"]["message"]


def test_image_references_that_do_not_parse_are_denied(webhook: WebhookServer) -> None:
    for bad in ("UPPER/Case:tag", "a" * 300, "oci:/etc/passwd", ""):
        response = webhook.review("/validate", review_body(workload("Pod", pod_spec(bad))))
        assert response["allowed"] is False, bad
        message = response["status"]["message"]
        assert "invalid image reference" in message or "oci:" in message or "no image" in message


def test_a_registry_that_hangs_is_denied_at_the_deadline(
    webhook: WebhookServer, estate: Estate
) -> None:
    image = f"{estate.hang}/stuck/app:v1"
    response = webhook.review("/mutate", review_body(workload("Pod", pod_spec(image))))
    assert response["allowed"] is False
    message = response["status"]["message"]
    assert image in message
    assert "deadline" in message or "timed out" in message or "timeout" in message


def test_health_readiness_metrics_and_json_logs(webhook: WebhookServer, estate: Estate) -> None:
    assert webhook.client.get(webhook.url + "/healthz").json() == {"status": "ok"}
    ready = webhook.client.get(webhook.url + "/readyz").json()
    assert ready["ready"] is True and ready["policies"] == 4
    body = review_body(workload("Pod", pod_spec(estate.image("enforced/app"))))
    webhook.review("/validate", body)
    webhook.review("/validate", body)
    assert (
        webhook.metric("sealgate_webhook_reviews_total", endpoint="validate", result="admitted")
        >= 2
    )
    assert webhook.metric("sealgate_webhook_cache_lookups_total", layer="memory", result="hit") >= 1
    assert webhook.metric("sealgate_webhook_image_decisions_total", decision="admit") >= 2
    assert webhook.metric("sealgate_webhook_verification_seconds_count") >= 1
    entries = [e for e in webhook.log_entries() if e.get("uid") == body["request"]["uid"]]
    assert entries and entries[-1]["message"] == "review admitted"
    assert entries[-1]["images"][0]["digest"] == estate.digests["enforced/app"]


def test_tls_certificate_is_reloaded_without_restart(estate: Estate, tmp_path: Path) -> None:
    server = start_webhook(tmp_path / "server", [estate.policies], ["--tls-reload-interval", "0.1"])
    try:
        rotated = make_test_ca(tmp_path / "rotated")
        server.tls.server_cert.write_bytes(rotated.server_cert.read_bytes())
        server.tls.server_key.write_bytes(rotated.server_key.read_bytes())
        trusting_new = httpx.Client(verify=ssl.create_default_context(cafile=str(rotated.ca_cert)))
        try:
            for _ in range(200):  # bounded: the server checks every 0.1 s
                try:
                    if trusting_new.get(server.url + "/healthz").status_code == 200:
                        break
                except httpx.ConnectError:
                    time.sleep(0.05)
            else:
                pytest.fail("the rotated certificate was never served")
        finally:
            trusting_new.close()
        old_ca = ssl.create_default_context(cafile=str(server.tls.ca_cert))
        with httpx.Client(verify=old_ca) as old, pytest.raises(httpx.ConnectError):
            old.get(server.url + "/healthz")
    finally:
        server.stop()

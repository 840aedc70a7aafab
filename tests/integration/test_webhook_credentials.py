"""A pod's imagePullSecrets, read as mounted files, reach a registry that needs a password."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

from sealgate.config import ClientConfig
from sealgate.oci import RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.admission import pod_spec, review_body, workload
from tests.support.cli import run
from tests.support.images import build_image, push_image
from tests.support.webhook_server import start_webhook


def test_pull_secrets_from_files_authenticate_the_pods_registry(
    auth_registry: RunningRegistry, tmp_path: Path
) -> None:
    assert auth_registry.username and auth_registry.password
    credentials = {
        "SEALGATE_REGISTRY_USERNAME": auth_registry.username,
        "SEALGATE_REGISTRY_PASSWORD": auth_registry.password,
    }
    made = run(
        ["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")],
        {"COSIGN_PASSWORD": PASSWORD},
    )
    assert made.code == 0, made.err
    ref = auth_registry.ref("private/app", "v1")
    config = ClientConfig(
        insecure_registries=frozenset({auth_registry.host}),
        username=auth_registry.username,
        password=auth_registry.password,
        docker_config=tmp_path / "none.json",
    )
    with RegistryClient(config) as client:
        push_image(client, ref, build_image())
    signed = run(
        [
            "sign",
            "--key",
            str(tmp_path / "k.key"),
            "--insecure-registry",
            auth_registry.host,
            str(ref),
        ],
        {"COSIGN_PASSWORD": PASSWORD, **credentials},
        home=str(tmp_path),
    )
    assert signed.code == 0, signed.err
    key = textwrap.indent((tmp_path / "k.pub").read_text(), " " * 14)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        "metadata: {name: private}\nspec:\n"
        f'  images: [{{glob: "{auth_registry.host}/**"}}]\n'
        "  authorities:\n    - name: release\n      key:\n        data: |\n" + key
    )
    secrets = tmp_path / "pull-secrets"
    secret = secrets / "team-a" / "regcred" / ".dockerconfigjson"
    secret.parent.mkdir(parents=True)
    auth = base64.b64encode(f"{auth_registry.username}:{auth_registry.password}".encode())
    secret.write_text(json.dumps({"auths": {auth_registry.host: {"auth": auth.decode()}}}))
    server = start_webhook(
        tmp_path / "server",
        [policy],
        ["--insecure-registry", auth_registry.host, "--pull-secrets-dir", str(secrets)],
    )
    try:
        spec = pod_spec(str(ref))
        spec["imagePullSecrets"] = [{"name": "missing"}, {"name": "regcred"}]
        response = server.review("/validate", review_body(workload("Pod", spec)))
        assert response["allowed"] is True, response

        # Same pod in a namespace without that secret, and a pod naming none: refused.
        other = server.review(
            "/validate", review_body(workload("Pod", spec, namespace="b"), namespace="b")
        )
        bare = server.review("/validate", review_body(workload("Pod", pod_spec(str(ref)))))
        for denied in (other, bare):
            assert denied["allowed"] is False
            message = denied["status"]["message"]
            assert "unauthorized" in message.lower() or "401" in message, message
            assert auth_registry.password not in message
        assert auth_registry.password not in server.log()
    finally:
        server.stop()

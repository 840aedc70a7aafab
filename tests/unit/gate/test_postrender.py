"""Helm post-renderer: pin images by digest, keep everything else, block the unverified."""

from __future__ import annotations

import pytest
import yaml

from sealgate.errors import ConfigError, ExitCode
from sealgate.gate import DeployBlocked, ImageRules, load_pins, postrender
from tests.unit.gate.fakes import digest

RENDERED = """\
---
# Source: app/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  ports:
    - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    zeta: "1"
    alpha: "2"
spec:
  replicas: 2
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/migrate:1
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4
          args: ["--port", "8080"]
          env:
            - name: VERSION
              value: "1.10"
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              image: nginx:1.25
"""

PINS = {
    "ghcr.io/acme/migrate:1": f"ghcr.io/acme/migrate:1@{digest(1)}",
    "ghcr.io/acme/api:1.4": f"ghcr.io/acme/api:1.4@{digest(2)}",
    "docker.io/library/nginx:1.25": f"index.docker.io/library/nginx:1.25@{digest(3)}",
}
HUB = ImageRules(allow_docker_hub_shorthand=True)


def test_rewrites_every_container_and_keeps_the_rest() -> None:
    out = postrender(RENDERED.encode(), PINS, rules=HUB)
    docs = list(yaml.safe_load_all(out))
    original = list(yaml.safe_load_all(RENDERED))
    assert [d["kind"] for d in docs] == ["Service", "Deployment", "CronJob"]
    assert docs[0] == original[0]
    deploy = docs[1]["spec"]["template"]["spec"]
    assert deploy["initContainers"][0]["image"] == PINS["ghcr.io/acme/migrate:1"]
    assert deploy["containers"][0]["image"] == PINS["ghcr.io/acme/api:1.4"]
    assert deploy["containers"][0]["env"][0]["value"] == "1.10"  # stays a string
    cron = docs[2]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert cron["image"] == PINS["docker.io/library/nginx:1.25"]
    # Everything but the images is unchanged, and key order is kept.
    for doc in original:
        for spec in (doc.get("spec", {}).get("template", {}).get("spec"),):
            if spec:
                for c in spec.get("containers", []) + spec.get("initContainers", []):
                    c["image"] = PINS.get(c["image"], c["image"])
    assert docs[1] == original[1]
    assert list(docs[1]["metadata"]["annotations"]) == ["zeta", "alpha"]
    assert out.decode().count("\n---") + out.decode().startswith("---") == 3


def pod(image: str) -> str:
    return f"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: {image}\n"


def test_already_pinned_images_are_accepted() -> None:
    text = pod(f"ghcr.io/acme/api:1.4@{digest(2)}")
    out = yaml.safe_load(postrender(text, PINS))
    assert out["spec"]["containers"][0]["image"] == PINS["ghcr.io/acme/api:1.4"]


def test_unverified_images_block_and_are_all_listed() -> None:
    pins = {"ghcr.io/acme/api:1.4": PINS["ghcr.io/acme/api:1.4"]}
    with pytest.raises(DeployBlocked) as info:
        postrender(RENDERED, pins, rules=HUB, source="rendered")
    assert info.value.exit_code == ExitCode.DEPLOY_BLOCKED
    message = str(info.value)
    assert "2 image(s) not verified" in message
    assert "ghcr.io/acme/migrate:1 at rendered:24" in message and "nginx:1.25" in message


def test_short_names_without_rules_only_match_exactly() -> None:
    with pytest.raises(DeployBlocked, match=r"nginx:1\.25"):
        postrender(RENDERED, PINS)
    exact = {**PINS, "nginx:1.25": PINS["docker.io/library/nginx:1.25"]}
    assert b"nginx:1.25@" in postrender(RENDERED, exact)


def test_another_digest_of_a_pinned_image_is_blocked() -> None:
    text = pod(f"ghcr.io/acme/api:1.4@{digest(9)}")
    with pytest.raises(DeployBlocked):
        postrender(text, PINS)


def test_container_without_image_blocks() -> None:
    with pytest.raises(DeployBlocked, match="<no image>"):
        postrender("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n", PINS)


def test_bad_pins_and_bad_yaml() -> None:
    with pytest.raises(ConfigError, match="not pinned by digest"):
        postrender(RENDERED, {"ghcr.io/acme/api:1.4": "ghcr.io/acme/api:1.5"})
    with pytest.raises(ConfigError, match="invalid YAML"):
        postrender(b"a: [\n", PINS)


def test_load_pins() -> None:
    assert load_pins(yaml.safe_dump(PINS)) == PINS
    with pytest.raises(ConfigError, match="mapping of image"):
        load_pins("- a\n")
    with pytest.raises(ConfigError):
        load_pins("a: 1\n")


IMAGE_VOLUME_POD = """\
apiVersion: v1
kind: Pod
spec:
  containers:
    - name: api
      image: ghcr.io/acme/api:1.4
  volumes:
    - name: models
      image:
        reference: ghcr.io/acme/models:7
"""


def test_an_image_volume_the_gate_did_not_pin_blocks() -> None:
    # The kubelet pulls volumes[].image.reference like a container image (Kubernetes 1.31+).
    with pytest.raises(DeployBlocked, match=r"ghcr\.io/acme/models:7"):
        postrender(IMAGE_VOLUME_POD, PINS)
    pinned = f"ghcr.io/acme/models:7@{digest(4)}"
    out = yaml.safe_load(postrender(IMAGE_VOLUME_POD, {**PINS, "ghcr.io/acme/models:7": pinned}))
    assert out["spec"]["volumes"][0]["image"]["reference"] == pinned

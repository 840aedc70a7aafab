"""Images inside custom resources are found and pinned, never passed through unverified."""

from __future__ import annotations

import pytest
import yaml

from sealgate.gate import DeployBlocked, images_from_text, postrender

SCALED_JOB = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: {name: miner}
spec:
  jobTargetRef:
    template:
      spec:
        containers:
          - {name: c, image: "registry.example/evil/miner:latest"}
"""

ARGO = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  templates:
    - name: main
      container: {image: "registry.example/argo/main:1.0"}
      sidecars: [{name: s, image: "registry.example/argo/sidecar:1.0"}]
    - name: s
      script: {image: "registry.example/argo/script:1.0", source: "echo hi"}
"""

TEKTON = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  steps: [{name: build, image: "registry.example/tekton/build:2"}]
"""


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (SCALED_JOB, {"registry.example/evil/miner:latest"}),
        (
            ARGO,
            {
                "registry.example/argo/main:1.0",
                "registry.example/argo/sidecar:1.0",
                "registry.example/argo/script:1.0",
            },
        ),
        (TEKTON, {"registry.example/tekton/build:2"}),
    ],
)
def test_images_in_custom_resources_are_collected(manifest: str, expected: set[str]) -> None:
    found = {str(spec.ref) for spec in images_from_text(manifest, source="m", fmt="manifests")}
    assert found == expected


def test_postrender_blocks_an_unpinned_image_in_a_custom_resource() -> None:
    with pytest.raises(DeployBlocked, match="miner"):
        postrender(SCALED_JOB, {})


def test_postrender_pins_images_in_custom_resources() -> None:
    digest = "sha256:" + "a" * 64
    pins = {"registry.example/evil/miner:latest": f"registry.example/evil/miner@{digest}"}
    out = yaml.safe_load(postrender(SCALED_JOB, pins))
    container = out["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(digest)

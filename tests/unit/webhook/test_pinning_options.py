"""Which policies ask the webhook to pin images, and where image volumes are found."""

from __future__ import annotations

import pytest

from sealgate.documents import image_volumes
from sealgate.errors import ConfigError
from sealgate.policy.loaders import load_policy_set

CIP = """\
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: lab
  {annotations}
spec:
  images: [{{glob: "registry.example/**"}}]
  authorities: [{{static: {{action: pass}}}}]
"""
SEALGATE = """\
apiVersion: sealgate.dev/v1alpha1
kind: ImagePolicy
metadata: {{name: lab}}
spec:
  images: [{{glob: "registry.example/**"}}]
  authorities: [{{name: any, static: {{action: pass}}}}]
  {extra}
"""


@pytest.mark.parametrize(
    ("annotations", "pinned"),
    [
        ("", False),
        ('annotations: {"sealgate.dev/mutate-digest": "true"}', True),
        ('annotations: {"sealgate.dev/mutate-digest": "false", other: x}', False),
    ],
)
def test_cluster_image_policy_pins_only_when_annotated(annotations: str, pinned: bool) -> None:
    [policy] = load_policy_set([("p.yaml", CIP.format(annotations=annotations))]).policies
    assert policy.mutate_digest is pinned


def test_cluster_image_policy_annotation_must_be_a_boolean_word() -> None:
    text = CIP.format(annotations='annotations: {"sealgate.dev/mutate-digest": "yes"}')
    with pytest.raises(ConfigError, match="mutate-digest"):
        load_policy_set([("p.yaml", text)])


@pytest.mark.parametrize(("extra", "pinned"), [("", False), ("mutateDigest: true", True)])
def test_sealgate_policy_pins_when_asked(extra: str, pinned: bool) -> None:
    [policy] = load_policy_set([("p.yaml", SEALGATE.format(extra=extra))]).policies
    assert policy.mutate_digest is pinned


def test_image_volumes_are_found_in_pod_specs() -> None:
    pod = {
        "kind": "Pod",
        "spec": {
            "containers": [{"name": "a", "image": "x:1"}],
            "volumes": [
                {"name": "cfg", "configMap": {"name": "c"}},
                {"name": "data", "image": {"reference": "registry.example/data:1"}},
                {"name": "bad", "image": {"reference": 5}},
            ],
        },
    }
    found = list(image_volumes(pod))
    assert [(f.pointer, f.image) for f in found] == [
        ("/spec/volumes/1/image/reference", "registry.example/data:1"),
        ("/spec/volumes/2/image/reference", None),
    ]


def test_kyverno_pins_by_default_as_kyverno_does() -> None:
    from tests.unit.policy.test_loaders import KYVERNO, load

    [kept] = load(KYVERNO).policies
    assert kept.mutate_digest is False
    [pinning] = load(KYVERNO.replace("          mutateDigest: false\n", "")).policies
    assert pinning.mutate_digest is True

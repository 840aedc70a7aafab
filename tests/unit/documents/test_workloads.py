"""workload_images: one decoded Kubernetes object in, every image with its path out."""

from __future__ import annotations

from typing import Any

import pytest

from sealgate.documents import ImageField, json_pointer, workload_images
from sealgate.documents.workloads import TOO_DEEP


def pod_spec(*images: str) -> dict[str, Any]:
    return {
        "initContainers": [{"name": "init", "image": images[0]}],
        "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images[1:])],
        "ephemeralContainers": [{"name": "debug", "image": "r.io/debug:1"}],
    }


def found(obj: object) -> list[tuple[str, str | None]]:
    return [(f.pointer, f.image) for f in workload_images(obj)]


TEMPLATE = "/spec/template/spec"


@pytest.mark.parametrize(
    ("kind", "wrap", "prefix"),
    [
        ("Pod", lambda spec: {"spec": spec}, "/spec"),
        ("PodTemplate", lambda spec: {"template": {"spec": spec}}, "/template/spec"),
        *(
            (kind, lambda spec: {"spec": {"template": {"spec": spec}}}, TEMPLATE)
            for kind in (
                "Deployment",
                "ReplicaSet",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "ReplicationController",
                "Rollout",  # a custom resource with the usual template
            )
        ),
        (
            "CronJob",
            lambda spec: {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}},
            "/spec/jobTemplate/spec/template/spec",
        ),
    ],
)
def test_every_kind_yields_every_container_list_with_its_pointer(
    kind: str, wrap: Any, prefix: str
) -> None:
    obj = {
        "apiVersion": "v1",
        "kind": kind,
        **wrap(pod_spec("r.io/init:1", "r.io/a:1", "r.io/b:2")),
    }
    assert found(obj) == [
        (f"{prefix}/initContainers/0/image", "r.io/init:1"),
        (f"{prefix}/containers/0/image", "r.io/a:1"),
        (f"{prefix}/containers/1/image", "r.io/b:2"),
        (f"{prefix}/ephemeralContainers/0/image", "r.io/debug:1"),
    ]


def test_custom_resources_are_walked() -> None:
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "spec": {
            "templates": [
                {"name": "a", "container": {"image": "r.io/step:1"}},
                {"name": "b", "script": {"image": "r.io/script:1", "source": "echo"}},
            ]
        },
    }
    assert found(workflow) == [
        ("/spec/templates/0/container/image", "r.io/step:1"),
        ("/spec/templates/1/script/image", "r.io/script:1"),
    ]


def test_missing_or_non_string_images_are_yielded_as_none_and_fields_are_live() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "x"}, {"image": 5}]}}
    fields = list(workload_images(pod))
    assert [(f.path, f.image) for f in fields] == [
        (("spec", "containers", 0, "image"), None),
        (("spec", "containers", 1, "image"), None),
    ]
    fields[0].container["image"] = "r.io/pinned@sha256:" + "a" * 64
    assert pod["spec"]["containers"][0]["image"].startswith("r.io/pinned")  # type: ignore[index]


def test_lists_and_non_objects() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"image": "r.io/a:1"}]}}
    other = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"image": "r.io/a:1"}]}}
    assert found({"apiVersion": "v1", "kind": "List", "items": [pod, other]}) == [
        ("/items/0/spec/containers/0/image", "r.io/a:1"),
        ("/items/1/spec/containers/0/image", "r.io/a:1"),
    ]
    for nothing in (None, "Pod", 3, {"kind": "Pod"}, {"kind": "Pod", "spec": []}):
        assert found(nothing) == []


def test_json_pointer_escapes_per_rfc_6901() -> None:
    assert (
        json_pointer(("metadata", "annotations", "a/b~c", 0)) == "/metadata/annotations/a~1b~0c/0"
    )
    assert json_pointer(()) == ""
    assert ImageField(("spec", "image"), "x", {}).pointer == "/spec/image"


def test_a_container_nested_beyond_the_walk_is_refused_not_skipped() -> None:
    # A custom resource nesting a container deeper than the walk goes must not pass as
    # "no images": a stand-in without an image makes every caller refuse it.
    node: dict[str, object] = {"containers": [{"name": "x", "image": "evil.example/x:1"}]}
    for level in range(80):
        node = {f"level{level}": node}
    doc = {"apiVersion": "example.com/v1", "kind": "Deep", "spec": node}
    fields = list(workload_images(doc))
    assert fields, "the deep container was silently skipped"
    assert all(f.image is None for f in fields)
    assert any(TOO_DEEP in f.path for f in fields)


def test_objects_within_the_walk_have_no_stand_in() -> None:
    node: dict[str, object] = {"containers": [{"name": "x", "image": "ok.example/x:1"}]}
    for level in range(20):
        node = {f"level{level}": node}
    fields = list(workload_images({"kind": "Shallow", "spec": node}))
    assert [f.image for f in fields] == ["ok.example/x:1"]

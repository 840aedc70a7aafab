"""The pure review, without HTTP or a registry: static policies decided by the real engine."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

import jsonpatch
import pytest

from sealgate.checks.authorities import StaticAuthority
from sealgate.deadline import Deadline
from sealgate.policy.globs import SigstoreGlob
from sealgate.policy.matching import (
    ImageDecision,
    ImagePolicy,
    PolicySet,
    Requirement,
    RequirementGroup,
    RequirementOutcome,
    decide,
)
from sealgate.policy.model import Policy
from sealgate.webhook.review import (
    JudgedImage,
    JudgeRequest,
    ReviewDeps,
    ReviewSettings,
    review,
)
from tests.support.admission import pod_spec, review_body, workload

DIGEST = "sha256:" + "ab" * 32


def _policy(
    name: str, glob: str, action: str, *, mode: str = "enforce", pin: bool = True
) -> ImagePolicy:
    authority = StaticAuthority("pass" if action == "pass" else "fail", name, f"{name} says no")
    requirement = Requirement(f"authority {name}", Policy(name, (authority,)))
    return ImagePolicy(
        name=f"ClusterImagePolicy/{name}",
        source="test",
        images=(SigstoreGlob.compile(glob),),
        groups=(RequirementGroup("authorities", (requirement,)),),
        mode="warn" if mode == "warn" else "enforce",
        mutate_digest=pin,
    )


POLICIES = PolicySet(
    (
        _policy("good", "registry.test/good/**", "pass"),
        _policy("plain", "registry.test/plain/**", "pass", pin=False),
        _policy("bad", "registry.test/bad/**", "fail"),
        _policy("audit", "registry.test/audit/**", "fail", mode="warn", pin=False),
    )
)


class StaticJudge:
    """Decides with the real engine (static authorities only) and a fixed digest."""

    def __init__(self) -> None:
        self.requests: list[tuple[tuple[str, ...], JudgeRequest]] = []

    def __call__(self, images: Sequence[str], request: JudgeRequest) -> Mapping[str, JudgedImage]:
        self.requests.append((tuple(images), request))

        def never(requirement: Requirement) -> RequirementOutcome:
            raise AssertionError("static policies never need the registry")

        return {
            image: JudgedImage(decide(image, request.resource, POLICIES, never), DIGEST)
            for image in images
        }


def _deps(judge: Any = None, **settings: Any) -> ReviewDeps:
    return ReviewDeps(judge or StaticJudge(), ReviewSettings(**settings), Deadline.none)


def _apply(obj: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    if "patch" not in response:
        return obj
    patched: dict[str, Any] = jsonpatch.apply_patch(
        copy.deepcopy(obj), json.loads(base64.b64decode(response["patch"]))
    )
    return patched


def test_mutation_is_per_kind_and_per_policy() -> None:
    deps = _deps(mutate_kinds=frozenset({"Pod"}))
    images = ("registry.test/good/a:1", "registry.test/plain/b:1", f"registry.test/good/c@{DIGEST}")
    pod = workload("Pod", pod_spec(*images))
    outcome = review(review_body(pod), deps=deps, endpoint="mutate")
    assert outcome.allowed and outcome.patched == 1
    patched = _apply(pod, outcome.body["response"])
    assert [c["image"] for c in patched["spec"]["containers"]] == [
        f"registry.test/good/a:1@{DIGEST}",
        "registry.test/plain/b:1",
        f"registry.test/good/c@{DIGEST}",
    ]
    deployment = workload("Deployment", pod_spec(*images))
    outcome = review(review_body(deployment, kind="Deployment"), deps=deps, endpoint="mutate")
    assert outcome.allowed and "patch" not in outcome.body["response"]
    # /validate never patches.
    outcome = review(review_body(pod), deps=deps, endpoint="validate")
    assert "patch" not in outcome.body["response"]


def test_judge_is_asked_once_per_distinct_image_with_the_pods_pull_secrets() -> None:
    judge = StaticJudge()
    spec = pod_spec(*["registry.test/good/a:1"] * 5, init=("registry.test/good/b:1",))
    spec["imagePullSecrets"] = [{"name": "regcred"}, {"name": "regcred"}, {"name": "other"}]
    review(review_body(workload("Pod", spec)), deps=_deps(judge), endpoint="mutate")
    [(images, request)] = judge.requests
    assert images == ("registry.test/good/b:1", "registry.test/good/a:1")  # init first
    assert request.pull_secrets == ("regcred", "other")
    assert request.pin is True
    assert request.resource.kind == "Pod" and request.resource.namespace == "team-a"
    assert request.resource.labels == {"app": "app"}


def test_denials_name_every_failing_image_and_warnings_are_capped() -> None:
    pod = workload("Pod", pod_spec("registry.test/bad/x:1", "registry.test/good/a:1", "nope/x:1"))
    outcome = review(review_body(pod), deps=_deps())
    assert not outcome.allowed and outcome.result == "denied"
    message = outcome.body["response"]["status"]["message"]
    assert "image registry.test/bad/x:1: ClusterImagePolicy/bad" in message
    assert "image nope/x:1: no matching policies" in message
    assert "registry.test/good/a:1" not in message

    audit = [f"registry.test/audit/tool{i}:1" for i in range(30)]
    outcome = review(review_body(workload("Pod", pod_spec(*audit))), deps=_deps(max_warnings=5))
    response = outcome.body["response"]
    assert response["allowed"] is True and len(response["warnings"]) == 5
    assert all(len(w) <= 256 for w in response["warnings"])
    mutate = review(review_body(workload("Pod", pod_spec(*audit))), deps=_deps(), endpoint="mutate")
    assert "warnings" not in mutate.body["response"]  # /validate reports them once

    long = review(
        review_body(workload("Pod", pod_spec(*[f"r.test/{i}:1" for i in range(200)]))),
        deps=_deps(max_message_chars=300),
    )
    assert len(long.body["response"]["status"]["message"]) <= 300


class BrokenJudge:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, images: Sequence[str], request: JudgeRequest) -> Mapping[str, JudgedImage]:
        if self.mode == "raise":
            raise KeyError("a bug")
        if self.mode == "partial":
            return {}
        return {i: JudgedImage(ImageDecision(i, request.resource, "admit", ())) for i in images}


def test_a_judge_that_fails_or_forgets_an_image_never_allows() -> None:
    body = review_body(workload("Pod", pod_spec("registry.test/good/a:1")))
    outcome = review(body, deps=_deps(BrokenJudge("raise")))
    assert outcome.body["response"]["allowed"] is False
    assert outcome.body["response"]["uid"] == body["request"]["uid"]
    assert "KeyError" in outcome.body["response"]["status"]["message"]
    outcome = review(body, deps=_deps(BrokenJudge("partial")))
    assert outcome.body["response"]["allowed"] is False
    assert "no decision" in outcome.body["response"]["status"]["message"]


def test_containers_without_an_image_are_denied() -> None:
    spec = {"containers": [{"name": "a"}, {"name": "b", "image": 7}, {"name": "c", "image": " "}]}
    outcome = review(review_body(workload("Pod", spec)), deps=_deps(BrokenJudge("admit")))
    assert not outcome.allowed
    assert "/spec/containers/0/image" in outcome.summary
    assert "/spec/containers/2/image" in outcome.summary


def test_the_review_api_version_is_echoed() -> None:
    body = review_body(workload("Pod", pod_spec("registry.test/good/a:1")))
    body["apiVersion"] = "admission.k8s.io/v1beta1"
    outcome = review(body, deps=_deps())
    assert outcome.body["apiVersion"] == "admission.k8s.io/v1beta1"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"apiVersion": "v1", "kind": "Pod"}, 400),
        ({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": []}, 400),
        (
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": 5}},
            400,
        ),
    ],
)
def test_bodies_without_a_uid_are_http_400(body: dict[str, Any], status: int) -> None:
    outcome = review(body, deps=_deps())
    assert outcome.http_status == status and not outcome.allowed


def test_bad_operation_with_uid_is_denied_in_kind() -> None:
    body = review_body(workload("Pod", pod_spec("a/b:1")))
    body["request"]["operation"] = "PATCH"
    outcome = review(body, deps=_deps())
    assert outcome.http_status == 200
    assert outcome.body["response"]["allowed"] is False
    assert outcome.body["response"]["status"]["code"] == 400

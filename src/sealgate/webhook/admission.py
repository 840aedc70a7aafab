"""AdmissionReview v1 in and out: the request fields the webhook reads, and the response shape.

The shapes are the Kubernetes API reference's ``admission.k8s.io/v1`` ``AdmissionReview``:
the API server POSTs ``{apiVersion, kind, request: {uid, kind, resource, subResource,
requestKind, name, namespace, operation, userInfo, object, oldObject, dryRun, options}}`` and
expects ``{apiVersion, kind, response: {uid, allowed, status, warnings, patchType, patch}}``
back, with the request's ``uid`` echoed. Pure: decoded JSON in, dataclasses and dicts out.

A body that is not an AdmissionReview with a request and a uid cannot be answered in kind (there
is no uid to echo): it is :class:`MalformedReview` with ``uid`` None, and the HTTP adapter
answers 400, which the API server counts as a failed call (``failurePolicy: Fail`` rejects).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "REVIEW_API_VERSIONS",
    "SUPPORTED_KINDS",
    "AdmissionRequest",
    "MalformedReview",
    "parse_review",
    "review_response",
]

#: The API server sends the first version a configuration lists; v1beta1 has the same shape.
REVIEW_API_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")

#: (API group, kind) of every workload the webhook judges; everything else is admitted.
SUPPORTED_KINDS: Mapping[tuple[str, str], str] = {
    ("", "Pod"): "pods",
    ("", "ReplicationController"): "replicationcontrollers",
    ("apps", "Deployment"): "deployments",
    ("apps", "ReplicaSet"): "replicasets",
    ("apps", "StatefulSet"): "statefulsets",
    ("apps", "DaemonSet"): "daemonsets",
    ("batch", "Job"): "jobs",
    ("batch", "CronJob"): "cronjobs",
}

_MAX_UID = 128


class MalformedReview(Exception):
    """The body is not a usable AdmissionReview.

    Attributes:
        message: One line saying what is wrong.
        uid: The request uid when one could be read (then the answer is a deny in kind).
        api_version: The review's apiVersion to answer with.
    """

    def __init__(
        self, message: str, *, uid: str | None = None, api_version: str = REVIEW_API_VERSIONS[0]
    ) -> None:
        super().__init__(message)
        self.message = message
        self.uid = uid
        self.api_version = api_version


@dataclass(frozen=True)
class AdmissionRequest:
    """The fields of ``AdmissionReview.request`` the webhook uses.

    Attributes:
        api_version: The review's apiVersion (the response uses the same).
        uid: Echoed in the response.
        group: ``request.kind.group`` (``""`` for the core group).
        version: ``request.kind.version``.
        kind: ``request.kind.kind``.
        sub_resource: ``request.subResource`` (``""``, ``status``, ``ephemeralcontainers``...).
        operation: ``CREATE``, ``UPDATE``, ``DELETE`` or ``CONNECT``.
        namespace: ``request.namespace`` (``""`` for cluster-scoped objects).
        name: ``request.name`` (empty on CREATE with ``generateName``).
        object: The new object (None on DELETE).
        old_object: The existing object on UPDATE and DELETE.
        dry_run: ``request.dryRun``.
    """

    api_version: str
    uid: str
    group: str
    version: str
    kind: str
    sub_resource: str
    operation: str
    namespace: str
    name: str
    object: Mapping[str, Any] | None
    old_object: Mapping[str, Any] | None
    dry_run: bool = False

    @property
    def api_group_version(self) -> str:
        """``apps/v1``, or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def supported(self) -> bool:
        """Whether the kind is one the webhook judges."""
        return (self.group, self.kind) in SUPPORTED_KINDS

    def describe(self) -> str:
        """``Pod team-a/web-1`` for messages."""
        where = f"{self.namespace}/" if self.namespace else ""
        name = self.name or _meta(self.object).get("generateName") or "(unnamed)"
        return f"{self.kind} {where}{name}"


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = obj.get("metadata") if obj is not None else None
    return meta if isinstance(meta, dict) else {}


def _string(value: object, field: str, *, uid: str | None, api_version: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedReview(f"request.{field} is not a string", uid=uid, api_version=api_version)
    return value


def parse_review(body: object) -> AdmissionRequest:
    """Read an AdmissionReview decoded from JSON.

    Args:
        body: The decoded request body (anything).

    Returns:
        The request.

    Raises:
        MalformedReview: Not an AdmissionReview (``uid`` None), or a review whose request is
            unusable (``uid`` set: answer it with a deny).
    """
    if not isinstance(body, dict):
        raise MalformedReview("the body is not a JSON object")
    api_version = body.get("apiVersion")
    if body.get("kind") != "AdmissionReview" or api_version not in REVIEW_API_VERSIONS:
        raise MalformedReview(
            "not an AdmissionReview (apiVersion admission.k8s.io/v1, kind AdmissionReview)"
        )
    assert isinstance(api_version, str)  # noqa: S101 - narrowed by the membership test
    request = body.get("request")
    if not isinstance(request, dict):
        raise MalformedReview("the AdmissionReview has no request", api_version=api_version)
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid or len(uid) > _MAX_UID:
        raise MalformedReview(
            "request.uid is missing or not a short string", api_version=api_version
        )
    context = {"uid": uid, "api_version": api_version}
    kind = request.get("kind")
    if not isinstance(kind, dict):
        raise MalformedReview("request.kind is missing", **context)
    group = _string(kind.get("group"), "kind.group", **context)
    version = _string(kind.get("version"), "kind.version", **context)
    kind_name = _string(kind.get("kind"), "kind.kind", **context)
    operation = _string(request.get("operation"), "operation", **context)
    if operation not in ("CREATE", "UPDATE", "DELETE", "CONNECT"):
        raise MalformedReview(f"request.operation {operation[:40]!r} is not valid", **context)
    objects = []
    for field in ("object", "oldObject"):
        value = request.get(field)
        if value is not None and not isinstance(value, dict):
            raise MalformedReview(f"request.{field} is not an object", **context)
        objects.append(value)
    dry_run = request.get("dryRun", False)
    return AdmissionRequest(
        api_version=api_version,
        uid=uid,
        group=group,
        version=version,
        kind=kind_name,
        sub_resource=_string(request.get("subResource"), "subResource", **context),
        operation=operation,
        namespace=_string(request.get("namespace"), "namespace", **context),
        name=_string(request.get("name"), "name", **context),
        object=objects[0],
        old_object=objects[1],
        dry_run=dry_run is True,
    )


def review_response(
    uid: str,
    allowed: bool,
    *,
    api_version: str = REVIEW_API_VERSIONS[0],
    message: str = "",
    code: int = 403,
    warnings: Sequence[str] = (),
    patch: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An AdmissionReview carrying the response to request ``uid``.

    Args:
        uid: The request's uid, echoed.
        allowed: The answer.
        api_version: The review's apiVersion.
        message: Why (shown to the user by kubectl on a denial).
        code: HTTP-like status code of a denial (403 refused, 400 malformed request).
        warnings: Admission warnings (kubectl prints them as ``Warning: ...``).
        patch: RFC 6902 operations, for a mutating webhook's allowed answer.

    Returns:
        The JSON-able review.
    """
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {
            "code": code,
            "reason": "BadRequest" if code == 400 else "Forbidden",
            "message": message,
        }
    elif message:
        response["status"] = {"code": 200, "message": message}
    if warnings:
        response["warnings"] = list(warnings)
    if patch and allowed:
        response["patchType"] = "JSONPatch"
        encoded = json.dumps(list(patch), separators=(",", ":")).encode("utf-8")
        response["patch"] = base64.b64encode(encoded).decode("ascii")
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": response}

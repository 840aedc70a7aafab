"""The admission decision as a pure function: ``review(body, *, deps) -> ReviewOutcome``.

kopf's shape: everything Kubernetes-specific (which kinds, which operations, which images,
the response, the JSONPatch) is decided here from the decoded body, with the images judged by
an injected :class:`ImageJudge` (the server's runs :func:`sealgate.policy.decide` through
:mod:`sealgate.workflows.judge`; unit tests pass a table). No HTTP, no clock, no registry.

Rules, in order:

1. not an AdmissionReview: HTTP 400 (no uid to echo); a review with a uid but a broken
   request: a deny with code 400;
2. kinds other than Pod, ReplicationController, Deployment, ReplicaSet, StatefulSet,
   DaemonSet, Job, CronJob: admitted untouched;
3. ``DELETE``/``CONNECT``, and subresources other than ``ephemeralcontainers`` (``status``,
   ``scale``...): admitted; an ``UPDATE`` judges only images the old object did not have
   (scale-downs, label edits and finalizer removals never fail on a revoked key);
4. every image (containers, init, ephemeral, image volumes) is judged; one without an image, one
   that does not parse, or one without a decision is a deny, never an allow;
5. any ``deny`` denies the review naming every image and reason; ``warn`` decisions admit with
   ``warnings``; on ``/mutate``, admitted images whose matching policy asks for it are pinned
   to the digest that was verified (``repo:tag@sha256:...``) when the kind is configured so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sealgate.deadline import Deadline
from sealgate.documents import ImageField, image_volumes, workload_images
from sealgate.policy.matching import ImageDecision
from sealgate.policy.resources import Resource
from sealgate.webhook.admission import (
    SUPPORTED_KINDS,
    AdmissionRequest,
    MalformedReview,
    parse_review,
    review_response,
)

__all__ = [
    "ALL_KINDS",
    "Endpoint",
    "ImageJudge",
    "ImageReport",
    "JudgeRequest",
    "JudgedImage",
    "ReviewDeps",
    "ReviewOutcome",
    "ReviewSettings",
    "review",
]

logger = logging.getLogger(__name__)

Endpoint = Literal["validate", "mutate"]
#: Every kind the webhook judges (and may pin).
ALL_KINDS = frozenset(kind for _, kind in SUPPORTED_KINDS)
_MAX_FIELDS = 10_000
_MAX_WARNING = 256


@dataclass(frozen=True)
class ReviewSettings:
    """How reviews are answered.

    Attributes:
        mutate_kinds: Kinds whose images ``/mutate`` pins to digests (when a policy asks).
        max_images: Distinct images one review may ask to verify; more is a deny.
        max_message_chars: Longest denial message.
        max_warnings: Most warnings returned (the API server caps their total size).
    """

    mutate_kinds: frozenset[str] = ALL_KINDS
    max_images: int = 256
    max_message_chars: int = 4000
    max_warnings: int = 20


@dataclass(frozen=True)
class JudgeRequest:
    """What the judge needs besides the images.

    Attributes:
        resource: The resource the images come from (kind, namespace, name, labels).
        pull_secrets: ``imagePullSecrets`` names of the pod specs, in order.
        pin: Resolve a digest even when no requirement needs the registry (``/mutate``).
        deadline: When to stop and deny what is not decided.
    """

    resource: Resource
    pull_secrets: tuple[str, ...]
    pin: bool
    deadline: Deadline


@dataclass(frozen=True)
class JudgedImage:
    """One image's decision and the digest it was verified at (when resolved)."""

    decision: ImageDecision
    digest: str | None = None


class ImageJudge(Protocol):
    """Decides every image of one review; must return a decision for each image asked."""

    def __call__(
        self, images: Sequence[str], request: JudgeRequest
    ) -> Mapping[str, JudgedImage]: ...


@dataclass(frozen=True)
class ReviewDeps:
    """The review's collaborators.

    Attributes:
        judge: Decides images.
        settings: Mutation kinds and limits.
        deadline: Starts the budget of one review (the server's is shorter than the
            configuration's ``timeoutSeconds``).
    """

    judge: ImageJudge
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    deadline: Callable[[], Deadline] = Deadline.none


@dataclass(frozen=True)
class ImageReport:
    """One image as logs and metrics see it."""

    image: str
    decision: str
    digest: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ReviewOutcome:
    """The answer and what to log about it.

    Attributes:
        http_status: 200, or 400 for a body that is not an AdmissionReview.
        body: The JSON to send back.
        uid: The request uid, when known.
        allowed: The answer (False for a 400).
        result: ``admitted``, ``warned``, ``denied``, ``skipped``, ``out-of-scope``,
            ``malformed`` or ``error``.
        summary: One line for the log.
        kind: The request's kind ("" when unknown).
        namespace: The request's namespace.
        operation: The request's operation.
        images: Per-image reports.
        patched: Images pinned by the patch.
    """

    http_status: int
    body: dict[str, Any]
    uid: str | None
    allowed: bool
    result: str
    summary: str
    kind: str = ""
    namespace: str = ""
    operation: str = ""
    images: tuple[ImageReport, ...] = ()
    patched: int = 0


def _answer(
    request: AdmissionRequest,
    result: str,
    summary: str,
    *,
    allowed: bool,
    code: int = 403,
    warnings: Sequence[str] = (),
    patch: Sequence[Mapping[str, Any]] = (),
    images: tuple[ImageReport, ...] = (),
) -> ReviewOutcome:
    body = review_response(
        request.uid,
        allowed,
        api_version=request.api_version,
        message="" if allowed else summary,
        code=code,
        warnings=warnings,
        patch=patch,
    )
    return ReviewOutcome(
        200,
        body,
        request.uid,
        allowed,
        result,
        summary,
        request.kind,
        request.namespace,
        request.operation,
        images,
        len(patch),
    )


def review(body: object, *, deps: ReviewDeps, endpoint: Endpoint = "validate") -> ReviewOutcome:
    """Answer one AdmissionReview (see the module docstring). Never raises.

    Args:
        body: The decoded JSON body.
        deps: The judge, settings and deadline.
        endpoint: ``validate`` (warnings, no patch) or ``mutate`` (patch, no warnings).

    Returns:
        The outcome; an unexpected exception is a deny naming its type (a bug never allows).
    """
    try:
        request = parse_review(body)
    except MalformedReview as err:
        if err.uid is None:
            return ReviewOutcome(400, {"error": err.message}, None, False, "malformed", err.message)
        fake = AdmissionRequest(err.api_version, err.uid, "", "", "", "", "", "", "", None, None)
        return _answer(fake, "malformed", err.message, allowed=False, code=400)
    try:
        return _review(request, deps, endpoint)
    except Exception as err:  # a bug: deny, say so, never allow
        logger.exception("review %s failed", request.uid)
        message = f"internal error ({type(err).__name__}); this is a bug, nothing was allowed"
        return _answer(request, "error", message, allowed=False, code=500)


def _resource(request: AdmissionRequest, obj: Mapping[str, Any]) -> Resource:
    meta = obj.get("metadata") or {}
    if not isinstance(meta, dict):
        raise MalformedReview("object.metadata is not an object", uid=request.uid)
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise MalformedReview("object.metadata.labels must map strings to strings", uid=request.uid)
    name = request.name or meta.get("name") or meta.get("generateName") or ""
    return Resource(
        kind=request.kind,
        api_version=request.api_group_version,
        namespace=request.namespace,
        name=name if isinstance(name, str) else "",
        labels=dict(labels),
    )


def _image_fields(obj: Mapping[str, Any] | None) -> list[ImageField]:
    fields: list[ImageField] = []
    for found in (workload_images(obj), image_volumes(obj)):
        for item in found:
            fields.append(item)
            if len(fields) > _MAX_FIELDS:
                raise MalformedReview(f"more than {_MAX_FIELDS} containers")
    return fields


def _pull_secrets(obj: Mapping[str, Any]) -> tuple[str, ...]:
    from sealgate.documents import pod_specs

    names: dict[str, None] = {}
    for _, spec in pod_specs(obj):
        for entry in spec.get("imagePullSecrets") or ():
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name:
                names.setdefault(name, None)
    return tuple(names)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _out_of_scope(request: AdmissionRequest) -> ReviewOutcome | None:
    """The answer for a request that is not judged, or None when it is."""
    if not request.supported:
        return _answer(request, "out-of-scope", f"{request.kind} is not judged", allowed=True)
    if request.operation not in ("CREATE", "UPDATE"):
        return _answer(request, "skipped", f"{request.operation} is not judged", allowed=True)
    if request.sub_resource not in ("", "ephemeralcontainers"):
        summary = f"subresource {request.sub_resource} is not judged"
        return _answer(request, "skipped", summary, allowed=True)
    if request.object is None:
        return _answer(request, "malformed", "request.object is missing", allowed=False, code=400)
    return None


def _review(request: AdmissionRequest, deps: ReviewDeps, endpoint: Endpoint) -> ReviewOutcome:
    settings = deps.settings
    skipped = _out_of_scope(request)
    if skipped is not None or request.object is None:
        return skipped or _answer(request, "malformed", "no object", allowed=False, code=400)
    obj = request.object
    try:
        fields = _image_fields(obj)
        resource = _resource(request, obj)
        updating = request.operation == "UPDATE"
        old = {f.image for f in _image_fields(request.old_object)} if updating else set()
    except MalformedReview as err:
        return _answer(request, "malformed", err.message, allowed=False, code=400)
    missing = [f.pointer for f in fields if f.image is None or not f.image.strip()]
    if missing:
        summary = f"{request.describe()}: no image at " + ", ".join(missing[:10])
        return _answer(request, "denied", _clip(summary, settings.max_message_chars), allowed=False)
    judged = [f for f in fields if f.image not in old]
    if not judged:
        return _answer(request, "skipped", "no new or changed image", allowed=True)
    images = list(dict.fromkeys(f.image for f in judged if f.image is not None))
    if len(images) > settings.max_images:
        summary = (
            f"{request.describe()}: {len(images)} distinct images; at most "
            f"{settings.max_images} are verified per review"
        )
        return _answer(request, "denied", summary, allowed=False)
    pin = endpoint == "mutate" and request.kind in settings.mutate_kinds
    judge_request = JudgeRequest(resource, _pull_secrets(obj), pin, deps.deadline())
    results = deps.judge(images, judge_request)
    return _respond(
        request, settings, fields=judged, images=images, results=results, pin=pin, endpoint=endpoint
    )


def _reasons(judged: JudgedImage | None) -> tuple[str, ...]:
    if judged is None:
        return ("no decision was made for it (fail closed)",)
    return judged.decision.reasons or (judged.decision.decision,)


def _respond(
    request: AdmissionRequest,
    settings: ReviewSettings,
    *,
    fields: Sequence[ImageField],
    images: Sequence[str],
    results: Mapping[str, JudgedImage],
    pin: bool,
    endpoint: Endpoint,
) -> ReviewOutcome:
    reports = []
    denied: list[str] = []
    warnings: list[str] = []
    for image in images:
        judged = results.get(image)
        decision = judged.decision.decision if judged is not None else "deny"
        reasons = _reasons(judged)
        digest = judged.digest if judged is not None else None
        reports.append(ImageReport(image, decision, digest, reasons if decision != "admit" else ()))
        if decision == "deny":
            denied.append(f"image {image}: " + " | ".join(reasons))
        elif decision == "warn":
            warnings.extend(
                _clip(f"sealgate: image {image}: {reason}", _MAX_WARNING) for reason in reasons
            )
    report = tuple(reports)
    if denied:
        summary = f"{request.describe()} denied by sealgate: " + "; ".join(denied)
        summary = _clip(summary, settings.max_message_chars)
        return _answer(request, "denied", summary, allowed=False, images=report)
    patch = (
        _patch(fields, results)
        if endpoint == "mutate" and request.kind in settings.mutate_kinds
        else []
    )
    shown = warnings[: settings.max_warnings] if endpoint == "validate" else []
    result = "warned" if warnings else "admitted"
    summary = f"{request.describe()}: {len(images)} image(s) {result}"
    return _answer(
        request, result, summary, allowed=True, warnings=shown, patch=patch, images=report
    )


def _patch(
    fields: Sequence[ImageField], results: Mapping[str, JudgedImage]
) -> list[dict[str, Any]]:
    """RFC 6902 ``replace`` operations pinning admitted images to their verified digest."""
    operations = []
    for item in fields:
        judged = results.get(item.image or "")
        if item.image is None or judged is None or judged.digest is None or "@" in item.image:
            continue
        decision = judged.decision
        if decision.admitted and any(o.policy.mutate_digest for o in decision.matched):
            pinned = f"{item.image}@{judged.digest}"
            operations.append({"op": "replace", "path": item.pointer, "value": pinned})
    return operations

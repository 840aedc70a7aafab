"""The emergency bypass: ``COSIGN_VERIFY_DISABLED=true``, loud and audited.

Decisions (documented for operators):

* The variable is read from the mapping the CLI passes in, never from ``os.environ``. Go
  ``ParseBool``-style values count (``1/t/true/y/yes/on``); an unrecognised value is *not*
  a bypass (verification runs) and produces a warning.
* Bypass is allowed by default, production included: the documented use is the emergency
  hotfix, which mostly happens in production. ``allowBypass: false`` on an environment
  refuses it: the deploy is blocked (exit 2, "bypass forbidden for production env X") and
  the refusal is audited too.
* An honoured bypass verifies nothing, exits 0, prints a banner, and appends a JSON line to
  ``auditLog`` (UTC time, environment, tier, the images as written, the variable, and the
  CI identity of Azure DevOps / GitHub Actions / GitLab). If that line cannot be written the
  bypass fails (ConfigError, exit 78): a bypass must leave a trail. The same record is
  embedded in the report (JSON, JUnit, Markdown, vso).
* Every run while the variable stays set repeats the banner. The first normal runs after a
  bypass carry a reminder ("bypass at T not re-verified yet") until a run of that
  environment verifies every image, which appends a ``reverified`` record and ends the
  reminders. That needs ``auditLog`` on storage that outlives one pipeline run.
* Variables whose name looks secret (TOKEN, SECRET, PASSW, KEY, CREDENTIAL, PRIVATE, AUTH)
  are never recorded, even if listed; values are single-lined and capped.

This module decides and builds records; it does no I/O. Reading and appending the audit log
is :mod:`sealgate.gate.audit_log`, called by the CLI around :func:`~sealgate.gate.evaluate_gate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC

from sealgate.errors import ExitCode
from sealgate.gate.config import EnvironmentConfig
from sealgate.gate.model import (
    Clock,
    Decision,
    GateReport,
    ImageResult,
    ImageSpec,
    Verdict,
    utc_now,
)
from sealgate.gate.sources import dedupe

__all__ = [
    "BYPASS_VARIABLE",
    "CI_IDENTITY_VARIABLES",
    "bypass_banner",
    "bypass_record",
    "bypass_requested",
    "ci_identity",
    "decide_bypass",
    "pending_bypass_reminders",
    "reverified_record",
]

BYPASS_VARIABLE = "COSIGN_VERIFY_DISABLED"

#: Who/what triggered a run, per CI system; all of them are recorded when present.
CI_IDENTITY_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "azure-devops": (
        "BUILD_BUILDID", "BUILD_BUILDNUMBER", "BUILD_DEFINITIONNAME", "BUILD_REASON",
        "BUILD_REQUESTEDFOR", "BUILD_REQUESTEDFOREMAIL", "BUILD_REQUESTEDFORID",
        "BUILD_REPOSITORY_NAME", "BUILD_SOURCEBRANCH", "BUILD_SOURCEVERSION",
        "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMPROJECT", "SYSTEM_DEFINITIONID",
        "RELEASE_RELEASEID", "RELEASE_RELEASENAME", "RELEASE_REQUESTEDFOR",
        "RELEASE_ENVIRONMENTNAME", "AGENT_NAME",
    ),
    "github": (
        "GITHUB_ACTOR", "GITHUB_TRIGGERING_ACTOR", "GITHUB_REPOSITORY", "GITHUB_RUN_ID",
        "GITHUB_RUN_ATTEMPT", "GITHUB_RUN_NUMBER", "GITHUB_SHA", "GITHUB_WORKFLOW",
        "GITHUB_JOB", "GITHUB_REF", "GITHUB_EVENT_NAME", "GITHUB_SERVER_URL",
    ),
    "gitlab": (
        "GITLAB_USER_LOGIN", "GITLAB_USER_EMAIL", "GITLAB_USER_ID", "CI_PROJECT_PATH",
        "CI_PIPELINE_ID", "CI_PIPELINE_URL", "CI_JOB_ID", "CI_JOB_URL", "CI_COMMIT_SHA",
        "CI_COMMIT_REF_NAME", "CI_SERVER_URL", "CI_ENVIRONMENT_NAME",
    ),
}  # fmt: skip
_DETECT = (("azure-devops", "TF_BUILD"), ("github", "GITHUB_ACTIONS"), ("gitlab", "GITLAB_CI"))
_ACTOR = ("BUILD_REQUESTEDFOR", "RELEASE_REQUESTEDFOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN")
_SECRETISH = re.compile(r"TOKEN|SECRET|PASSW|KEY|CREDENTIAL|PRIVATE|AUTH", re.IGNORECASE)
_TRUE = frozenset({"1", "t", "true", "y", "yes", "on"})
_FALSE = frozenset({"", "0", "f", "false", "n", "no", "off"})
_MAX_VALUE = 256


def _clean(value: str) -> str:
    flat = "".join(ch if ch.isprintable() else " " for ch in value)
    return flat[:_MAX_VALUE] + ("..." if len(flat) > _MAX_VALUE else "")


def _utc(clock: Clock) -> str:
    return clock().astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def bypass_requested(environ: Mapping[str, str]) -> tuple[bool, str | None]:
    """Whether ``COSIGN_VERIFY_DISABLED`` asks for a bypass.

    Returns:
        ``(requested, warning)``; the warning is set for an unrecognised value.
    """
    raw = environ.get(BYPASS_VARIABLE)
    if raw is None:
        return False, None
    value = raw.strip().lower()
    if value in _TRUE:
        return True, None
    if value in _FALSE:
        return False, None
    return False, f"{BYPASS_VARIABLE}={_clean(raw)!r} is not a boolean; verification runs"


def ci_identity(environ: Mapping[str, str]) -> dict[str, object]:
    """The CI system and identity variables present in ``environ`` (never secret-looking ones).

    Returns:
        ``{"system": "azure-devops"|"github"|"gitlab"|"unknown", "variables": {...}}``.
    """
    system = next((name for name, flag in _DETECT if environ.get(flag)), "unknown")
    variables = {
        name: _clean(environ[name])
        for names in CI_IDENTITY_VARIABLES.values()
        for name in names
        if name in environ and not _SECRETISH.search(name)
    }
    return {"system": system, "variables": variables}


def bypass_record(
    env: EnvironmentConfig,
    images: Sequence[ImageSpec],
    environ: Mapping[str, str],
    *,
    clock: Clock = utc_now,
    event: str = "bypass",
) -> dict[str, object]:
    """Build the audit record of a bypass (``event="bypass"``) or a refused one.

    Returns:
        A JSON-serialisable mapping.
    """
    return {
        "event": event,
        "time": _utc(clock),
        "environment": env.name,
        "tier": env.tier,
        "images": [image.text for image in dedupe(images)],
        "variable": {BYPASS_VARIABLE: _clean(environ.get(BYPASS_VARIABLE, ""))},
        "ci": ci_identity(environ),
        "tool": "sealgate",
    }


def _actor(record: Mapping[str, object]) -> str:
    ci = record.get("ci")
    variables = ci.get("variables") if isinstance(ci, dict) else None
    if isinstance(variables, dict):
        for name in _ACTOR:
            if variables.get(name):
                return str(variables[name])
    return "unknown"


def bypass_banner(record: Mapping[str, object]) -> str:
    """The loud multi-line banner printed for a bypass (or a refused one)."""
    images = record.get("images")
    count = len(images) if isinstance(images, list) else 0
    refused = record.get("event") == "bypass-refused"
    title = "EMERGENCY BYPASS REFUSED" if refused else "EMERGENCY BYPASS: SIGNATURES NOT VERIFIED"
    rule = "!" * 78
    lines = [
        rule,
        f"!!  {title}",
        f"!!  environment {record.get('environment')} ({record.get('tier')}), {count} image(s)",
        f"!!  {BYPASS_VARIABLE} is set; requested by {_actor(record)} at {record.get('time')}",
    ]
    if refused:
        lines.append("!!  allowBypass is false for this environment: the deploy is blocked")
    else:
        lines.append(f"!!  remove {BYPASS_VARIABLE} right after the hotfix and re-run the gate")
    lines.append(rule)
    return "\n".join(lines)


def decide_bypass(
    env: EnvironmentConfig,
    images: Sequence[ImageSpec],
    environ: Mapping[str, str],
    *,
    clock: Clock = utc_now,
) -> GateReport | None:
    """Handle ``COSIGN_VERIFY_DISABLED``: None when not requested, else the run's report.

    The report's ``bypass`` is the audit record the caller must append: an honoured bypass
    (``decision == "bypassed"``) fails if it cannot be written; a refused one
    (``"bypass-forbidden"``) is blocked anyway, so a write failure is only a warning.
    """
    requested, _ = bypass_requested(environ)
    if not requested:
        return None
    started = clock()
    unique = dedupe(images)
    allowed = env.allow_bypass
    record = bypass_record(
        env, unique, environ, clock=clock, event="bypass" if allowed else "bypass-refused"
    )
    decision: Decision
    if allowed:
        decision, code = "bypassed", ExitCode.OK
        message = f"verification disabled by {BYPASS_VARIABLE} for env {env.name}: audited bypass"
        note = f"not verified: {BYPASS_VARIABLE} is set"
    else:
        decision, code = "bypass-forbidden", ExitCode.DEPLOY_BLOCKED
        message = f"bypass forbidden for {env.tier} env {env.name} (allowBypass: false)"
        note = "not verified: bypass refused, deploy blocked"
    results = tuple(
        ImageResult(i, Verdict("skipped", reason="bypassed", message=note)) for i in unique
    )
    return GateReport(
        environment=env.name,
        tier=env.tier,
        soft_fail=env.soft_fail,
        decision=decision,
        exit_code=code,
        results=results,
        started_at=started,
        finished_at=clock(),
        message=message,
        warnings=(bypass_banner(record),),
        bypass=record,
    )


def pending_bypass_reminders(
    records: Iterable[Mapping[str, object]], environment: str
) -> tuple[str, ...]:
    """Reminders for a bypass of ``environment`` not yet followed by a full verification.

    Args:
        records: The audit log's records, oldest first (foreign records are ignored).
        environment: The environment of this run.

    Returns:
        Zero or one warning line.
    """
    pending: Mapping[str, object] | None = None
    for record in records:
        if record.get("environment") != environment:
            continue
        if record.get("event") == "bypass":
            pending = record
        elif record.get("event") == "reverified":
            pending = None
    if pending is None:
        return ()
    return (
        f"an emergency bypass of {environment} at {pending.get('time')} by {_actor(pending)} "
        "has not been re-verified yet; remove "
        f"{BYPASS_VARIABLE} and make sure the hotfix images are signed",
    )


def reverified_record(report: GateReport, *, clock: Clock = utc_now) -> dict[str, object] | None:
    """The ``reverified`` record that ends the reminders, or None unless every image verified.

    Returns:
        A JSON-serialisable mapping, or None.
    """
    if report.decision != "verified":
        return None
    pinned = [str(r.pinned) for r in report.results if r.pinned is not None]
    return {
        "event": "reverified",
        "time": _utc(clock),
        "environment": report.environment,
        "images": pinned,
    }

"""Emergency bypass: audit record contents, secrets, refusal, reminders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealgate.errors import ConfigError, ExitCode
from sealgate.gate import (
    BYPASS_VARIABLE,
    CI_IDENTITY_VARIABLES,
    apply_bypass,
    bypass_banner,
    bypass_reminders,
    bypass_requested,
    ci_identity,
    read_audit_records,
    record_reverified,
    run_gate,
)
from tests.unit.gate.fakes import FakeClock, FakeVerifier, digest, make_env, spec

IMAGES = [spec("ghcr.io/acme/api:1.0"), spec("ghcr.io/acme/web:2.0"), spec("ghcr.io/acme/api:1.0")]
SECRET = "s3cr3t-value-never-logged"

AZURE = {
    "TF_BUILD": "True",
    "BUILD_BUILDID": "4711",
    "BUILD_REQUESTEDFOR": "Jane Doe",
    "BUILD_REQUESTEDFOREMAIL": "jane@example.com",
    "SYSTEM_TEAMPROJECT": "logiccloud",
    "BUILD_REPOSITORY_NAME": "app",
    "BUILD_SOURCEVERSION": "abc123",
    "SYSTEM_COLLECTIONURI": "https://dev.azure.com/org/",
    "RELEASE_RELEASEID": "12",
    "SYSTEM_ACCESSTOKEN": SECRET,
    "COSIGN_PRIVATE_KEY": SECRET,
    "COSIGN_PASSWORD": SECRET,
}
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_TRIGGERING_ACTOR": "octocat",
    "GITHUB_REPOSITORY": "acme/app",
    "GITHUB_RUN_ID": "99",
    "GITHUB_SHA": "def456",
    "GITHUB_WORKFLOW": "deploy",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_TOKEN": SECRET,
    "ACTIONS_RUNTIME_TOKEN": SECRET,
}
GITLAB = {
    "GITLAB_CI": "true",
    "GITLAB_USER_LOGIN": "jdoe",
    "GITLAB_USER_EMAIL": "jdoe@example.com",
    "CI_PROJECT_PATH": "acme/app",
    "CI_PIPELINE_ID": "1",
    "CI_JOB_ID": "2",
    "CI_COMMIT_SHA": "0ff1ce",
    "CI_SERVER_URL": "https://gitlab.example.com",
    "CI_JOB_TOKEN": SECRET,
    "CI_REGISTRY_PASSWORD": SECRET,
}


@pytest.mark.parametrize(
    ("value", "requested", "warned"),
    [
        (None, False, False),
        ("true", True, False),
        ("True", True, False),
        (" 1 ", True, False),
        ("yes", True, False),
        ("false", False, False),
        ("", False, False),
        ("0", False, False),
        ("$(COSIGN_VERIFY_DISABLED)", False, True),
    ],
)
def test_bypass_requested(value: str | None, requested: bool, warned: bool) -> None:
    environ = {} if value is None else {BYPASS_VARIABLE: value}
    got, warning = bypass_requested(environ)
    assert got is requested
    assert (warning is not None) is warned


def test_not_requested_returns_none(tmp_path: Path) -> None:
    assert apply_bypass(make_env(tmp_path), IMAGES, {"COSIGN_VERIFY_DISABLED": "false"}) is None
    assert not (tmp_path / "audit.jsonl").exists()


@pytest.mark.parametrize(
    ("ci", "system", "actor_var"),
    [
        (AZURE, "azure-devops", "BUILD_REQUESTEDFOR"),
        (GITHUB, "github", "GITHUB_ACTOR"),
        (GITLAB, "gitlab", "GITLAB_USER_LOGIN"),
    ],
)
def test_bypass_record_contents_and_audit_line(
    tmp_path: Path, clock: FakeClock, ci: dict[str, str], system: str, actor_var: str
) -> None:
    env = make_env(tmp_path)
    environ = {**ci, BYPASS_VARIABLE: "true"}
    report = apply_bypass(env, IMAGES, environ, clock=clock)
    assert report is not None
    assert (report.decision, report.exit_code) == ("bypassed", ExitCode.OK)
    assert [r.verdict.status for r in report.results] == ["skipped", "skipped"]
    assert [r.verdict.reason for r in report.results] == ["bypassed", "bypassed"]

    (line,) = (tmp_path / "audit.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record == report.bypass
    assert record["event"] == "bypass"
    assert record["time"] == "2025-03-01T12:00:00Z"
    assert record["environment"] == "app-eu2" and record["tier"] == "production"
    assert record["images"] == ["ghcr.io/acme/api:1.0", "ghcr.io/acme/web:2.0"]
    assert record["variable"] == {BYPASS_VARIABLE: "true"}
    assert record["ci"]["system"] == system
    expected = {k: v for k, v in ci.items() if k in CI_IDENTITY_VARIABLES[system]}
    assert record["ci"]["variables"] == expected
    assert SECRET not in line
    assert not any(
        k in record["ci"]["variables"]
        for k in ("GITHUB_TOKEN", "CI_JOB_TOKEN", "SYSTEM_ACCESSTOKEN")
    )

    banner = report.warnings[0]
    assert "EMERGENCY BYPASS" in banner and ci[actor_var] in banner
    assert banner == bypass_banner(record)


def test_identity_never_includes_secret_looking_names() -> None:
    for names in CI_IDENTITY_VARIABLES.values():
        for name in names:
            assert not any(word in name for word in ("TOKEN", "SECRET", "PASSWORD", "KEY"))
    identity = ci_identity({"GITHUB_ACTOR": "a\nb\x1b[31m" + "x" * 1000})
    value = identity["variables"]["GITHUB_ACTOR"]  # type: ignore[index]
    assert "\n" not in value and "\x1b" not in value and len(value) <= 260
    assert identity["system"] == "unknown"


def test_bypass_forbidden_blocks_with_exit_2(tmp_path: Path, clock: FakeClock) -> None:
    env = make_env(tmp_path, allow_bypass=False)
    report = apply_bypass(env, IMAGES, {**GITHUB, BYPASS_VARIABLE: "true"}, clock=clock)
    assert report is not None
    assert (report.decision, report.exit_code) == ("bypass-forbidden", ExitCode.DEPLOY_BLOCKED)
    assert report.message.startswith("bypass forbidden for production env app-eu2")
    record = json.loads((tmp_path / "audit.jsonl").read_text())
    assert record["event"] == "bypass-refused"
    assert "REFUSED" in report.warnings[0]


def test_allowed_bypass_fails_closed_when_audit_log_unwritable(
    tmp_path: Path, clock: FakeClock
) -> None:
    (tmp_path / "audit.jsonl").mkdir()  # a directory where the log file should be
    with pytest.raises(ConfigError, match="cannot append to audit log"):
        apply_bypass(make_env(tmp_path), IMAGES, {BYPASS_VARIABLE: "true"}, clock=clock)
    refused = apply_bypass(
        make_env(tmp_path, allow_bypass=False), IMAGES, {BYPASS_VARIABLE: "true"}
    )
    assert refused is not None and refused.exit_code == 2
    assert any("cannot append to audit log" in w for w in refused.warnings)


def test_reminders_per_environment_until_reverified(tmp_path: Path, clock: FakeClock) -> None:
    env = make_env(tmp_path)
    log = tmp_path / "audit.jsonl"
    assert bypass_reminders(log, "app-eu2") == ()
    assert bypass_reminders(None, "app-eu2") == ()
    apply_bypass(env, IMAGES, {**AZURE, BYPASS_VARIABLE: "true"}, clock=clock)
    with log.open("a") as handle:
        handle.write("{torn line\n[1, 2]\n")
    (reminder,) = bypass_reminders(log, "app-eu2")
    assert "2025-03-01T12:00:00Z" in reminder and "Jane Doe" in reminder
    assert bypass_reminders(log, "staging2") == ()

    verifier = FakeVerifier(
        tags={"ghcr.io/acme/api:1.0": digest(1), "ghcr.io/acme/web:2.0": digest(2)}
    )
    clock.advance(60)
    report = run_gate(env, IMAGES, verifier, clock=clock)
    record_reverified(log, report, clock=clock)
    assert bypass_reminders(log, "app-eu2") == ()
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["event"] == "reverified" and last["time"] == "2025-03-01T12:01:00Z"
    assert last["images"] == [
        f"ghcr.io/acme/api:1.0@{digest(1)}",
        f"ghcr.io/acme/web:2.0@{digest(2)}",
    ]


def test_record_reverified_ignores_failed_runs(tmp_path: Path) -> None:
    verifier = FakeVerifier()  # nothing resolves: not-found
    report = run_gate(make_env(tmp_path), IMAGES, verifier)
    record_reverified(tmp_path / "audit.jsonl", report)
    assert not (tmp_path / "audit.jsonl").exists()


def test_audit_log_reader_skips_hostile_lines(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    bypass = {"event": "bypass", "environment": "app-eu2", "time": "T"}
    log.write_text("[" * 100_000 + "\n" + json.dumps(bypass) + '\n"text"\n')
    assert read_audit_records(log) == [bypass]
    assert read_audit_records(None) == [] and read_audit_records(tmp_path / "none") == []

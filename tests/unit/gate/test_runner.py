"""run_gate / evaluate_gate: verdicts, exit decisions, dedupe, concurrency, fail-closed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sealgate import errors
from sealgate.errors import ConfigError, ExitCode, KeyMaterialError, UsageError
from sealgate.gate import (
    AuditAppend,
    GateReport,
    ImageResult,
    Verdict,
    VerdictCache,
    evaluate_gate,
    read_audit_records,
    reason_for,
    run_gate,
    write_audit_records,
)
from tests.unit.gate.fakes import FakeClock, FakeVerifier, digest, make_env, spec

API = "ghcr.io/acme/api:1.0"
WEB = "ghcr.io/acme/web:2.0"


def tagged(verifier: FakeVerifier, *texts: str) -> None:
    for n, text in enumerate(texts, start=1):
        verifier.tags[text] = digest(n)


def test_all_verified_exits_0(tmp_path: Path, verifier: FakeVerifier, clock: FakeClock) -> None:
    tagged(verifier, API, WEB)
    report = run_gate(make_env(tmp_path), [spec(API), spec(WEB)], verifier, clock=clock)
    assert (report.decision, report.exit_code) == ("verified", ExitCode.OK)
    assert [r.verdict.digest for r in report.results] == [digest(1), digest(2)]
    assert [str(r.pinned) for r in report.results] == [f"{API}@{digest(1)}", f"{WEB}@{digest(2)}"]
    assert report.message == "all 2 images verified"
    assert report.allowed and report.failures == ()


def test_failure_blocks_hard_env_with_exit_2(tmp_path: Path, verifier: FakeVerifier) -> None:
    tagged(verifier, API, WEB)
    verifier.outcomes[f"ghcr.io/acme/web@{digest(2)}"] = errors.NoSignaturesFound("no signatures")
    report = run_gate(make_env(tmp_path), [spec(API), spec(WEB)], verifier)
    assert (report.decision, report.exit_code) == ("blocked", ExitCode.DEPLOY_BLOCKED)
    (failure,) = report.failures
    assert (failure.verdict.reason, failure.verdict.digest) == ("unsigned", digest(2))
    assert "deploy to app-eu2 blocked" in report.message


def test_failure_in_soft_fail_env_exits_0(tmp_path: Path, verifier: FakeVerifier) -> None:
    tagged(verifier, API)
    verifier.outcomes[f"ghcr.io/acme/api@{digest(1)}"] = Verdict.failed(
        "wrong-key", "signed by someone else"
    )
    env = make_env(tmp_path, name="staging2", tier="staging", soft_fail=True)
    report = run_gate(env, [spec(API)], verifier)
    assert (report.decision, report.exit_code) == ("soft-fail", ExitCode.OK)
    assert report.failures[0].verdict.reason == "wrong-key"
    assert "softFail" in report.message


def test_unreachable_registry_is_a_failure(tmp_path: Path, verifier: FakeVerifier) -> None:
    tagged(verifier, WEB)
    verifier.resolve_errors[API] = errors.RegistryUnreachable("ghcr.io: connection refused")
    verifier.outcomes[f"ghcr.io/acme/web@{digest(1)}"] = errors.RegistryUnreachable("timeout")
    report = run_gate(make_env(tmp_path), [spec(API), spec(WEB)], verifier)
    assert [(r.verdict.status, r.verdict.reason) for r in report.results] == [
        ("failed", "unreachable"),
        ("failed", "unreachable"),
    ]
    assert report.results[0].verdict.digest is None and report.results[0].pinned is None
    assert report.exit_code == ExitCode.DEPLOY_BLOCKED


def test_missing_tag_is_not_found(tmp_path: Path, verifier: FakeVerifier) -> None:
    report = run_gate(make_env(tmp_path), [spec(API)], verifier)
    assert report.results[0].verdict.reason == "not-found"


@pytest.mark.parametrize("soft_fail", [False, True])
def test_exception_in_verifier_is_internal_and_never_allows(
    tmp_path: Path, verifier: FakeVerifier, soft_fail: bool
) -> None:
    tagged(verifier, API)
    verifier.outcomes[f"ghcr.io/acme/api@{digest(1)}"] = RuntimeError("boom")
    report = run_gate(make_env(tmp_path, soft_fail=soft_fail), [spec(API)], verifier)
    verdict = report.results[0].verdict
    assert (verdict.status, verdict.reason) == ("failed", "internal")
    assert "RuntimeError" in verdict.message and "bug" in verdict.message
    # The exception's own text may quote URLs or headers: never copied into reports.
    assert "boom" not in verdict.message
    assert report.exit_code == ExitCode.DEPLOY_BLOCKED
    if soft_fail:
        assert "internal errors block even softFail" in report.message


def test_exception_in_resolver_is_internal(tmp_path: Path, verifier: FakeVerifier) -> None:
    verifier.resolve_errors[API] = KeyError("oops")
    report = run_gate(make_env(tmp_path), [spec(API)], verifier)
    assert report.results[0].verdict.reason == "internal"


def test_verifier_lies_are_internal(tmp_path: Path, verifier: FakeVerifier) -> None:
    tagged(verifier, API, WEB)
    verifier.outcomes[f"ghcr.io/acme/api@{digest(1)}"] = Verdict.verified(digest(99))
    verifier.outcomes[f"ghcr.io/acme/web@{digest(2)}"] = lambda ref: "yes"  # type: ignore[assignment,return-value]
    report = run_gate(make_env(tmp_path), [spec(API), spec(WEB)], verifier)
    assert [r.verdict.reason for r in report.results] == ["internal", "internal"]


def test_resolver_returning_garbage_is_internal(tmp_path: Path, verifier: FakeVerifier) -> None:
    verifier.tags[API] = "latest"
    report = run_gate(make_env(tmp_path), [spec(API)], verifier)
    assert report.results[0].verdict.reason == "internal"


def test_caller_errors_propagate(tmp_path: Path, verifier: FakeVerifier) -> None:
    tagged(verifier, API)
    verifier.outcomes[f"ghcr.io/acme/api@{digest(1)}"] = KeyMaterialError(
        "cosign.pub: no such file"
    )
    with pytest.raises(KeyMaterialError):
        run_gate(make_env(tmp_path), [spec(API)], verifier)


def test_no_images_and_bad_concurrency(tmp_path: Path, verifier: FakeVerifier) -> None:
    with pytest.raises(ConfigError, match="no images to verify"):
        run_gate(make_env(tmp_path), [], verifier)
    with pytest.raises(UsageError):
        run_gate(make_env(tmp_path), [spec(API)], verifier, concurrency=0)


def test_tags_resolved_once_and_digests_verified_once(
    tmp_path: Path, verifier: FakeVerifier
) -> None:
    # Two tags of one repository pointing at the same digest, one listed twice, one digest ref.
    verifier.tags[API] = digest(7)
    verifier.tags["ghcr.io/acme/api:latest"] = digest(7)
    pinned = f"ghcr.io/acme/api@{digest(7)}"
    images = [spec(API), spec(API, line=9), spec("ghcr.io/acme/api:latest"), spec(pinned)]
    report = run_gate(make_env(tmp_path), images, verifier, concurrency=4)
    assert sorted(verifier.resolve_calls) == [API, "ghcr.io/acme/api:latest"]
    assert verifier.verify_calls == [f"ghcr.io/acme/api@{digest(7)}"]
    assert len(report.results) == 3
    assert [len(r.image.sources) for r in report.results] == [2, 1, 1]
    assert all(r.verdict.ok for r in report.results)


def test_same_digest_in_other_repository_is_verified_separately(
    tmp_path: Path, verifier: FakeVerifier
) -> None:
    verifier.tags[API] = digest(1)
    verifier.tags["ghcr.io/other/api:1.0"] = digest(1)
    run_gate(make_env(tmp_path), [spec(API), spec("ghcr.io/other/api:1.0")], verifier)
    assert sorted(verifier.verify_calls) == [
        f"ghcr.io/acme/api@{digest(1)}",
        f"ghcr.io/other/api@{digest(1)}",
    ]


def test_bounded_concurrency_and_progress(tmp_path: Path) -> None:
    verifier = FakeVerifier(delay=0.02)
    texts = [f"ghcr.io/acme/svc{i}:1" for i in range(12)]
    tagged(verifier, *texts)
    seen: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, result: ImageResult) -> None:
        seen.append((done, total, result.image.text))

    report = run_gate(
        make_env(tmp_path), [spec(t) for t in texts], verifier, concurrency=3, progress=progress
    )
    assert 1 < verifier.max_active <= 3
    assert [d for d, _, _ in seen] == list(range(1, 13))
    assert {t for _, t, _ in seen} == {12}
    assert sorted(x for _, _, x in seen) == sorted(texts)
    assert [r.image.text for r in report.results] == texts  # input order, not completion order


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (errors.NoSignaturesFound("x"), "unsigned"),
        (errors.SignatureInvalid("x"), "wrong-key"),
        (errors.NoMatchingSignatures("x"), "wrong-key"),
        (errors.NoMatchingSignatures("x", [errors.DigestMismatch("d")]), "digest-mismatch"),
        (errors.DigestMismatch("x"), "digest-mismatch"),
        (errors.AttestationMissing("x"), "attestation-missing"),
        (errors.ImageNotFound("x"), "not-found"),
        (errors.RegistryUnreachable("x"), "unreachable"),
        (errors.RegistryError("x", status=500), "unreachable"),
        (errors.CheckFailed("x"), "unreachable"),
        (errors.MalformedData("x"), "malformed"),
        (errors.LimitExceeded("x"), "malformed"),
        (errors.IntegrityError("x"), "malformed"),
        (errors.VerificationFailed("x"), "wrong-key"),
        (ValueError("x"), "internal"),
    ],
)
def test_reason_mapping(error: BaseException, reason: str) -> None:
    assert reason_for(error) == reason
    assert Verdict.from_error(error).reason == reason


def test_cache_skips_verification_on_second_run(
    tmp_path: Path, verifier: FakeVerifier, clock: FakeClock
) -> None:
    tagged(verifier, API)
    env = make_env(tmp_path)
    for _ in range(2):
        cache = VerdictCache(tmp_path / "cache", ttl_s=3600, clock=clock, secret=b"k" * 32)
        report = run_gate(env, [spec(API)], verifier, cache=cache, clock=clock)
        assert report.exit_code == 0
    assert verifier.resolve_calls == [API, API]  # tags are re-resolved every run
    assert len(verifier.verify_calls) == 1
    assert report.results[0].verdict.cached


def test_failures_are_not_cached(tmp_path: Path, verifier: FakeVerifier, clock: FakeClock) -> None:
    tagged(verifier, API)
    verifier.outcomes[f"ghcr.io/acme/api@{digest(1)}"] = errors.NoSignaturesFound("none")
    for _ in range(2):
        cache = VerdictCache(tmp_path / "cache", ttl_s=3600, clock=clock, secret=b"k" * 32)
        run_gate(make_env(tmp_path), [spec(API)], verifier, cache=cache, clock=clock)
    assert len(verifier.verify_calls) == 2
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


# --- evaluate_gate: bypass integration ------------------------------------------------------


def test_evaluate_gate_bypass_skips_verification(
    tmp_path: Path, verifier: FakeVerifier, clock: FakeClock
) -> None:
    env = make_env(tmp_path)
    report = evaluate_gate(
        env, [spec(API)], verifier, environ={"COSIGN_VERIFY_DISABLED": "true"}, clock=clock
    ).report
    assert (report.decision, report.exit_code) == ("bypassed", 0)
    assert verifier.resolve_calls == [] and verifier.verify_calls == []


def test_evaluate_gate_reminds_until_reverified(
    tmp_path: Path, verifier: FakeVerifier, clock: FakeClock
) -> None:
    env = make_env(tmp_path)
    tagged(verifier, API)

    def gate(environ: dict[str, str]) -> GateReport:
        # What the CLI does around the decision: read the audit log, append what is asked.
        records = read_audit_records(env.audit_log)
        outcome = evaluate_gate(
            env, [spec(API)], verifier, environ=environ, audit_records=records, clock=clock
        )
        return write_audit_records(env.audit_log, outcome)

    gate({"COSIGN_VERIFY_DISABLED": "1"})

    verifier.outcomes[f"ghcr.io/acme/api@{digest(1)}"] = errors.NoSignaturesFound("hotfix unsigned")
    failed = gate({})
    assert failed.exit_code == 2
    assert any("has not been re-verified yet" in w for w in failed.warnings)

    verifier.outcomes.clear()
    passed = gate({})
    assert passed.exit_code == 0
    assert any("has not been re-verified yet" in w for w in passed.warnings)

    quiet = gate({})
    assert quiet.warnings == ()


def test_evaluate_gate_warns_on_unrecognised_bypass_value(
    tmp_path: Path, verifier: FakeVerifier
) -> None:
    tagged(verifier, API)
    report = evaluate_gate(
        make_env(tmp_path), [spec(API)], verifier, environ={"COSIGN_VERIFY_DISABLED": "please"}
    ).report
    assert report.decision == "verified"
    assert report.warnings == (
        "COSIGN_VERIFY_DISABLED='please' is not a boolean; verification runs",
    )


def test_corrupt_cache_entry_is_a_miss_not_a_crash(
    tmp_path: Path, verifier: FakeVerifier, clock: FakeClock
) -> None:
    tagged(verifier, API)
    env = make_env(tmp_path)
    cache = VerdictCache(tmp_path / "cache", ttl_s=3600, clock=clock, secret=b"k" * 32)
    run_gate(env, [spec(API)], verifier, cache=cache, clock=clock)
    (entry,) = (tmp_path / "cache").iterdir()
    entry.write_bytes(b"[" * 50_000)  # under the size cap, deeper than json recurses
    report = run_gate(env, [spec(API)], verifier, cache=cache, clock=clock)
    assert (report.decision, report.exit_code) == ("verified", ExitCode.OK)
    assert not report.results[0].verdict.cached and len(verifier.verify_calls) == 2
    assert any("corrupt" in w for w in report.warnings)


def test_evaluate_gate_decides_without_touching_the_audit_log(
    tmp_path: Path, verifier: FakeVerifier, clock: FakeClock
) -> None:
    # The log's directory is a file: any read or write there would fail or raise.
    (tmp_path / "blocker").write_text("")
    env = dataclasses.replace(make_env(tmp_path), audit_log=tmp_path / "blocker" / "audit.jsonl")
    bypass = evaluate_gate(env, [spec(API)], verifier, environ={"COSIGN_VERIFY_DISABLED": "1"})
    assert bypass.report.decision == "bypassed"
    assert bypass.audit == (AuditAppend(bypass.report.bypass or {}, required=True),)
    with pytest.raises(ConfigError, match="cannot append to audit log"):
        write_audit_records(env.audit_log, bypass)

    refused = evaluate_gate(
        dataclasses.replace(env, allow_bypass=False),
        [spec(API)],
        verifier,
        environ={"COSIGN_VERIFY_DISABLED": "1"},
    )
    assert [a.required for a in refused.audit] == [False]
    report = write_audit_records(env.audit_log, refused)
    assert report.exit_code == 2 and "cannot append to audit log" in report.warnings[-1]

    tagged(verifier, API)
    pending = [{"event": "bypass", "environment": env.name, "time": "T"}]
    verified = evaluate_gate(env, [spec(API)], verifier, environ={}, audit_records=pending)
    ((append,),) = (verified.audit,)
    assert append.record["event"] == "reverified" and append.required
    assert evaluate_gate(env, [spec(API)], verifier, environ={}).audit == ()

"""Verify every image of an environment in parallel and decide: allow, warn, or block.

The gate does no registry I/O itself. It drives an injected :class:`ImageVerifier`:

1. ``resolve(ref)`` turns each distinct tag into a digest, on every run (tags move). A
   reference that already carries a digest is not resolved: the digest is what runs.
2. ``verify(pinned)`` checks one ``registry/repository@digest`` against the environment's
   policies (the one policy engine, :mod:`sealgate.policy`). It is called once per distinct
   ``(repository, digest)``, however many references point at it, and skipped when the
   cache holds a successful verdict.
3. ``fingerprint()`` keys the cache: a verdict is reused only under the same policies.

Failure handling (never an allow on an exception):

* a :class:`~sealgate.errors.SealgateError` from ``resolve``/``verify`` becomes a failed
  verdict with its reason class (``unsigned``, ``wrong-key``, ``unreachable``...);
* any other exception is a bug: a failed verdict with reason ``internal``, which blocks even
  on a softFail environment;
* caller mistakes (:data:`~sealgate.gate.model.CALLER_ERRORS`: usage, config, input/key
  errors) are not verdicts: they propagate so the CLI exits 64/78/65.

Exit decision: all verified -> 0; failures on a softFail environment (and none ``internal``)
-> 0, decision ``soft-fail`` (renderers show each failure as a warning); otherwise -> 2.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Protocol

from sealgate.errors import ConfigError, ExitCode, UsageError
from sealgate.gate.bypass import (
    bypass_requested,
    decide_bypass,
    pending_bypass_reminders,
    reverified_record,
)
from sealgate.gate.cache import VerdictCache
from sealgate.gate.config import EnvironmentConfig
from sealgate.gate.model import (
    CALLER_ERRORS,
    AuditAppend,
    Clock,
    Decision,
    GateOutcome,
    GateReport,
    ImageResult,
    ImageSpec,
    Verdict,
    utc_now,
)
from sealgate.gate.sources import dedupe
from sealgate.oci.reference import Reference

__all__ = ["ImageVerifier", "ProgressCallback", "evaluate_gate", "run_gate"]

#: ``progress(done, total, result)``; always called from the thread that called run_gate.
ProgressCallback = Callable[[int, int, ImageResult], None]


class ImageVerifier(Protocol):
    """What the gate needs from the registry side. The lead's implementation wraps the
    registry client and the verification workflow; tests use in-memory fakes.

    Every method may raise :class:`~sealgate.errors.SealgateError`; it must be thread-safe.
    """

    def resolve(self, ref: Reference) -> str:
        """Return the current manifest digest (``sha256:...``) of a tagged reference."""
        ...

    def verify(self, ref: Reference) -> Verdict:
        """Verify ``ref`` (always pinned: ``ref.digest`` is set) against the run's policies.

        Return ``Verdict.verified(ref.digest)`` or a failed verdict, or raise a
        ``SealgateError`` (mapped to its reason class).
        """
        ...

    def fingerprint(self) -> str:
        """A fingerprint of everything that decides a verdict (the verdict cache's key).

        Raises:
            SealgateError: The policies cannot be loaded (a key file, a policy file).
        """
        ...


class _SingleFlight:
    """At most one verification per key; concurrent callers wait for the first one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], Future[Verdict]] = {}

    def run(self, key: tuple[str, str], compute: Callable[[], Verdict]) -> Verdict:
        with self._lock:
            future = self._calls.get(key)
            owner = future is None
            if future is None:
                future = self._calls[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as err:
                future.set_exception(err)
                raise
        return future.result()


class _Run:
    """State of one gate run shared by the worker threads."""

    def __init__(
        self,
        env: EnvironmentConfig,
        verifier: ImageVerifier,
        cache: VerdictCache | None,
        fingerprint: str | None,
    ) -> None:
        self.env = env
        self.verifier = verifier
        self.cache = cache
        self.fingerprint = fingerprint
        self.flight = _SingleFlight()

    def check(self, image: ImageSpec) -> ImageResult:
        ref = image.ref
        digest = ref.digest
        if digest is None:
            try:
                digest = self.verifier.resolve(ref)
            except CALLER_ERRORS:
                raise
            except Exception as err:  # every failure is a verdict, never an allow
                return ImageResult(image, Verdict.from_error(err))
        try:
            pinned = ref.with_digest(digest)
        except (UsageError, TypeError):
            return ImageResult(image, Verdict.failed("internal", f"resolver returned {digest!r}"))
        verdict = self.flight.run((pinned.name, digest), lambda: self.verify(pinned, digest))
        return ImageResult(image, verdict)

    def verify(self, pinned: Reference, digest: str) -> Verdict:
        if self.cache is not None and self.fingerprint is not None:
            hit = self.cache.get(pinned.name, digest, self.fingerprint)
            if hit is not None:
                return hit
        try:
            verdict = self.verifier.verify(pinned)
        except CALLER_ERRORS:
            raise
        except Exception as err:  # every failure is a verdict, never an allow
            return Verdict.from_error(err, digest)
        if not isinstance(verdict, Verdict):
            return Verdict.failed("internal", f"verifier returned {type(verdict).__name__}", digest)
        if verdict.ok and verdict.digest != digest:
            return Verdict.failed(
                "internal", f"verifier verified {verdict.digest!r}, not {digest!r}", digest
            )
        if verdict.digest is None:
            verdict = dataclasses.replace(verdict, digest=digest)
        if verdict.ok and self.cache is not None and self.fingerprint is not None:
            self.cache.put(pinned.name, digest, self.fingerprint, verdict)
        return verdict


def _decide(env: EnvironmentConfig, results: Sequence[ImageResult]) -> tuple[Decision, int, str]:
    failures = [r for r in results if not r.verdict.ok]
    if not failures:
        return "verified", ExitCode.OK, f"all {len(results)} images verified"
    internal = any(r.verdict.reason == "internal" for r in failures)
    summary = f"{len(failures)} of {len(results)} images failed verification"
    if env.soft_fail and not internal:
        return "soft-fail", ExitCode.OK, f"{summary}; allowed: {env.name} is a softFail environment"
    why = " (internal errors block even softFail environments)" if env.soft_fail else ""
    return "blocked", ExitCode.DEPLOY_BLOCKED, f"{summary}; deploy to {env.name} blocked{why}"


def run_gate(
    env: EnvironmentConfig,
    images: Sequence[ImageSpec],
    verifier: ImageVerifier,
    *,
    concurrency: int = 16,
    cache: VerdictCache | None = None,
    clock: Clock = utc_now,
    progress: ProgressCallback | None = None,
    warnings: Sequence[str] = (),
) -> GateReport:
    """Verify ``images`` for ``env`` and decide (no bypass handling: see :func:`evaluate_gate`).

    Args:
        env: The environment (policy, softFail, tier).
        images: The images to check; duplicates are merged.
        verifier: The registry-side implementation.
        concurrency: Worker threads (bounded).
        cache: Successful-verdict cache, or None.
        clock: Injected time source.
        progress: Called after each image, in the caller's thread.
        warnings: Extra warnings to carry into the report (bypass reminders...).

    Returns:
        The report; ``exit_code`` is 0 or 2.

    Raises:
        ConfigError: no images to verify (a gate that checks nothing must not pass).
        UsageError: ``concurrency`` is not positive.
        SealgateError: caller errors raised by the verifier (bad key file...).
    """
    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, not {concurrency}")
    unique = dedupe(images)
    if not unique:
        raise ConfigError(f"environment {env.name}: no images to verify")
    started = clock()
    fingerprint = None
    if cache is not None:
        fingerprint = verifier.fingerprint()
    run = _Run(env, verifier, cache, fingerprint)
    results: dict[int, ImageResult] = {}
    with ThreadPoolExecutor(
        max_workers=min(concurrency, len(unique)), thread_name_prefix="gate"
    ) as pool:
        pending = {pool.submit(run.check, image): i for i, image in enumerate(unique)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                index = pending.pop(future)
                try:
                    results[index] = future.result()
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                if progress is not None:
                    progress(len(results), len(unique), results[index])
    ordered = tuple(results[i] for i in range(len(unique)))
    decision, code, message = _decide(env, ordered)
    extra = cache.warnings if cache is not None else ()
    return GateReport(
        environment=env.name,
        tier=env.tier,
        soft_fail=env.soft_fail,
        decision=decision,
        exit_code=code,
        results=ordered,
        started_at=started,
        finished_at=clock(),
        message=message,
        warnings=(*warnings, *extra),
    )


def evaluate_gate(
    env: EnvironmentConfig,
    images: Sequence[ImageSpec],
    verifier: ImageVerifier,
    *,
    environ: Mapping[str, str],
    audit_records: Sequence[Mapping[str, object]] = (),
    concurrency: int = 16,
    cache: VerdictCache | None = None,
    clock: Clock = utc_now,
    progress: ProgressCallback | None = None,
) -> GateOutcome:
    """The whole gate as the CLI runs it: bypass check, verification, bypass bookkeeping.

    Decides only: no file is read or written here. The caller reads the audit log
    (:func:`~sealgate.gate.read_audit_records`) and appends what the outcome asks for
    (:func:`~sealgate.gate.write_audit_records`) before rendering the report.

    With ``COSIGN_VERIFY_DISABLED`` truthy in ``environ`` the report is the bypass report
    (nothing is resolved or verified) and the bypass record must be appended. Otherwise it
    verifies, carrying a reminder of any bypass still unconfirmed in ``audit_records``, and
    asks for a ``reverified`` record when such a bypass exists and every image passed.

    Args:
        env: The environment.
        images: The images to check.
        verifier: The registry-side implementation.
        environ: The process environment (only read here, never ``os.environ``).
        audit_records: The audit log's records, oldest first ([] without a log).
        concurrency: Worker threads.
        cache: Successful-verdict cache, or None.
        clock: Injected time source.
        progress: Per-image progress callback.

    Returns:
        The report (its ``exit_code`` is the process exit code) and the audit records to
        append.

    Raises:
        ConfigError: no images.
        SealgateError: caller errors raised by the verifier.
    """
    bypassed = decide_bypass(env, images, environ, clock=clock)
    if bypassed is not None and bypassed.bypass is not None:
        required = bypassed.decision == "bypassed"  # a refused bypass is blocked anyway
        return GateOutcome(bypassed, (AuditAppend(bypassed.bypass, required=required),))
    _, variable_warning = bypass_requested(environ)
    reminders = pending_bypass_reminders(audit_records, env.name)
    notes = ([variable_warning] if variable_warning else []) + list(reminders)
    report = run_gate(
        env,
        images,
        verifier,
        concurrency=concurrency,
        cache=cache,
        clock=clock,
        progress=progress,
        warnings=notes,
    )
    record = reverified_record(report, clock=clock) if reminders else None
    return GateOutcome(report, (AuditAppend(record),) if record is not None else ())

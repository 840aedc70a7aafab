"""The audit log file: read its records, append new ones (the I/O edge of the bypass).

:func:`~sealgate.gate.evaluate_gate` decides without touching files: it takes the records
:func:`read_audit_records` returned and hands back the records to append, which
:func:`write_audit_records` writes. The log is JSON Lines, one record per ``write`` on an
``O_APPEND`` descriptor, so concurrent pipelines interleave whole lines. Only the last
4 MiB are read; a torn first line after seeking, or a foreign line, is skipped.

:func:`apply_bypass`, :func:`bypass_reminders` and :func:`record_reverified` combine the
pure decisions of :mod:`sealgate.gate.bypass` with this file I/O for callers that want both.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from sealgate.errors import ConfigError
from sealgate.gate.bypass import decide_bypass, pending_bypass_reminders, reverified_record
from sealgate.gate.config import EnvironmentConfig
from sealgate.gate.model import AuditAppend, Clock, GateOutcome, GateReport, ImageSpec, utc_now

__all__ = [
    "append_audit_record",
    "apply_bypass",
    "bypass_reminders",
    "read_audit_records",
    "record_reverified",
    "write_audit_records",
]

_MAX_AUDIT_READ = 4 * 1024 * 1024


def append_audit_record(path: Path | None, record: Mapping[str, object]) -> None:
    """Append ``record`` as one JSON line (one ``write`` on an ``O_APPEND`` descriptor).

    Raises:
        ConfigError: the audit log cannot be written.
    """
    if path is None:
        return
    line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        raise ConfigError(f"cannot append to audit log {path}: {err.strerror or err}") from err


def read_audit_records(path: Path | None) -> list[dict[str, object]]:
    """The records of the audit log's last 4 MiB, oldest first; [] when absent or unreadable."""
    if path is None:
        return []
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _MAX_AUDIT_READ))
            raw = handle.read()
    except OSError:
        return []
    records = []
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue  # a torn first line after seeking, or a foreign line
        if isinstance(record, dict):
            records.append(record)
    return records


def write_audit_records(path: Path | None, outcome: GateOutcome) -> GateReport:
    """Append the records ``outcome`` asks for and return the report to render.

    Raises:
        ConfigError: a required record (an honoured bypass, a re-verification) cannot be
            written. An optional one (a refused bypass) becomes a warning of the report.
    """
    report = outcome.report
    for append in outcome.audit:
        try:
            append_audit_record(path, append.record)
        except ConfigError as err:
            if append.required:
                raise
            report = dataclasses.replace(report, warnings=(*report.warnings, str(err)))
    return report


def apply_bypass(
    env: EnvironmentConfig,
    images: Sequence[ImageSpec],
    environ: Mapping[str, str],
    *,
    clock: Clock = utc_now,
) -> GateReport | None:
    """:func:`~sealgate.gate.bypass.decide_bypass`, then append its record to the audit log.

    Raises:
        ConfigError: an allowed bypass whose audit record cannot be written.
    """
    report = decide_bypass(env, images, environ, clock=clock)
    if report is None or report.bypass is None:
        return report
    required = report.decision == "bypassed"
    outcome = GateOutcome(report, (AuditAppend(report.bypass, required=required),))
    return write_audit_records(env.audit_log, outcome)


def bypass_reminders(audit_log: Path | None, environment: str) -> tuple[str, ...]:
    """Reminders for an unconfirmed bypass of ``environment`` found in ``audit_log``."""
    if audit_log is None:
        return ()
    return pending_bypass_reminders(read_audit_records(audit_log), environment)


def record_reverified(
    audit_log: Path | None, report: GateReport, *, clock: Clock = utc_now
) -> None:
    """Append the ``reverified`` record that ends the reminders (only for verified runs).

    Raises:
        ConfigError: the audit log cannot be written.
    """
    record = reverified_record(report, clock=clock)
    if record is not None:
        append_audit_record(audit_log, record)

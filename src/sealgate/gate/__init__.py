"""sealgate.gate: the CI deploy gate (public API; the CLI calls only what is listed here).

Typical flow (what ``sealgate gate`` does)::

    config = load_config("sealgate.yaml")
    env = config.environment("app-eu2")                  # ConfigError lists known envs
    images = environment_images(env)                     # or collect_images([...], rules=...)
    cache = VerdictCache.from_settings(config.cache)
    outcome = evaluate_gate(env, images, verifier, environ=os.environ,
                            audit_records=read_audit_records(env.audit_log),
                            concurrency=config.concurrency, cache=cache)
    report = write_audit_records(env.audit_log, outcome)  # ConfigError if a bypass cannot
    render_table(report, console); print(render_json(report)) ...   # sealgate.cli.terminal,
    return report.exit_code                              # sealgate.reports; 0 ok, 2 blocked

``verifier`` implements :class:`ImageVerifier` (``resolve``, ``verify``, ``fingerprint``)
over the policy set :func:`environment_policy_set` builds (the config's keys, or policy
files); the gate never talks to a registry itself. YAML reading and the
workload walker are :mod:`sealgate.documents`; cache storage is :mod:`sealgate.cache`;
renderers are :mod:`sealgate.reports`; CI templates are :mod:`sealgate.ci`.
"""

from sealgate.gate.audit_log import (
    append_audit_record,
    apply_bypass,
    bypass_reminders,
    read_audit_records,
    record_reverified,
    write_audit_records,
)
from sealgate.gate.bypass import (
    BYPASS_VARIABLE,
    CI_IDENTITY_VARIABLES,
    bypass_banner,
    bypass_record,
    bypass_requested,
    ci_identity,
    decide_bypass,
    pending_bypass_reminders,
    reverified_record,
)
from sealgate.gate.cache import VerdictCache
from sealgate.gate.config import (
    AttestationSpec,
    CacheSettings,
    EnvironmentConfig,
    GateConfig,
    ImageRules,
    Tier,
    TrustSection,
    config_schema,
    load_config,
)
from sealgate.gate.model import (
    REASON_CLASSES,
    VERIFICATION_FAILURE_REASONS,
    AuditAppend,
    Clock,
    Decision,
    DeployBlocked,
    GateOutcome,
    GateReport,
    ImageResult,
    ImageSpec,
    ReasonClass,
    SourceLocation,
    Verdict,
    reason_for,
    utc_now,
)
from sealgate.gate.postrender import load_pins, postrender
from sealgate.gate.runner import ImageVerifier, ProgressCallback, evaluate_gate, run_gate
from sealgate.gate.sources import (
    SourceFormat,
    collect_images,
    dedupe,
    environment_images,
    has_registry_host,
    images_from_text,
    normalise_reference,
)
from sealgate.gate.trust import (
    environment_policy_set,
    trust_policy,
    trust_policy_set,
    verdict_for,
)

__all__ = [
    "BYPASS_VARIABLE",
    "CI_IDENTITY_VARIABLES",
    "REASON_CLASSES",
    "VERIFICATION_FAILURE_REASONS",
    "AttestationSpec",
    "AuditAppend",
    "CacheSettings",
    "Clock",
    "Decision",
    "DeployBlocked",
    "EnvironmentConfig",
    "GateConfig",
    "GateOutcome",
    "GateReport",
    "ImageResult",
    "ImageRules",
    "ImageSpec",
    "ImageVerifier",
    "ProgressCallback",
    "ReasonClass",
    "SourceFormat",
    "SourceLocation",
    "Tier",
    "TrustSection",
    "Verdict",
    "VerdictCache",
    "append_audit_record",
    "apply_bypass",
    "bypass_banner",
    "bypass_record",
    "bypass_reminders",
    "bypass_requested",
    "ci_identity",
    "collect_images",
    "config_schema",
    "decide_bypass",
    "dedupe",
    "environment_images",
    "environment_policy_set",
    "evaluate_gate",
    "has_registry_host",
    "images_from_text",
    "load_config",
    "load_pins",
    "normalise_reference",
    "pending_bypass_reminders",
    "postrender",
    "read_audit_records",
    "reason_for",
    "record_reverified",
    "reverified_record",
    "run_gate",
    "trust_policy",
    "trust_policy_set",
    "utc_now",
    "verdict_for",
    "write_audit_records",
]

"""sealgate.gate: the CI deploy gate (public API; the CLI calls only what is listed here).

Typical flow (what ``sealgate gate`` does)::

    config = load_config("sealgate.yaml")
    env = config.environment("app-eu2")                  # ConfigError lists known envs
    images = environment_images(env)                     # or collect_images([...], rules=...)
    cache = VerdictCache.from_settings(config.cache)
    report = evaluate_gate(env, images, verifier, environ=os.environ,
                           concurrency=config.concurrency, cache=cache)
    render_table(report, console); print(render_json(report)) ...
    return report.exit_code                              # 0 allowed, 2 deploy blocked

``verifier`` implements :class:`ImageVerifier` (``resolve``, ``verify``,
``public_key_pem``); the gate never talks to a registry itself.
"""

from sealgate.gate.bypass import (
    BYPASS_VARIABLE,
    CI_IDENTITY_VARIABLES,
    append_audit_record,
    apply_bypass,
    bypass_banner,
    bypass_record,
    bypass_reminders,
    bypass_requested,
    ci_identity,
    record_reverified,
)
from sealgate.gate.cache import VerdictCache, policy_fingerprint
from sealgate.gate.ci_templates import CI_SYSTEMS, GATE_FLAGS, PARTS, CISystem, Part, generate
from sealgate.gate.config import (
    AttestationRequirement,
    CacheSettings,
    EnvironmentConfig,
    GateConfig,
    ImageRules,
    Policy,
    Tier,
    config_schema,
    load_config,
)
from sealgate.gate.model import (
    REASON_CLASSES,
    Clock,
    Decision,
    DeployBlocked,
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
from sealgate.gate.reports import (
    REPORT_JSON_SCHEMA,
    REPORT_SCHEMA_VERSION,
    pin_map,
    render_json,
    render_junit,
    render_markdown,
    render_pins,
    render_vso,
    report_to_dict,
    vso_escape,
)
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
from sealgate.gate.terminal import progress_display, render_table

__all__ = [
    "BYPASS_VARIABLE",
    "CI_IDENTITY_VARIABLES",
    "CI_SYSTEMS",
    "GATE_FLAGS",
    "PARTS",
    "REASON_CLASSES",
    "REPORT_JSON_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "AttestationRequirement",
    "CISystem",
    "CacheSettings",
    "Clock",
    "Decision",
    "DeployBlocked",
    "EnvironmentConfig",
    "GateConfig",
    "GateReport",
    "ImageResult",
    "ImageRules",
    "ImageSpec",
    "ImageVerifier",
    "Part",
    "Policy",
    "ProgressCallback",
    "ReasonClass",
    "SourceFormat",
    "SourceLocation",
    "Tier",
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
    "dedupe",
    "environment_images",
    "evaluate_gate",
    "generate",
    "has_registry_host",
    "images_from_text",
    "load_config",
    "load_pins",
    "normalise_reference",
    "pin_map",
    "policy_fingerprint",
    "postrender",
    "progress_display",
    "reason_for",
    "record_reverified",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_pins",
    "render_table",
    "render_vso",
    "report_to_dict",
    "run_gate",
    "utc_now",
    "vso_escape",
]

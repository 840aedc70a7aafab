"""``sealgate.yaml``: the deploy gate's configuration, validated and frozen.

Loading is three steps: defensive YAML (size, alias and expansion caps, duplicate keys; see
:mod:`sealgate.documents`), JSON Schema validation against ``gate-config.schema.json``
(draft 2020-12, shipped in this package and copied to ``docs/``), then frozen dataclasses
with every path made absolute relative to the configuration file. Every error is a
:class:`~sealgate.errors.ConfigError` naming the file and, where YAML gives one, the line.
"""

from __future__ import annotations

import functools
import glob
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from sealgate.checks.conditions import compile_conditions
from sealgate.config import MiB
from sealgate.documents import PathKey, YamlDocument, format_path, read_yaml_file
from sealgate.errors import ConfigError, UsageError

__all__ = [
    "AttestationSpec",
    "CacheSettings",
    "EnvironmentConfig",
    "GateConfig",
    "IdentitySettings",
    "ImageRules",
    "Tier",
    "TrustSection",
    "config_schema",
    "load_config",
]

Tier = Literal["dev", "test", "staging", "production"]
_URI_SCHEMES = (
    "env://",
    "pkcs11:",
    "k8s://",
    "awskms://",
    "gcpkms://",
    "azurekms://",
    "hashivault://",
)
_MAX_CONFIG_BYTES = MiB


@dataclass(frozen=True)
class AttestationSpec:
    """One attestation every image must carry, as the configuration names it."""

    #: cosign ``--type`` name (``cyclonedx``...) or a predicate type URI.
    type: str
    #: Key references allowed to sign it (any-of); defaults to the environment's keys.
    keys: tuple[str, ...]
    #: JMESPath expressions over the in-toto statement that must all be truthy.
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class IdentitySettings:
    """A keyless signer as the configuration names it (exact values or RE2 expressions)."""

    issuer: str = ""
    subject: str = ""
    issuer_regexp: str = ""
    subject_regexp: str = ""


@dataclass(frozen=True)
class TrustSection:
    """The configuration's trust settings for one environment, as written (key references).

    Nothing here verifies anything: :func:`sealgate.gate.trust.trust_policy_set` reads the keys
    and turns this into the one policy model (:mod:`sealgate.policy`) that every enforcement
    point evaluates.
    """

    #: Signing keys, any-of: absolute paths or key URIs (``env://VAR``...).
    keys: tuple[str, ...]
    #: Require Rekor bundles (SET) checked against ``rekor_keys``.
    tlog: bool = False
    rekor_keys: tuple[str, ...] = ()
    attestations: tuple[AttestationSpec, ...] = ()
    #: Keyless signers trusted next to the keys (any-of).
    identities: tuple[IdentitySettings, ...] = ()
    #: ``trustedRoot``: the Sigstore trusted root for identities, absolute; None = default.
    trusted_root: Path | None = None
    #: Required signature annotations, sorted by key.
    annotations: tuple[tuple[str, str], ...] = ()

    @property
    def annotation_map(self) -> dict[str, str]:
        """The required annotations as a dict."""
        return dict(self.annotations)


@dataclass(frozen=True)
class CacheSettings:
    """Where and how long successful verdicts are cached."""

    directory: Path
    ttl_s: int = 3600
    enabled: bool = True


@dataclass(frozen=True)
class ImageRules:
    """How references without a registry host are treated (see the schema's descriptions)."""

    default_registry: str | None = None
    allow_docker_hub_shorthand: bool = False


@dataclass(frozen=True)
class EnvironmentConfig:
    """One deploy target, with its effective policy (global defaults plus overrides)."""

    name: str
    tier: Tier
    soft_fail: bool
    allow_bypass: bool
    #: ``versions`` entries as written (globs allowed), relative to ``base_dir``.
    versions: tuple[str, ...]
    #: The ``keys``/``tlog``/``attestations`` trust settings (empty keys with ``policies``).
    trust: TrustSection
    base_dir: Path
    #: Policy files or directories (ClusterImagePolicy, Kyverno, sealgate ImagePolicy),
    #: absolute; when set they decide instead of ``trust``, as the admission webhook would.
    policies: tuple[Path, ...] = ()
    image_rules: ImageRules = ImageRules()
    audit_log: Path | None = None
    #: Where the environment is defined, for messages.
    origin: str = ""
    #: ``retiredKeys``: keys no longer trusted (never used to verify; audits name them).
    retired_keys: tuple[str, ...] = ()

    def version_files(self) -> tuple[Path, ...]:
        """Expand ``versions`` into existing files, in order, without duplicates.

        Returns:
            Absolute paths.

        Raises:
            ConfigError: a literal path is missing or a glob matches nothing (a gate that
                silently checks zero images would pass everything).
        """
        found: list[Path] = []
        for pattern in self.versions:
            full = self.base_dir / Path(pattern).expanduser()
            if glob.has_magic(pattern):
                # Path.glob refuses absolute and ".." patterns; versions files may live there.
                matches = sorted(Path(m) for m in glob.glob(str(full), recursive=True))  # noqa: PTH207
                matches = [m for m in matches if m.is_file()]
                if not matches:
                    raise ConfigError(f"{self.origin}: versions glob {pattern!r} matches no file")
            elif full.is_file():
                matches = [full]
            else:
                raise ConfigError(f"{self.origin}: versions file {pattern!r} not found")
            found.extend(m for m in matches if m not in found)
        return tuple(found)


@dataclass(frozen=True)
class GateConfig:
    """A loaded ``sealgate.yaml``."""

    path: Path
    environments: Mapping[str, EnvironmentConfig]
    concurrency: int = 16
    cache: CacheSettings | None = None
    insecure_registries: frozenset[str] = frozenset()
    image_rules: ImageRules = ImageRules()
    audit_log: Path | None = None

    def environment(self, name: str) -> EnvironmentConfig:
        """Return the environment called ``name``.

        Raises:
            ConfigError: no such environment; the message lists the known ones.
        """
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments)) or "none"
            raise ConfigError(
                f"{self.path}: unknown environment {name!r}; known environments: {known}"
            ) from None


@functools.cache
def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``sealgate.yaml``, as shipped in this package."""
    text = resources.files(__package__).joinpath("gate-config.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


@functools.cache
def _validator() -> Any:
    # jsonschema-rs, not jsonschema: importing jsonschema imports its format checkers, and
    # with rfc3987-syntax installed that compiles a grammar (about a second) on every run.
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(config_schema())


def _schema_errors(doc: YamlDocument) -> list[str]:
    messages: list[tuple[int, str]] = []
    for error in _validator().iter_errors(doc.data):
        path: tuple[PathKey, ...] = tuple(
            p if isinstance(p, int) else str(p) for p in error.instance_path
        )
        unexpected = getattr(error.kind, "unexpected", None)
        if isinstance(unexpected, list) and isinstance(error.instance, dict):
            for key in sorted(str(k) for k in unexpected):
                line = doc.line_of((*path, key))
                messages.append(
                    (line, f"{doc.source}:{line}: unknown key {format_path((*path, key))!r}")
                )
            continue
        line = doc.line_of(path)
        messages.append((line, f"{doc.source}:{line}: {format_path(path)}: {error.message}"))
    messages.sort()
    return [m for _, m in messages]


def _key_ref(value: str, base: Path, where: str) -> str:
    if value.startswith(_URI_SCHEMES):
        return value
    if "://" in value:
        raise ConfigError(f"{where}: unsupported key reference scheme in {value!r}")
    return str(base / Path(value).expanduser())


def _loopback_checked(hosts: list[str], doc: YamlDocument) -> frozenset[str]:
    # The schema pattern already limits these to loopback; keep the check explicit here
    # because plain HTTP to anything else would let a network attacker swap images.
    for i, host in enumerate(hosts):
        name = host[: host.index("]") + 1] if host.startswith("[") else host.rsplit(":", 1)[0]
        if name not in {"localhost", "[::1]"} and not name.startswith("127."):
            raise ConfigError(f"{doc.where(('insecureRegistries', i))}: {host!r} is not loopback")
    return frozenset(hosts)


def _attestations(
    raw: list[dict[str, Any]],
    keys: tuple[str, ...],
    base: Path,
    doc: YamlDocument,
    at: tuple[PathKey, ...],
) -> tuple[AttestationSpec, ...]:
    out: list[AttestationSpec] = []
    for i, item in enumerate(raw):
        conditions = tuple(item.get("conditions", ()))
        for j, expression in enumerate(conditions):
            try:
                compile_conditions([expression])
            except UsageError as err:
                where = doc.where((*at, i, "conditions", j))
                raise ConfigError(f"{where}: {err.message}") from err
        own = tuple(_key_ref(k, base, doc.where((*at, i, "keys"))) for k in item.get("keys", ()))
        out.append(AttestationSpec(item["type"], own or keys, conditions))
    return tuple(out)


def _environment(
    name: str, raw: dict[str, Any], top: dict[str, Any], doc: YamlDocument, config: GateConfig
) -> EnvironmentConfig:
    base = config.path.parent
    at: tuple[PathKey, ...] = ("environments", name)
    origin = doc.where(at)
    keys_at = (*at, "keys") if "keys" in raw else ("keys",)
    keys = tuple(
        _key_ref(k, base, doc.where(keys_at)) for k in raw.get("keys", top.get("keys", ()))
    )
    retired_at = (*at, "retiredKeys") if "retiredKeys" in raw else ("retiredKeys",)
    retired = tuple(
        _key_ref(k, base, doc.where(retired_at))
        for k in raw.get("retiredKeys", top.get("retiredKeys", ()))
    )
    policies_raw = raw.get("policies", top.get("policies", ()))
    policies = tuple(base / Path(str(item)).expanduser() for item in policies_raw)
    identities = tuple(
        IdentitySettings(
            issuer=str(item.get("issuer", "")),
            subject=str(item.get("subject", "")),
            issuer_regexp=str(item.get("issuerRegExp", "")),
            subject_regexp=str(item.get("subjectRegExp", "")),
        )
        for item in raw.get("identities", top.get("identities", ()))
    )
    if not keys and not identities and not policies:
        raise ConfigError(
            f"{origin}: environment {name!r} has no keys, identities or policies "
            "(set one of them globally or here)"
        )
    att_at = (*at, "attestations") if "attestations" in raw else ("attestations",)
    attestations = _attestations(
        raw.get("attestations", top.get("attestations", [])), keys, base, doc, att_at
    )
    annotations = raw.get("annotations", top.get("annotations", {}))
    trust = TrustSection(
        keys=keys,
        # Keyless signatures need the log (it dates them); keys alone default to no log.
        tlog=bool(top.get("tlog", bool(identities))),
        identities=identities,
        trusted_root=base / Path(top["trustedRoot"]).expanduser() if "trustedRoot" in top else None,
        rekor_keys=tuple(
            _key_ref(k, base, doc.where(("rekorKeys",))) for k in top.get("rekorKeys", ())
        ),
        attestations=attestations,
        annotations=tuple(sorted((str(k), str(v)) for k, v in annotations.items())),
    )
    versions = raw["versions"]
    return EnvironmentConfig(
        name=name,
        tier=raw.get("tier", "production"),
        soft_fail=bool(raw.get("softFail", False)),
        allow_bypass=bool(raw.get("allowBypass", True)),
        versions=(versions,) if isinstance(versions, str) else tuple(versions),
        trust=trust,
        base_dir=base,
        policies=policies,
        image_rules=config.image_rules,
        audit_log=config.audit_log,
        origin=origin,
        retired_keys=retired,
    )


def load_config(path: Path | str) -> GateConfig:
    """Load and validate ``sealgate.yaml``.

    Args:
        path: The configuration file; relative paths inside it are relative to its directory.

    Returns:
        The frozen configuration.

    Raises:
        ConfigError: unreadable, larger than 1 MiB, not YAML, a YAML bomb, schema violations
            (all of them, with lines), invalid JMESPath, non-loopback insecure registries.
    """
    path = Path(path)
    documents = read_yaml_file(path, max_bytes=_MAX_CONFIG_BYTES, max_aliases=20, max_nodes=100_000)
    if len(documents) != 1:
        raise ConfigError(f"{path}: expected exactly one YAML document, found {len(documents)}")
    doc = documents[0]
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}:1: the configuration must be a mapping")
    errors = _schema_errors(doc)
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConfigError("; ".join(errors[:5]) + more)
    top: dict[str, Any] = doc.data
    base = path.parent
    if "defaultRegistry" in top and top.get("allowDockerHubShorthand"):
        raise ConfigError(
            f"{doc.where(('defaultRegistry',))}: defaultRegistry and allowDockerHubShorthand "
            "are mutually exclusive"
        )
    cache_raw = top.get("cache")
    cache = None
    if cache_raw is not None and cache_raw.get("enabled", True):
        directory = base / Path(cache_raw.get("dir", ".sealgate-cache")).expanduser()
        cache = CacheSettings(directory, int(cache_raw.get("ttl", 3600)))
    config = GateConfig(
        path=path,
        environments={},
        concurrency=int(top.get("concurrency", 16)),
        cache=cache,
        insecure_registries=_loopback_checked(list(top.get("insecureRegistries", [])), doc),
        image_rules=ImageRules(
            top.get("defaultRegistry"), bool(top.get("allowDockerHubShorthand", False))
        ),
        audit_log=base / Path(top.get("auditLog", "sealgate-audit.jsonl")).expanduser(),
    )
    environments = {
        str(name): _environment(str(name), raw, top, doc, config)
        for name, raw in top["environments"].items()
    }
    return GateConfig(
        path=path,
        environments=environments,
        concurrency=config.concurrency,
        cache=config.cache,
        insecure_registries=config.insecure_registries,
        image_rules=config.image_rules,
        audit_log=config.audit_log,
    )

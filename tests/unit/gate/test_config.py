"""sealgate.yaml: loading, schema validation with lines, environments, keys, globs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealgate.checks.conditions import ConditionFailed, check_conditions
from sealgate.errors import ConfigError
from sealgate.gate import config_schema, load_config
from sealgate.gate.trust import trust_policy

REPO = Path(__file__).resolve().parents[3]

EXAMPLE = """\
keys: [ci/security/cosign.pub]
tlog: false
insecureRegistries: ["127.0.0.1:5000"]
attestations:
  - type: cyclonedx
    conditions: ["length(predicate.components) > `0`"]
annotations: {team: platform}
concurrency: 8
cache: {dir: .sealgate-cache, ttl: 600}
auditLog: audit/sealgate-audit.jsonl
environments:
  staging2:
    versions: deploy/staging2-versions.yaml
    softFail: true
    tier: staging
  app-eu2:
    versions: ["deploy/app-eu2-versions.yaml", "deploy/extra/*.yaml"]
    softFail: false
    tier: production
    allowBypass: false
    keys: [ci/security/cosign.pub, env://NEXT_COSIGN_PUB]
    attestations:
      - {type: slsaprovenance, keys: [ci/security/slsa.pub]}
      - {type: cyclonedx}
"""


def write(tmp_path: Path, text: str, name: str = "sealgate.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_example_loads_with_paths_relative_to_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE))
    assert config.concurrency == 8
    assert config.insecure_registries == frozenset({"127.0.0.1:5000"})
    assert config.cache is not None
    assert config.cache.directory == tmp_path / ".sealgate-cache"
    assert config.cache.ttl_s == 600
    assert config.audit_log == tmp_path / "audit/sealgate-audit.jsonl"

    staging = config.environment("staging2")
    assert (staging.tier, staging.soft_fail, staging.allow_bypass) == ("staging", True, True)
    assert staging.trust.keys == (str(tmp_path / "ci/security/cosign.pub"),)
    (sbom,) = staging.trust.attestations
    assert sbom.type == "cyclonedx"
    assert sbom.keys == staging.trust.keys  # default: the environment's keys
    assert staging.trust.annotation_map == {"team": "platform"}
    assert staging.audit_log == config.audit_log

    prod = config.environment("app-eu2")
    assert prod.allow_bypass is False
    assert prod.trust.keys == (str(tmp_path / "ci/security/cosign.pub"), "env://NEXT_COSIGN_PUB")
    slsa, cdx = prod.trust.attestations
    assert slsa.keys == (str(tmp_path / "ci/security/slsa.pub"),)
    assert cdx.keys == prod.trust.keys
    assert prod.versions == ("deploy/app-eu2-versions.yaml", "deploy/extra/*.yaml")


def test_defaults(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "keys: [k.pub]\nenvironments:\n  dev: {versions: v.yaml}\n")
    )
    env = config.environment("dev")
    assert (env.tier, env.soft_fail, env.allow_bypass) == ("production", False, True)
    assert config.cache is None
    assert config.concurrency == 16
    assert config.audit_log == tmp_path / "sealgate-audit.jsonl"
    assert env.trust.tlog is False and env.trust.attestations == ()


def test_unknown_environment_lists_known_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE))
    with pytest.raises(
        ConfigError, match=r"unknown environment 'prod'.*known environments: app-eu2, staging2"
    ):
        config.environment("prod")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "keys: [k]\nenvironments:\n  dev:\n    versions: v.yaml\n    softFail: 'yes'\n",
            r'sealgate\.yaml:5: environments\.dev\.softFail: "yes" is not of type "boolean"',
        ),
        (
            "keys: [k]\nenvironments:\n  dev:\n    versions: v.yaml\n    softfail: true\n",
            r"sealgate\.yaml:5: unknown key 'environments\.dev\.softfail'",
        ),
        (
            "keys: [k]\nconcurrency: 0\nenvironments: {dev: {versions: v}}\n",
            r"sealgate\.yaml:2: concurrency",
        ),
        ("keys: [k]\nenvironments: {}\n", r"sealgate\.yaml:2: environments"),
        ("keys: [k]\ntlog: true\nenvironments: {dev: {versions: v}}\n", r"rekorKeys"),
        (
            "keys: [k]\ninsecureRegistries: [registry.example.com]\n"
            "environments: {dev: {versions: v}}\n",
            r"sealgate\.yaml:2: insecureRegistries\[0\]",
        ),
        (
            "keys: [k]\nenvironments: {dev: {versions: v, tier: prod}}\n",
            r"sealgate\.yaml:2: environments\.dev\.tier",
        ),
    ],
)
def test_schema_errors_name_file_and_line(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_config(write(tmp_path, text))


def test_several_schema_errors_are_all_reported(tmp_path: Path) -> None:
    text = "keys: [k]\nbogus: 1\nenvironments:\n  dev: {versions: v, tier: nope, extra: 1}\n"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert "sealgate.yaml:2: unknown key 'bogus'" in message
    assert "environments.dev.tier" in message
    assert "environments.dev.extra" in message


def test_loopback_insecure_registries(tmp_path: Path) -> None:
    text = (
        "keys: [k]\ninsecureRegistries: ['localhost:5000', '[::1]:5000', '127.0.0.2']\n"
        "environments: {dev: {versions: v}}\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.insecure_registries == {"localhost:5000", "[::1]:5000", "127.0.0.2"}


def test_env_without_keys_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"sealgate\.yaml:2: environment 'dev' has no keys, identities or policies",
    ):
        load_config(write(tmp_path, "environments:\n  dev: {versions: v}\n"))


def test_invalid_jmespath_names_the_line(tmp_path: Path) -> None:
    text = (
        "keys: [k]\nattestations:\n  - type: cyclonedx\n    conditions:\n"
        "      - 'length(predicate.components >'\nenvironments: {dev: {versions: v}}\n"
    )
    with pytest.raises(ConfigError, match=r"sealgate\.yaml:5: condition .* is not valid JMESPath"):
        load_config(write(tmp_path, text))


def test_unsupported_key_scheme(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported key reference scheme"):
        load_config(
            write(tmp_path, "keys: ['https://x/k.pub']\nenvironments: {dev: {versions: v}}\n")
        )


def test_default_registry_and_shorthand_are_exclusive(tmp_path: Path) -> None:
    text = (
        "keys: [k]\ndefaultRegistry: r.example\nallowDockerHubShorthand: true\n"
        "environments: {d: {versions: v}}\n"
    )
    with pytest.raises(ConfigError, match="mutually exclusive"):
        load_config(write(tmp_path, text))


def test_yaml_bomb_config_is_refused(tmp_path: Path) -> None:
    bomb = "".join(
        f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9) if i else '1'}]\n" for i in range(9)
    )
    with pytest.raises(ConfigError, match=r"sealgate\.yaml:\d+: more than 20 YAML aliases"):
        load_config(write(tmp_path, bomb))


def test_oversized_and_multi_document_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="larger than"):
        load_config(write(tmp_path, "# " + "x" * (1024 * 1024) + "\n"))
    with pytest.raises(ConfigError, match="exactly one YAML document"):
        load_config(write(tmp_path, "a: 1\n---\nb: 2\n"))
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- a\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_version_files_expand_globs_and_fail_closed(tmp_path: Path) -> None:
    (tmp_path / "deploy/extra").mkdir(parents=True)
    (tmp_path / "deploy/app-eu2-versions.yaml").write_text("a: ghcr.io/a/b:1\n")
    (tmp_path / "deploy/extra/b.yaml").write_text("b: ghcr.io/a/c:1\n")
    (tmp_path / "deploy/extra/a.yaml").write_text("c: ghcr.io/a/d:1\n")
    config = load_config(write(tmp_path, EXAMPLE))
    files = config.environment("app-eu2").version_files()
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "deploy/app-eu2-versions.yaml",
        "deploy/extra/a.yaml",
        "deploy/extra/b.yaml",
    ]
    with pytest.raises(
        ConfigError,
        match=r"sealgate\.yaml:12: versions file 'deploy/staging2-versions\.yaml' not found",
    ):
        config.environment("staging2").version_files()
    for f in (tmp_path / "deploy/extra").iterdir():
        f.unlink()
    with pytest.raises(ConfigError, match="matches no file"):
        config.environment("app-eu2").version_files()


def test_attestation_conditions_evaluate_against_the_statement(tmp_path: Path) -> None:
    # The config's conditions are compiled into the one policy model and evaluated there.
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "k.pub").write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    path = write(
        tmp_path,
        """
keys: [k.pub]
attestations:
  - type: cyclonedx
    conditions: ["length(predicate.components) > `0`", "predicate.metadata.tool == 'syft'"]
environments: {prod: {versions: v.yaml}}
""",
    )
    env = load_config(path).environment("prod")
    (rule,) = trust_policy(env.trust, "prod").attestations
    good = {"predicate": {"components": [{"name": "x"}], "metadata": {"tool": "syft"}}}
    check_conditions(good, rule.conditions)
    empty = {"predicate": {"components": [], "metadata": {"tool": "syft"}}}
    with pytest.raises(ConditionFailed, match="length"):
        check_conditions(empty, rule.conditions)
    # A runtime type error in an expression is "not satisfied", never a pass.
    with pytest.raises(ConditionFailed, match="cannot be evaluated"):
        check_conditions({"predicate": {"components": 5}}, rule.conditions)


def test_schema_is_valid_and_docs_copy_is_identical() -> None:
    jsonschema.Draft202012Validator.check_schema(config_schema())
    docs = json.loads((REPO / "docs/gate-config.schema.json").read_text())
    assert docs == config_schema()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('keys: [k.pub]\nenvironments:\n  prod: {versions: "v\x01.yaml"}\n', 3),
        ("keys: [k.pub]\nenvironments:\n  prod:\n    versions: !!int x\n", 4),
    ],
)
def test_yaml_library_errors_are_config_errors_naming_file_and_line(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / "sealgate.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"sealgate\.yaml:{line}: invalid YAML"):
        load_config(path)

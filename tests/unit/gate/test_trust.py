"""The gate's trust section as the one policy model: keys read once, fingerprints, verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealgate.errors import ConfigError, KeyMaterialError
from sealgate.gate import AttestationSpec, TrustSection, trust_policy, trust_policy_set, verdict_for
from sealgate.policy import decide, policy_set_fingerprint
from sealgate.policy.matching import Requirement, RequirementOutcome
from sealgate.policy.resources import IMPLICIT_POD
from tests.unit.gate.fakes import digest, make_env


def write_key(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, str]:
    return str(write_key(tmp_path / "a.pub")), str(write_key(tmp_path / "b.pub"))


def section(a: str, b: str, **changes: object) -> TrustSection:
    values: dict[str, object] = {
        "keys": (a, b),
        "attestations": (AttestationSpec("cyclonedx", (a,), ("predicate",)),),
        "annotations": (("team", "platform"),),
    }
    values.update(changes)
    return TrustSection(**values)  # type: ignore[arg-type]


def fingerprint(tmp_path: Path, trust: TrustSection) -> str:
    return policy_set_fingerprint(trust_policy_set(make_env(tmp_path, trust=trust)))


def test_section_becomes_a_policy(keys: tuple[str, str]) -> None:
    a, b = keys
    policy = trust_policy(section(a, b), "environment prod")
    assert [x.name for x in policy.authorities] == [a, b]
    assert policy.tlog.insecure_ignore_tlog
    (rule,) = policy.attestations
    assert rule.predicate_type == "https://cyclonedx.org/bom"
    assert [c.expression for c in rule.conditions] == ["predicate"]
    assert policy.annotations == {"team": "platform"}


def test_fingerprint_order_insensitive_and_about_key_content(
    tmp_path: Path, keys: tuple[str, str]
) -> None:
    a, b = keys
    first = fingerprint(tmp_path, section(a, b))
    swapped = section(b, a, attestations=section(a, b).attestations)
    assert fingerprint(tmp_path, swapped) == first
    # The same key under another name, re-wrapped with CRLF, is the same trust.
    moved = tmp_path / "moved.pub"
    moved.write_bytes(Path(a).read_bytes().replace(b"\n", b"\r\n"))
    rewritten = section(
        str(moved), b, attestations=(AttestationSpec("cyclonedx", (str(moved),), ("predicate",)),)
    )
    assert fingerprint(tmp_path, rewritten) == first
    # Rotating the key in a file changes everything.
    write_key(Path(a))
    assert fingerprint(tmp_path, section(a, b)) != first


@pytest.mark.parametrize(
    "change",
    [
        {"keys": "one"},
        {"attestations": ()},
        {"annotations": ()},
        {"tlog": True, "rekor_keys": "rekor"},
        {"attestations": "condition"},
    ],
)
def test_fingerprint_changes_with_trust(
    tmp_path: Path, keys: tuple[str, str], change: dict[str, object]
) -> None:
    a, b = keys
    values = dict(change)
    if values.get("keys") == "one":
        values["keys"] = (a,)
    if values.get("rekor_keys") == "rekor":
        values["rekor_keys"] = (str(write_key(tmp_path / "rekor.pub")),)
    if values.get("attestations") == "condition":
        values["attestations"] = (AttestationSpec("cyclonedx", (a,), ("predicate.x",)),)
    assert fingerprint(tmp_path, section(a, b, **values)) != fingerprint(tmp_path, section(a, b))


def test_bad_trust_is_a_caller_error(tmp_path: Path, keys: tuple[str, str]) -> None:
    a, _ = keys
    with pytest.raises(KeyMaterialError):
        trust_policy(TrustSection(keys=(str(tmp_path / "missing.pub"),)), "env")
    with pytest.raises(ConfigError, match="no keys"):
        trust_policy(TrustSection(keys=()), "env")
    with pytest.raises(ConfigError, match="bogus"):
        trust_policy(TrustSection(keys=(a,), attestations=(AttestationSpec("bogus", (a,)),)), "env")


def test_verdicts_from_decisions(tmp_path: Path, keys: tuple[str, str]) -> None:
    a, b = keys
    policies = trust_policy_set(make_env(tmp_path, trust=TrustSection(keys=(a, b))))

    def failing(reason: str, *, could_not_check: bool = False) -> RequirementOutcome:
        return RequirementOutcome("keys", False, f"{reason} happened", reason, could_not_check)

    image = f"reg.example/app@{digest(1)}"
    for reason, expected in [
        ("unsigned", "unsigned"),
        ("tlog-invalid", "tlog-invalid"),
        ("unauthorized", "unauthorized"),
        ("timeout", "unreachable"),
        ("something-new", "wrong-key"),
    ]:

        def check(_requirement: Requirement, reason: str = reason) -> RequirementOutcome:
            return failing(reason)

        decision = decide(image, IMPLICIT_POD, policies, check)
        verdict = verdict_for(decision, digest(1))
        assert (verdict.status, verdict.reason) == ("failed", expected)
        assert f"{reason} happened" in verdict.message

    def passing(requirement: Requirement) -> RequirementOutcome:
        return RequirementOutcome(requirement.label, True, "signed by key sha256:abcd")

    verdict = verdict_for(decide(image, IMPLICIT_POD, policies, passing), digest(1))
    assert verdict.ok
    assert "signed by key sha256:abcd" in verdict.message


def test_a_pass_on_a_certificate_valid_now_is_not_cached_past_it(
    tmp_path: Path, keys: tuple[str, str]
) -> None:
    from datetime import UTC, datetime

    a, b = keys
    policies = trust_policy_set(make_env(tmp_path, trust=TrustSection(keys=(a, b))))
    end = datetime(2030, 1, 1, tzinfo=UTC)

    def passing(requirement: Requirement) -> RequirementOutcome:
        return RequirementOutcome(requirement.label, True, "signed", not_after=end)

    image = f"reg.example/app@{digest(1)}"
    verdict = verdict_for(decide(image, IMPLICIT_POD, policies, passing), digest(1))
    assert verdict.ok
    assert verdict.not_after == end

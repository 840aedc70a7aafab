"""Policy loaders: supported fields load, everything else is a located ConfigError."""

from __future__ import annotations

import textwrap

import pytest

from sealgate.checks.keyless_identity import KeylessAuthority
from sealgate.errors import ConfigError
from sealgate.keys import generate_key_pair
from sealgate.policy.loaders import load_policy_set
from sealgate.policy.matching import PolicySet, RequirementOutcome, decide
from sealgate.policy.resources import IMPLICIT_POD, Resource

PUBLIC_PEM = generate_key_pair(b"pw")[1].decode()


def _indent(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces)


def load(text: str, **kwargs: object) -> PolicySet:
    return load_policy_set([("p.yaml", textwrap.dedent(text))], **kwargs)  # type: ignore[arg-type]


def _unchecked(requirement: object) -> RequirementOutcome:
    raise AssertionError("no registry check expected")


CIP_KEY = f"""
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {{name: signed}}
spec:
  images: [{{glob: "ghcr.io/acme/**"}}]
  authorities:
    - name: release
      key:
        data: |
{_indent(PUBLIC_PEM, 10)}
      ctlog: {{url: "https://rekor.sigstore.dev"}}
      attestations:
        - name: sbom
          predicateType: cyclonedx
"""


def test_cip_key_authority_with_attestations_checks_attestations_only() -> None:
    [policy] = load(CIP_KEY).policies
    [group] = policy.groups
    [requirement] = group.alternatives
    assert requirement.signatures is False
    assert requirement.policy.tlog.insecure_ignore_tlog is False
    assert [r.predicate_type for r in requirement.policy.attestations] == [
        "https://cyclonedx.org/bom"
    ]


@pytest.mark.parametrize(
    ("field", "snippet", "message"),
    [
        ("kms", "kms: awskms:///alias/x", "spec.authorities[0].key.kms: not supported"),
        ("secretRef", "secretRef: {name: k}", "spec.authorities[0].key.secretRef: not supported"),
        ("bogus", "bogus: 1", "spec.authorities[0].key.bogus: unknown field"),
    ],
)
def test_cip_refuses_unsupported_key_fields_naming_file_document_and_path(
    field: str, snippet: str, message: str
) -> None:
    text = f"""
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: config-policy-controller}}
    data: {{no-match-policy: allow}}
    ---
    apiVersion: policy.sigstore.dev/v1alpha1
    kind: ClusterImagePolicy
    metadata: {{name: x}}
    spec:
      images: [{{glob: "**"}}]
      authorities:
        - key:
            {snippet}
    """
    with pytest.raises(ConfigError) as caught:
        load(text)
    assert caught.value.message.startswith("p.yaml: document 2 (line ")
    assert message in caught.value.message
    del field


def test_invalid_glob_is_refused_at_load() -> None:
    text = """
    apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata: {name: x}
    spec:
      images: [{glob: "ghcr.io/[a-z]+"}]
      authorities: [{static: {action: pass}}]
    """
    with pytest.raises(ConfigError, match=r"spec.images\[0\].glob: invalid glob"):
        load(text)


def test_cue_is_refused_and_unknown_kinds_are_named() -> None:
    cue = """
    apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata: {name: x}
    spec:
      images: [{glob: "**"}]
      authorities: [{static: {action: pass}}]
      policy: {type: cue, data: "x: 1"}
    """
    with pytest.raises(ConfigError, match="CUE policies are not supported"):
        load(cue)
    with pytest.raises(ConfigError, match="unsupported kind apps/v1 Deployment"):
        load("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")


def test_keyless_authority_loads_and_fails_closed() -> None:
    text = """
    apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata: {name: x}
    spec:
      images: [{glob: "**"}]
      authorities:
        - keyless:
            identities: [{issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github.com/acme/"}]
    """
    [policy] = load(text).policies
    [authority] = policy.groups[0].alternatives[0].policy.authorities
    assert isinstance(authority, KeylessAuthority)
    bad = text.replace('subjectRegExp: "^https://github.com/acme/"', 'subjectRegExp: "(["')
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        load(bad)


def test_static_and_no_match_decisions_need_no_registry() -> None:
    text = """
    apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata: {name: lib}
    spec:
      images: [{glob: "*"}]
      mode: warn
      authorities: [{static: {action: fail, message: "library images are frozen"}}]
    """
    policies = load(text)
    warned = decide("busybox", IMPLICIT_POD, policies, _unchecked)
    assert warned.decision == "warn" and "library images are frozen" in warned.reasons[0]
    assert decide("ghcr.io/x/y:v1", IMPLICIT_POD, policies, _unchecked).decision == "deny"
    allowing = load(text, no_match="allow")
    assert decide("ghcr.io/x/y:v1", IMPLICIT_POD, allowing, _unchecked).decision == "admit"


def test_cip_match_by_resource_and_labels() -> None:
    text = """
    apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata: {name: deploys}
    spec:
      images: [{glob: "**"}]
      match:
        - {group: apps, version: v1, resource: deployments, selector: {matchLabels: {team: pay}}}
      authorities: [{static: {action: pass}}]
    """
    policies = load(text)
    deployment = Resource("Deployment", "apps/v1", "prod", "web", {"team": "pay"})
    assert decide("foo", deployment, policies, _unchecked).decision == "admit"
    other = Resource("Deployment", "apps/v1", "prod", "web", {"team": "ops"})
    assert decide("foo", other, policies, _unchecked).decision == "deny"
    assert decide("foo", IMPLICIT_POD, policies, _unchecked).decision == "deny"


KYVERNO = f"""
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: check-images}}
spec:
  validationFailureAction: Enforce
  validationFailureActionOverrides:
    - {{action: Audit, namespaces: ["dev-*"]}}
  rules:
    - name: verify
      match:
        any:
          - resources: {{kinds: [Pod], namespaces: ["prod", "dev-*"]}}
      exclude:
        any:
          - resources: {{names: ["debug-*"]}}
      verifyImages:
        - imageReferences: ["ghcr.io/acme/*"]
          skipImageReferences: ["ghcr.io/acme/tools:*"]
          mutateDigest: false
          attestors:
            - count: 1
              entries:
                - keys:
                    publicKeys: |
{_indent(PUBLIC_PEM, 22)}
                    rekor: {{ignoreTlog: true, url: "https://rekor.sigstore.dev"}}
"""


def test_kyverno_rule_loads_with_match_exclude_skip_overrides_and_digest_rule() -> None:
    [policy] = load(KYVERNO).policies
    assert policy.name == "ClusterPolicy/check-images/verify[0]"
    assert policy.require_digest
    prod = Resource("Deployment", "apps/v1", "prod", "web")
    assert policy.applies("ghcr.io/acme/app:v1", prod) == (True, "")
    assert policy.applies("ghcr.io/acme/tools:v1", prod)[1] == "image is in skipImageReferences"
    assert (
        policy.applies("ghcr.io/acme/app:v1", Resource("Pod", "v1", "prod", "debug-1"))[1]
        == "resource is excluded"
    )
    assert (
        policy.applies("ghcr.io/acme/app:v1", Resource("Pod", "v1", "other"))[1]
        == "resource does not match"
    )
    assert policy.mode_for(Resource("Pod", "v1", "dev-7")) == "warn"
    assert policy.mode_for(prod) == "enforce"
    decision = decide(
        "ghcr.io/acme/app:v1",
        prod,
        load(KYVERNO),
        lambda r: RequirementOutcome(r.label, True, "ok"),
    )
    assert decision.decision == "deny"
    assert "not pinned by digest" in decision.reasons[0]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("mutateDigest: false", "mutateDigest: false\n          type: Notary", "only type Cosign"),
        ("count: 1", "count: 2", "threshold 2 exceeds"),
        (
            "validationFailureAction: Enforce",
            "validationFailureAction: Audit\n  background: true",
            None,
        ),
        (
            "                - keys:",
            "                - attestor: {entries: []}\n                - keys:",
            "nested attestor",
        ),
        (
            "      verifyImages:",
            "      preconditions: {all: []}\n      verifyImages:",
            "preconditions rules",
        ),
    ],
)
def test_kyverno_refusals(old: str, new: str, message: str | None) -> None:
    text = KYVERNO.replace(old, new, 1)
    if message is None:
        load(text)  # Audit with mutateDigest: false is valid
        return
    with pytest.raises(ConfigError, match=message):
        load(text)


def test_kyverno_audit_with_mutate_digest_is_refused_as_upstream() -> None:
    text = KYVERNO.replace("Enforce", "Audit").replace("          mutateDigest: false\n", "")
    text = text.replace('    - {action: Audit, namespaces: ["dev-*"]}\n', "").replace(
        "  validationFailureActionOverrides:\n", ""
    )
    with pytest.raises(ConfigError, match="mutateDigest must be set to false"):
        load(text)


def test_a_thousand_policies_are_refused_with_one_line() -> None:
    document = """apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {{name: p{i}}}
spec:
  images: [{{glob: "**"}}]
  authorities: [{{static: {{action: pass}}}}]
"""
    text = "---\n".join(document.format(i=i) for i in range(1000))
    with pytest.raises(ConfigError) as caught:
        load_policy_set([("many.yaml", text)])
    assert "1000 policies loaded; at most 500" in caught.value.message
    assert "\n" not in caught.value.message


def test_duplicate_policy_names_are_refused() -> None:
    document = "apiVersion: sealgate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: a}\n"
    document += "spec: {images: [{glob: '**'}], authorities: [{name: s, static: {action: pass}}]}\n"
    with pytest.raises(ConfigError, match="already defined"):
        load_policy_set([("a.yaml", document), ("b.yaml", document)])


def test_sealgate_kind_attestation_authorities_by_name() -> None:
    text = f"""
    apiVersion: sealgate.dev/v1alpha1
    kind: ImagePolicy
    metadata: {{name: release}}
    spec:
      images: [{{glob: "ghcr.io/**"}}]
      tlog: {{required: false}}
      authorities:
        - name: release
          key:
            data: |
{_indent(PUBLIC_PEM, 14)}
      attestations:
        - name: sbom
          predicateType: cyclonedx
          authorities: [release]
          conditions: ["length(predicate.components) > `0`"]
    """
    [policy] = load(text).policies
    requirement = policy.groups[0].alternatives[0]
    assert requirement.policy.tlog.insecure_ignore_tlog
    [rule] = requirement.policy.attestations
    assert rule.authorities == requirement.policy.authorities
    with pytest.raises(ConfigError, match="no authority named 'other'"):
        load(text.replace("authorities: [release]", "authorities: [other]"))
    with pytest.raises(ConfigError, match="not valid JMESPath"):
        load(text.replace("length(predicate.components) > `0`", "length(("))


def test_cip_level_rego_policy_runs_over_the_passing_authorities() -> None:
    text = """
    apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata: {name: two}
    spec:
      images: [{glob: "**"}]
      authorities:
        - {name: a, static: {action: pass}}
        - {name: b, static: {action: fail}}
      policy:
        type: rego
        data: |
          package sigstore
          isCompliant { input.authorityMatches.a }
    """
    assert decide("foo", IMPLICIT_POD, load(text), _unchecked).decision == "admit"
    strict = text.replace("input.authorityMatches.a }", "input.authorityMatches.b }")
    decision = decide("foo", IMPLICIT_POD, load(strict), _unchecked)
    assert decision.decision == "deny"
    assert "rego ClusterImagePolicy/two is not satisfied" in decision.reasons[0]

"""Sigstore policy-controller ``ClusterImagePolicy`` (``policy.sigstore.dev`` v1alpha1, v1beta1).

Each authority becomes one :class:`~sealgate.policy.matching.Requirement` of a single group,
so any authority passes the policy, as upstream: a ``key`` (inline ``data``), ``keyless``
(identities; fails closed in this build), or ``static``. An authority with ``attestations``
checks only its attestations (upstream's verify-attestation path), each of the listed
predicate types, with the attestation's ``policy`` applied to every matching statement.

Transparency log: as policy-controller, a key authority without ``ctlog`` ignores the log;
with ``ctlog.url`` a Rekor bundle is required and checked offline against the trusted Rekor
keys (:class:`~sealgate.policy.loaders.LoadOptions`). ``kms``, ``secretRef``, TrustRoot
references, RFC 3161 timestamps, the bundle signature format, remote or ConfigMap policies and
CUE are refused at load, naming the field.
"""

from __future__ import annotations

import re

from sealgate.checks.authorities import Authority, StaticAuthority
from sealgate.checks.conditions import StatementCondition
from sealgate.checks.keyless_identity import KeylessAuthority
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import ConfigError
from sealgate.policy.loaders._common import (
    LoadOptions,
    identity_spec,
    key_authority,
    keyless_authority,
    kubernetes_metadata,
    kubernetes_object,
    predicate_type,
    repository,
    sigstore_glob,
)
from sealgate.policy.loaders._nodes import Node
from sealgate.policy.loaders.scripts import policy_script
from sealgate.policy.matching import ImagePolicy, PolicyScript, Requirement, RequirementGroup
from sealgate.policy.model import AttestationRule, Policy
from sealgate.policy.resources import (
    LabelRequirement,
    LabelSelector,
    Resource,
    SigstoreResourceMatch,
)

__all__ = [
    "API_VERSIONS",
    "KIND",
    "MUTATE_ANNOTATION",
    "label_selector",
    "load_cluster_image_policy",
]

API_VERSIONS = ("policy.sigstore.dev/v1alpha1", "policy.sigstore.dev/v1beta1")
KIND = "ClusterImagePolicy"
#: sealgate's option on a ClusterImagePolicy: the admission webhook pins matched images to the
#: digest it verified (policy-controller has no per-policy switch for this).
MUTATE_ANNOTATION = "sealgate.dev/mutate-digest"

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL)
_SECRETS = "this build reads keys written inline in the policy only (use key.data)"


class _AnyOf:
    """A ClusterImagePolicy ``match`` list: the policy applies when any entry matches."""

    def __init__(self, entries: tuple[SigstoreResourceMatch, ...]) -> None:
        self.entries = entries

    def matches(self, target: Resource) -> bool:
        return any(entry.matches(target) for entry in self.entries)


def label_selector(node: Node) -> LabelSelector:
    """A Kubernetes ``LabelSelector``.

    Raises:
        ConfigError: Another shape or an invalid operator.
    """
    fields = node.fields({"matchLabels", "matchExpressions"})
    expressions = []
    for item in fields["matchExpressions"].items() if "matchExpressions" in fields else ():
        entry = item.fields({"key", "operator", "values"}, required={"key", "operator"})
        try:
            expressions.append(
                LabelRequirement(
                    entry["key"].string(),
                    entry["operator"].string(),
                    entry["values"].strings() if "values" in entry else (),
                )
            )
        except ConfigError as err:
            item.fail(err.message)
    labels = fields["matchLabels"].string_map() if "matchLabels" in fields else {}
    return LabelSelector(labels, tuple(expressions))


def _keys(node: Node, name: str) -> list[Authority]:
    fields = node.fields(
        {"data", "hashAlgorithm"},
        refused={"kms": "KMS keys; " + _SECRETS, "secretRef": "Secret references; " + _SECRETS},
    )
    if "data" not in fields:
        node.fail("key.data is required")
    if "hashAlgorithm" in fields and fields["hashAlgorithm"].string() != "sha256":
        fields["hashAlgorithm"].fail("only sha256 is supported")
    blocks = _PEM_BLOCK.findall(fields["data"].string()) or [fields["data"].string()]
    data = fields["data"]
    return [
        key_authority(
            data.child(0, block) if len(blocks) > 1 else data,
            name if len(blocks) == 1 else f"{name}[{i}]",
        )
        for i, block in enumerate(blocks)
    ]


def _keyless(node: Node, name: str, options: LoadOptions) -> KeylessAuthority:
    fields = node.fields(
        {"url", "identities", "ca-cert", "insecureIgnoreSCT"},
        required={"identities"},
        refused={"trustRootRef": "TrustRoot resources"},
    )
    roots = None
    if "ca-cert" in fields:
        cert = fields["ca-cert"].fields(
            {"data"},
            refused={
                "kms": _SECRETS,
                "secretRef": _SECRETS,
                "hashAlgorithm": "not for CA certificates",
            },
        )
        if "data" not in cert:
            fields["ca-cert"].fail("ca-cert.data is required")
        roots = cert["data"].string().encode("utf-8")
    if "url" in fields and "ca-cert" in fields:
        node.fail("url and ca-cert are mutually exclusive")
    ignore_sct = fields["insecureIgnoreSCT"].boolean() if "insecureIgnoreSCT" in fields else False
    identities = tuple(identity_spec(i) for i in fields["identities"].items(allow_empty=False))
    url = (
        fields["url"].string()
        if "url" in fields
        else ("" if roots else "https://fulcio.sigstore.dev")
    )
    return keyless_authority(
        node, name, identities, options, roots_pem=roots, ignore_sct=ignore_sct, url=url
    )


def _script(node: Node, name: str) -> PolicyScript:
    fields = node.fields(
        {"type", "data"},
        required={"type"},
        refused={
            "remote": "remote policies (write the policy inline in data)",
            "configMapRef": "ConfigMap policies (write the policy inline in data)",
            "fetchConfigFile": "policies over the image config file",
            "includeSpec": "policies over the resource spec",
            "includeObjectMeta": "policies over the resource metadata",
            "includeTypeMeta": "policies over the resource type",
        },
    )
    kind = fields["type"].choice(("cue", "rego"))
    if "data" not in fields:
        node.fail("data is required")
    return policy_script(fields["type"] if kind == "cue" else fields["data"], kind, name)


def _attestation_rule(node: Node, signers: tuple[Authority, ...]) -> AttestationRule:
    fields = node.fields({"name", "predicateType", "policy"}, required={"name", "predicateType"})
    name = fields["name"].string()
    conditions: tuple[StatementCondition, ...] = ()
    if "policy" in fields:
        conditions = (_script(fields["policy"], f"attestation {name}"),)
    return AttestationRule(name, predicate_type(fields["predicateType"]), conditions, signers)


def _authority(node: Node, index: int, options: LoadOptions) -> Requirement:
    fields = node.fields(
        {"name", "key", "keyless", "static", "source", "ctlog", "attestations", "signatureFormat"},
        refused={"rfc3161timestamp": "RFC 3161 timestamps"},
    )
    name = fields["name"].string() if "name" in fields else f"authority-{index}"
    present = [k for k in ("key", "keyless", "static") if k in fields]
    if len(present) != 1:
        node.fail("exactly one of key, keyless or static is required")
    if (
        "signatureFormat" in fields
        and fields["signatureFormat"].choice(("legacy", "bundle")) != "legacy"
    ):
        fields["signatureFormat"].fail("the bundle signature format is not supported")
    if "static" in fields:
        for other in ("attestations", "source", "ctlog"):
            if other in fields:
                fields[other].fail(f"static and {other} are mutually exclusive")
        static = fields["static"].fields({"action", "message"}, required={"action"})
        action = static["action"].choice(("pass", "fail"))
        message = static["message"].string(allow_empty=True) if "message" in static else ""
        authority = StaticAuthority("pass" if action == "pass" else "fail", name, message)
        return Requirement(f"authority {name}", Policy(name, (authority,)))
    authorities: list[Authority] = (
        _keys(fields["key"], name)
        if "key" in fields
        else [_keyless(fields["keyless"], name, options)]
    )
    tlog = TlogPolicy(insecure_ignore_tlog=True)
    if "ctlog" in fields:
        ctlog = fields["ctlog"].fields({"url"}, refused={"trustRootRef": "TrustRoot resources"})
        if "url" in ctlog:
            ctlog["url"].string()
        tlog = options.tlog()
    elif "keyless" in fields:
        tlog = options.tlog()
    where = None
    if "source" in fields:
        sources = list(fields["source"].items(allow_empty=False))
        if len(sources) != 1:
            fields["source"].fail("only a single source is supported")
        source = sources[0].fields(
            {"oci", "signaturePullSecrets"}, refused={"tagPrefix": "tag prefixes"}
        )
        if "signaturePullSecrets" in source:
            source["signaturePullSecrets"].fail(
                "not supported: pull secrets are cluster objects; "
                "sealgate uses the local credentials"
            )
        where = repository(source["oci"]) if "oci" in source else None
    rules: tuple[AttestationRule, ...] = ()
    if "attestations" in fields:
        signers = tuple(authorities)
        rules = tuple(
            _attestation_rule(item, signers)
            for item in fields["attestations"].items(allow_empty=False)
        )
    policy = Policy(name, tuple(authorities), tlog=tlog, attestations=rules)
    return Requirement(f"authority {name}", policy, signatures=not rules, repository=where)


def load_cluster_image_policy(root: Node, options: LoadOptions) -> list[ImagePolicy]:
    """Load one ClusterImagePolicy document.

    Raises:
        ConfigError: An unknown or unsupported field, or an invalid value, located.
    """
    top = kubernetes_object(root)
    meta = kubernetes_metadata(top["metadata"], namespaced=False)
    name = meta["name"].string()
    mutate = False
    if "annotations" in meta:
        annotations = meta["annotations"].string_map()
        choice = annotations.get(MUTATE_ANNOTATION, "false")
        if choice not in ("true", "false"):
            meta["annotations"].fail(f'{MUTATE_ANNOTATION} must be "true" or "false"')
        mutate = choice == "true"
    spec = top["spec"].fields(
        {"images", "authorities", "policy", "mode", "match"}, required={"images", "authorities"}
    )
    images = tuple(
        sigstore_glob(item.fields({"glob"}, required={"glob"})["glob"])
        for item in spec["images"].items(allow_empty=False)
    )
    requirements = tuple(
        _authority(item, i, options)
        for i, item in enumerate(spec["authorities"].items(allow_empty=False))
    )
    labels = [r.label for r in requirements]
    for item, label in zip(spec["authorities"].items(), labels, strict=True):
        if labels.count(label) > 1:
            item.fail(f"two authorities are named {label.removeprefix('authority ')!r}")
    mode = spec["mode"].choice(("enforce", "warn")) if "mode" in spec else "enforce"
    match = None
    if "match" in spec:
        entries = []
        for item in spec["match"].items():
            entry = item.fields({"group", "version", "resource", "selector"})
            selector = label_selector(entry["selector"]) if "selector" in entry else None
            entries.append(
                SigstoreResourceMatch(
                    entry["group"].string(allow_empty=True) if "group" in entry else "",
                    entry["version"].string(allow_empty=True) if "version" in entry else "",
                    entry["resource"].string(allow_empty=True) if "resource" in entry else "",
                    selector,
                )
            )
        match = _AnyOf(tuple(entries)) if entries else None
    script = _script(spec["policy"], f"{KIND}/{name}") if "policy" in spec else None
    return [
        ImagePolicy(
            name=f"{KIND}/{name}",
            source=f"{root.doc.source}: document {root.doc.index + 1}",
            images=images,
            groups=(RequirementGroup("authorities (any of)", requirements),),
            mode="warn" if mode == "warn" else "enforce",
            match=match,
            script=script,
            mutate_digest=mutate,
        )
    ]

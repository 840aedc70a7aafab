"""Kyverno ``ClusterPolicy``/``Policy`` (``kyverno.io/v1``, ``v2beta1``) ``verifyImages`` rules.

Each ``verifyImages`` entry of each rule becomes one
:class:`~sealgate.policy.matching.ImagePolicy` named ``KIND/policy/rule[i]``:

* ``imageReferences``/``skipImageReferences`` in Kyverno's wildcard dialect;
* every attestor set is a group that must pass: ``count`` distinct entries (all of them when
  ``count`` is not set), each entry a key (every PEM block of ``publicKeys`` is one entry),
  ``keyless`` or ``certificates`` (both fail closed in this build);
* every attestation x attestor set is a group: verified statements of the type, signed by
  ``count`` distinct entries, each statement meeting every condition block; an attestation
  without attestors uses the entry's ``attestors`` (Kyverno would verify with no key at all);
* the mode is ``failureAction``, else the rule's or the spec's ``validationFailureAction``
  (Kyverno's default ``Audit``), with ``validationFailureActionOverrides`` per namespace;
  ``Audit`` is sealgate's ``warn``;
* ``verifyDigest`` without ``mutateDigest`` refuses images that are not pinned by digest;
  ``mutateDigest`` is reported (``policy test`` cannot patch a resource).

Only ``verifyImages`` rules are supported; other rule types, ``preconditions``, ``context``,
``Notary``/``SigstoreBundle`` types, KMS/Secret keys, nested attestors and user-info matches
are refused at load, naming the field.
"""

from __future__ import annotations

import re

from sealgate.checks.authorities import Authority
from sealgate.checks.keyless_identity import CertificateAuthority, IdentitySpec
from sealgate.checks.tlog import RekorKey, TlogPolicy
from sealgate.errors import ConfigError
from sealgate.policy.kyverno_conditions import (
    OPERATORS,
    KyvernoCondition,
    KyvernoConditionBlock,
    compile_kyverno_value,
)
from sealgate.policy.loaders._common import (
    LoadOptions,
    key_authority,
    keyless_authority,
    kubernetes_metadata,
    kubernetes_object,
    kyverno_pattern,
    predicate_type,
    rekor_keys_from_pem,
    repository,
)
from sealgate.policy.loaders._nodes import Node
from sealgate.policy.loaders.cip import label_selector
from sealgate.policy.matching import ImagePolicy, Mode, Requirement, RequirementGroup
from sealgate.policy.model import AttestationRule, Policy
from sealgate.policy.resources import POD_CONTROLLERS, KyvernoResourceFilter, Resource

__all__ = ["API_VERSIONS", "KINDS", "load_kyverno_policy"]

API_VERSIONS = ("kyverno.io/v1", "kyverno.io/v2beta1")
KINDS = ("ClusterPolicy", "Policy")

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL)
_NO_EFFECT = "accepted; no effect on the decision"
_AUTOGEN = "pod-policies.kyverno.io/autogen-controllers"


class _Match:
    """``match``/``exclude``: ``any`` (one filter), ``all`` (every filter), or ``resources``."""

    def __init__(
        self,
        any_of: tuple[KyvernoResourceFilter, ...],
        all_of: tuple[KyvernoResourceFilter, ...],
        autogen: frozenset[str],
        namespace: str | None,
    ) -> None:
        self.any_of, self.all_of, self.autogen, self.namespace = any_of, all_of, autogen, namespace

    def matches(self, target: Resource) -> bool:
        if self.namespace is not None and target.namespace != self.namespace:
            return False
        if self.any_of and not any(f.matches(target, autogen=self.autogen) for f in self.any_of):
            return False
        return all(f.matches(target, autogen=self.autogen) for f in self.all_of)


def _resource_description(node: Node) -> KyvernoResourceFilter:
    fields = node.fields(
        {"kinds", "namespaces", "names", "name", "selector", "operations", "annotations"},
        refused={"namespaceSelector": "namespace selectors need the cluster's namespace labels"},
    )
    if "annotations" in fields:
        fields["annotations"].fail("not supported: annotation filters")
    names = fields["names"].strings() if "names" in fields else ()
    if "name" in fields:
        names = (*names, fields["name"].string())
    return KyvernoResourceFilter(
        kinds=fields["kinds"].strings() if "kinds" in fields else (),
        namespaces=fields["namespaces"].strings() if "namespaces" in fields else (),
        names=names,
        selector=label_selector(fields["selector"]) if "selector" in fields else None,
        operations=fields["operations"].strings() if "operations" in fields else (),
    )


def _filter(node: Node) -> KyvernoResourceFilter:
    fields = node.fields(
        {"resources"},
        refused=dict.fromkeys(
            ("subjects", "roles", "clusterRoles"), "user-info matches (no admission request here)"
        ),
    )
    return (
        _resource_description(fields["resources"])
        if "resources" in fields
        else KyvernoResourceFilter()
    )


def _match(node: Node, autogen: frozenset[str], namespace: str | None) -> _Match:
    fields = node.fields(
        {"any", "all", "resources"},
        refused=dict.fromkeys(
            ("subjects", "roles", "clusterRoles"), "user-info matches (no admission request here)"
        ),
    )
    any_of = tuple(_filter(i) for i in fields["any"].items()) if "any" in fields else ()
    all_of = tuple(_filter(i) for i in fields["all"].items()) if "all" in fields else ()
    if "resources" in fields:
        all_of = (*all_of, _resource_description(fields["resources"]))
    return _Match(any_of, all_of, autogen, namespace)


def _rekor(node: Node | None, options: LoadOptions) -> TlogPolicy:
    if node is None:
        return options.tlog()
    fields = node.fields({"url", "pubkey", "ignoreTlog"})
    if "ignoreTlog" in fields and fields["ignoreTlog"].boolean():
        return TlogPolicy(insecure_ignore_tlog=True)
    keys = rekor_keys_from_pem(fields["pubkey"]) if "pubkey" in fields else options.rekor_keys
    return options.tlog(keys)


def _ctlog(node: Node | None) -> tuple[bool, tuple[RekorKey, ...]]:
    """(ignore SCTs, extra CT log keys) of an attestor's ``ctlog``."""
    if node is None:
        return False, ()
    fields = node.fields({"ignoreSCT", "pubkey"}, refused={"tsaCertChain": "RFC 3161 timestamps"})
    ignore = fields["ignoreSCT"].boolean() if "ignoreSCT" in fields else False
    keys = rekor_keys_from_pem(fields["pubkey"]) if "pubkey" in fields else ()
    return ignore, keys


def _entry(
    node: Node, label: str, options: LoadOptions
) -> tuple[list[Authority], TlogPolicy, dict[str, str], str | None]:
    fields = node.fields(
        {"keys", "keyless", "certificates", "annotations", "repository", "signatureAlgorithm"},
        refused={"attestor": "nested attestor sets"},
    )
    present = [k for k in ("keys", "keyless", "certificates") if k in fields]
    if len(present) != 1:
        node.fail("exactly one of keys, certificates or keyless is required")
    if "signatureAlgorithm" in fields and fields["signatureAlgorithm"].string() != "sha256":
        fields["signatureAlgorithm"].fail("only sha256 is supported")
    annotations = fields["annotations"].string_map() if "annotations" in fields else {}
    where = repository(fields["repository"]) if "repository" in fields else None
    kind = present[0]
    spec = fields[kind]
    if kind == "keys":
        keys = spec.fields(
            {"publicKeys", "signatureAlgorithm", "rekor", "ctlog"},
            refused={
                "kms": "KMS keys (write the PEM in publicKeys)",
                "secret": "Secret references (write the PEM in publicKeys)",
            },
        )
        if "publicKeys" not in keys:
            spec.fail("publicKeys is required")
        text = keys["publicKeys"].string()
        if "{{" in text or text.strip().startswith("k8s://"):
            keys["publicKeys"].fail(
                "not supported: variables and k8s:// references (write the PEM inline)"
            )
        if "signatureAlgorithm" in keys and keys["signatureAlgorithm"].string() != "sha256":
            keys["signatureAlgorithm"].fail("only sha256 is supported")
        if "ctlog" in keys:
            _ctlog(keys["ctlog"])
        blocks = _PEM_BLOCK.findall(text) or [text]
        authorities: list[Authority] = [
            key_authority(
                keys["publicKeys"].child(i, b) if len(blocks) > 1 else keys["publicKeys"],
                f"{label}.keys" + (f"[{i}]" if len(blocks) > 1 else ""),
            )
            for i, b in enumerate(blocks)
        ]
        return authorities, _rekor(keys.get("rekor"), options), annotations, where
    if kind == "keyless":
        keyless = spec.fields(
            {"issuer", "issuerRegExp", "subject", "subjectRegExp", "roots", "rekor", "ctlog"},
            refused={"additionalExtensions": "certificate extensions"},
        )
        if "rekor" not in keyless and "roots" not in keyless:
            spec.fail("either rekor or roots is required")
        ignore_sct, ct_keys = _ctlog(keyless.get("ctlog"))
        values = {
            k: keyless[k].string()
            for k in ("issuer", "issuerRegExp", "subject", "subjectRegExp")
            if k in keyless
        }
        try:
            identity = IdentitySpec(
                values.get("issuer", ""),
                values.get("subject", ""),
                values.get("issuerRegExp", ""),
                values.get("subjectRegExp", ""),
            )
        except ConfigError as err:
            spec.fail(err.message)
        roots = keyless["roots"].string().encode() if "roots" in keyless else None
        authority = keyless_authority(
            spec,
            f"{label}.keyless",
            (identity,),
            options,
            roots_pem=roots,
            ignore_sct=ignore_sct,
            ct_keys=ct_keys,
        )
        return (
            [authority],
            _rekor(keyless.get("rekor"), options),
            annotations,
            where,
        )
    certs = spec.fields({"cert", "certChain", "rekor", "ctlog"})
    if "cert" not in certs and "certChain" not in certs:
        spec.fail("cert or certChain is required")
    # Certificates given by the policy carry no SCT requirement here; the field is validated.
    _ctlog(certs.get("ctlog"))
    cert = certs["cert"].string().encode() if "cert" in certs else None
    chain = certs["certChain"].string().encode() if "certChain" in certs else None
    return (
        [CertificateAuthority(f"{label}.certificates", cert, chain)],
        _rekor(certs.get("rekor"), options),
        annotations,
        where,
    )


def _attestor_set(
    node: Node,
    label: str,
    options: LoadOptions,
    rule_annotations: dict[str, str],
    rule_repository: str | None,
) -> tuple[Policy, str | None]:
    fields = node.fields({"count", "entries"}, required={"entries"})
    authorities: list[Authority] = []
    settings: set[tuple[object, ...]] = set()
    tlog, annotations, where = TlogPolicy(), rule_annotations, rule_repository
    for i, item in enumerate(fields["entries"].items(allow_empty=False)):
        found, tlog, entry_annotations, entry_repository = _entry(
            item, f"{label}.entries[{i}]", options
        )
        annotations = entry_annotations or rule_annotations
        where = entry_repository or rule_repository
        settings.add(
            (
                tlog.insecure_ignore_tlog,
                tuple(k.log_id for k in tlog.rekor_keys),
                tuple(sorted(annotations.items())),
                where,
            )
        )
        authorities.extend(found)
    if len(settings) > 1:
        fields["entries"].fail(
            "not supported: entries of one attestor set with different rekor, annotations "
            "or repository settings"
        )
    count = (
        fields["count"].integer(minimum=1)
        if "count" in fields and fields["count"].value not in (None, 0)
        else None
    )
    threshold = count if count is not None else len(authorities)
    try:
        return Policy(
            label, tuple(authorities), threshold=threshold, tlog=tlog, annotations=annotations
        ), where
    except ConfigError as err:
        node.fail(err.message)


def _conditions(node: Node, label: str) -> tuple[KyvernoConditionBlock, ...]:
    blocks = []
    for i, item in enumerate(node.items()):
        fields = item.fields({"any", "all"})
        parsed: dict[str, tuple[KyvernoCondition, ...]] = {}
        for which in ("any", "all"):
            conditions = []
            for entry in fields[which].items() if which in fields else ():
                condition = entry.fields(
                    {"key", "operator", "value", "message"}, required={"key", "operator"}
                )
                operator = condition["operator"].string()
                if operator.lower() not in OPERATORS:
                    condition["operator"].fail(
                        f"operator {operator!r} is not supported "
                        f"(supported: {', '.join(sorted(OPERATORS))})"
                    )
                try:
                    key = compile_kyverno_value(condition["key"].value)
                    value = compile_kyverno_value(
                        condition["value"].value if "value" in condition else None
                    )
                except ConfigError as err:
                    entry.fail(err.message)
                message = (
                    condition["message"].string(allow_empty=True) if "message" in condition else ""
                )
                conditions.append(KyvernoCondition(key, operator, value, message))
            parsed[which] = tuple(conditions)
        blocks.append(
            KyvernoConditionBlock(f"{label}.conditions[{i}]", parsed["any"], parsed["all"])
        )
    return tuple(blocks)


def _verify_images(  # noqa: PLR0912, PLR0917 - one branch per field; internal helper
    node: Node,
    name: str,
    label: str,
    mode: Mode,
    overrides: tuple[tuple[tuple[str, ...], Mode], ...],
    match: _Match | None,
    exclude: _Match | None,
    options: LoadOptions,
) -> ImagePolicy:
    fields = node.fields(
        {
            "failureAction",
            "type",
            "image",
            "imageReferences",
            "skipImageReferences",
            "key",
            "roots",
            "subject",
            "issuer",
            "attestors",
            "attestations",
            "annotations",
            "repository",
            "mutateDigest",
            "verifyDigest",
            "required",
            "imageRegistryCredentials",
            "useCache",
            "cosignOCI11",
        },
        refused={
            "validate": "validate.deny across attestations",
            "additionalExtensions": "certificate extensions",
        },
    )
    if (
        "type" in fields
        and fields["type"].choice(("Cosign", "SigstoreBundle", "Notary")) != "Cosign"
    ):
        fields["type"].fail("only type Cosign is supported")
    if "cosignOCI11" in fields and fields["cosignOCI11"].boolean():
        fields["cosignOCI11"].fail("not supported: OCI 1.1 referrers")
    for accepted in ("imageRegistryCredentials", "useCache", "required"):
        if accepted in fields and accepted != "imageRegistryCredentials":
            fields[accepted].boolean()
    for legacy in ("key", "roots", "subject", "issuer"):
        if legacy in fields:
            fields[legacy].fail(
                "deprecated single-attestor fields are not supported; use attestors"
            )
    patterns = (
        [kyverno_pattern(i) for i in fields["imageReferences"].items()]
        if "imageReferences" in fields
        else []
    )
    if "image" in fields:
        patterns.append(kyverno_pattern(fields["image"]))
    if not patterns:
        node.fail("an image reference is required (imageReferences)")
    skips = (
        tuple(kyverno_pattern(i) for i in fields["skipImageReferences"].items())
        if "skipImageReferences" in fields
        else ()
    )
    if "failureAction" in fields:
        mode, overrides = _mode(fields["failureAction"]), ()
    mutate = fields["mutateDigest"].boolean() if "mutateDigest" in fields else True
    verify_digest = fields["verifyDigest"].boolean() if "verifyDigest" in fields else True
    if mode == "warn" and mutate and not overrides:
        (fields.get("mutateDigest") or node).fail(
            "mutateDigest must be set to false for 'Audit' failure action"
        )
    annotations = fields["annotations"].string_map() if "annotations" in fields else {}
    where = repository(fields["repository"]) if "repository" in fields else None
    groups = []
    image_sets = []
    for i, item in enumerate(fields["attestors"].items() if "attestors" in fields else ()):
        policy, set_repository = _attestor_set(item, f"attestors[{i}]", options, annotations, where)
        image_sets.append((item, policy, set_repository))
        groups.append(
            RequirementGroup(
                policy.name, (Requirement(policy.name, policy, repository=set_repository),)
            )
        )
    for i, item in enumerate(fields["attestations"].items() if "attestations" in fields else ()):
        attestation = item.fields({"name", "type", "predicateType", "attestors", "conditions"})
        type_node = attestation.get("type") or attestation.get("predicateType")
        if type_node is None:
            item.fail("missing type")
        uri = predicate_type(type_node)
        conditions = (
            _conditions(attestation["conditions"], f"attestations[{i}]")
            if "conditions" in attestation
            else ()
        )
        name_text = attestation["name"].string() if "name" in attestation else type_node.string()
        sets = (
            [
                _attestor_set(s, f"attestations[{i}].attestors[{j}]", options, {}, where)
                for j, s in enumerate(attestation["attestors"].items())
            ]
            if "attestors" in attestation
            else []
        )
        if not sets:
            if not image_sets:
                item.fail("an attestation needs attestors (here or in the entry's attestors)")
            sets = [(p, r) for _, p, r in image_sets]
        for policy, set_repository in sets:
            rule = AttestationRule(name_text, uri, conditions, None, policy.threshold)
            checked = Policy(
                f"{policy.name}:{name_text}",
                policy.authorities,
                policy.threshold,
                policy.tlog,
                {},
                (rule,),
            )
            groups.append(
                RequirementGroup(
                    checked.name,
                    (
                        Requirement(
                            checked.name, checked, signatures=False, repository=set_repository
                        ),
                    ),
                )
            )
    if not groups:
        node.fail("attestors or attestations are required")
    return ImagePolicy(
        name=name,
        source=f"{node.doc.source}: document {node.doc.index + 1}",
        images=tuple(patterns),
        groups=tuple(groups),
        skip_images=skips,
        mode=mode,
        mode_overrides=overrides,
        match=match,
        exclude=exclude,
        require_digest=verify_digest and not mutate,
        notes=("mutateDigest: Kyverno would pin the image to its digest",) if mutate else (),
        mutate_digest=mutate,
    )


def _mode(node: Node) -> Mode:
    return "enforce" if node.choice(("Audit", "Enforce"), fold_case=True) == "Enforce" else "warn"


def load_kyverno_policy(root: Node, options: LoadOptions) -> list[ImagePolicy]:
    """Load one Kyverno ``ClusterPolicy`` or ``Policy`` document.

    Raises:
        ConfigError: An unknown or unsupported field, or an invalid value, located.
    """
    top = kubernetes_object(root)
    kind = top["kind"].string() if "kind" in top else "ClusterPolicy"
    meta = kubernetes_metadata(top["metadata"], namespaced=True)
    name = meta["name"].string()
    namespace = (
        (meta["namespace"].string() if "namespace" in meta else "default")
        if kind == "Policy"
        else None
    )
    annotations = meta["annotations"].string_map() if "annotations" in meta else {}
    autogen = POD_CONTROLLERS
    if _AUTOGEN in annotations:
        wanted = {c.strip() for c in annotations[_AUTOGEN].split(",")}
        autogen = frozenset() if "none" in wanted else frozenset(wanted) & POD_CONTROLLERS
    spec = top["spec"].fields(
        {
            "rules",
            "validationFailureAction",
            "validationFailureActionOverrides",
            "background",
            "failurePolicy",
            "webhookTimeoutSeconds",
            "admission",
            "emitWarning",
            "useServerSideApply",
            "schemaValidation",
            "applyRules",
            "mutateExistingOnPolicyUpdate",
            "generateExisting",
            "generateExistingOnPolicyUpdate",
            "webhookConfiguration",
        },
        required={"rules"},
    )
    if "applyRules" in spec and spec["applyRules"].choice(("All", "One")) != "All":
        spec["applyRules"].fail("only applyRules: All is supported")
    mode: Mode = (
        _mode(spec["validationFailureAction"]) if "validationFailureAction" in spec else "warn"
    )
    overrides: list[tuple[tuple[str, ...], Mode]] = []
    for item in (
        spec["validationFailureActionOverrides"].items()
        if "validationFailureActionOverrides" in spec
        else ()
    ):
        override = item.fields(
            {"action", "namespaces"},
            required={"action"},
            refused={
                "namespaceSelector": "namespace selectors need the cluster's namespace labels"
            },
        )
        overrides.append(
            (
                override["namespaces"].strings() if "namespaces" in override else (),
                _mode(override["action"]),
            )
        )
    policies = []
    for rule_node in spec["rules"].items(allow_empty=False):
        rule = rule_node.fields(
            {
                "name",
                "match",
                "exclude",
                "verifyImages",
                "skipBackgroundRequests",
                "reportProperties",
            },
            required={"name", "match"},
            refused={
                k: f"{k} rules (sealgate evaluates verifyImages only)"
                for k in (
                    "validate",
                    "mutate",
                    "generate",
                    "preconditions",
                    "context",
                    "imageExtractors",
                    "celPreconditions",
                )
            },
        )
        rule_name = rule["name"].string()
        if "verifyImages" not in rule:
            rule_node.fail("only verifyImages rules are supported")
        match = _match(rule["match"], autogen, namespace)
        exclude = _match(rule["exclude"], autogen, None) if "exclude" in rule else None
        for i, item in enumerate(rule["verifyImages"].items(allow_empty=False)):
            label = f"{kind}/{name}/{rule_name}[{i}]"
            policies.append(
                _verify_images(item, label, label, mode, tuple(overrides), match, exclude, options)
            )
    return policies

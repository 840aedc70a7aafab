"""sealgate's own policy document: ``apiVersion: sealgate.dev/v1alpha1, kind: ImagePolicy``.

One document is one :class:`~sealgate.policy.matching.ImagePolicy` with one requirement: the
model's :class:`~sealgate.policy.Policy` written out directly. docs/policies.md documents
every field; a field not listed there is refused::

    apiVersion: sealgate.dev/v1alpha1
    kind: ImagePolicy
    metadata: {name: release-signed}
    spec:
      images: [{glob: "ghcr.io/acme/**"}]      # policy-controller glob dialect
      mode: enforce                              # or warn
      match: {kinds: [Pod, Deployment], namespaces: ["prod-*"], labels: {team: pay}}
      authorities:
        - name: release
          key: {data: "-----BEGIN PUBLIC KEY-----..."}
        - name: ci
          keyless:                               # a Fulcio certificate naming this identity
            identities: [{issuer: "https://token.actions.githubusercontent.com",
                          subjectRegExp: "^https://github.com/acme/"}]
        - name: legacy
          static: {action: pass}
      threshold: 1                               # distinct authorities
      tlog: {required: true, rekorKeys: ["-----BEGIN PUBLIC KEY-----..."]}
      annotations: {env: prod}
      mutateDigest: true                         # the webhook pins images to their digest
      attestations:
        - name: sbom
          predicateType: cyclonedx
          authorities: [release]                 # names above; default: all of them
          threshold: 1
          conditions: ["length(predicate.components) > `0`"]
"""

from __future__ import annotations

from sealgate.checks.authorities import Authority, StaticAuthority
from sealgate.checks.keyless_identity import KeylessAuthority
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import ConfigError
from sealgate.policy.loaders._common import (
    LoadOptions,
    condition,
    identity_spec,
    key_authority,
    keyless_authority,
    predicate_type,
    rekor_keys_from_pem,
    sigstore_glob,
)
from sealgate.policy.loaders._nodes import Node
from sealgate.policy.matching import ImagePolicy, Requirement, RequirementGroup
from sealgate.policy.model import AttestationRule, Policy
from sealgate.policy.resources import KyvernoResourceFilter, LabelSelector

__all__ = ["API_VERSION", "KIND", "load_sealgate_policy"]

API_VERSION = "sealgate.dev/v1alpha1"
KIND = "ImagePolicy"


def _keyless(node: Node, name: str, options: LoadOptions) -> KeylessAuthority:
    fields = node.fields({"identities", "caCert", "insecureIgnoreSCT"}, required={"identities"})
    identities = tuple(identity_spec(i) for i in fields["identities"].items(allow_empty=False))
    roots = fields["caCert"].string().encode("utf-8") if "caCert" in fields else None
    ignore_sct = fields["insecureIgnoreSCT"].boolean() if "insecureIgnoreSCT" in fields else False
    return keyless_authority(
        node, name, identities, options, roots_pem=roots, ignore_sct=ignore_sct
    )


def _authority(node: Node, index: int, options: LoadOptions) -> Authority:
    fields = node.fields({"name", "key", "keyless", "static"}, required={"name"})
    name = fields["name"].string()
    kinds = [k for k in ("key", "keyless", "static") if k in fields]
    if len(kinds) != 1:
        node.fail("exactly one of key, keyless or static is required")
    if "keyless" in fields:
        return _keyless(fields["keyless"], name, options)
    if "key" in fields:
        key = fields["key"].fields({"data"}, required={"data"})
        return key_authority(key["data"], name)
    static = fields["static"].fields({"action", "message"}, required={"action"})
    action = static["action"].choice(("pass", "fail"))
    message = static["message"].string(allow_empty=True) if "message" in static else ""
    del index
    return StaticAuthority("pass" if action == "pass" else "fail", name, message)


def _tlog(node: Node | None, options: LoadOptions) -> TlogPolicy:
    if node is None:
        return options.tlog()
    fields = node.fields({"required", "rekorKeys"})
    required = fields["required"].boolean() if "required" in fields else True
    keys = options.rekor_keys
    if "rekorKeys" in fields:
        keys = tuple(k for item in fields["rekorKeys"].items() for k in rekor_keys_from_pem(item))
    if not required:
        return TlogPolicy(insecure_ignore_tlog=True)
    return options.tlog(keys)


def _match(node: Node) -> KyvernoResourceFilter:
    fields = node.fields({"kinds", "namespaces", "labels"})
    return KyvernoResourceFilter(
        kinds=fields["kinds"].strings() if "kinds" in fields else (),
        namespaces=fields["namespaces"].strings() if "namespaces" in fields else (),
        selector=LabelSelector(fields["labels"].string_map()) if "labels" in fields else None,
    )


def _attestation(node: Node, named: dict[str, Authority]) -> AttestationRule:
    fields = node.fields(
        {"name", "predicateType", "conditions", "authorities", "threshold"},
        required={"predicateType"},
    )
    type_uri = predicate_type(fields["predicateType"])
    name = fields["name"].string() if "name" in fields else fields["predicateType"].string()
    authorities = None
    if "authorities" in fields:
        chosen = []
        for item in fields["authorities"].items(allow_empty=False):
            wanted = item.string()
            if wanted not in named:
                item.fail(f"no authority named {wanted!r} in spec.authorities")
            chosen.append(named[wanted])
        authorities = tuple(chosen)
    conditions = (
        tuple(condition(c) for c in fields["conditions"].items()) if "conditions" in fields else ()
    )
    threshold = fields["threshold"].integer(minimum=1) if "threshold" in fields else 1
    try:
        return AttestationRule(name, type_uri, conditions, authorities, threshold)
    except ConfigError as err:
        node.fail(err.message)


def load_sealgate_policy(root: Node, options: LoadOptions) -> list[ImagePolicy]:
    """Load one ``sealgate.dev/v1alpha1`` ``ImagePolicy`` document.

    Raises:
        ConfigError: An unknown field, an invalid value, or an unusable key, located.
    """
    top = root.fields({"apiVersion", "kind", "metadata", "spec"}, required={"metadata", "spec"})
    meta = top["metadata"].fields({"name", "namespace", "labels", "annotations"}, required={"name"})
    name = meta["name"].string()
    spec = top["spec"].fields(
        {
            "images",
            "mode",
            "match",
            "authorities",
            "threshold",
            "tlog",
            "annotations",
            "attestations",
            "mutateDigest",
        },
        required={"images", "authorities"},
    )
    images = tuple(
        sigstore_glob(item.fields({"glob"}, required={"glob"})["glob"])
        for item in spec["images"].items(allow_empty=False)
    )
    authorities = [
        _authority(item, i, options)
        for i, item in enumerate(spec["authorities"].items(allow_empty=False))
    ]
    named: dict[str, Authority] = {}
    for item, authority in zip(spec["authorities"].items(), authorities, strict=True):
        if authority.name in named:
            item.fail(f"authority name {authority.name!r} is used twice")
        named[authority.name] = authority
    attestations = (
        tuple(_attestation(item, named) for item in spec["attestations"].items())
        if "attestations" in spec
        else ()
    )
    try:
        policy = Policy(
            name=name,
            authorities=tuple(authorities),
            threshold=spec["threshold"].integer(minimum=1) if "threshold" in spec else 1,
            tlog=_tlog(spec.get("tlog"), options),
            annotations=spec["annotations"].string_map() if "annotations" in spec else {},
            attestations=attestations,
        )
    except ConfigError as err:
        top["spec"].fail(err.message)
    mode = spec["mode"].choice(("enforce", "warn")) if "mode" in spec else "enforce"
    return [
        ImagePolicy(
            name=f"{KIND}/{name}",
            source=f"{root.doc.source}: document {root.doc.index + 1}",
            images=images,
            groups=(RequirementGroup("authorities", (Requirement("authorities", policy),)),),
            mode="warn" if mode == "warn" else "enforce",
            match=_match(spec["match"]) if "match" in spec else None,
            mutate_digest=spec["mutateDigest"].boolean() if "mutateDigest" in spec else False,
        )
    ]

"""Pieces every policy loader shares: keys, predicate types, patterns, options."""

from __future__ import annotations

from dataclasses import dataclass

from sealgate.checks.authorities import KeyAuthority
from sealgate.checks.conditions import Condition, compile_condition
from sealgate.checks.keyless_identity import IdentitySpec, KeylessAuthority
from sealgate.checks.tlog import RekorKey, TlogPolicy, load_rekor_keys
from sealgate.errors import ConfigError, InputError, SealgateError, UsageError
from sealgate.formats.predicates import resolve_predicate_type
from sealgate.keys import load_verifier_pem
from sealgate.oci.reference import Reference
from sealgate.policy.globs import KyvernoWildcard, SigstoreGlob
from sealgate.policy.loaders._nodes import Node
from sealgate.trust import TrustedRoot

__all__ = [
    "LoadOptions",
    "condition",
    "identity_spec",
    "key_authority",
    "keyless_authority",
    "kubernetes_metadata",
    "kubernetes_object",
    "kyverno_pattern",
    "predicate_type",
    "rekor_keys_from_pem",
    "repository",
    "sigstore_glob",
]

_MAX_PEM = 64 * 1024


@dataclass(frozen=True)
class LoadOptions:
    """What the caller supplies that documents do not carry.

    Attributes:
        rekor_keys: Trusted Rekor keys for authorities that require the transparency log
            without naming a key of their own (cosign's default log keys).
        trusted_root: Trust material for keyless authorities (Fulcio CAs, CT logs, TSAs) and
            the transparency logs it lists; none means nothing keyless can verify.
    """

    rekor_keys: tuple[RekorKey, ...] = ()
    trusted_root: TrustedRoot | None = None

    def tlog(self, keys: tuple[RekorKey, ...] | None = None) -> TlogPolicy:
        """A required transparency log: ``keys`` (default the caller's) and the trusted root's."""
        return TlogPolicy(
            rekor_keys=self.rekor_keys if keys is None else keys, trusted_root=self.trusted_root
        )

    def keyless_root(self) -> TrustedRoot:
        """The trust material keyless authorities check certificates against."""
        return self.trusted_root or TrustedRoot(source="none")


# Server-set metadata a document exported with ``kubectl get -o yaml`` still carries.
_METADATA_FIELDS = frozenset(
    {"name", "labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp"}
)


def kubernetes_object(root: Node) -> dict[str, Node]:
    """Read a Kubernetes object's top level (``metadata`` and ``spec`` required).

    Raises:
        ConfigError: An unknown top-level field, or ``metadata``/``spec`` missing.
    """
    return root.fields(
        {"apiVersion", "kind", "metadata", "spec", "status"}, required={"metadata", "spec"}
    )


def kubernetes_metadata(node: Node, *, namespaced: bool) -> dict[str, Node]:
    """Read an object's ``metadata`` (``name`` required; ``namespace`` only when ``namespaced``).

    Raises:
        ConfigError: An unknown field, or ``name`` missing.
    """
    allowed = _METADATA_FIELDS | {"namespace"} if namespaced else _METADATA_FIELDS
    return node.fields(allowed, required={"name"})


def key_authority(node: Node, name: str) -> KeyAuthority:
    """A public key written inline as PEM.

    Raises:
        ConfigError: Not a readable public key (the message never contains the key).
    """
    pem = node.string(max_chars=_MAX_PEM)
    try:
        verifier = load_verifier_pem(pem.encode("utf-8"))
    except (SealgateError, UnicodeEncodeError) as err:
        reason = err.message if isinstance(err, SealgateError) else "not UTF-8"
        node.fail(f"not a usable public key: {reason}")
    try:
        return KeyAuthority.of(verifier, name=name)
    except SealgateError as err:
        node.fail(f"not a usable public key: {err.message}")


def rekor_keys_from_pem(node: Node) -> tuple[RekorKey, ...]:
    """Rekor public keys written inline.

    Raises:
        ConfigError: Not ECDSA public keys.
    """
    pem = node.string(max_chars=_MAX_PEM)
    try:
        return load_rekor_keys([pem.encode("utf-8")])
    except (SealgateError, UnicodeEncodeError):
        node.fail("not a usable Rekor public key (ECDSA PEM)")


def predicate_type(node: Node) -> str:
    """A cosign ``--type`` name or predicate type URI.

    Raises:
        ConfigError: Neither.
    """
    text = node.string()
    try:
        return resolve_predicate_type(text)
    except InputError as err:
        node.fail(err.message)


def condition(node: Node) -> Condition:
    """A JMESPath condition compiled at load.

    Raises:
        ConfigError: Not valid JMESPath.
    """
    try:
        return compile_condition(node.string())
    except UsageError as err:
        node.fail(err.message)


def sigstore_glob(node: Node) -> SigstoreGlob:
    """A policy-controller glob compiled at load.

    Raises:
        ConfigError: Characters outside the glob alphabet.
    """
    try:
        return SigstoreGlob.compile(node.string())
    except ConfigError as err:
        node.fail(err.message)


def kyverno_pattern(node: Node) -> KyvernoWildcard:
    """A Kyverno image reference pattern.

    Raises:
        ConfigError: Too long or empty.
    """
    try:
        return KyvernoWildcard.compile(node.string())
    except ConfigError as err:
        node.fail(err.message)


def repository(node: Node) -> str:
    """A repository where signatures live (``registry/path``), checked at load.

    Raises:
        ConfigError: Not a repository reference, or one with a tag or digest.
    """
    text = node.string().strip()
    try:
        ref = Reference.parse(text)
    except UsageError as err:
        node.fail(err.message)
    if ref.digest or ref.layout or text.rsplit("/", 1)[-1].count(":"):
        node.fail("must name a repository (registry/path), without tag or digest")
    return text


def identity_spec(node: Node) -> IdentitySpec:
    """A keyless identity: issuer/subject, exact or as Go (RE2) regular expressions.

    Raises:
        ConfigError: Both the exact and the regexp form of one field, or a bad regexp.
    """
    fields = node.fields({"issuer", "subject", "issuerRegExp", "subjectRegExp"})
    values = {k: fields[k].string() for k in fields}
    if "issuer" in values and "issuerRegExp" in values:
        node.fail("issuer and issuerRegExp are mutually exclusive")
    if "subject" in values and "subjectRegExp" in values:
        node.fail("subject and subjectRegExp are mutually exclusive")
    try:
        return IdentitySpec(
            values.get("issuer", ""),
            values.get("subject", ""),
            values.get("issuerRegExp", ""),
            values.get("subjectRegExp", ""),
        )
    except ConfigError as err:
        node.fail(err.message)


def keyless_authority(
    node: Node,
    name: str,
    identities: tuple[IdentitySpec, ...],
    options: LoadOptions,
    *,
    roots_pem: bytes | None = None,
    ignore_sct: bool = False,
    ct_keys: tuple[RekorKey, ...] = (),
    url: str = "",
) -> KeylessAuthority:
    """A keyless authority with the caller's trust material, its errors located at ``node``.

    Raises:
        ConfigError: No identity, or CA certificates (``ca-cert``, ``roots``) that are not PEM.
    """
    root = options.keyless_root()
    try:
        return KeylessAuthority(
            name,
            identities,
            trusted_root=root.with_ctlogs(ct_keys) if ct_keys else root,
            roots_pem=roots_pem,
            ignore_sct=ignore_sct,
            url=url,
        )
    except ConfigError as err:
        node.fail(err.message)

"""Policy documents -> :class:`~sealgate.policy.matching.PolicySet` (pure: text in, objects out).

Supported documents (``apiVersion``/``kind``), any number per YAML stream:

* ``sealgate.dev/v1alpha1`` ``ImagePolicy`` (:mod:`.sealgate_kind`);
* ``policy.sigstore.dev/v1alpha1|v1beta1`` ``ClusterImagePolicy`` (:mod:`.cip`);
* ``kyverno.io/v1|v2beta1`` ``ClusterPolicy``/``Policy`` with ``verifyImages`` rules
  (:mod:`.kyverno`);
* ``v1`` ``ConfigMap`` ``config-policy-controller``: its ``no-match-policy``
  (``deny``/``warn``/``allow``) sets what happens to images no policy matches.

Anything else is a :class:`~sealgate.errors.ConfigError` naming the file and document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sealgate.documents.yaml import YamlDocument, parse_yaml
from sealgate.errors import ConfigError
from sealgate.policy.loaders import cip, kyverno, sealgate_kind
from sealgate.policy.loaders._common import LoadOptions
from sealgate.policy.loaders._nodes import Node
from sealgate.policy.matching import ImagePolicy, NoMatch, PolicySet

__all__ = ["LoadOptions", "load_documents", "load_policy_set"]

Loader = Callable[[Node, LoadOptions], list[ImagePolicy]]

_LOADERS: dict[tuple[str, str], Loader] = {
    (sealgate_kind.API_VERSION, sealgate_kind.KIND): sealgate_kind.load_sealgate_policy,
    **{(v, cip.KIND): cip.load_cluster_image_policy for v in cip.API_VERSIONS},
    **{(v, k): kyverno.load_kyverno_policy for v in kyverno.API_VERSIONS for k in kyverno.KINDS},
}
_CONFIG_MAP = "config-policy-controller"


def _no_match(root: Node) -> NoMatch | None:
    top = root.fields({"apiVersion", "kind", "metadata", "data"}, required={"metadata"})
    meta = top["metadata"].fields({"name", "namespace", "labels", "annotations"}, required={"name"})
    if meta["name"].value != _CONFIG_MAP:
        meta["name"].fail(f"only the {_CONFIG_MAP} ConfigMap is read (its no-match-policy)")
    data = (
        top["data"].fields({"no-match-policy", "fail-on-empty-authorities"})
        if "data" in top
        else {}
    )
    if "no-match-policy" not in data:
        return None
    choice = data["no-match-policy"].choice(("deny", "warn", "allow"))
    return "deny" if choice == "deny" else "warn" if choice == "warn" else "allow"


def load_documents(
    documents: Sequence[YamlDocument], options: LoadOptions | None = None
) -> tuple[list[ImagePolicy], NoMatch | None]:
    """Load parsed documents.

    Returns:
        The policies in order, and the no-match setting if a ConfigMap gave one.

    Raises:
        ConfigError: An unknown kind or an invalid document (file, document and field named).
    """
    options = options or LoadOptions()
    policies: list[ImagePolicy] = []
    no_match: NoMatch | None = None
    for doc in documents:
        if doc.data is None:
            continue
        root = Node.root(doc)
        if not isinstance(doc.data, dict):
            root.fail("a policy document must be a mapping")
        api_version, kind = doc.data.get("apiVersion"), doc.data.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            root.fail("apiVersion and kind are required")
        if (api_version, kind) == ("v1", "ConfigMap"):
            no_match = _no_match(root) or no_match
            continue
        loader = _LOADERS.get((api_version, kind))
        if loader is None:
            supported = ", ".join(sorted({f"{v} {k}" for v, k in _LOADERS}))
            root.child("kind", kind).fail(
                f"unsupported kind {api_version} {kind} (supported: {supported}, "
                "v1 ConfigMap config-policy-controller)"
            )
        policies.extend(loader(root, options))
    return policies, no_match


def load_policy_set(
    sources: Sequence[tuple[str, bytes | str]],
    *,
    no_match: NoMatch | None = None,
    options: LoadOptions | None = None,
) -> PolicySet:
    """Parse and load every source into one policy set.

    Args:
        sources: (name for messages, YAML text) pairs.
        no_match: What to do with an image no policy matches; overrides a ConfigMap's
            setting; ``deny`` when neither says.
        options: Trusted Rekor keys and other caller-supplied settings.

    Returns:
        The policy set.

    Raises:
        ConfigError: Invalid YAML, an unknown kind, an invalid document, duplicate policy
            names, or more than :data:`~sealgate.policy.matching.MAX_POLICIES` policies.
    """
    policies: list[ImagePolicy] = []
    configured: NoMatch | None = None
    for name, text in sources:
        loaded, setting = load_documents(parse_yaml(text, source=name), options)
        policies.extend(loaded)
        configured = setting or configured
        if len(policies) > 10 * 1000:
            raise ConfigError(f"{name}: too many policies")
    return PolicySet(tuple(policies), no_match or configured or "deny")

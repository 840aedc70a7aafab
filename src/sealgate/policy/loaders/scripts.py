"""``policy`` blocks (``type: cue|rego``): Rego is evaluated, CUE is refused at load."""

from __future__ import annotations

from sealgate.errors import ConfigError
from sealgate.policy.loaders._nodes import Node
from sealgate.policy.rego import RegoPolicy

__all__ = ["policy_script"]


def policy_script(node: Node, kind: str, name: str) -> RegoPolicy:
    """Compile a policy script.

    Args:
        node: The ``data`` node (the ``type`` node for CUE, which is refused).
        kind: ``rego`` or ``cue``.
        name: How reports name it.

    Raises:
        ConfigError: CUE, no Rego evaluator, or a module that does not parse, located.
    """
    if kind != "rego":
        node.fail("CUE policies are not supported (use type: rego)")
    try:
        return RegoPolicy.compile(name, node.string(max_chars=256 * 1024))
    except ConfigError as err:
        node.fail(err.message)

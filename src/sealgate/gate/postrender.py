"""Helm post-renderer: pin every container image to the digest the gate verified.

``helm upgrade --post-renderer sealgate-postrender`` pipes the rendered manifests through a
program; the CLI wraps :func:`postrender` for that. It closes the gap between "the gate
verified ``api:1.4``" and "the cluster pulled ``api:1.4``" (the tag may have moved in
between): each ``initContainers``/``containers``/``ephemeralContainers`` image is replaced
by the pinned reference from ``--pin-output``, and any image the gate did not pin (a sidecar
missing from the versions file, a hook image, a tag the gate never saw) blocks the deploy.

Matching: the image text exactly as written, else its normalised form under the same
short-name rules the gate used, else an image already pinned to one of the verified
references. The output is a PyYAML round trip: document order and key order are kept
(``sort_keys=False``); comments and formatting are not (Helm does not need them).
With ``COSIGN_VERIFY_DISABLED`` the CLI should pass the manifests through unchanged after
the gate's audited bypass, rather than call this function.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from sealgate.documents import format_path, image_volumes, parse_yaml, workload_images
from sealgate.errors import ConfigError
from sealgate.gate.config import ImageRules
from sealgate.gate.model import DeployBlocked
from sealgate.gate.sources import normalise_reference

__all__ = ["load_pins", "postrender"]

_MAX_LISTED = 20
_DEFAULT_RULES = ImageRules()


def _normalised(text: str, rules: ImageRules) -> str | None:
    try:
        return str(normalise_reference(text, "<pin>", rules))
    except ConfigError:
        return None


def _index(pins: Mapping[str, str], rules: ImageRules) -> dict[str, str]:
    index: dict[str, str] = {}
    for original, pinned in pins.items():
        if "@sha256:" not in pinned:
            raise ConfigError(f"pin for {original!r} is not pinned by digest: {pinned!r}")
        for key in (original, _normalised(original, rules), pinned, _normalised(pinned, rules)):
            if key is not None:
                index.setdefault(key, pinned)
    return index


def postrender(
    manifests: bytes | str,
    pins: Mapping[str, str],
    *,
    rules: ImageRules = _DEFAULT_RULES,
    source: str = "<stdin>",
) -> bytes:
    """Rewrite rendered manifests so every container image is pinned by digest.

    Args:
        manifests: Multi-document YAML as rendered by Helm.
        pins: Original reference -> pinned reference (``render_pins``/``pin_map`` output).
        rules: The gate configuration's short-name rules (used for matching only).
        source: Name used in messages.

    Returns:
        The rewritten multi-document YAML (UTF-8), empty documents dropped.

    Raises:
        DeployBlocked: some images were not verified by the gate (all are listed).
        ConfigError: the manifests are not acceptable YAML, or a pin is not by digest.
    """
    documents = parse_yaml(manifests, source=source)
    index = _index(pins, rules)
    unverified: list[str] = []
    output: list[object] = []
    for doc in documents:
        if doc.data is None:
            continue
        # Image volumes (volumes[].image.reference) are pulled like container images.
        for field in (*workload_images(doc.data), *image_volumes(doc.data)):
            where = f"{doc.where(field.path)} ({format_path(field.path)})"
            if field.image is None or not field.image.strip():
                unverified.append(f"<no image> at {where}")
                continue
            text = field.image.strip()
            pinned = index.get(text)
            if pinned is None:
                key = _normalised(text, rules)
                pinned = index.get(key) if key is not None else None
            if pinned is None:
                unverified.append(f"{text} at {where}")
            else:
                field.container[str(field.path[-1])] = pinned  # "image" or "reference"
        output.append(doc.data)
    if unverified:
        shown = "; ".join(unverified[:_MAX_LISTED])
        more = (
            f" (and {len(unverified) - _MAX_LISTED} more)" if len(unverified) > _MAX_LISTED else ""
        )
        raise DeployBlocked(
            f"helm post-render: {len(unverified)} image(s) not verified by the gate: {shown}{more}"
        )
    text = yaml.safe_dump_all(
        output,
        sort_keys=False,
        default_flow_style=False,
        explicit_start=True,
        allow_unicode=True,
        width=1 << 30,
    )
    return text.encode("utf-8")


def load_pins(text: bytes | str, *, source: str = "<pins>") -> dict[str, str]:
    """Read a ``--pin-output`` file (YAML or JSON mapping of strings).

    Raises:
        ConfigError: not a mapping of strings, or not acceptable YAML.
    """
    documents = parse_yaml(text, source=source)
    data = documents[0].data if len(documents) == 1 else None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ConfigError(f"{source}: expected one mapping of image -> pinned image")
    return dict(data)

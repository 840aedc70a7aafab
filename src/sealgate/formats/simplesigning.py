"""The cosign simple-signing payload: the bytes an image signature covers (docs/formats.md §1.4).

Built byte-for-byte like sigstore/sigstore ``pkg/signature/payload`` marshals
``SimpleContainerImage`` with Go ``encoding/json``. Verifiers must never re-serialize: the
signature is over the stored bytes, so :func:`parse_payload` only reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sealgate.errors import MalformedData
from sealgate.formats import _gojson
from sealgate.formats.cosign_types import COSIGN_SIGNATURE_TYPE

__all__ = ["SimpleSigningPayload", "build_payload", "parse_payload"]


@dataclass(frozen=True)
class SimpleSigningPayload:
    """A parsed simple-signing payload.

    Attributes:
        docker_reference: ``critical.identity.docker-reference`` (not checked by cosign).
        manifest_digest: ``critical.image.docker-manifest-digest`` (``sha256:<hex>``).
        type: ``critical.type``; always ``cosign container image signature`` once parsed.
        optional: The ``optional`` object (annotations; other producers add numbers), or None.
    """

    docker_reference: str
    manifest_digest: str
    type: str = COSIGN_SIGNATURE_TYPE
    optional: dict[str, Any] | None = None

    def to_json_obj(self) -> dict[str, Any]:
        """Return the payload as an ordered dict in Go struct order (for cosign-shaped output).

        Returns:
            ``{"critical": {...}, "optional": ...}`` with ``optional`` as a fresh copy.
        """
        return {
            "critical": {
                "identity": {"docker-reference": self.docker_reference},
                "image": {"docker-manifest-digest": self.manifest_digest},
                "type": self.type,
            },
            "optional": None if self.optional is None else dict(self.optional),
        }


def build_payload(
    docker_reference: str,
    manifest_digest: str,
    annotations: Mapping[str, str] | None = None,
) -> bytes:
    """Build the simple-signing payload exactly as cosign does.

    Args:
        docker_reference: Registry + repository, no tag or digest (``index.docker.io/library/x``).
        manifest_digest: ``sha256:<hex>`` of the signed manifest or index.
        annotations: The ``-a key=value`` pairs; None or empty gives ``"optional":null``.

    Returns:
        Compact Go-``encoding/json`` bytes (keys of ``optional`` sorted, HTML characters escaped).

    Raises:
        TypeError: If an annotation key or value is not a string.
    """
    optional: dict[str, str] | None = None
    if annotations:
        for key, value in annotations.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("annotation keys and values must be strings")
        optional = _gojson.sort_maps(dict(annotations))
    obj = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": COSIGN_SIGNATURE_TYPE,
        },
        "optional": optional,
    }
    return _gojson.dumps(obj)


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedData(f"simple-signing payload: {what} is not a JSON object")
    return value


def _string(container: dict[str, Any], key: str, what: str) -> str:
    # Go leaves a missing field at its zero value; a present field of another type is an error.
    value = container.get(key, "")
    if not isinstance(value, str):
        raise MalformedData(f"simple-signing payload: {what} is not a string")
    return value


def parse_payload(raw: bytes) -> SimpleSigningPayload:
    """Parse a simple-signing payload.

    Args:
        raw: The exact layer bytes.

    Returns:
        The parsed payload.

    Raises:
        MalformedData: If ``raw`` is not JSON, a field has the wrong type, or ``critical.type``
            is not ``cosign container image signature``.
    """
    doc = _object(_gojson.loads(raw, "simple-signing payload"), "the payload")
    critical = _object(doc.get("critical"), "critical")
    identity = _object(critical.get("identity", {}), "critical.identity")
    image = _object(critical.get("image", {}), "critical.image")
    kind = _string(critical, "type", "critical.type")
    if kind != COSIGN_SIGNATURE_TYPE:
        raise MalformedData(f"simple-signing payload: unknown critical type {kind!r}")
    optional = doc.get("optional")
    if optional is not None and not isinstance(optional, dict):
        raise MalformedData("simple-signing payload: optional is not a JSON object")
    return SimpleSigningPayload(
        docker_reference=_string(identity, "docker-reference", "docker-reference"),
        manifest_digest=_string(image, "docker-manifest-digest", "docker-manifest-digest"),
        type=kind,
        optional=optional,
    )

"""cosign's ``verify -o json`` output for verified image signatures.

cosign prints, for each signature that passed, the simple-signing payload with ``optional``
augmented by the Rekor ``Bundle`` when one was verified. Go's ``encoding/json`` sorts map keys
and keeps struct field order; :mod:`sealgate.formats._gojson` reproduces both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sealgate.checks.pipeline import SignatureResult
from sealgate.formats import _gojson
from sealgate.formats.simplesigning import SimpleSigningPayload

__all__ = ["cosign_json_element", "render_cosign_json"]


def cosign_json_element(result: SignatureResult[SimpleSigningPayload]) -> dict[str, Any]:
    """The element cosign prints for one verified signature.

    Args:
        result: A passing result (its claims are the parsed payload).

    Returns:
        The simple-signing object with ``optional.Bundle`` when a log entry was verified.

    Raises:
        ValueError: ``result`` did not pass (a caller bug: only verified ones are printed).
    """
    payload = result.claims
    if payload is None or not result.ok:
        raise ValueError(f"{result.label} did not pass verification")
    bundle = next((a.bundle for a in result.accepted if a.bundle is not None), None)
    keyless = next((a for a in result.accepted if a.issuer), None)
    obj = payload.to_json_obj()
    optional = None if payload.optional is None else dict(payload.optional)
    if keyless is not None:
        # cosign PrintVerification: the certificate's subject and issuer, under both names.
        optional = optional or {}
        optional.update(
            {
                "Subject": keyless.subject,
                "Issuer": keyless.issuer,
                "1.3.6.1.4.1.57264.1.1": keyless.issuer,
            }
        )
    if bundle is not None:
        optional = optional or {}
        optional["Bundle"] = None  # placeholder: sorted with the other keys below
    if optional is not None:
        optional = _gojson.sort_maps(optional)  # Go map[string]interface{}: sorted keys
        if bundle is not None:
            optional["Bundle"] = bundle.to_json_obj()  # struct: Go field order
    obj["optional"] = optional
    return obj


def render_cosign_json(verified: Sequence[SignatureResult[SimpleSigningPayload]]) -> bytes:
    """Serialize verified signatures as cosign's ``-o json`` array (no surrounding newlines).

    Args:
        verified: The verified signatures, in layer order.

    Returns:
        Go-``encoding/json`` bytes of the array.
    """
    return _gojson.dumps([cosign_json_element(v) for v in verified])

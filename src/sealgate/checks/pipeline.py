"""The one verification pipeline: signed things x authorities -> per-signature results.

Image signatures and attestations go through the same steps; only two things differ and are
passed in: how a stored layer is read (:func:`~sealgate.checks.signed.simplesigning_layer` or
:func:`~sealgate.checks.signed.dsse_layer`) and which claims its payload must make about the
image (:mod:`sealgate.checks.claims`). For each signed thing:

1. read it; a layer that cannot be read is a failed signature, never an error for the set;
2. ask every authority (:mod:`sealgate.checks.authorities`); keep each acceptance and each
   refusal with its reason;
3. if an authority accepted, check the claims (the digest the payload names, the subject);
4. the result passes when an authority accepted and the claims hold.

Nothing here decides about the *set*: counting authorities, thresholds and required
attestations are the policy's (:mod:`sealgate.policy`), which reads these results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sealgate.checks.authorities import Acceptance, Authority, CheckContext
from sealgate.checks.signed import SignedThing
from sealgate.errors import CheckFailed, MalformedData, SealgateError, SignatureInvalid
from sealgate.formats.cosign_manifest import SignatureLayer

__all__ = ["ClaimsCheck", "LayerReader", "Rejection", "SignatureResult", "check_layers"]

C = TypeVar("C")

#: Reads one stored layer into a signed thing (raises for a layer that is not one).
LayerReader = Callable[[SignatureLayer, str], SignedThing]
#: Checks what the payload claims about the image; returns the parsed claims or raises.
ClaimsCheck = Callable[[SignedThing], C]


@dataclass(frozen=True)
class Rejection:
    """An authority refused a signature.

    Attributes:
        authority: The refusing authority's id.
        name: Its human name.
        error: Why (a :class:`~sealgate.errors.VerificationFailed`, or malformed evidence).
    """

    authority: str
    name: str
    error: SealgateError


@dataclass(frozen=True)
class SignatureResult(Generic[C]):
    """What the pipeline found about one stored signature.

    Attributes:
        label: ``signature 2``, ``attestation 1``...
        thing: The signed thing, or None when the layer could not be read.
        accepted: Every authority that vouched for it.
        rejected: Every authority that did not, with its reason.
        claims: The parsed payload (simple-signing payload, in-toto statement) when the
            claims were checked and hold.
        error: Why the signature does not count; None when it passes.
    """

    label: str
    thing: SignedThing | None
    accepted: tuple[Acceptance, ...]
    rejected: tuple[Rejection, ...]
    claims: C | None
    error: SealgateError | None

    @property
    def ok(self) -> bool:
        """True when an authority accepted it and its claims hold."""
        return self.error is None


def _as_failure(label: str, error: SealgateError) -> SealgateError:
    """The error as one signature's failure, its message starting with the signature's label."""
    # Malformed evidence inside one signature makes that signature bad (cosign exit 12), it
    # does not make the whole image undecidable.
    if isinstance(error, MalformedData):
        return SignatureInvalid(f"{label}: {error.message}")
    if error.message.startswith(f"{label}:"):
        return error
    failure = type(error)(f"{label}: {error.message}")
    failure.__cause__ = error
    return failure


def _summarise(label: str, rejected: Sequence[Rejection]) -> SealgateError:
    """The most telling reason why no authority accepted."""
    if not rejected:
        return SignatureInvalid(f"{label}: no authority to check it against")
    # A refusal after the signature matched (log, certificate, identity) says more than
    # "another key": prefer it. Plain mismatches with every key collapse into one line.
    specific = [r for r in rejected if type(r.error) is not SignatureInvalid]
    if specific:
        return _as_failure(label, specific[0].error)
    if len(rejected) == 1:
        return _as_failure(label, rejected[0].error)
    return SignatureInvalid(f"{label}: signature does not verify with any trusted key")


def check_signed(
    thing: SignedThing,
    authorities: Sequence[Authority],
    context: CheckContext,
    claims: ClaimsCheck[C],
) -> SignatureResult[C]:
    """Check one signed thing against every authority, then its claims.

    Args:
        thing: The signed thing.
        authorities: Who may sign.
        context: Reference time and tlog requirement.
        claims: The claims check for this kind of payload.

    Returns:
        The result; ``error`` says why it does not count, if it does not.

    Raises:
        CheckFailed: An authority could not decide for a reason outside this signature (its
            own trust material is unusable); the caller must not treat the set as verified.
    """
    accepted: list[Acceptance] = []
    rejected: list[Rejection] = []
    for authority in authorities:
        try:
            accepted.append(authority.check(thing, context))
        except MalformedData as error:
            rejected.append(Rejection(authority.id, authority.name, error))
        except CheckFailed:
            raise
        except SealgateError as error:
            rejected.append(Rejection(authority.id, authority.name, error))
    if not accepted:
        return SignatureResult(
            thing.label, thing, (), tuple(rejected), None, _summarise(thing.label, rejected)
        )
    try:
        parsed = claims(thing)
    except SealgateError as error:
        return SignatureResult(
            thing.label,
            thing,
            tuple(accepted),
            tuple(rejected),
            None,
            _as_failure(thing.label, error),
        )
    return SignatureResult(thing.label, thing, tuple(accepted), tuple(rejected), parsed, None)


def check_layers(
    layers: Sequence[SignatureLayer],
    *,
    read: LayerReader,
    kind: str,
    authorities: Sequence[Authority],
    context: CheckContext,
    claims: ClaimsCheck[C],
) -> list[SignatureResult[C]]:
    """Run the pipeline over every candidate layer of an attachment, in order.

    Args:
        layers: The candidate layers (already filtered by media type).
        read: Turns a layer into a signed thing.
        kind: ``signature`` or ``attestation``, for labels.
        authorities: Who may sign.
        context: Reference time and tlog requirement.
        claims: The claims check.

    Returns:
        One result per layer; unreadable layers are failed results, never exceptions.

    Raises:
        CheckFailed: See :func:`check_signed`.
    """
    results: list[SignatureResult[C]] = []
    for number, layer in enumerate(layers, start=1):
        label = f"{kind} {number}"
        try:
            thing = read(layer, label)
        except SealgateError as error:
            if isinstance(error, CheckFailed) and not isinstance(error, MalformedData):
                raise
            results.append(SignatureResult(label, None, (), (), None, _as_failure(label, error)))
            continue
        results.append(check_signed(thing, authorities, context, claims))
    return results

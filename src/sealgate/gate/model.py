"""The gate's value objects: found images, verdicts, per-image results and the run report.

Everything here is frozen and free of I/O so reports, the cache and the runner share one
vocabulary. Reason classes are the stable strings reports and CI annotations use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sealgate.errors import (
    CheckFailed,
    ConfigError,
    ExitCode,
    InputError,
    SealgateError,
    UsageError,
    VerificationFailed,
)
from sealgate.oci.reference import Reference

__all__ = [
    "CALLER_ERRORS",
    "REASON_CLASSES",
    "VERIFICATION_FAILURE_REASONS",
    "AuditAppend",
    "Clock",
    "Decision",
    "DeployBlocked",
    "GateOutcome",
    "GateReport",
    "ImageResult",
    "ImageSpec",
    "ReasonClass",
    "SourceLocation",
    "Verdict",
    "reason_class",
    "reason_for",
    "utc_now",
]

#: Why an image did not pass. ``internal`` is a bug in sealgate or the verifier (never an
#: allow); ``bypassed`` only appears with ``status == "skipped"`` (emergency bypass).
ReasonClass = Literal[
    "unsigned",
    "wrong-key",
    "wrong-identity",
    "untrusted-chain",
    "tlog-invalid",
    "digest-mismatch",
    "attestation-missing",
    "policy-denied",
    "unauthorized",
    "unreachable",
    "malformed",
    "not-found",
    "internal",
    "bypassed",
]
REASON_CLASSES: tuple[ReasonClass, ...] = (
    "unsigned",
    "wrong-key",
    "wrong-identity",
    "untrusted-chain",
    "tlog-invalid",
    "digest-mismatch",
    "attestation-missing",
    "policy-denied",
    "unauthorized",
    "unreachable",
    "malformed",
    "not-found",
    "internal",
    "bypassed",
)

#: The reasons that are a verdict about the image itself (it was checked, and it failed);
#: every other failure reason says the check could not be made (registry, data, a bug).
VERIFICATION_FAILURE_REASONS: frozenset[ReasonClass] = frozenset(
    {
        "unsigned",
        "wrong-key",
        "wrong-identity",
        "untrusted-chain",
        "tlog-invalid",
        "digest-mismatch",
        "attestation-missing",
        "policy-denied",
    }
)

#: ``verified``: every image passed. ``soft-fail``: failures on a softFail environment (exit
#: 0, warnings). ``blocked``: exit 2. ``bypassed``: COSIGN_VERIFY_DISABLED honoured (exit 0).
#: ``bypass-forbidden``: COSIGN_VERIFY_DISABLED set where ``allowBypass: false`` (exit 2).
Decision = Literal["verified", "soft-fail", "blocked", "bypassed", "bypass-forbidden"]

#: Returns the current time as an aware UTC datetime; injected everywhere time matters.
Clock = Callable[[], datetime]

#: Errors that are the caller's mistake, not a verdict about an image: the runner lets
#: them propagate so the CLI exits with their own code (64, 78, 65) instead of a verdict.
CALLER_ERRORS: tuple[type[SealgateError], ...] = (UsageError, ConfigError, InputError)

_DIRECT: Mapping[str, ReasonClass] = {
    "unsigned": "unsigned",
    "wrong-key": "wrong-key",
    "wrong-identity": "wrong-identity",
    "untrusted-chain": "untrusted-chain",
    "tlog-invalid": "tlog-invalid",
    "policy-denied": "policy-denied",
    "condition-failed": "attestation-missing",
    "unauthorized": "unauthorized",
    "timeout": "unreachable",
    "digest-mismatch": "digest-mismatch",
    "attestation-missing": "attestation-missing",
    "not-found": "not-found",
    "unreachable": "unreachable",
    "registry-error": "unreachable",
    "could-not-check": "unreachable",
    "malformed": "malformed",
    "limit-exceeded": "malformed",
    "integrity": "malformed",
}


def utc_now() -> datetime:
    """The default clock: now, as an aware UTC datetime."""
    return datetime.now(UTC)


def reason_class(reason: str, *, could_not_check: bool) -> ReasonClass:
    """The report class of an error's ``reason`` string (a requirement outcome carries one).

    Args:
        reason: A :attr:`SealgateError.reason` (``wrong-key``, ``timeout``...).
        could_not_check: Whether the failure was "could not decide".

    Returns:
        The class; an unknown reason falls back on its family.
    """
    direct = _DIRECT.get(reason)
    if direct is not None:
        return direct
    if reason == "internal":
        return "internal"
    return "unreachable" if could_not_check else "wrong-key"


def reason_for(error: BaseException) -> ReasonClass:
    """Map an exception to a report reason class.

    ``SealgateError.reason`` is used when it is one of ours; an unknown reason falls back
    on the family (untrusted -> ``wrong-key``, could not check -> ``unreachable``); any other
    exception is a bug: ``internal``.

    Args:
        error: What the resolver or verifier raised.

    Returns:
        The reason class to report.
    """
    if isinstance(error, SealgateError):
        direct = _DIRECT.get(error.reason)
        if direct is not None:
            return direct
        if isinstance(error, VerificationFailed):
            return "wrong-key"
        if isinstance(error, CheckFailed):
            return "unreachable"
    return "internal"


class DeployBlocked(SealgateError):
    """The deploy must not proceed (exit 2): used by the Helm post-renderer."""

    exit_code = ExitCode.DEPLOY_BLOCKED
    reason = "blocked"


@dataclass(frozen=True)
class SourceLocation:
    """Where an image reference was found."""

    #: The file as given (``<stdin>`` for ``-``).
    file: str
    #: 1-based line of the value, when known.
    line: int | None
    #: The value's path inside the document, e.g. ``spec.template.spec.containers[0].image``.
    path: str
    #: 0-based document index in a multi-document stream.
    document: int = 0

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        doc = f" doc {self.document}" if self.document else ""
        return f"{where} ({self.path}{doc})"


@dataclass(frozen=True)
class ImageSpec:
    """One image the deploy will run, with every place it was found."""

    #: The normalised reference (registry host always explicit).
    ref: Reference
    #: The reference as written (composed from ``registry``/``repository``/``tag`` blocks).
    text: str
    sources: tuple[SourceLocation, ...] = ()

    @property
    def key(self) -> str:
        """Deduplication key: the normalised reference string."""
        return str(self.ref)

    @property
    def source(self) -> SourceLocation | None:
        """The first place the image was found."""
        return self.sources[0] if self.sources else None


@dataclass(frozen=True)
class Verdict:
    """The outcome for one image digest.

    Example:
        >>> Verdict.failed("unsigned", "no signatures").ok
        False
    """

    status: Literal["verified", "failed", "skipped"]
    #: The pinned manifest digest (``sha256:...``) when known.
    digest: str | None = None
    reason: ReasonClass | None = None
    message: str = ""
    #: True when this verdict came from the verdict cache.
    cached: bool = False
    #: When the verdict stops being true (the key or certificate it relied on expires);
    #: caches keep it no longer. None: no expiry known beyond the cache's TTL.
    not_after: datetime | None = None

    def __post_init__(self) -> None:
        if self.not_after is not None and self.not_after.utcoffset() is None:
            raise ValueError("Verdict.not_after must be an aware datetime")

    @property
    def ok(self) -> bool:
        """True only for ``verified``."""
        return self.status == "verified"

    @classmethod
    def verified(cls, digest: str, message: str = "verified") -> Verdict:
        """A passing verdict for ``digest``."""
        return cls("verified", digest=digest, message=message)

    @classmethod
    def failed(cls, reason: ReasonClass, message: str, digest: str | None = None) -> Verdict:
        """A failing verdict with its reason class and one-line message."""
        return cls("failed", digest=digest, reason=reason, message=" ".join(message.split()))

    @classmethod
    def from_error(cls, error: BaseException, digest: str | None = None) -> Verdict:
        """A failing verdict for an exception raised while resolving or verifying."""
        reason = reason_for(error)
        if reason == "internal" and not isinstance(error, SealgateError):
            # A foreign exception's text may quote URLs or headers: the type name is enough.
            message = f"internal error ({type(error).__name__}); this is a bug"
        else:
            message = str(error)
        return cls.failed(reason, message[:2000], digest)


@dataclass(frozen=True)
class ImageResult:
    """An image and its verdict."""

    image: ImageSpec
    verdict: Verdict

    @property
    def pinned(self) -> Reference | None:
        """The reference pinned to the verified (or resolved) digest, when known."""
        digest = self.verdict.digest or self.image.ref.digest
        return self.image.ref.with_digest(digest) if digest else None


@dataclass(frozen=True)
class GateReport:
    """Everything a gate run decided; renderers in :mod:`sealgate.reports` read this."""

    environment: str
    tier: str
    soft_fail: bool
    decision: Decision
    #: 0 (allowed) or 2 (deploy blocked). Caller errors never produce a report.
    exit_code: int
    results: tuple[ImageResult, ...]
    started_at: datetime
    finished_at: datetime
    #: One-line human summary of the decision.
    message: str
    warnings: tuple[str, ...] = ()
    #: The audit record when the emergency bypass was used or refused.
    bypass: Mapping[str, object] | None = field(default=None)

    @property
    def failures(self) -> tuple[ImageResult, ...]:
        """Results whose verdict is ``failed``."""
        return tuple(r for r in self.results if r.verdict.status == "failed")

    @property
    def allowed(self) -> bool:
        """True when the deploy may proceed (exit code 0)."""
        return self.exit_code == ExitCode.OK


@dataclass(frozen=True)
class AuditAppend:
    """A record the caller must append to the audit log after a gate run."""

    record: Mapping[str, object]
    #: True: the run fails (ConfigError, exit 78) if the record cannot be written (an
    #: honoured bypass must leave a trail). False: a write failure is a report warning.
    required: bool = True


@dataclass(frozen=True)
class GateOutcome:
    """What :func:`~sealgate.gate.evaluate_gate` decided, and what the caller must record."""

    report: GateReport
    #: Records to append to the environment's audit log, in order.
    audit: tuple[AuditAppend, ...] = ()

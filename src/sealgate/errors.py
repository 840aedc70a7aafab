"""The one exception tree of sealgate.

Two families never mix:

* :class:`VerificationFailed`: we looked and the artifact is bad or not trusted
  (bad signature, digest mismatch, no signatures, wrong key, attestation missing).
* :class:`CheckFailed`: we could not decide (registry unreachable, timeout, malformed
  data, a size limit hit). Callers treat it as *not verified*: fail closed.

Caller mistakes are :class:`UsageError`, :class:`ConfigError` and :class:`InputError`.
Every error carries the process exit code the CLI maps it to, and a one-line message
that never contains key material or passwords.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AttestationMissing",
    "CheckFailed",
    "ConfigError",
    "DeadlineExceeded",
    "DigestMismatch",
    "ExitCode",
    "ImageNotFound",
    "InputError",
    "IntegrityError",
    "InternalError",
    "KeyMaterialError",
    "LimitExceeded",
    "MalformedData",
    "NoMatchingSignatures",
    "NoSignaturesFound",
    "PolicyDenied",
    "RegistryError",
    "RegistryUnreachable",
    "SealgateError",
    "ServiceError",
    "ServiceRefused",
    "ServiceUnreachable",
    "SignatureInvalid",
    "TlogInvalid",
    "Unauthorized",
    "UntrustedChain",
    "UsageError",
    "VerificationFailed",
    "WrongIdentity",
]


class ExitCode:
    """Process exit codes. 2 means exactly one thing: a deploy was blocked."""

    OK = 0
    FAILURE = 1
    DEPLOY_BLOCKED = 2
    COULD_NOT_CHECK = 3
    # cosign's legacy `verify` codes, kept so scripts written for cosign keep working.
    NO_SIGNATURES = 10
    IMAGE_NOT_FOUND = 11
    NO_MATCHING_SIGNATURES = 12
    NO_CERTIFICATE = 13
    USAGE = 64  # sysexits EX_USAGE
    DATA = 65  # sysexits EX_DATAERR: unreadable key, wrong password, bad input file
    INTERNAL = 70  # sysexits EX_SOFTWARE: a bug, never an allow
    CONFIG = 78  # sysexits EX_CONFIG
    INTERRUPTED = 130


class SealgateError(Exception):
    """Base of every error that crosses sealgate's public API."""

    exit_code: ClassVar[int] = ExitCode.FAILURE
    #: Short machine-readable reason class used in reports (``unsigned``, ``unreachable``...).
    reason: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        # Messages are single-line by contract: reports and CI logs are line-oriented.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)

    def diagnostics(self) -> str:
        """A human explanation; the message is enough unless a subclass knows better."""
        return self.message


# --- caller mistakes --------------------------------------------------------------------------


class UsageError(SealgateError):
    """Bad flags, malformed references, missing arguments."""

    exit_code = ExitCode.USAGE
    reason = "usage"


class ConfigError(SealgateError):
    """A configuration file or policy that cannot be used."""

    exit_code = ExitCode.CONFIG
    reason = "config"


class InputError(SealgateError):
    """An input file the user gave us is unreadable or malformed (predicate, report...)."""

    exit_code = ExitCode.DATA
    reason = "input"


class KeyMaterialError(InputError):
    """A key cannot be loaded: missing, corrupted, unsupported, or the password is wrong."""

    reason = "key"


# --- the artifact is bad or untrusted ----------------------------------------------------------


class VerificationFailed(SealgateError):
    """We looked, and the artifact is not trusted."""

    exit_code = ExitCode.FAILURE
    reason = "verification-failed"


class SignatureInvalid(VerificationFailed):
    """A signature does not verify with any trusted key."""

    reason = "wrong-key"


class DigestMismatch(VerificationFailed):
    """A signed claim names another digest than the image's."""

    reason = "digest-mismatch"


class NoSignaturesFound(VerificationFailed):
    """The image carries no signatures at all."""

    exit_code = ExitCode.NO_SIGNATURES
    reason = "unsigned"


#: Per-signature failure reasons, most telling first (see NoMatchingSignatures).
_SPECIFIC_SIGNATURE_REASONS = (
    "digest-mismatch",
    "tlog-invalid",
    "untrusted-chain",
    "wrong-identity",
    "policy-denied",
)


class NoMatchingSignatures(VerificationFailed):
    """Signatures exist but none passed every check; ``failures`` says why each failed."""

    exit_code = ExitCode.NO_MATCHING_SIGNATURES
    reason = "wrong-key"

    def __init__(
        self,
        message: str,
        failures: list[VerificationFailed] | None = None,
        results: tuple[object, ...] = (),
    ) -> None:
        super().__init__(message)
        self.failures: list[VerificationFailed] = failures or []
        #: Per-signature results of the pipeline, passing or not, for audits and reports.
        self.results = results
        # The most specific reason wins: a digest mismatch, a log entry that does not hold, a
        # certificate from nowhere or another identity each say more than "wrong key".
        reasons = {failure.reason for failure in self.failures}
        for specific in _SPECIFIC_SIGNATURE_REASONS:
            if specific in reasons:
                self.reason = specific  # type: ignore[misc]
                break


class TlogInvalid(VerificationFailed):
    """The transparency-log evidence is missing, unverifiable, or about something else."""

    reason = "tlog-invalid"


class WrongIdentity(VerificationFailed):
    """A certificate chains to a trusted root but names another signer or issuer."""

    reason = "wrong-identity"


class UntrustedChain(VerificationFailed):
    """A certificate does not chain to a trusted root at the signing time."""

    reason = "untrusted-chain"


class PolicyDenied(VerificationFailed):
    """A policy rule (static authority, Rego/JMESPath policy, no-match rule) refused the image."""

    reason = "policy-denied"


class ImageNotFound(VerificationFailed):
    """The registry answered that the image (tag or digest) does not exist."""

    exit_code = ExitCode.IMAGE_NOT_FOUND
    reason = "not-found"


class AttestationMissing(VerificationFailed):
    """A required attestation is absent or none of the present ones passed."""

    reason = "attestation-missing"


# --- we could not decide -----------------------------------------------------------------------


class CheckFailed(SealgateError):
    """We could not decide; callers must treat this as *not verified*."""

    exit_code = ExitCode.COULD_NOT_CHECK
    reason = "could-not-check"


class RegistryUnreachable(CheckFailed):
    """Connection refused, DNS failure, TLS failure, or timeout."""

    reason = "unreachable"


class ServiceUnreachable(RegistryUnreachable):
    """A Sigstore service (Fulcio, Rekor, a TSA, a CI token endpoint) could not be reached."""

    reason = "unreachable"


class DeadlineExceeded(RegistryUnreachable):
    """The caller's time budget ran out before an answer (a timeout, whatever the layer)."""

    reason = "timeout"


class Unauthorized(CheckFailed):
    """The registry refused our credentials (HTTP 401/403): we could not look."""

    reason = "unauthorized"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryError(CheckFailed):
    """The registry answered with an error we cannot interpret as a verdict."""

    reason = "registry-error"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ServiceError(CheckFailed):
    """A Sigstore service answered with a server error (5xx) or an answer we cannot use."""

    reason = "service-error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class MalformedData(CheckFailed):
    """Data from the registry or a signature is not what its format requires."""

    reason = "malformed"


class LimitExceeded(MalformedData):
    """A size or count limit was hit while reading untrusted data."""

    reason = "limit-exceeded"


class IntegrityError(MalformedData):
    """Content fetched by digest does not hash to that digest."""

    reason = "integrity"


# --- a service said no -------------------------------------------------------------------------


class ServiceRefused(SealgateError):
    """A Sigstore service refused the request (4xx): a bad or expired token, a rejected entry."""

    exit_code = ExitCode.FAILURE
    reason = "refused"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# --- a bug --------------------------------------------------------------------------------------


class InternalError(SealgateError):
    """A bug in sealgate or a library it drives: never an allow, never "unreachable"."""

    exit_code = ExitCode.INTERNAL
    reason = "internal"

"""Authorities: who may sign. Each one says whether it accepts one signed thing, and why not.

An authority is the unit a policy counts: a public key, a certificate identity with its trust
roots (keyless), or a static pass/fail. :func:`sealgate.checks.pipeline.check_signed` asks every
authority of a policy about every signed thing and keeps each answer, so a report can say which
authority accepted a signature or why each one refused it, and a threshold can count *distinct*
authorities rather than signatures.

Every ``check`` follows cosign's order for ``--key``: (1) the signature over the exact signed
bytes, (2) a certificate that travels with the signature must hold the same key, (3) the
transparency log, unless the policy waives it. Claims about the image (digest, subject) are the
pipeline's, not an authority's: they do not depend on who signed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization

from sealgate.checks._pem import certificate_spki, spki_der
from sealgate.checks.signed import SignedThing
from sealgate.checks.tlog import TlogPolicy, verify_log_entries
from sealgate.errors import PolicyDenied, SignatureInvalid
from sealgate.formats.rekor import RekorBundle
from sealgate.keys.protocols import Verifier
from sealgate.sigstore_checks import signing_key, verify_artifact_signature

__all__ = [
    "Acceptance",
    "Authority",
    "CheckContext",
    "KeyAuthority",
    "StaticAuthority",
]


@dataclass(frozen=True)
class CheckContext:
    """What every check of one verification shares.

    Attributes:
        reference_time: "Now" for validity windows, injected (never read from the clock here).
        tlog: How transparency-log evidence is required.
    """

    reference_time: datetime
    tlog: TlogPolicy = field(default_factory=TlogPolicy)


@dataclass(frozen=True)
class Acceptance:
    """An authority accepted a signature.

    Attributes:
        authority: The accepting authority's :attr:`Authority.id`.
        name: Its human name.
        signer: Who signed, as reports print it (``key sha256:...``, an identity...).
        bundle: cosign 2's verified Rekor bundle annotation, or None (log waived, or the
            entries came from a Sigstore bundle).
        signing_time: When the signature was made, when evidence says so (integrated time).
        subject: The certificate identity that signed (keyless), or "".
        issuer: Its OIDC issuer (keyless), or "".
    """

    authority: str
    name: str
    signer: str
    bundle: RekorBundle | None = None
    signing_time: datetime | None = None
    subject: str = ""
    issuer: str = ""


@runtime_checkable
class Authority(Protocol):
    """Who may sign. Implementations are immutable and safe to share between threads."""

    @property
    def id(self) -> str:
        """A stable identity: two authorities with the same id are one for thresholds."""
        ...

    @property
    def name(self) -> str:
        """A human name (the policy's, or the key reference)."""
        ...

    def check(self, thing: SignedThing, context: CheckContext) -> Acceptance:
        """Accept ``thing`` or raise why not.

        Raises:
            VerificationFailed: This authority does not vouch for ``thing`` (wrong key,
                wrong identity, invalid log evidence...).
            MalformedData: Evidence this authority needs is malformed.
        """
        ...


@dataclass(frozen=True)
class KeyAuthority:
    """A public key (``--key``, a policy's ``key.data``); several keys are any-of.

    Example:
        >>> authority = KeyAuthority.of(verifier, name="cosign.pub")  # doctest: +SKIP
    """

    verifier: Verifier = field(repr=False)
    name: str
    #: Hex SHA-256 of the key's DER SubjectPublicKeyInfo.
    key_fingerprint: str
    #: The key's DER SubjectPublicKeyInfo (compared with certificates and log entries).
    key_der: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def of(cls, verifier: Verifier, *, name: str | None = None) -> KeyAuthority:
        """Wrap a loaded public key.

        Args:
            verifier: The key.
            name: How reports name it (default: its fingerprint).

        Returns:
            The authority.

        Raises:
            MalformedData: The key's PEM cannot be read back (a broken Verifier).
        """
        der = spki_der(verifier.public_pem())
        digest = hashlib.sha256(der).hexdigest()
        return cls(verifier, name or f"sha256:{digest[:16]}", digest, der)

    @property
    def id(self) -> str:
        return f"key:sha256:{self.key_fingerprint}"

    def _signature_verifies(self, thing: SignedThing) -> bool:
        if thing.message is None:
            # Only the artifact's digest is known (verify-blob sha256:<hex>): verify prehashed.
            if thing.digest is None:
                return False
            key = signing_key(self.key_der)
            try:
                verify_artifact_signature(key, thing.signatures[0], digest=thing.digest)
            except SignatureInvalid:
                return False
            return True
        for signature in thing.signatures:
            try:
                self.verifier.verify(signature, thing.message)
            except SignatureInvalid:
                continue
            return True
        return False

    def check(self, thing: SignedThing, context: CheckContext) -> Acceptance:
        # (1) Any signature over the exact signed bytes (DSSE: over PAE).
        if not self._signature_verifies(thing):
            raise SignatureInvalid(f"{thing.label}: signature does not verify with key {self.name}")
        # (2) With a key, a certificate that travels with the signature must hold that key.
        key_der = self.key_der
        certificate = thing.certificate
        if certificate is not None and certificate_spki(certificate) != key_der:
            raise SignatureInvalid(
                f"{thing.label}: both public key and certificate were provided but did not match"
            )
        # (3) Transparency log: entries about this very signature, from a trusted log.
        bundle = None
        if not context.tlog.insecure_ignore_tlog:
            content = (
                thing.signed_content(key_der, is_certificate=False)
                if certificate is None
                else thing.signed_content(
                    certificate.public_bytes(serialization.Encoding.DER), is_certificate=True
                )
            )
            verify_log_entries(
                thing.log_entries(),
                content,
                context.tlog,
                require_inclusion_proof=thing.bundle_version in ("0.2", "0.3"),
            )
            if thing.tlog_annotation is not None:
                bundle = RekorBundle.parse(thing.tlog_annotation)
        return Acceptance(
            authority=self.id,
            name=self.name,
            signer=f"key sha256:{self.key_fingerprint[:16]}",
            bundle=bundle,
        )


@dataclass(frozen=True)
class StaticAuthority:
    """A fixed answer (policy-controller's ``static: {action: pass|fail}``).

    It vouches for the image without looking at signatures (``pass``) or never does
    (``fail``); the policy evaluator counts it without any signed thing.
    """

    action: Literal["pass", "fail"]
    name: str = "static"
    message: str = ""

    @property
    def id(self) -> str:
        return f"static:{self.action}"

    def check(self, thing: SignedThing, context: CheckContext) -> Acceptance:
        del context
        if self.action == "pass":
            return Acceptance(self.id, self.name, "static pass")
        raise PolicyDenied(f"{thing.label}: {self.refusal()}")

    def refusal(self) -> str:
        """Why a ``fail`` authority refuses (its message, or a default)."""
        return self.message or f"authority {self.name} is a static fail"

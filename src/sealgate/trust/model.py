"""Trust material: certificate authorities, timestamp authorities and log keys, each time-bounded.

This is the in-memory form of a Sigstore ``TrustedRoot`` (protobuf-specs
``dev.sigstore.trustroot.v1.TrustedRoot``), and also what a bring-your-own PKI or a bare Rekor key
turns into. Everything here is immutable and pure; loading lives in :mod:`sealgate.trust.load`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from cryptography import x509

from sealgate.trust.logkeys import LogKey
from sealgate.trust.timerange import TimeRange

__all__ = ["CertificateAuthority", "TimestampAuthority", "TrustedRoot"]


@dataclass(frozen=True)
class CertificateAuthority:
    """A code-signing CA (Fulcio, or a private PKI root).

    Attributes:
        root: The trust anchor.
        intermediates: CA certificates between a leaf and ``root`` (trusted with this root only).
        valid_for: When leaves issued under this CA may be trusted (at the signing time).
        uri: The CA's URL from the trusted root ("" for a private PKI).
    """

    root: x509.Certificate
    intermediates: tuple[x509.Certificate, ...] = ()
    valid_for: TimeRange = field(default_factory=TimeRange.unbounded)
    uri: str = ""


@dataclass(frozen=True)
class TimestampAuthority:
    """An RFC 3161 timestamp authority.

    Attributes:
        root: The TSA's trust anchor.
        intermediates: CA certificates between the signing certificate and ``root``.
        leaf: The TSA signing certificate when the root names it (it may also travel inside
            the timestamp token).
        valid_for: When timestamps from this TSA may be trusted (compared with genTime).
        uri: The TSA's URL.
    """

    root: x509.Certificate
    intermediates: tuple[x509.Certificate, ...] = ()
    leaf: x509.Certificate | None = None
    valid_for: TimeRange = field(default_factory=TimeRange.unbounded)
    uri: str = ""


@dataclass(frozen=True)
class TrustedRoot:
    """Everything a keyless verification trusts.

    Attributes:
        certificate_authorities: Code-signing CAs (Fulcio or a private PKI).
        tlogs: Rekor (v1 and v2) log keys.
        ctlogs: Certificate Transparency log keys (for embedded SCTs).
        timestamp_authorities: RFC 3161 TSAs.
        source: Where the material came from, for messages (a path, "public-good"...).
    """

    certificate_authorities: tuple[CertificateAuthority, ...] = ()
    tlogs: tuple[LogKey, ...] = ()
    ctlogs: tuple[LogKey, ...] = ()
    timestamp_authorities: tuple[TimestampAuthority, ...] = ()
    source: str = ""

    def tlog(self, log_id: bytes) -> LogKey | None:
        """The Rekor key with this log ID, or None."""
        return next((key for key in self.tlogs if key.log_id == log_id), None)

    def ctlog(self, log_id: bytes) -> LogKey | None:
        """The CT log key with this log ID, or None."""
        return next((key for key in self.ctlogs if key.log_id == log_id), None)

    def with_tlogs(self, keys: Sequence[LogKey]) -> TrustedRoot:
        """A copy that also trusts ``keys`` as Rekor keys (``--rekor-key``-style additions)."""
        return replace(self, tlogs=(*self.tlogs, *keys))

    def with_ctlogs(self, keys: Sequence[LogKey]) -> TrustedRoot:
        """A copy that also trusts ``keys`` as CT log keys."""
        return replace(self, ctlogs=(*self.ctlogs, *keys))

    def with_authorities(self, authorities: Sequence[CertificateAuthority]) -> TrustedRoot:
        """A copy that also trusts ``authorities`` (e.g. ``--ca-roots``)."""
        return replace(self, certificate_authorities=(*self.certificate_authorities, *authorities))

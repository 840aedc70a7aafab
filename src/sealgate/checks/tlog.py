"""The transparency-log requirement, and the evidence check every authority shares.

Log entries reach a signature two ways: cosign 2's ``dev.sigstore.cosign/bundle`` annotation (an
inclusion promise, no proof) and the ``tlogEntries`` of a Sigstore bundle (promise and/or proof).
Both are read into :class:`~sealgate.formats.tlog_entry.TlogEntry` and verified by one function,
:func:`sealgate.sigstore_checks.verify_tlog_entry`: the log must be trusted, its promise or proof
must verify, and the entry must be about *this* signature, key or certificate and payload
(a valid entry for something else vouches for nothing; CVE-2022-36056).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from sealgate.errors import MalformedData, TlogInvalid
from sealgate.formats.rekor import RekorBundle
from sealgate.formats.rekor_body import parse_rekor_body
from sealgate.formats.tlog_entry import TlogEntry, tlog_entry_from_cosign_bundle
from sealgate.sigstore_checks import SignedContent, VerifiedTlogEntry, verify_tlog_entry
from sealgate.trust import LogKey, TrustedRoot

__all__ = [
    "NO_TLOG_MESSAGE",
    "RekorKey",
    "TlogInvalid",
    "TlogPolicy",
    "legacy_tlog_entry",
    "load_rekor_keys",
    "verify_log_entries",
]

NO_TLOG_MESSAGE = "no transparency log entry; use --insecure-ignore-tlog for signatures without one"

#: A trusted Rekor key (the legacy name of a transparency-log key).
RekorKey = LogKey


def load_rekor_keys(pems: Sequence[bytes]) -> tuple[LogKey, ...]:
    """Load trusted Rekor keys from PEM texts, dropping duplicates (order kept).

    Args:
        pems: ``PUBLIC KEY`` PEMs (``--rekor-public-key``, a config's ``rekorKeys``).

    Returns:
        The keys.

    Raises:
        KeyMaterialError: A PEM is unreadable or not a supported public key.
    """
    keys: dict[bytes, LogKey] = {}
    for pem in pems:
        key = LogKey.from_pem(pem)
        keys.setdefault(key.log_id, key)
    return tuple(keys.values())


@dataclass(frozen=True)
class TlogPolicy:
    """How transparency-log evidence is required.

    Attributes:
        insecure_ignore_tlog: cosign's ``--insecure-ignore-tlog``: skip every tlog check.
        rekor_keys: Trusted Rekor keys given one by one (``--rekor-public-key``).
        trusted_root: A trusted root whose ``tlogs`` are trusted too.
    """

    insecure_ignore_tlog: bool = False
    rekor_keys: tuple[LogKey, ...] = ()
    trusted_root: TrustedRoot | None = None

    def logs(self) -> TrustedRoot:
        """Everything trusted as a transparency log, as one trusted root."""
        root = self.trusted_root or TrustedRoot(source="--rekor-public-key")
        return root.with_tlogs(self.rekor_keys) if self.rekor_keys else root

    def log_ids(self) -> list[str]:
        """Hex log IDs of every trusted log, sorted (for fingerprints)."""
        return sorted({key.log_id_hex for key in self.logs().tlogs})


def legacy_tlog_entry(annotation: str) -> TlogEntry:
    """Read cosign 2's ``dev.sigstore.cosign/bundle`` annotation as a log entry.

    Args:
        annotation: The annotation's JSON text.

    Returns:
        The entry (an inclusion promise, no proof).

    Raises:
        MalformedData: The annotation or the body it carries is malformed.
    """
    bundle = RekorBundle.parse(annotation)
    try:
        body = base64.b64decode(bundle.body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedData("Rekor bundle body is not valid base64") from exc
    logged = parse_rekor_body(body)
    return tlog_entry_from_cosign_bundle(bundle, kind=logged.kind, version=logged.version)


def verify_log_entries(
    entries: Sequence[TlogEntry],
    content: SignedContent,
    tlog: TlogPolicy,
    *,
    require_inclusion_proof: bool = False,
) -> list[VerifiedTlogEntry]:
    """Verify every log entry of one signature; at least one is required.

    Args:
        entries: The signature's log entries.
        content: The signature, its verifier and what it signed.
        tlog: The requirement (trusted logs).
        require_inclusion_proof: Refuse entries that only carry a promise (bundles v0.2+).

    Returns:
        The verified entries.

    Raises:
        TlogInvalid: No entry, or an entry that does not verify or is about something else.
        MalformedData: An entry body cannot be decoded.
    """
    if not entries:
        raise TlogInvalid(NO_TLOG_MESSAGE)
    logs = tlog.logs()
    return [
        verify_tlog_entry(entry, logs, content, require_inclusion_proof=require_inclusion_proof)
        for entry in entries
    ]

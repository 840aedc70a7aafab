"""Pure checks of Sigstore evidence: certificates, identities, SCTs, logs, timestamps, signatures.

Each function takes parsed objects, trust material (:mod:`sealgate.trust`) and, where time
matters, the instant to judge at; it returns what it verified or raises from
:mod:`sealgate.errors` (``UntrustedChain``, ``WrongIdentity``, ``TlogInvalid``,
``SignatureInvalid``, ``DigestMismatch``, ``MalformedData``). No I/O, no clock, no network.
The verification pipeline composes them; see docs/adr/0003-keyless.md.
"""

from sealgate.sigstore_checks.binding import SignedContent, check_entry_binding, rekor_v2_leaf_hash
from sealgate.sigstore_checks.certificates import (
    VerifiedChain,
    check_valid_at,
    verify_certificate_chain,
)
from sealgate.sigstore_checks.checkpoint import Checkpoint, verify_checkpoint
from sealgate.sigstore_checks.identity import (
    CertificateIdentity,
    IdentityPolicy,
    certificate_identity,
    match_identity,
)
from sealgate.sigstore_checks.merkle import hash_leaf, verify_inclusion
from sealgate.sigstore_checks.sct import verify_embedded_scts
from sealgate.sigstore_checks.signatures import (
    signing_key,
    verify_artifact_signature,
    verify_dsse_signature,
)
from sealgate.sigstore_checks.timestamps import VerifiedTimestamp, verify_rfc3161_timestamp
from sealgate.sigstore_checks.tlog import (
    VerifiedTlogEntry,
    set_payload,
    verify_set,
    verify_tlog_entry,
)

__all__ = [
    "CertificateIdentity",
    "Checkpoint",
    "IdentityPolicy",
    "SignedContent",
    "VerifiedChain",
    "VerifiedTimestamp",
    "VerifiedTlogEntry",
    "certificate_identity",
    "check_entry_binding",
    "check_valid_at",
    "hash_leaf",
    "match_identity",
    "rekor_v2_leaf_hash",
    "set_payload",
    "signing_key",
    "verify_artifact_signature",
    "verify_certificate_chain",
    "verify_checkpoint",
    "verify_dsse_signature",
    "verify_embedded_scts",
    "verify_inclusion",
    "verify_rfc3161_timestamp",
    "verify_set",
    "verify_tlog_entry",
]

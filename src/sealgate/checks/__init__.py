"""sealgate.checks: the pure verification core.

One pipeline (:mod:`~sealgate.checks.pipeline`) checks any signed thing
(:mod:`~sealgate.checks.signed`) against any authority (:mod:`~sealgate.checks.authorities`)
at an injected reference time and returns per-signature results; the claims each payload must
make about the image live in :mod:`~sealgate.checks.claims`, transparency-log evidence in
:mod:`~sealgate.checks.tlog`, JMESPath conditions in :mod:`~sealgate.checks.conditions`.
Combining results into a decision is :mod:`sealgate.policy`'s job.
"""

from sealgate.checks.authorities import (
    Acceptance,
    Authority,
    CheckContext,
    KeyAuthority,
    StaticAuthority,
)
from sealgate.checks.claims import image_signature_claims, statement_claims
from sealgate.checks.conditions import Condition, ConditionFailed, compile_conditions
from sealgate.checks.pipeline import Rejection, SignatureResult, check_layers, check_signed
from sealgate.checks.signatures import render_cosign_json
from sealgate.checks.signed import SignedThing, bundle_thing, dsse_layer, simplesigning_layer
from sealgate.checks.tlog import (
    NO_TLOG_MESSAGE,
    RekorKey,
    TlogInvalid,
    TlogPolicy,
    legacy_tlog_entry,
    load_rekor_keys,
    verify_log_entries,
)

__all__ = [
    "NO_TLOG_MESSAGE",
    "Acceptance",
    "Authority",
    "CheckContext",
    "Condition",
    "ConditionFailed",
    "KeyAuthority",
    "Rejection",
    "RekorKey",
    "SignatureResult",
    "SignedThing",
    "StaticAuthority",
    "TlogInvalid",
    "TlogPolicy",
    "bundle_thing",
    "check_layers",
    "check_signed",
    "compile_conditions",
    "dsse_layer",
    "image_signature_claims",
    "legacy_tlog_entry",
    "load_rekor_keys",
    "render_cosign_json",
    "simplesigning_layer",
    "statement_claims",
    "verify_log_entries",
]

"""sigstore-conformance ``bundle-verify``: every case through sealgate's keyless building blocks.

Rules (interop README §4): a directory ending in ``_fail`` must fail, every other must verify.
Defaults: artifact ``a.txt``, the conformance beacon identity and GitHub issuer, the production
trusted root. sigstore-python runs beside as an independent verifier: it must agree on every
case except the four where it is documented to differ (docs/adr/0003-keyless.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sigstore.models import Bundle
from sigstore.models import TrustedRoot as SigstorePythonRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

from sealgate.errors import (
    ConfigError,
    DigestMismatch,
    InternalError,
    KeyMaterialError,
    MalformedData,
    SealgateError,
    TlogInvalid,
    UntrustedChain,
)
from sealgate.sigstore_checks import IdentityPolicy
from sealgate.trust import TrustedRoot, load_trusted_root
from tests.interop.conftest import interop_dir
from tests.interop.keyless_driver import verify_bundle

BASE = interop_dir() / "sigstore-conformance" / "test" / "assets" / "bundle-verify"
PRODUCTION_ROOT = (
    interop_dir()
    / "sigstore-python"
    / "sigstore"
    / "_store"
    / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
    / "trusted_root.json"
)
DEFAULT_IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"
CASES = sorted(p.name for p in BASE.iterdir() if p.is_dir())

# Where the right answer has one right reason, pin the error class.
EXPECTED_ERROR = {
    "bundle-malformed-json_fail": MalformedData,
    "bundle-negative-log-index_fail": MalformedData,
    "bundle-unknown-version_fail": MalformedData,
    "bundle-from-wrong-instance_fail": TlogInvalid,
    "checkpoint-bad-keyhint_fail": TlogInvalid,
    "inclusion-proof-corrupted-hash_fail": TlogInvalid,
    "invalid-checkpoint-signature_fail": TlogInvalid,
    "set-invalid-signature_fail": TlogInvalid,
    "incorrect-public-key_fail": TlogInvalid,
    "wrong-hashedrekord-artifact_fail": TlogInvalid,
    "dsse-mismatch-envelope_fail": TlogInvalid,
    "integrated-time-in-future_fail": UntrustedChain,
    "intoto-set-outside-signing-cert-validity_fail": UntrustedChain,
    "intoto-tsa-timestamp-outside-cert-validity_fail": UntrustedChain,
    "invalid-ct-key_fail": UntrustedChain,
    "rekor2-no-timestamp_fail": UntrustedChain,
    "rekor2-timestamp-payload-mismatch_fail": UntrustedChain,
    "rekor2-checkpoint-no-matching-signature_fail": TlogInvalid,
    "message-digest-mismatch_fail": DigestMismatch,
    "managed-key-wrong-key_fail": KeyMaterialError,
    "trust-root-tlog-missing-validity-start_fail": ConfigError,
}
# sigstore-python 4.x differs here (each claim checked in test_sigstore_python_differs).
SIGSTORE_PYTHON_DIFFERS = {
    "intoto-with-custom-trust-root": "Integrated time only supported",
    "managed-key-and-trusted-root": "expected certificate in bundle",
    "managed-key-happy-path": "expected certificate in bundle",
    "trust-root-tsa-validity-end-inclusive": "not enough sources of verified time",
}


def _read(case: Path, name: str, default: str) -> str:
    path = case / name
    return path.read_text().strip() if path.exists() else default


def _root_path(case: Path) -> Path:
    return case / "trusted_root.json" if (case / "trusted_root.json").exists() else PRODUCTION_ROOT


def _artifact(case: Path) -> bytes:
    return (case / "artifact" if (case / "artifact").exists() else BASE / "a.txt").read_bytes()


def run_case(name: str) -> None:
    case = BASE / name
    root: TrustedRoot = load_trusted_root(_root_path(case))
    key = case / "key.pub"
    verify_bundle(
        (case / "bundle.sigstore.json").read_bytes(),
        _artifact(case),
        root,
        policy=IdentityPolicy(
            identity=_read(case, "identity", DEFAULT_IDENTITY),
            issuer=_read(case, "issuer", DEFAULT_ISSUER),
        ),
        key_pem=key.read_bytes() if key.exists() else None,
    )


def run_sigstore_python(name: str) -> None:
    case = BASE / name
    verifier = Verifier(trusted_root=SigstorePythonRoot.from_file(str(_root_path(case))))
    bundle = Bundle.from_json((case / "bundle.sigstore.json").read_bytes())
    policy = Identity(
        identity=_read(case, "identity", DEFAULT_IDENTITY),
        issuer=_read(case, "issuer", DEFAULT_ISSUER),
    )
    if bundle._dsse_envelope is not None:
        verifier.verify_dsse(bundle, policy)
    else:
        verifier.verify_artifact(_artifact(case), bundle, policy)


def test_all_seventy_cases_are_present() -> None:
    assert len(CASES) == 70
    assert sum(name.endswith("_fail") for name in CASES) == 49


@pytest.mark.parametrize("name", CASES)
def test_conformance_case(name: str) -> None:
    if not name.endswith("_fail"):
        run_case(name)
        return
    with pytest.raises(SealgateError) as caught:
        run_case(name)
    assert not isinstance(caught.value, InternalError)
    if name in EXPECTED_ERROR:
        assert isinstance(caught.value, EXPECTED_ERROR[name]), caught.value


@pytest.mark.parametrize("name", [n for n in CASES if n not in SIGSTORE_PYTHON_DIFFERS])
def test_sigstore_python_agrees(name: str) -> None:
    if name.endswith("_fail"):
        with pytest.raises(Exception):  # noqa: B017 - any refusal counts as agreement
            run_sigstore_python(name)
    else:
        run_sigstore_python(name)


@pytest.mark.parametrize("name", sorted(SIGSTORE_PYTHON_DIFFERS))
def test_sigstore_python_differs(name: str) -> None:
    """sigstore-python refuses these valid bundles: intoto entries, key-signed bundles, and a
    timestamp exactly at the TSA's validity end (it treats the end as exclusive)."""
    with pytest.raises(Exception, match=SIGSTORE_PYTHON_DIFFERS[name]):
        run_sigstore_python(name)
    run_case(name)

"""Sigstore bundles from cosign and sigstore-python (interop README §2, §3), and tampered copies.

Each tampering changes one thing (identity, issuer, chain, SCT, SET, proof, payload, time) and
must be rejected with the error class that names it.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sealgate.errors import (
    DigestMismatch,
    MalformedData,
    SealgateError,
    TlogInvalid,
    UntrustedChain,
    WrongIdentity,
)
from sealgate.formats.sigstore_bundle import parse_sigstore_bundle
from sealgate.sigstore_checks import IdentityPolicy, certificate_identity, verify_rfc3161_timestamp
from sealgate.trust import (
    TimeRange,
    TrustedRoot,
    load_ca_set,
    load_trusted_root,
    parse_trusted_root,
)
from tests.interop.conftest import containers_fixtures, cosign_testdata, interop_dir
from tests.interop.keyless_driver import verify_bundle

ASSETS = interop_dir() / "sigstore-python" / "test" / "assets"
STAGING = (
    interop_dir()
    / "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"
)
PRODUCTION = (
    interop_dir()
    / "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
)
COSIGN_SUBJECT = "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
CODY = IdentityPolicy(identity="cody@soyland.com", issuer="https://github.com/login/oauth")


@pytest.fixture(scope="module")
def pgi_root() -> TrustedRoot:
    return load_trusted_root(cosign_testdata() / "trusted_root_pgi.json")


@pytest.fixture(scope="module")
def cosign_bundle() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (cosign_testdata() / "oci-attestation.sigstore.json").read_text()
    )
    return doc


def verify_cosign(doc: dict[str, Any], root: TrustedRoot, policy: IdentityPolicy = CODY) -> None:
    verify_bundle(json.dumps(doc).encode(), b"", root, policy=policy, subject_sha256=COSIGN_SUBJECT)


def _flip_b64(text: str, index: int = 5) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def test_cosign_attestation_bundle_verifies(
    cosign_bundle: dict[str, Any], pgi_root: TrustedRoot
) -> None:
    verify_cosign(cosign_bundle, pgi_root)


def _tampered(doc: dict[str, Any], what: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    if what == "SET":
        promise = entry["inclusionPromise"]
        promise["signedEntryTimestamp"] = _flip_b64(promise["signedEntryTimestamp"])
    elif what == "proof":
        entry["inclusionProof"]["hashes"][0] = _flip_b64(entry["inclusionProof"]["hashes"][0], 0)
    elif what == "payload":
        statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
        statement["predicate"]["Data"] = "tampered"
        doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    elif what == "time":
        entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    return doc


@pytest.mark.parametrize(
    ("what", "error"),
    [("SET", TlogInvalid), ("proof", TlogInvalid), ("payload", TlogInvalid), ("time", TlogInvalid)],
)
def test_cosign_bundle_tampered_evidence(
    cosign_bundle: dict[str, Any], pgi_root: TrustedRoot, what: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        verify_cosign(_tampered(cosign_bundle, what), pgi_root)


def test_cosign_bundle_wrong_identity_issuer_chain_sct_time(
    cosign_bundle: dict[str, Any], pgi_root: TrustedRoot
) -> None:
    with pytest.raises(WrongIdentity):
        verify_cosign(cosign_bundle, pgi_root, IdentityPolicy(identity="x@y.z", issuer=CODY.issuer))
    with pytest.raises(WrongIdentity):
        verify_cosign(
            cosign_bundle, pgi_root, IdentityPolicy(identity=CODY.identity, issuer="https://x")
        )
    private_pki = load_ca_set(containers_fixtures() / "pki_root_crts.pem")
    with pytest.raises(UntrustedChain):
        verify_cosign(cosign_bundle, dataclasses.replace(pgi_root, **_cas(private_pki)))
    with pytest.raises(UntrustedChain):
        verify_cosign(cosign_bundle, dataclasses.replace(pgi_root, ctlogs=()))
    # The Fulcio CAs' validity windows end before the signing time (2025-02-28).
    ended = tuple(
        dataclasses.replace(
            ca, valid_for=TimeRange(ca.valid_for.start, datetime(2024, 1, 1, tzinfo=UTC))
        )
        for ca in pgi_root.certificate_authorities
    )
    with pytest.raises(UntrustedChain, match="no trusted certificate authority"):
        verify_cosign(cosign_bundle, dataclasses.replace(pgi_root, certificate_authorities=ended))
    with pytest.raises(DigestMismatch):
        verify_bundle(
            json.dumps(cosign_bundle).encode(), b"", pgi_root, policy=CODY, subject_sha256="00"
        )


def _cas(root: TrustedRoot) -> dict[str, Any]:
    return {"certificate_authorities": root.certificate_authorities}


def _policy_of(bundle_path: Path) -> IdentityPolicy:
    cert = parse_sigstore_bundle(bundle_path.read_bytes()).certificate
    assert cert is not None
    claims = certificate_identity(cert)
    return IdentityPolicy(identity=claims.subjects[0], issuer=claims.issuer)


def _tsa_root() -> TrustedRoot:
    return parse_trusted_root((ASSETS / "tsa" / "trust_config.json").read_bytes())


SIGSTORE_PYTHON_VALID = [
    ("bundle.txt", "bundle.txt.sigstore", STAGING),
    ("bundle_v3.txt", "bundle_v3.txt.sigstore", STAGING),
    ("bundle_v3_alt.txt", "bundle_v3_alt.txt.sigstore", STAGING),
    ("staging-rekor-v2.txt", "staging-rekor-v2.txt.sigstore.json", STAGING),
    ("tsa/bundle.txt", "tsa/bundle.txt.sigstore", None),
]


@pytest.mark.parametrize(("artifact", "bundle", "root"), SIGSTORE_PYTHON_VALID)
def test_sigstore_python_bundles_verify(artifact: str, bundle: str, root: Path | None) -> None:
    trusted = load_trusted_root(root) if root is not None else _tsa_root()
    outcome = verify_bundle(
        (ASSETS / bundle).read_bytes(),
        (ASSETS / artifact).read_bytes(),
        trusted,
        policy=_policy_of(ASSETS / bundle),
    )
    assert outcome.times


def test_sigstore_python_dsse_rekor_v2_bundle() -> None:
    path = ASSETS / "a.dsse.staging-rekor-v2.txt.sigstore.json"
    verify_bundle(
        path.read_bytes(),
        b"",
        load_trusted_root(STAGING),
        policy=_policy_of(path),
        subject_sha256=None,
    )


@pytest.mark.parametrize(
    ("artifact", "bundle", "error"),
    [
        ("bundle_cve_2022_36056.txt", "bundle_cve_2022_36056.txt.sigstore", TlogInvalid),
        (
            "bundle_v3_no_signed_time.txt",
            "bundle_v3_no_signed_time.txt.sigstore.json",
            UntrustedChain,
        ),
        ("bundle_no_log_entry.txt", "bundle_no_log_entry.txt.sigstore", TlogInvalid),
        ("bundle_no_checkpoint.txt", "bundle_no_checkpoint.txt.sigstore", MalformedData),
        ("bundle_invalid_version.txt", "bundle_invalid_version.txt.sigstore", MalformedData),
        ("bundle.txt", "bundle_no_cert_v1.txt.sigstore", MalformedData),
        ("bad.txt", "bundle.txt.sigstore", TlogInvalid),
    ],
)
def test_sigstore_python_invalid_bundles(artifact: str, bundle: str, error: type) -> None:
    raw = (ASSETS / bundle).read_bytes()
    policy = IdentityPolicy(identity_regexp=".", issuer_regexp=".")
    # bundle_v3_no_signed_time was logged (proof only) to production Rekor.
    root = load_trusted_root(STAGING).with_tlogs(load_trusted_root(PRODUCTION).tlogs)
    with pytest.raises(error):
        verify_bundle(raw, (ASSETS / artifact).read_bytes(), root, policy=policy)


def test_zeroed_message_digest_is_a_digest_mismatch() -> None:
    doc = json.loads((ASSETS / "bundle.txt.sigstore").read_text())
    doc["messageSignature"]["messageDigest"]["digest"] = base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(DigestMismatch):
        verify_bundle(
            json.dumps(doc).encode(),
            (ASSETS / "bundle.txt").read_bytes(),
            load_trusted_root(STAGING),
            policy=_policy_of(ASSETS / "bundle.txt.sigstore"),
        )


@pytest.mark.parametrize(
    "bundle", ["tsa/bundle.duplicate.sigstore", "tsa/bundle.many_timestamp.sigstore"]
)
def test_duplicate_or_too_many_timestamps_are_malformed(bundle: str) -> None:
    with pytest.raises(MalformedData):
        parse_sigstore_bundle((ASSETS / bundle).read_bytes())


def test_late_timestamp_outside_the_certificate_is_refused() -> None:
    path = ASSETS / "tsa" / "bundle.txt.late_timestamp.sigstore"
    with pytest.raises(UntrustedChain):
        verify_bundle(
            path.read_bytes(),
            (ASSETS / "tsa" / "bundle.txt").read_bytes(),
            _tsa_root(),
            policy=_policy_of(path),
        )


def test_timestamp_without_embedded_certificate_verifies_with_the_tsa_leaf() -> None:
    # sigstore-python issue 1482: a staging TSA token that carries no certificate.
    tsa = load_trusted_root(STAGING).timestamp_authorities
    stamp = (ASSETS / "tsa" / "issue1482-timestamp-with-no-cert").read_bytes()
    message = (ASSETS / "tsa" / "issue1482-message").read_bytes()
    verified = verify_rfc3161_timestamp(stamp, message, tsa)
    assert verified.authority.leaf is not None
    assert verified.time == datetime(2025, 7, 25, 19, 53, 4, tzinfo=UTC)
    with pytest.raises(UntrustedChain):
        verify_rfc3161_timestamp(stamp, message + b"x", tsa)
    with pytest.raises(UntrustedChain):  # another TSA (production) did not sign it
        verify_rfc3161_timestamp(stamp, message, _tsa_root().timestamp_authorities)
    with pytest.raises(MalformedData):
        verify_rfc3161_timestamp(b"\x30\x03garbage", message, tsa)


def test_every_failure_is_a_sealgate_error(
    cosign_bundle: dict[str, Any], pgi_root: TrustedRoot
) -> None:
    doc = copy.deepcopy(cosign_bundle)
    doc["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"] = base64.b64encode(
        b"not json"
    ).decode()
    with pytest.raises(SealgateError):
        verify_cosign(doc, pgi_root)
    doc = copy.deepcopy(cosign_bundle)
    doc["verificationMaterial"]["certificate"]["rawBytes"] = base64.b64encode(
        hashlib.sha256(b"x").digest()
    ).decode()
    with pytest.raises(MalformedData):
        verify_cosign(doc, pgi_root)


def test_a_token_that_only_breaks_inside_is_malformed_not_a_crash() -> None:
    # Regression: rfc3161-client parses the TSTInfo lazily; this token decodes, then its
    # TSTInfo raised a bare ValueError that escaped verify_rfc3161_timestamp.
    case = interop_dir() / "sigstore-conformance/test/assets/bundle-verify/rekor2-happy-path"
    doc = json.loads((case / "bundle.sigstore.json").read_text())
    stamps = doc["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
    token = bytearray(base64.b64decode(stamps[0]["signedTimestamp"]))
    token[55] ^= 0x80
    root = load_trusted_root(case / "trusted_root.json")
    with pytest.raises(MalformedData, match="cannot be parsed"):
        verify_rfc3161_timestamp(bytes(token), b"sig", root.timestamp_authorities)

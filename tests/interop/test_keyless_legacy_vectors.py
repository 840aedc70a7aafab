"""containers/image keyless vectors (interop README §1) through sealgate's keyless functions.

``dir-img-cosign-fulcio-rekor-valid`` (SET only: no inclusion proof, which sigstore-python
refuses), the loose ``fulcio-*``/``rekor-*`` signature, and the BYO-PKI
``dir-img-cosign-pki-valid``, each with tampered variants rejected with the error class that
names what is wrong.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealgate.errors import (
    DigestMismatch,
    KeyMaterialError,
    SignatureInvalid,
    TlogInvalid,
    UntrustedChain,
    WrongIdentity,
)
from sealgate.sigstore_checks import IdentityPolicy
from sealgate.trust import (
    LogKey,
    TrustedRoot,
    bundled_trusted_root,
    load_ca_set,
    load_log_key,
    load_trusted_root,
)
from tests.interop.conftest import containers_fixtures, cosign_testdata, load_signature_file
from tests.interop.legacy_keyless_driver import LegacySignature, verify_legacy_keyless

FIXTURES = containers_fixtures()
GITHUB_OAUTH = "https://github.com/login/oauth"
MITR = IdentityPolicy(identity="mitr@redhat.com", issuer=GITHUB_OAUTH)
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # the injected reference time


def _digest(case: str) -> str:
    return "sha256:" + hashlib.sha256((FIXTURES / case / "manifest.json").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def files_root() -> TrustedRoot:
    """Trust assembled from the fixture files: Fulcio v1 root, rekor.pub, CT keys of a root."""
    ct_keys = load_trusted_root(cosign_testdata() / "trusted_root_pgi.json").ctlogs
    return (
        load_ca_set(FIXTURES / "fulcio_v1.crt.pem")
        .with_tlogs([load_log_key(FIXTURES / "rekor.pub")])
        .with_ctlogs(ct_keys)
    )


@pytest.fixture(scope="module")
def fulcio_sig() -> LegacySignature:
    case = FIXTURES / "dir-img-cosign-fulcio-rekor-valid" / "signature-1"
    return LegacySignature.from_layer(load_signature_file(case))


@pytest.fixture(scope="module")
def loose_sig() -> LegacySignature:
    return LegacySignature(
        payload=(FIXTURES / "rekor-payload").read_bytes(),
        signature_b64=(FIXTURES / "rekor-sig").read_text().strip(),
        certificate_pem=(FIXTURES / "fulcio-cert").read_bytes(),
        chain_pem=(FIXTURES / "fulcio-chain").read_bytes(),
        bundle_json=(FIXTURES / "rekor-set").read_text(),
    )


def verify(
    sig: LegacySignature,
    root: TrustedRoot,
    policy: IdentityPolicy = MITR,
    *,
    image_digest: str | None = None,
    ignore_sct: bool = False,
) -> datetime:
    return verify_legacy_keyless(
        sig, root, policy, image_digest=image_digest, reference_time=NOW, ignore_sct=ignore_sct
    )


def test_fulcio_rekor_valid_with_file_trust(
    files_root: TrustedRoot, fulcio_sig: LegacySignature
) -> None:
    when = verify(fulcio_sig, files_root, image_digest=_digest("dir-img-cosign-fulcio-rekor-valid"))
    assert when == datetime.fromtimestamp(1674247893, tz=UTC)


def test_fulcio_rekor_valid_with_public_good_root(fulcio_sig: LegacySignature) -> None:
    # The public-good root shipped in sigstore-python, read offline as package data.
    verify(
        fulcio_sig,
        bundled_trusted_root(),
        image_digest=_digest("dir-img-cosign-fulcio-rekor-valid"),
    )


def test_loose_fulcio_rekor_files_verify(
    files_root: TrustedRoot, loose_sig: LegacySignature
) -> None:
    assert verify(loose_sig, files_root) == datetime.fromtimestamp(1670870899, tz=UTC)


@pytest.mark.parametrize(
    ("policy", "error"),
    [
        (IdentityPolicy(identity="someone@redhat.com", issuer=GITHUB_OAUTH), WrongIdentity),
        (
            IdentityPolicy(identity="mitr@redhat.com", issuer="https://accounts.google.com"),
            WrongIdentity,
        ),
        (IdentityPolicy(identity_regexp="^itr@", issuer=GITHUB_OAUTH), WrongIdentity),
        (IdentityPolicy(identity_regexp="itr@redhat", issuer_regexp="github"), None),
        (IdentityPolicy(identity="mitr@redhat.com", issuer_regexp=r"^https://github\.com/"), None),
    ],
)
def test_identity_and_issuer(
    files_root: TrustedRoot,
    fulcio_sig: LegacySignature,
    policy: IdentityPolicy,
    error: type[Exception] | None,
) -> None:
    if error is None:
        verify(fulcio_sig, files_root, policy)
    else:
        with pytest.raises(error):
            verify(fulcio_sig, files_root, policy)


def test_tampered_variants_fail_with_the_right_class(
    files_root: TrustedRoot, fulcio_sig: LegacySignature
) -> None:
    bundle = json.loads(fulcio_sig.bundle_json or "")
    set_bytes = bytearray(base64.b64decode(bundle["SignedEntryTimestamp"]))
    set_bytes[10] ^= 1
    bad_set = {**bundle, "SignedEntryTimestamp": base64.b64encode(bytes(set_bytes)).decode()}
    later = {**bundle, "Payload": {**bundle["Payload"], "integratedTime": 1674247894}}
    cases = [
        # SET over other bytes, or a different integrated time: the promise does not verify.
        (dataclasses.replace(fulcio_sig, bundle_json=json.dumps(bad_set)), files_root, TlogInvalid),
        (dataclasses.replace(fulcio_sig, bundle_json=json.dumps(later)), files_root, TlogInvalid),
        # Another payload: the log entry is about another artifact.
        (
            dataclasses.replace(fulcio_sig, payload=fulcio_sig.payload + b" "),
            files_root,
            TlogInvalid,
        ),
        # The Fulcio root is not trusted (a private PKI instead): no chain.
        (
            fulcio_sig,
            load_ca_set(FIXTURES / "pki_root_crts.pem").with_tlogs(files_root.tlogs),
            UntrustedChain,
        ),
        # No CT log trusted: the SCT cannot be checked.
        (fulcio_sig, dataclasses.replace(files_root, ctlogs=()), UntrustedChain),
        # Wrong Rekor key (upstream: an RSA key as Rekor key): the entry's log is untrusted.
        (
            fulcio_sig,
            dataclasses.replace(files_root, tlogs=(load_log_key(FIXTURES / "some-rsa-key.pub"),)),
            TlogInvalid,
        ),
        # No chain annotation and only the root trusted: no path to it.
        (dataclasses.replace(fulcio_sig, chain_pem=b""), files_root, UntrustedChain),
    ]
    for sig, root, error in cases:
        with pytest.raises(error):
            verify(sig, root)


def test_sct_can_be_ignored_and_chain_comes_from_trusted_intermediates(
    fulcio_sig: LegacySignature,
) -> None:
    public_good = bundled_trusted_root()
    no_ct = dataclasses.replace(public_good, ctlogs=())
    verify(fulcio_sig, no_ct, ignore_sct=True)
    # Without the chain annotation, the intermediate from the trusted root completes the path.
    verify(dataclasses.replace(fulcio_sig, chain_pem=b""), public_good)


def test_wrong_image_digest_and_signature(
    files_root: TrustedRoot, fulcio_sig: LegacySignature
) -> None:
    with pytest.raises(DigestMismatch):
        verify(fulcio_sig, files_root, image_digest="sha256:" + "0" * 64)
    with pytest.raises(TlogInvalid):  # the log recorded the real signature
        verify(
            dataclasses.replace(fulcio_sig, signature_b64=base64.b64encode(b"x" * 70).decode()),
            files_root,
        )


@pytest.fixture(scope="module")
def pki_sig() -> LegacySignature:
    path = FIXTURES / "dir-img-cosign-pki-valid" / "signature-1"
    return LegacySignature.from_layer(load_signature_file(path))


@pytest.fixture(scope="module")
def pki_root() -> TrustedRoot:
    return load_ca_set(FIXTURES / "pki_root_crts.pem", FIXTURES / "pki_intermediate_crts.pem")


PKI_POLICY = IdentityPolicy(identity="qiwan@redhat.com", issuer_regexp=".*")


def test_byo_pki_valid(pki_sig: LegacySignature, pki_root: TrustedRoot) -> None:
    digest = _digest("dir-img-cosign-pki-valid")
    assert verify(pki_sig, pki_root, PKI_POLICY, image_digest=digest, ignore_sct=True) == NOW
    # The chain annotation alone supplies the intermediate when none is configured.
    roots_only = load_ca_set(FIXTURES / "pki_root_crts.pem")
    verify(pki_sig, roots_only, PKI_POLICY, ignore_sct=True)


def test_byo_pki_tampered(pki_sig: LegacySignature, pki_root: TrustedRoot) -> None:
    roots_only = load_ca_set(FIXTURES / "pki_root_crts.pem")
    with pytest.raises(WrongIdentity):  # a DNS SAN is not an identity
        verify(
            pki_sig,
            pki_root,
            IdentityPolicy(identity="myhost.example.com", issuer_regexp=".*"),
            ignore_sct=True,
        )
    with pytest.raises(WrongIdentity):  # a private CA names no OIDC issuer
        verify(
            pki_sig,
            pki_root,
            IdentityPolicy(identity="qiwan@redhat.com", issuer="x"),
            ignore_sct=True,
        )
    with pytest.raises(UntrustedChain):
        verify(dataclasses.replace(pki_sig, chain_pem=b""), roots_only, PKI_POLICY, ignore_sct=True)
    with pytest.raises(UntrustedChain):  # Fulcio certificates have SCTs; this one does not
        verify(pki_sig, pki_root, PKI_POLICY)
    with pytest.raises(UntrustedChain):  # after the leaf expired (2052)
        verify_legacy_keyless(
            pki_sig,
            pki_root,
            PKI_POLICY,
            image_digest=None,
            reference_time=datetime(2053, 1, 1, tzinfo=UTC),
            ignore_sct=True,
        )
    with pytest.raises(SignatureInvalid):
        verify(
            dataclasses.replace(pki_sig, payload=pki_sig.payload + b"\n"),
            pki_root,
            PKI_POLICY,
            ignore_sct=True,
        )


def test_legacy_rekor_key_loader_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "rekor.pub"
    path.write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(KeyMaterialError):
        load_log_key(path)
    key = LogKey.from_pem((FIXTURES / "rekor.pub").read_bytes())
    assert key.log_id_hex == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"


def test_set_only_entries_can_be_refused(
    files_root: TrustedRoot, fulcio_sig: LegacySignature
) -> None:
    """cosign accepts the legacy SET-only bundle; a caller may demand a proof (sigstore-python)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from sealgate.formats.rekor import RekorBundle
    from sealgate.formats.rekor_body import parse_rekor_body
    from sealgate.formats.tlog_entry import tlog_entry_from_cosign_bundle
    from sealgate.sigstore_checks import SignedContent, verify_tlog_entry

    bundle = RekorBundle.parse(fulcio_sig.bundle_json or "")
    body = parse_rekor_body(base64.b64decode(bundle.body))
    entry = tlog_entry_from_cosign_bundle(bundle, kind=body.kind, version=body.version)
    leaf = x509.load_pem_x509_certificate(fulcio_sig.certificate_pem)
    content = SignedContent(
        base64.b64decode(fulcio_sig.signature_b64),
        leaf.public_bytes(serialization.Encoding.DER),
        True,
        digest=("sha256", hashlib.sha256(fulcio_sig.payload).digest()),
    )
    verified = verify_tlog_entry(entry, files_root, content)
    assert verified.integrated_time is not None and not verified.proven
    with pytest.raises(TlogInvalid, match="no inclusion proof"):
        verify_tlog_entry(entry, files_root, content, require_inclusion_proof=True)

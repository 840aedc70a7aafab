"""TrustedRoot parsing, closed validity windows, log keys of every type, CA sets, bundled root."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sealgate.errors import ConfigError, KeyMaterialError
from sealgate.trust import (
    LogKey,
    TimeRange,
    TrustedRoot,
    bundled_trusted_root,
    load_trusted_root,
    parse_ca_set,
    parse_trusted_root,
)
from sealgate.trust.timerange import parse_rfc3339
from tests.interop.conftest import containers_fixtures, interop_dir

PRODUCTION = (
    interop_dir()
    / "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
)


@pytest.fixture
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PRODUCTION.read_text())
    return loaded


def _parse(doc: dict[str, Any]) -> TrustedRoot:
    return parse_trusted_root(json.dumps(doc).encode())


def test_production_root_shape(doc: dict[str, Any]) -> None:
    root = _parse(doc)
    assert [k.key_details for k in root.tlogs] == ["PKIX_ECDSA_P256_SHA_256", "PKIX_ED25519"]
    assert (
        root.tlogs[0].log_id_hex
        == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    )
    assert root.tlog(root.tlogs[1].log_id) is root.tlogs[1]
    assert root.ctlog(b"nope") is None
    assert len(root.certificate_authorities) == 2
    assert root.certificate_authorities[0].valid_for.end is not None
    tsa = root.timestamp_authorities[0]
    assert tsa.leaf is not None and tsa.root != tsa.leaf


def test_bundled_roots_match_the_vendored_copy_shape() -> None:
    production = bundled_trusted_root()
    assert production.tlogs[0].log_id == load_trusted_root(PRODUCTION).tlogs[0].log_id
    assert any("sigstage" in k.base_url for k in bundled_trusted_root("staging").tlogs)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["tlogs"][0]["publicKey"]["validFor"].pop("start"), "no start"),
        (lambda d: d["tlogs"][0]["publicKey"].pop("validFor"), "validFor is missing"),
        (lambda d: d["certificateAuthorities"][0]["validFor"].pop("start"), "no start"),
        (lambda d: d["timestampAuthorities"][0]["validFor"].pop("start"), "no start"),
        (lambda d: d.update(mediaType="application/json"), "media type"),
        (lambda d: d["tlogs"][0]["publicKey"]["validFor"].update(start="2021-01-12"), "RFC 3339"),
        (
            lambda d: d["tlogs"][0]["publicKey"]["validFor"].update(end="2020-01-01T00:00:00Z"),
            "ends before",
        ),
        (lambda d: d["tlogs"][0].update(hashAlgorithm="SHA2_384"), "Merkle hash"),
        (lambda d: d["tlogs"][0]["logId"].update(keyId="!!"), "base64"),
        (lambda d: d["certificateAuthorities"][0]["certChain"].update(certificates=[]), "empty"),
        (
            lambda d: d["certificateAuthorities"][0]["certChain"]["certificates"][0].update(
                rawBytes="AAAA"
            ),
            "cannot be parsed",
        ),
    ],
)
def test_malformed_roots_are_config_errors(
    doc: dict[str, Any], mutate: Callable[[dict[str, Any]], object], message: str
) -> None:
    broken = copy.deepcopy(doc)
    mutate(broken)
    with pytest.raises(ConfigError, match=message):
        _parse(broken)


def test_unusable_key_types_are_skipped_and_null_end_is_open(doc: dict[str, Any]) -> None:
    doc["tlogs"][1]["publicKey"]["keyDetails"] = "ML_DSA_65"
    doc["tlogs"][0]["publicKey"]["validFor"]["end"] = None
    root = _parse(doc)
    assert len(root.tlogs) == 1
    assert root.tlogs[0].valid_for.end is None
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_trusted_root(b"{")


def test_time_ranges_are_closed() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    window = TimeRange(start, start + timedelta(days=1))
    assert window.contains(start) and window.contains(start + timedelta(days=1))
    assert not window.contains(start - timedelta(microseconds=1))
    assert not window.contains(start + timedelta(days=1, microseconds=1))
    assert TimeRange(start).contains(datetime(9999, 1, 1, tzinfo=UTC))
    assert parse_rfc3339("2022-10-31T23:59:59.999999999Z", "t").microsecond == 999999
    assert parse_rfc3339("2022-10-31T23:59:59+02:00", "t").hour == 21
    for bad in ("2022-10-31 23:59:59Z", "2022-10-31T23:59:59", 5, "2022-13-01T00:00:00Z"):
        with pytest.raises(ConfigError):
            parse_rfc3339(bad, "t")


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def test_log_keys_of_every_supported_type() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    key = LogKey.from_der(_spki(p384.public_key()))
    assert key.key_details == "PKIX_ECDSA_P384_SHA_384"
    assert key.verify(p384.sign(b"m", ec.ECDSA(hashes.SHA384())), b"m")
    assert not key.verify(p384.sign(b"m", ec.ECDSA(hashes.SHA384())), b"n")
    edkey = ed25519.Ed25519PrivateKey.generate()
    assert LogKey.from_der(_spki(edkey.public_key())).verify(edkey.sign(b"m"), b"m")
    rsakey = rsa.generate_private_key(65537, 2048)
    rsa_log = LogKey.from_der(
        _spki(rsakey.public_key()), key_details="PKIX_RSA_PKCS1V15_2048_SHA256"
    )
    assert rsa_log.verify(rsakey.sign(b"m", padding.PKCS1v15(), hashes.SHA256()), b"m")
    with pytest.raises(KeyMaterialError, match="declared type"):
        LogKey.from_der(_spki(edkey.public_key()), key_details="PKIX_ECDSA_P256_SHA_256")
    with pytest.raises(KeyMaterialError):
        LogKey.from_der(b"\x30\x00")
    with pytest.raises(KeyMaterialError):
        LogKey.from_pem(b"not a pem")


def test_ca_sets() -> None:
    fixtures = containers_fixtures()
    roots = (fixtures / "pki_root_crts.pem").read_bytes()
    inter = (fixtures / "pki_intermediate_crts.pem").read_bytes()
    ca_set = parse_ca_set(roots, inter)
    assert len(ca_set.certificate_authorities) == 1
    assert len(ca_set.certificate_authorities[0].intermediates) == 1
    assert ca_set.tlogs == () and ca_set.ctlogs == ()
    with pytest.raises(ConfigError):
        parse_ca_set(b"")
    with pytest.raises(ConfigError):
        parse_ca_set(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_trusted_root(tmp_path / "missing.json")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (4 * 1024 * 1024 + 1))
    with pytest.raises(ConfigError, match="larger"):
        load_trusted_root(big)


def test_mutated_roots_parse_or_fail_as_config_errors(doc: dict[str, Any]) -> None:
    from tests.interop.test_keyless_mutations import _mutate

    rng = random.Random("trusted-root")  # noqa: S311 - reproducible test mutations
    outcomes = set()
    for _ in range(600):
        mutated, _path = _mutate(doc, rng)
        try:
            _parse(mutated)
            outcomes.add("parsed")
        except ConfigError:
            outcomes.add("refused")
    assert outcomes == {"parsed", "refused"}

"""Signing keys in a real SoftHSM2 token (PKCS#11 URIs) for generate-key-pair, sign, attest, resign.

The token is initialised per test in a temporary ``SOFTHSM2_CONF``; images live in the real
docker-registry. Signatures made in the token are verified with the public key file
``generate-key-pair --kms`` wrote, so they are cosign-verifiable like any other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pkcs11
import pytest

from sealgate.oci import RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.integration.test_cli_attest_copy import SBOM
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image
from tests.support.softhsm import USER_PIN, SoftHsm, start_softhsm


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    token = start_softhsm(tmp_path / "softhsm")
    # For the test's own python-pkcs11 calls; the CLI runs get it through _run too.
    monkeypatch.setenv("SOFTHSM2_CONF", str(token.conf))
    return token


def _run(args: list[str], hsm: SoftHsm, **env: str) -> Result:
    return run(args, {**hsm.env, "COSIGN_PASSWORD": PASSWORD, **env})


def _generate(hsm: SoftHsm, tmp_path: Path, key: str = "release") -> Path:
    prefix = tmp_path / key
    result = _run(
        ["generate-key-pair", "--kms", hsm.uri(key), "--output-key-prefix", str(prefix)], hsm
    )
    assert result.code == 0, result.err
    return prefix.with_suffix(".pub")


def _image(client: RegistryClient, registry: RunningRegistry, repo: str) -> str:
    ref = registry.ref(repo, "v1")
    push_image(client, ref, build_image(layers=1))
    return str(ref)


def test_generate_key_pair_in_token_writes_only_the_public_key(
    hsm: SoftHsm, tmp_path: Path
) -> None:
    pub = _generate(hsm, tmp_path)
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert not pub.with_suffix(".key").exists()
    library = pkcs11.lib(str(hsm.module))
    try:
        token = library.get_token(token_label=hsm.label)
        with token.open(user_pin=USER_PIN) as session:
            key = session.get_key(pkcs11.ObjectClass.PRIVATE_KEY, label="release")
            assert key[pkcs11.Attribute.SENSITIVE] is True
            assert key[pkcs11.Attribute.EXTRACTABLE] is False
            with pytest.raises(pkcs11.AttributeSensitive):
                key[pkcs11.Attribute.VALUE]
    finally:
        library.finalize()
    again = _run(
        ["generate-key-pair", "--kms", hsm.uri("release"), "--output-key-prefix", "x", "-f"], hsm
    )
    assert again.code == 65
    assert "already holds a key object=release" in again.err


def test_sign_and_attest_in_the_token_verify_with_the_public_key(
    hsm: SoftHsm, registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    pub = _generate(hsm, tmp_path)
    image = _image(client, registry, repo)
    flags = ["--insecure-registry", registry.host]
    signed = _run(["sign", "--key", hsm.uri("release"), *flags, image], hsm)
    assert signed.code == 0, signed.err
    sbom = tmp_path / "bom.json"
    sbom.write_text(json.dumps(SBOM))
    attested = _run(
        [
            "attest",
            "--key",
            hsm.uri("release"),
            "--type",
            "cyclonedx",
            "--predicate",
            str(sbom),
            *flags,
            image,
        ],
        hsm,
    )
    assert attested.code == 0, attested.err
    verified = run(["verify", "--key", str(pub), "--insecure-ignore-tlog", *flags, image])
    assert verified.code == 0, verified.err
    attestation = run(
        [
            "verify-attestation",
            "--key",
            str(pub),
            "--type",
            "cyclonedx",
            "--insecure-ignore-tlog",
            *flags,
            image,
        ]
    )
    assert attestation.code == 0, attestation.err
    # The public key read from the token itself verifies too (no PIN needed for it).
    from_token = _run(
        ["verify", "--key", hsm.uri("release", pin=None), "--insecure-ignore-tlog", *flags, image],
        hsm,
    )
    assert from_token.code == 0, from_token.err
    assert USER_PIN not in signed.err + attested.err + from_token.err


def test_module_and_pin_from_the_environment_or_a_pin_file(
    hsm: SoftHsm, registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    pub = _generate(hsm, tmp_path)
    image = _image(client, registry, repo)
    bare = f"pkcs11:token={hsm.label};object=release"
    public = _run(
        ["public-key", "--key", bare],
        hsm,
        COSIGN_PKCS11_MODULE_PATH=str(hsm.module),
        COSIGN_PKCS11_PIN=USER_PIN,
    )
    assert public.code == 0, public.err
    assert public.out == pub.read_text()
    pin_file = tmp_path / "pin.txt"
    pin_file.write_text(USER_PIN + "\n")
    by_file = f"{bare}?module-path={hsm.module}&pin-source=file:{pin_file}"
    signed = _run(["sign", "--key", by_file, "--insecure-registry", registry.host, image], hsm)
    assert signed.code == 0, signed.err
    verified = run(
        [
            "verify",
            "--key",
            str(pub),
            "--insecure-ignore-tlog",
            "--insecure-registry",
            registry.host,
            image,
        ]
    )
    assert verified.code == 0, verified.err


def test_rsa_key_in_the_token_signs_pkcs1v15(
    hsm: SoftHsm, registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    library = pkcs11.lib(str(hsm.module))
    try:
        token = library.get_token(token_label=hsm.label)
        with token.open(rw=True, user_pin=USER_PIN) as session:
            session.generate_keypair(
                pkcs11.KeyType.RSA, 2048, label="rsa-key", id=b"\x07", store=True
            )
    finally:
        library.finalize()
    image = _image(client, registry, repo)
    # The object picked by id (percent-encoded), which wins over a wrong label.
    uri = hsm.uri("not-this-label").replace("object=not-this-label", "object=x;id=%07")
    public = _run(["public-key", "--key", uri, "--outfile", str(tmp_path / "rsa.pub")], hsm)
    assert public.code == 0, public.err
    signed = _run(["sign", "--key", uri, "--insecure-registry", registry.host, image], hsm)
    assert signed.code == 0, signed.err
    verified = run(
        [
            "verify",
            "--key",
            str(tmp_path / "rsa.pub"),
            "--insecure-ignore-tlog",
            "--insecure-registry",
            registry.host,
            image,
        ]
    )
    assert verified.code == 0, verified.err


def test_resign_with_a_token_key(
    hsm: SoftHsm,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    new_pub = _generate(hsm, tmp_path)
    image = _image(client, registry, repo)
    flags = ["--insecure-registry", registry.host]
    old = _run(["sign", "--key", str(keys["first"]), *flags, image], hsm)
    assert old.code == 0, old.err
    resigned = _run(
        [
            "resign",
            "--old-key",
            str(keys["first.pub"]),
            "--key",
            hsm.uri("release"),
            "--insecure-ignore-tlog",
            *flags,
            image,
        ],
        hsm,
    )
    assert resigned.code == 0, resigned.err
    assert resigned.out.startswith("resigned")
    verified = run(["verify", "--key", str(new_pub), "--insecure-ignore-tlog", *flags, image])
    assert verified.code == 0, verified.err


@pytest.mark.parametrize(
    ("uri_of", "code", "message"),
    [
        (lambda h: h.uri("nope"), 65, "has no private key object=nope"),
        (lambda h: h.uri("release", pin="000000"), 65, "wrong PIN"),
        (lambda h: h.uri("release").replace(h.label, "no-such-token"), 65, "no token labelled"),
        (
            lambda h: h.uri("release").replace(str(h.module), "/nonexistent/libpkcs11.so"),
            65,
            "is not a file",
        ),
        (lambda h: f"pkcs11:token={h.label};object=release", 64, "COSIGN_PKCS11_MODULE_PATH"),
        (lambda h: f"pkcs11:object=release?module-path={h.module}", 64, "token and slot-id"),
        (lambda h: h.uri("release", pin=None), 65, "needs a PIN"),
    ],
)
def test_bad_pkcs11_references_are_one_line_errors(
    hsm: SoftHsm,
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    tmp_path: Path,
    uri_of: Callable[[SoftHsm], str],
    code: int,
    message: str,
) -> None:
    _generate(hsm, tmp_path)
    image = _image(client, registry, repo)
    result = _run(["sign", "--key", uri_of(hsm), "--insecure-registry", registry.host, image], hsm)
    assert result.code == code, result.err
    assert message in result.err
    assert result.err.count("\n") == 1, result.err
    assert "000000" not in result.err
    assert USER_PIN not in result.err
    assert "Traceback" not in result.err

"""The verify commands end to end on an OCI layout (no registry): flags, output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealgate.oci import Reference
from tests.support.cli import run
from tests.support.images import build_image, write_layout

PASSWORD = {"COSIGN_PASSWORD": "pw"}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # generate-key-pair writes cosign.key/cosign.pub in the working directory, as cosign does.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Reference, Path]:
    ref = write_layout(tmp_path / "layout", build_image(), "v1")
    home = str(tmp_path)
    assert run(["generate-key-pair"], PASSWORD, home=home).code == 0
    for name in ("cosign.key", "cosign.pub"):
        (tmp_path / name).rename(tmp_path / f"a-{name}")
    assert run(["generate-key-pair"], PASSWORD, home=home).code == 0
    result = run(
        ["sign", "--key", str(tmp_path / "a-cosign.key"), "-a", "env=prod", str(ref)],
        PASSWORD,
        home=home,
    )
    assert result.code == 0, result.err
    return ref, tmp_path


def verify(tmp_path: Path, *args: str) -> object:
    return run(["verify", "--insecure-ignore-tlog", *args], home=str(tmp_path))


def test_verify_prints_cosign_json_and_the_checks(signed: tuple[Reference, Path]) -> None:
    ref, tmp_path = signed
    result = run(
        [
            "verify",
            "--insecure-ignore-tlog",
            "--key",
            str(tmp_path / "a-cosign.pub"),
            "-a",
            "env=prod",
            str(ref),
        ],
        home=str(tmp_path),
    )
    assert result.code == 0, result.err
    [element] = json.loads(result.out)
    assert element["optional"] == {"env": "prod"}
    assert "The specified annotations were verified." in result.err
    assert "transparency log" not in result.err  # waived: not claimed


def test_any_of_keys_and_exit_codes(signed: tuple[Reference, Path]) -> None:
    ref, tmp_path = signed
    home = str(tmp_path)
    both = ["--key", str(tmp_path / "cosign.pub"), "--key", str(tmp_path / "a-cosign.pub")]
    assert run(["verify", "--insecure-ignore-tlog", *both, str(ref)], home=home).code == 0
    wrong = run(
        ["verify", "--insecure-ignore-tlog", "--key", str(tmp_path / "cosign.pub"), str(ref)],
        home=home,
    )
    assert wrong.code == 12
    assert "does not verify" in wrong.err
    annotation = run(
        [
            "verify",
            "--insecure-ignore-tlog",
            "--key",
            str(tmp_path / "a-cosign.pub"),
            "-a",
            "env=dev",
            str(ref),
        ],
        home=home,
    )
    assert annotation.code == 12
    unsigned = write_layout(tmp_path / "other", build_image(layers=2), "v1")
    none = run(
        [
            "verify",
            "--insecure-ignore-tlog",
            "--key",
            str(tmp_path / "a-cosign.pub"),
            str(unsigned),
        ],
        home=home,
    )
    assert none.code == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say who may sign"),
        (
            ["--key", "k.pub", "--certificate-identity", "a@b", "--certificate-oidc-issuer", "x"],
            "exclude each other",
        ),
        (["--certificate-identity", "a@b"], "--certificate-oidc-issuer"),
        (["--certificate-oidc-issuer", "x"], "--certificate-identity"),
        (
            ["--certificate-identity-regexp", "([", "--certificate-oidc-issuer", "x"],
            "regular expression",
        ),
    ],
)
def test_trust_flag_mistakes_are_usage_errors(
    signed: tuple[Reference, Path], args: list[str], message: str
) -> None:
    ref, tmp_path = signed
    result = run(["verify", "--insecure-ignore-tlog", *args, str(ref)], home=str(tmp_path))
    assert result.code == 64, result.err
    assert message in result.err
    assert "Traceback" not in result.err


def test_verify_blob_with_a_key(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert run(["generate-key-pair"], PASSWORD, home=home).code == 0
    blob = tmp_path / "artifact.txt"
    blob.write_text("release")
    bundle = tmp_path / "artifact.sigstore.json"
    signed = run(
        [
            "sign-blob",
            "--key",
            str(tmp_path / "cosign.key"),
            "--bundle",
            str(bundle),
            "--tlog-upload=false",
            str(blob),
        ],
        PASSWORD,
        home=home,
    )
    assert signed.code == 0, signed.err
    ok = run(
        [
            "verify-blob",
            "--key",
            str(tmp_path / "cosign.pub"),
            "--bundle",
            str(bundle),
            "--insecure-ignore-tlog",
            str(blob),
        ],
        home=home,
    )
    assert ok.code == 0, ok.err
    assert "Verified OK" in ok.err
    blob.write_text("tampered")
    bad = run(
        [
            "verify-blob",
            "--key",
            str(tmp_path / "cosign.pub"),
            "--bundle",
            str(bundle),
            "--insecure-ignore-tlog",
            str(blob),
        ],
        home=home,
    )
    assert bad.code == 1
    assert "digest" in bad.err or "does not verify" in bad.err


def test_verify_blob_attestation_with_a_key(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert run(["generate-key-pair"], PASSWORD, home=home).code == 0
    blob = tmp_path / "artifact.tar"
    blob.write_bytes(b"release artifact")
    predicate = tmp_path / "bom.json"
    predicate.write_text('{"bomFormat": "CycloneDX", "components": []}')
    bundle = tmp_path / "att.bundle"
    attested = run(
        [
            "attest-blob",
            "--key",
            str(tmp_path / "cosign.key"),
            "--type",
            "cyclonedx",
            "--predicate",
            str(predicate),
            "--bundle",
            str(bundle),
            "--tlog-upload=false",
            str(blob),
        ],
        PASSWORD,
        home=home,
    )
    assert attested.code == 0, attested.err
    base = [
        "verify-blob-attestation",
        "--key",
        str(tmp_path / "cosign.pub"),
        "--bundle",
        str(bundle),
    ]
    ok = run([*base, "--insecure-ignore-tlog", "--type", "cyclonedx", str(blob)], home=home)
    assert ok.code == 0, ok.err
    other_type = run([*base, "--insecure-ignore-tlog", "--type", "spdxjson", str(blob)], home=home)
    assert other_type.code == 1
    blob.write_bytes(b"another artifact")
    wrong = run([*base, "--insecure-ignore-tlog", str(blob)], home=home)
    assert wrong.code == 1
    assert "subject" in wrong.err

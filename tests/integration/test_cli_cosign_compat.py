"""cosign's command lines, run as cosign users write them, against the real registry.

Loopback registries need no registry flag (go-containerregistry reaches them over HTTP);
``--allow-insecure-registry`` skips TLS verification; ``save``/``load`` carry signatures,
attestations and bundle referrers through an OCI layout into another registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sealgate.config import ClientConfig
from sealgate.oci import Reference, RegistryClient
from sealgate.oci.http_errors import unreachable
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.integration.test_cli_sign_verify import pushed_image
from tests.support.cli import Result, run
from tests.support.images import build_index, push_index

_PASS = {"COSIGN_PASSWORD": PASSWORD}


@pytest.fixture
def tls_client(tls_registry: RunningRegistry, tmp_path: Path) -> Iterator[RegistryClient]:
    config = ClientConfig(
        ca_bundle=tls_registry.ca_bundle,
        docker_config=tmp_path / "none.json",
        auth_file=tmp_path / "none-auth.json",
    )
    with RegistryClient(config) as client:
        yield client


def _sealgate(args: list[str], home: Path, env: dict[str, str] | None = None) -> Result:
    return run(args, {**_PASS, **(env or {})}, home=str(home))


def test_loopback_registry_needs_no_registry_flag(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    signed = _sealgate(["sign", "--key", str(keys["first"]), "-y", image], tmp_path)
    assert signed.code == 0, signed.err
    verified = _sealgate(
        ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog", image], tmp_path
    )
    assert verified.code == 0, verified.err
    assert json.loads(verified.out)[0]["critical"]["identity"]["docker-reference"]


def test_tls_registry_with_allow_insecure_registry_skips_verification(
    tls_registry: RunningRegistry,
    tls_client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(tls_client, tls_registry, repo)
    flags = ["--allow-insecure-registry"]
    signed = _sealgate(["sign", "--key", str(keys["first"]), *flags, image], tmp_path)
    assert signed.code == 0, signed.err
    verified = _sealgate(
        ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog", *flags, image],
        tmp_path,
    )
    assert verified.code == 0, verified.err


def test_tls_error_names_the_flags_that_fix_it(
    tls_registry: RunningRegistry,
    tls_client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(tls_client, tls_registry, repo)
    result = _sealgate(
        ["verify", "--key", str(keys["first.pub"]), "--insecure-ignore-tlog", image], tmp_path
    )
    assert result.code == 3
    assert "--registry-cacert" in result.err
    assert "--allow-insecure-registry" in result.err
    with_ca = _sealgate(
        [
            "triangulate",
            "--registry-cacert",
            str(tls_registry.ca_bundle),
            image,
        ],
        tmp_path,
    )
    assert with_ca.code == 0, with_ca.err


def test_https_to_a_plain_http_registry_names_allow_http_registry(
    registry: RunningRegistry,
) -> None:
    # A loopback registry falls back to HTTP by itself, so the real TLS failure against the
    # plain registry is made directly and handed to the mapping every request goes through.
    with pytest.raises(httpx.TransportError) as info:
        httpx.get(f"https://{registry.host}/v2/", timeout=10)
    error = unreachable(f"{registry.host}: GET /v2/", info.value)
    assert "--allow-http-registry" in error.message


def test_save_then_load_into_another_registry_keeps_signatures_verifying(
    registry: RunningRegistry,
    client: RegistryClient,
    tls_registry: RunningRegistry,
    tls_client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = registry.ref(repo, "v1")
    push_index(client, image, build_index())
    key, pub = str(keys["first"]), str(keys["first.pub"])
    assert _sealgate(["sign", "--key", key, str(image)], tmp_path).code == 0
    bundle = _sealgate(
        ["sign", "--key", key, "--new-bundle-format", "--tlog-upload=false", str(image)], tmp_path
    )
    assert bundle.code == 0, bundle.err
    predicate = tmp_path / "predicate.json"
    predicate.write_text('{"scanner": "none"}')
    attested = _sealgate(
        ["attest", "--key", key, "--type", "vuln", "--predicate", str(predicate), str(image)],
        tmp_path,
    )
    assert attested.code == 0, attested.err

    layout = tmp_path / "air-gap"
    saved = _sealgate(["save", "--dir", str(layout), str(image)], tmp_path)
    assert saved.code == 0, saved.err
    assert (layout / "index.json").is_file()
    assert "1 referrer manifest(s)" in saved.err, saved.err

    target = f"{tls_registry.host}/{repo}"
    moved = f"{target}:v1"
    loaded = _sealgate(
        ["load", "--dir", str(layout), "--registry-cacert", str(tls_registry.ca_bundle), moved],
        tmp_path,
    )
    assert loaded.code == 0, loaded.err
    common = ["--key", pub, "--insecure-ignore-tlog", "--registry-cacert"]
    common.append(str(tls_registry.ca_bundle))
    verified = _sealgate(["verify", *common, moved], tmp_path)
    assert verified.code == 0, verified.err
    assert len(json.loads(verified.out)) >= 1
    attestation = _sealgate(["verify-attestation", *common, "--type", "vuln", moved], tmp_path)
    assert attestation.code == 0, attestation.err
    # The bundle referrer came across too: it verifies on its own once the .sig tag is gone.
    digest = tls_client.resolve(Reference.parse(moved)).digest
    tls_client.delete_manifest(Reference.parse(f"{target}:{digest.replace(':', '-')}.sig"))
    bundle_only = _sealgate(["verify", *common, moved], tmp_path)
    assert bundle_only.code == 0, bundle_only.err


def test_load_refuses_a_directory_that_is_not_a_saved_layout(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    result = _sealgate(["load", "--dir", str(tmp_path), f"{registry.host}/x"], tmp_path)
    assert result.code == 64
    assert "not an OCI image layout" in result.err


def test_signature_made_elsewhere_is_attached_and_verifies(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    sig, payload = tmp_path / "sig.b64", tmp_path / "payload.json"
    offline = _sealgate(
        [
            "sign",
            "--key",
            str(keys["first"]),
            "--upload=false",
            "--output-signature",
            str(sig),
            "--output-payload",
            str(payload),
            image,
        ],
        tmp_path,
    )
    assert offline.code == 0, offline.err
    pub = str(keys["first.pub"])
    unsigned = _sealgate(["verify", "--key", pub, "--insecure-ignore-tlog", image], tmp_path)
    assert unsigned.code == 10, unsigned.err
    attach = ["attach", "signature", "--signature", str(sig), "--payload", str(payload), image]
    attached = _sealgate(attach, tmp_path)
    assert attached.code == 0, attached.err
    assert "Attached 1 signature(s)" in attached.err
    assert "nothing added" in _sealgate(attach, tmp_path).err
    verified = _sealgate(["verify", "--key", pub, "--insecure-ignore-tlog", image], tmp_path)
    assert verified.code == 0, verified.err

    generated = _sealgate(["generate", image], tmp_path)
    assert generated.code == 0, generated.err
    assert json.loads(generated.out) == json.loads(payload.read_bytes())

    cleaned = _sealgate(["clean", "--type", "signature", "-f", image], tmp_path)
    assert cleaned.code == 0, cleaned.err
    gone = _sealgate(["verify", "--key", pub, "--insecure-ignore-tlog", image], tmp_path)
    assert gone.code == 10, gone.err


def test_attestation_envelope_attached_verifies(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    other = pushed_image(client, registry, repo, "v2")
    predicate = tmp_path / "p.json"
    predicate.write_text("{}")
    key = str(keys["first"])
    made = _sealgate(
        ["attest", "--key", key, "--type", "vuln", "--predicate", str(predicate), image], tmp_path
    )
    assert made.code == 0, made.err
    envelope = tmp_path / "envelope.json"
    downloaded = _sealgate(["download", "attestation", "--predicate-type", "vuln", image], tmp_path)
    assert downloaded.code == 0, downloaded.err
    envelope.write_text(downloaded.out.splitlines()[0])
    attached = _sealgate(["attach", "attestation", "--attestation", str(envelope), other], tmp_path)
    assert attached.code == 0, attached.err
    # The statement names the first image's digest: attached elsewhere it proves nothing.
    pub = str(keys["first.pub"])
    wrong = _sealgate(
        ["verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--type", "vuln", other],
        tmp_path,
    )
    assert wrong.code != 0
    none = _sealgate(["download", "attestation", "--predicate-type", "cyclonedx", image], tmp_path)
    assert none.code == 0 and none.out == ""


def test_attest_without_upload_does_not_say_pushed(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    predicate = tmp_path / "p.json"
    predicate.write_text("{}")
    for flag in ("--upload=false", "--no-upload"):
        result = _sealgate(
            ["attest", "--key", str(keys["first"]), flag, "--predicate", str(predicate), image],
            tmp_path,
        )
        assert result.code == 0, result.err
        assert "pushed" not in result.err.lower()
        assert "not uploaded" in result.err


def test_copy_does_not_say_copied_for_what_was_already_there(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    assert _sealgate(["sign", "--key", str(keys["first"]), image], tmp_path).code == 0
    destination = f"{registry.host}/{repo}-copy:v1"
    first = _sealgate(["copy", image, destination], tmp_path)
    assert first.code == 0, first.err
    assert "Copied" in first.err
    again = _sealgate(["copy", image, destination], tmp_path)
    assert again.code == 0, again.err
    assert "Copied" not in again.err
    assert "Already present" in again.err


def test_attachment_tag_prefix_is_where_sign_writes_and_verify_reads(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    prefix = ["--attachment-tag-prefix", "ci-"]
    assert _sealgate(["sign", "--key", str(keys["first"]), *prefix, image], tmp_path).code == 0
    digest = client.resolve(Reference.parse(image)).digest
    tags = client.list_tags(Reference.parse(image))
    assert f"ci-{digest.replace(':', '-')}.sig" in tags
    pub = ["--key", str(keys["first.pub"]), "--insecure-ignore-tlog"]
    assert _sealgate(["verify", *pub, *prefix, image], tmp_path).code == 0
    assert _sealgate(["verify", *pub, image], tmp_path).code == 10


def test_an_empty_key_flag_is_an_error_not_a_soft_skip(
    registry: RunningRegistry, client: RegistryClient, repo: str, tmp_path: Path
) -> None:
    image = pushed_image(client, registry, repo)
    result = _sealgate(["sign", "--key", "", image], tmp_path)
    assert result.code == 64
    assert '--key ""' in result.err
    skipped = _sealgate(["sign", image], tmp_path, {"COSIGN_PRIVATE_KEY": ""})
    assert skipped.code == 0
    assert "skipping" in skipped.err


def test_no_password_and_no_terminal_says_so(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    result = run(["sign", "--key", str(keys["first"]), image], home=str(tmp_path))
    assert result.code == 65
    assert "COSIGN_PASSWORD is not set" in result.err
    assert "wrong password" not in result.err


def test_registry_token_is_sent_as_a_bearer_token(
    auth_registry: RunningRegistry, tmp_path: Path
) -> None:
    # htpasswd registries refuse a bearer token: the refusal proves it was sent, not basic.
    result = _sealgate(
        ["triangulate", "--registry-token", "not-a-real-token", f"{auth_registry.host}/x:1"],
        tmp_path,
    )
    assert result.code == 3
    assert "not-a-real-token" not in result.err


def test_verify_attestation_policy_is_rego_and_cue_is_refused(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    predicate = tmp_path / "p.json"
    predicate.write_text('{"scanner": {"critical": 0}}')
    key, pub = str(keys["first"]), str(keys["first.pub"])
    made = _sealgate(
        ["attest", "--key", key, "--type", "vuln", "--predicate", str(predicate), image], tmp_path
    )
    assert made.code == 0, made.err
    allow, deny = tmp_path / "allow.rego", tmp_path / "deny.rego"
    allow.write_text("package sigstore\nisCompliant { input.predicate.scanner.critical == 0 }\n")
    deny.write_text("package sigstore\nisCompliant { input.predicate.scanner.critical > 0 }\n")
    common = ["verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--type", "vuln"]
    passed = _sealgate([*common, "--policy", str(allow), "-o", "text", image], tmp_path)
    assert passed.code == 0, passed.err
    assert json.loads(passed.out.splitlines()[0])["predicateType"].endswith("vuln/v1")
    denied = _sealgate([*common, "--policy", str(deny), image], tmp_path)
    assert denied.code != 0
    cue = tmp_path / "policy.cue"
    cue.write_text("predicate: {}")
    refused = _sealgate([*common, "--policy", str(cue), image], tmp_path)
    assert refused.code == 64
    assert "CUE policies are not supported" in refused.err


def test_predicate_that_is_not_json_names_the_file_and_position(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = pushed_image(client, registry, repo)
    predicate = tmp_path / "broken.json"
    predicate.write_text('{\n  "a": 1,\n  oops\n}')
    key = str(keys["first"])
    result = _sealgate(
        ["attest", "--key", key, "--type", "vuln", "--predicate", str(predicate), image], tmp_path
    )
    assert result.code == 65
    assert str(predicate) in result.err
    assert "line 3 column 3" in result.err

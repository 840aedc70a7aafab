"""cosign-written signatures, rebuilt in the real registry, verified through the CLI.

Each containers/image fixture (docs/formats.md §1, interop README §1) holds the exact payload
and layer annotations cosign pushed. The image manifest goes into an OCI layout byte for byte (the
registry would demand its layer blobs, which the fixtures do not carry); the ``.sig``
manifest is rebuilt in the real registry and found through ``COSIGN_REPOSITORY``, so the
whole fetch path (tag, manifest, blobs, digests) runs against real cosign bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.oci import Reference, RegistryClient
from tests.integration.conftest import RunningRegistry
from tests.interop.conftest import containers_fixtures, load_signature_file
from tests.support.cli import run
from tests.workflows_helpers import write_signatures

FIXTURES = containers_fixtures()

# case -> (manifest dir, signature files, public key, expected exit code, extra verify flags)
CASES: dict[str, tuple[str, list[str], str, int, list[str]]] = {
    "valid": ("dir-img-cosign-valid", ["signature-1"], "cosign.pub", 0, []),
    "valid-2": ("dir-img-cosign-valid-2", ["signature-1", "signature-2"], "cosign.pub", 0, []),
    "valid-with-tag": ("dir-img-cosign-valid-with-tag", ["signature-1"], "cosign.pub", 0, []),
    "mixed": ("dir-img-cosign-mixed", ["signature-1", "signature-2"], "cosign.pub", 0, []),
    "modified-manifest": (
        "dir-img-cosign-modified-manifest",
        ["signature-1"],
        "cosign.pub",
        12,
        [],
    ),
    "other-attachment": ("dir-img-cosign-other-attachment", ["signature-1"], "cosign.pub", 10, []),
    "unknown-key": (
        "dir-img-cosign-valid",
        ["../unknown-cosign-key.signature"],
        "cosign.pub",
        12,
        [],
    ),
    "wrong-key": ("dir-img-cosign-valid", ["signature-1"], "cosign2.pub", 12, []),
}


def _layout_with_manifest(tmp_path: Path, manifest: bytes, media_type: str) -> Reference:
    ref = Reference.parse(f"oci:{tmp_path / 'layout'}:img")
    with RegistryClient() as layout_client:
        layout_client.put_manifest(ref, manifest, media_type)
    return ref


def _setup(
    client: RegistryClient,
    registry: RunningRegistry,
    repo: str,
    tmp_path: Path,
    case_dir: str,
    layers: list[SignatureLayer],
) -> Reference:
    manifest = (FIXTURES / case_dir / "manifest.json").read_bytes()
    media_type = "application/vnd.docker.distribution.manifest.v2+json"
    if b"application/vnd.oci.image.manifest.v1+json" in manifest[:120]:
        media_type = "application/vnd.oci.image.manifest.v1+json"
    image = _layout_with_manifest(tmp_path, manifest, media_type)
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    write_signatures(client, Reference.parse(f"{registry.host}/{repo}:x"), digest, layers)
    return image


@pytest.mark.parametrize("case", sorted(CASES))
def test_containers_image_fixture_through_registry(
    case: str, client: RegistryClient, registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    case_dir, signature_files, key, expected, extra = CASES[case]
    layers = [load_signature_file(FIXTURES / case_dir / name) for name in signature_files]
    image = _setup(client, registry, repo, tmp_path, case_dir, layers)
    result = run(
        [
            "verify",
            "--key",
            str(FIXTURES / key),
            "--insecure-ignore-tlog",
            "--insecure-registry",
            registry.host,
            *extra,
            str(image),
        ],
        {"COSIGN_REPOSITORY": f"{registry.host}/{repo}"},
        home=str(tmp_path),
    )
    assert result.code == expected, result.err
    if expected == 0:
        assert '"docker-manifest-digest"' in result.out


@pytest.mark.parametrize(
    ("rekor_key", "strip_bundle", "expected"),
    [("rekor.pub", False, 0), ("cosign.pub", False, 12), ("rekor.pub", True, 12)],
)
def test_key_and_rekor_bundle_fixture(
    rekor_key: str,
    strip_bundle: bool,
    expected: int,
    client: RegistryClient,
    registry: RunningRegistry,
    repo: str,
    tmp_path: Path,
) -> None:
    """SET verified offline with rekor.pub; wrong Rekor key or no bundle: rejected."""
    layer = load_signature_file(FIXTURES / "dir-img-cosign-key-rekor-valid" / "signature-1")
    if strip_bundle:
        annotations = {k: v for k, v in layer.annotations.items() if not k.endswith("/bundle")}
        layer = SignatureLayer(layer.media_type, layer.payload, annotations)
    image = _setup(client, registry, repo, tmp_path, "dir-img-cosign-key-rekor-valid", [layer])
    result = run(
        [
            "verify",
            "--key",
            str(FIXTURES / "cosign2.pub"),
            "--rekor-public-key",
            str(FIXTURES / rekor_key),
            "--insecure-registry",
            registry.host,
            str(image),
        ],
        {"COSIGN_REPOSITORY": f"{registry.host}/{repo}"},
        home=str(tmp_path),
    )
    assert result.code == expected, result.err
    if expected == 0:
        assert "verified offline" in result.err
        assert '"Bundle"' in result.out


PUBLIC_GOOD_ROOT = (
    FIXTURES.parents[2]
    / "sigstore-python"
    / "sigstore"
    / "_store"
    / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
    / "trusted_root.json"
)
OAUTH = "https://github.com/login/oauth"


@pytest.mark.parametrize(
    ("flags", "strip", "expected", "message"),
    [
        (
            ["--certificate-identity", "mitr@redhat.com", "--certificate-oidc-issuer", OAUTH],
            None,
            0,
            "",
        ),
        (
            [
                "--certificate-identity-regexp",
                "@redhat\\.com$",
                "--certificate-oidc-issuer-regexp",
                "github",
            ],
            None,
            0,
            "",
        ),
        (
            ["--certificate-identity", "other@redhat.com", "--certificate-oidc-issuer", OAUTH],
            None,
            12,
            "identity does not match",
        ),
        (
            [
                "--certificate-identity",
                "mitr@redhat.com",
                "--certificate-oidc-issuer",
                "https://accounts.google.com",
            ],
            None,
            12,
            "issuer does not match",
        ),
        (
            ["--certificate-identity", "mitr@redhat.com", "--certificate-oidc-issuer", OAUTH],
            "bundle",
            12,
            "no transparency log entry",
        ),
        (
            ["--certificate-identity", "mitr@redhat.com", "--certificate-oidc-issuer", OAUTH],
            "certificate",
            12,
            "no certificate",
        ),
    ],
)
def test_keyless_fulcio_rekor_fixture_through_registry(
    flags: list[str],
    strip: str | None,
    expected: int,
    message: str,
    client: RegistryClient,
    registry: RunningRegistry,
    repo: str,
    tmp_path: Path,
) -> None:
    """cosign 2's keyless signature (SET only, no proof) verifies offline with the public root."""
    layer = load_signature_file(FIXTURES / "dir-img-cosign-fulcio-rekor-valid" / "signature-1")
    if strip is not None:
        annotations = {k: v for k, v in layer.annotations.items() if not k.endswith(f"/{strip}")}
        layer = SignatureLayer(layer.media_type, layer.payload, annotations)
    image = _setup(client, registry, repo, tmp_path, "dir-img-cosign-fulcio-rekor-valid", [layer])
    result = run(
        [
            "verify",
            *flags,
            "--trusted-root",
            str(PUBLIC_GOOD_ROOT),
            "--insecure-registry",
            registry.host,
            str(image),
        ],
        {"COSIGN_REPOSITORY": f"{registry.host}/{repo}"},
        home=str(tmp_path),
    )
    assert result.code == expected, result.err
    assert message in result.err
    if expected == 0:
        [element] = json.loads(result.out)
        assert element["optional"]["Subject"] == "mitr@redhat.com"
        assert element["optional"]["Issuer"] == OAUTH
        assert element["optional"]["Bundle"]["Payload"]["logIndex"] > 0


def test_byo_pki_fixture_through_registry(
    client: RegistryClient, registry: RunningRegistry, repo: str, tmp_path: Path
) -> None:
    """A private CA: no Fulcio issuer extension, no SCT, no log; the chain from --ca-roots."""
    layer = load_signature_file(FIXTURES / "dir-img-cosign-pki-valid" / "signature-1")
    image = _setup(client, registry, repo, tmp_path, "dir-img-cosign-pki-valid", [layer])
    base = [
        "verify",
        "--ca-roots",
        str(FIXTURES / "pki_root_crts.pem"),
        "--ca-intermediates",
        str(FIXTURES / "pki_intermediate_crts.pem"),
        "--certificate-oidc-issuer-regexp",
        ".*",
        "--insecure-ignore-tlog",
        "--insecure-ignore-sct",
        "--insecure-registry",
        registry.host,
    ]
    env = {"COSIGN_REPOSITORY": f"{registry.host}/{repo}"}
    ok = run(
        [*base, "--certificate-identity", "qiwan@redhat.com", str(image)], env, home=str(tmp_path)
    )
    assert ok.code == 0, ok.err
    wrong = run(
        [*base, "--certificate-identity", "x@redhat.com", str(image)], env, home=str(tmp_path)
    )
    assert wrong.code == 12
    assert "identity does not match" in wrong.err
    other_root = run(
        [
            *base[:1],
            "--ca-roots",
            str(FIXTURES / "fulcio_v1.crt.pem"),
            *base[5:],
            "--certificate-identity",
            "qiwan@redhat.com",
            str(image),
        ],
        env,
        home=str(tmp_path),
    )
    assert other_root.code == 12
    assert "chain" in other_root.err

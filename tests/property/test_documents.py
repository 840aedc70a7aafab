"""Property tests over user and cluster documents: YAML, workloads, policies, gate configs,
scan reports, trusted roots, Sigstore bundles, cosign key files and SBOM layer streams.

As in test_parsers: whatever the input, a parser returns or raises a sealgate error.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sealgate.documents import parse_yaml, workload_images
from sealgate.formats.scan_reports import parse_scan_report
from sealgate.formats.sigstore_bundle import parse_sigstore_bundle
from sealgate.formats.tlog_entry import parse_tlog_entry
from sealgate.keys import generate_key_pair, load_signer_pem
from sealgate.policy.loaders import load_policy_set
from sealgate.sbom import generate_sbom
from sealgate.trust import parse_trusted_root
from tests.interop.conftest import interop_dir
from tests.property.strategies import json_values, mutated_bytes, mutated_json
from tests.support.fuzz import only_own_errors
from tests.unit.sbom.imagekit import source

COSIGN_BUNDLE = (
    interop_dir() / "cosign" / "pkg" / "cosign" / "testdata" / "oci-attestation.sigstore.json"
).read_bytes()
TRUSTED_ROOT = (
    interop_dir() / "cosign" / "pkg" / "cosign" / "testdata" / "trusted_root_pgi.json"
).read_bytes()
PRIVATE_PEM, _ = generate_key_pair(b"pw")

CIP = """\
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: p}
spec:
  images: [{glob: "ghcr.io/acme/**"}]
  authorities:
    - name: k
      keyless:
        identities: [{issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^x"}]
    - static: {action: pass}
"""
KYVERNO = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages:
        - imageReferences: ["ghcr.io/*"]
          attestors: [{count: 1, entries: [{keyless: {subject: "a@b", issuer: "x", rekor: {url: "https://r"}}}]}]
"""
POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {
        "containers": [{"name": "a", "image": "ghcr.io/acme/a:1"}],
        "initContainers": [{"name": "i", "image": "busybox"}],
        "ephemeralContainers": [{"name": "e", "image": "debug"}],
    },
}
TRIVY = {
    "ArtifactName": "ghcr.io/acme/a@sha256:" + "ab" * 32,
    "Metadata": {"RepoDigests": ["ghcr.io/acme/a@sha256:" + "ab" * 32]},
    "Results": [{"Vulnerabilities": [{"VulnerabilityID": "CVE-1", "Severity": "HIGH"}]}],
}


yaml_text = st.text(max_size=300) | mutated_bytes(CIP.encode()).map(
    lambda b: b.decode("utf-8", "replace")
)


@given(yaml_text)
def test_yaml_documents(text: str) -> None:
    only_own_errors(lambda: parse_yaml(text, source="fuzz.yaml"))


@given(yaml_text | mutated_bytes(KYVERNO.encode()).map(lambda b: b.decode("utf-8", "replace")))
def test_policy_documents(text: str) -> None:
    only_own_errors(lambda: load_policy_set([("fuzz.yaml", text)]))


@given(json_values | mutated_json(POD).map(json.loads))
def test_workload_walker(document: Any) -> None:
    def walk() -> None:
        for _field in workload_images(document):
            pass

    only_own_errors(walk)


@given(st.binary(max_size=300) | mutated_json(TRIVY))
def test_scan_reports(data: bytes) -> None:
    only_own_errors(lambda: parse_scan_report(data))


@given(mutated_bytes(COSIGN_BUNDLE) | mutated_json(json.loads(COSIGN_BUNDLE)))
def test_sigstore_bundles(data: bytes) -> None:
    only_own_errors(lambda: parse_sigstore_bundle(data))


@given(
    json_values
    | mutated_json(json.loads(COSIGN_BUNDLE)["verificationMaterial"]["tlogEntries"][0]).map(
        json.loads
    )
)
def test_tlog_entries(value: Any) -> None:
    only_own_errors(lambda: parse_tlog_entry(value))


@given(mutated_bytes(TRUSTED_ROOT) | mutated_json(json.loads(TRUSTED_ROOT)))
def test_trusted_roots(data: bytes) -> None:
    only_own_errors(lambda: parse_trusted_root(data))


@given(mutated_bytes(PRIVATE_PEM))
def test_cosign_private_keys(pem: bytes) -> None:
    # scrypt runs on every decodable key: a small budget of examples keeps this quick.
    only_own_errors(lambda: load_signer_pem(pem, b"pw"))


def _layer(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


LAYER = _layer(
    {
        "var/lib/dpkg/status": b"Package: zlib\nStatus: install ok installed\nVersion: 1.3\n\n",
        "etc/os-release": b"ID=debian\nVERSION_ID=12\n",
        "usr/lib/python3/site-packages/x-1.0.dist-info/METADATA": b"Name: x\nVersion: 1.0\n",
    }
)


@given(mutated_bytes(LAYER) | mutated_bytes(gzip.decompress(LAYER)) | st.binary(max_size=600))
def test_sbom_layer_streams(blob: bytes) -> None:
    media = "application/vnd.oci.image.layer.v1.tar+gzip"
    only_own_errors(
        lambda: generate_sbom(
            [source(blob, media)], image_name="r/x", image_digest="sha256:" + "0" * 64
        )
    )


def test_fixtures_are_what_the_properties_mutate(tmp_path: Path) -> None:
    # Guards the properties: the valid inputs they start from are valid.
    assert load_policy_set([("cip.yaml", CIP), ("kyverno.yaml", KYVERNO)]).policies
    assert sorted(f.image or "" for f in workload_images(POD)) == [
        "busybox",
        "debug",
        "ghcr.io/acme/a:1",
    ]
    assert parse_sigstore_bundle(COSIGN_BUNDLE).dsse_envelope is not None
    assert parse_trusted_root(TRUSTED_ROOT).tlogs
    assert load_signer_pem(PRIVATE_PEM, b"pw")
    result = generate_sbom([source(LAYER)], image_name="r/x", image_digest="sha256:" + "0" * 64)
    assert result.components >= 2

"""``sealgate policy test`` end to end: real signatures on the real registry, three policy kinds."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from sealgate.oci import RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image

SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "components": [{"name": "app", "version": "1"}],
}


def _image(client: RegistryClient, registry: RunningRegistry, repo: str) -> str:
    ref = registry.ref(repo, "v1")
    push_image(client, ref, build_image())
    return str(ref)


def _sign(registry: RunningRegistry, key: Path, image: str, home: Path, *extra: str) -> None:
    done = run(
        [*extra, "--key", str(key), "--insecure-registry", registry.host, image],
        {"COSIGN_PASSWORD": PASSWORD},
        home=str(home),
    )
    assert done.code == 0, done.err


def _policy(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _test(
    registry: RunningRegistry, policy: Path, *images: str, home: Path, extra: tuple[str, ...] = ()
) -> Result:
    return run(
        [
            "policy",
            "test",
            "--policy",
            str(policy),
            "--insecure-registry",
            registry.host,
            "-o",
            "json",
            *extra,
            *images,
        ],
        home=str(home),
    )


def _pem(path: Path, spaces: int) -> str:
    return textwrap.indent(path.read_text(), " " * spaces)


def _cip(keys: dict[str, Path], registry: RunningRegistry, key: str) -> str:
    return f"""
    apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata: {{name: signed}}
    spec:
      images: [{{glob: "{registry.host}/**"}}]
      authorities:
        - name: release
          key:
            data: |
{_pem(keys[key], 14)}
    """


def test_cip_key_policy_admits_signed_and_denies_wrong_key_and_unsigned(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    signed = _image(client, registry, repo)
    unsigned = _image(client, registry, repo + "-unsigned")
    _sign(registry, keys["first"], signed, tmp_path, "sign")

    good = _policy(tmp_path, "good.yaml", _cip(keys, registry, "first.pub"))
    result = _test(registry, good, signed, home=tmp_path)
    assert result.code == 0, result.err
    [image] = json.loads(result.out)["images"]
    assert image["decision"] == "admit"
    assert image["matchedPolicies"] == ["ClusterImagePolicy/signed"]
    [authority] = image["policies"][0]["groups"][0]["requirements"][0]["authorities"]
    assert authority == {"name": "release", "passed": True, "detail": "vouched for signature 1"}

    wrong = _policy(tmp_path, "wrong.yaml", _cip(keys, registry, "second.pub"))
    result = _test(registry, wrong, signed, unsigned, home=tmp_path)
    assert result.code == 1, result.err
    first, second = json.loads(result.out)["images"]
    assert first["decision"] == "deny"
    assert "signature does not verify with key release" in first["reasons"][0]
    assert second["policies"][0]["groups"][0]["requirements"][0]["reason"] == "unsigned"


def test_static_and_no_match_are_judged_without_contacting_a_registry(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        "static.yaml",
        """
        apiVersion: policy.sigstore.dev/v1alpha1
        kind: ClusterImagePolicy
        metadata: {name: lab}
        spec:
          images: [{glob: "127.0.0.1:9/**"}]
          authorities: [{static: {action: pass}}]
        """,
    )
    # Nothing listens on port 9: any registry request would make these "could not check".
    result = run(
        ["policy", "test", "--policy", str(policy), "127.0.0.1:9/x/y:v1", "ghcr.io/acme/app:v1"]
    )
    assert result.code == 1, result.err
    assert "127.0.0.1:9/x/y:v1: ADMIT" in result.out
    assert "ghcr.io/acme/app:v1: DENY" in result.out and "no matching policies" in result.out
    allowed = run(
        ["policy", "test", "--policy", str(policy), "--no-match", "allow", "ghcr.io/acme/app:v1"]
    )
    assert allowed.code == 0, allowed.err


def test_kyverno_count_counts_distinct_keys_and_attestation_conditions(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = _image(client, registry, repo)
    _sign(registry, keys["first"], image, tmp_path, "sign")
    policy = _policy(
        tmp_path,
        "kyverno.yaml",
        f"""
        apiVersion: kyverno.io/v1
        kind: ClusterPolicy
        metadata: {{name: two-keys}}
        spec:
          validationFailureAction: Enforce
          rules:
            - name: verify
              match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}
              verifyImages:
                - imageReferences: ["{registry.host}/*"]
                  attestors:
                    - count: 2
                      entries:
                        - keys:
                            rekor: {{ignoreTlog: true, url: "https://rekor.sigstore.dev"}}
                            publicKeys: |
{_pem(keys["first.pub"], 30)}
                        - keys:
                            rekor: {{ignoreTlog: true, url: "https://rekor.sigstore.dev"}}
                            publicKeys: |
{_pem(keys["second.pub"], 30)}
        """,
    )
    once = _test(registry, policy, image, home=tmp_path)
    assert once.code == 1, once.err
    assert "1 of the 2 distinct authorities" in json.loads(once.out)["images"][0]["reasons"][0]
    # The same key signing again does not count twice.
    _sign(registry, keys["first"], image, tmp_path, "sign", "-a", "again=yes")
    assert _test(registry, policy, image, home=tmp_path).code == 1
    _sign(registry, keys["second"], image, tmp_path, "sign")
    both = _test(registry, policy, image, home=tmp_path)
    assert both.code == 0, both.out

    sbom = tmp_path / "bom.json"
    sbom.write_text(json.dumps(SBOM))
    _sign(
        registry,
        keys["first"],
        image,
        tmp_path,
        "attest",
        "--type",
        "cyclonedx",
        "--predicate",
        str(sbom),
    )
    text = policy.read_text()
    [line] = [x for x in text.splitlines() if x.strip() == "attestors:"]
    pad = line[: len(line) - len(line.lstrip())]
    block = textwrap.indent(
        textwrap.dedent(
            """\
            attestations:
              - type: https://cyclonedx.org/bom
                conditions:
                  - all:
                      - key: "{{ components[0].name }}"
                        operator: Equals
                        value: WANTED
            """
        ),
        pad,
    )
    with_attestation = text.replace(line + "\n", block + line + "\n")
    assert "cyclonedx" in with_attestation
    wanted = tmp_path / "att.yaml"
    wanted.write_text(with_attestation.replace("count: 2", "count: 1").replace("WANTED", "app*"))
    assert _test(registry, wanted, image, home=tmp_path).code == 0
    refused = tmp_path / "att-refused.yaml"
    refused.write_text(with_attestation.replace("count: 2", "count: 1").replace("WANTED", "other"))
    denied = _test(registry, refused, image, home=tmp_path)
    assert denied.code == 1
    assert "is not met" in json.loads(denied.out)["images"][0]["reasons"][0]


def test_bad_policy_files_give_one_line_errors(tmp_path: Path) -> None:
    cases = {
        "yaml.yaml": "a: [\n",
        "kind.yaml": "apiVersion: v9\nkind: Nope\n",
        "glob.yaml": "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        "metadata: {name: x}\n"
        "spec: {images: [{glob: 'a b'}], authorities: [{static: {action: pass}}]}\n",
    }
    for name, text in cases.items():
        result = run(["policy", "test", "--policy", str(_policy(tmp_path, name, text)), "foo"])
        assert result.code == 78, (name, result.err)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err

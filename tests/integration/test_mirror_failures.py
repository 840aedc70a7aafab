"""``sealgate mirror`` when things go wrong: cut blobs, faults, no write access, bad config.

Whatever fails must leave nothing signed that was not completely copied, and no tag.
"""

from __future__ import annotations

from pathlib import Path

from sealgate.oci import Reference, RegistryClient, digest_of
from sealgate.workflows.attachments import fetch_attachment_layers
from sealgate.workflows.targets import attachment_ref
from tests.integration.conftest import REGISTRY_PASSWORD, RunningRegistry
from tests.integration.test_mirror import mirror, mirror_client, results, verify, write_auth
from tests.support.fault_proxy import fault_proxy
from tests.support.images import build_image, push_image
from tests.support.registry_front import Action, Forward, Plan, Reset, running_front


def _layer_plan(digests: set[str], *, always: bool) -> Plan:
    def plan(method: str, path: str, n: int) -> Action:
        cut = method == "GET" and path.rsplit("/", 1)[-1] in digests and (always or n == 0)
        return Reset(after_fraction=0.5) if cut else Forward()

    return plan


def test_upstream_dropping_mid_blob_fails_cleanly_and_signs_nothing(
    registry: RunningRegistry,
    auth_registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = build_image(file_size=64 * 1024)
    digest = push_image(client, registry.ref(repo, "v1"), image)
    layers = {digest_of(layer) for layer in image.layers}
    write_auth(tmp_path, auth_registry)
    target = f"{auth_registry.host}/mirror/{repo.rsplit('/', 1)[-1]}"
    with running_front(registry.host, _layer_plan(layers, always=True)) as front:
        done = mirror(f"{front.host}/{repo}:v1", target, home=tmp_path, key=keys["first"])
    assert done.code == 3, done.err
    [result] = results(done)
    assert result["status"] == "failed" and result["reason"] == "unreachable", result
    with mirror_client(auth_registry, tmp_path) as target_client:
        pinned = Reference.parse(f"{target}@{digest}")
        assert target_client.get_manifest_or_none(pinned) is None
        assert target_client.get_manifest_or_none(Reference.parse(f"{target}:v1")) is None
        assert fetch_attachment_layers(target_client, attachment_ref(pinned, "sig")) == []

    # A cut that does not repeat is survived: the blob is streamed across again.
    with running_front(registry.host, _layer_plan(layers, always=False)) as front:
        done = mirror(f"{front.host}/{repo}:v1", target, home=tmp_path, key=keys["first"])
        cuts = [entry for entry in front.log if entry[2] == "Reset"]
    assert done.code == 0, done.err
    assert results(done)[0]["status"] == "mirrored"
    assert len(cuts) == len(layers)
    assert verify(auth_registry, keys["first.pub"], f"{target}:v1", tmp_path).code == 0


def test_target_without_write_permission_is_a_clear_failure(
    registry: RunningRegistry,
    auth_registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    digest = push_image(client, registry.ref(repo, "v1"), build_image())
    target = f"{auth_registry.host}/mirror/{repo.rsplit('/', 1)[-1]}"  # no credentials given
    done = mirror(str(registry.ref(repo, "v1")), target, home=tmp_path, key=keys["first"])
    assert done.code == 3, done.err
    [result] = results(done)
    assert result["status"] == "failed" and result["reason"] == "unauthorized", result
    assert REGISTRY_PASSWORD not in done.out + done.err
    with mirror_client(auth_registry, tmp_path) as target_client:
        pinned = Reference.parse(f"{target}@{digest}")
        assert target_client.get_manifest_or_none(pinned) is None
        assert fetch_attachment_layers(target_client, attachment_ref(pinned, "sig")) == []


def test_bad_config_names_file_and_line(tmp_path: Path, keys: dict[str, Path]) -> None:
    config = tmp_path / "mirror.yaml"
    config.write_text(
        "images:\n  - source: a.example/x:1\n    target: b.example/y\n    sbom: yes-please\n"
    )
    done = mirror("--config", str(config), home=tmp_path, key=keys["first"])
    assert done.code == 78
    assert f"{config}:4" in done.err and "sbom" in done.err
    both = mirror("--config", str(config), "a.example/x:1", "b.example/y", home=tmp_path)
    assert both.code == 64 and "not both" in both.err


def test_under_upstream_faults_nothing_incomplete_is_signed(
    registry: RunningRegistry,
    auth_registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    digests = {}
    for n in range(6):
        digests[n] = push_image(client, registry.ref(f"{repo}/img{n}", "v1"), build_image())
    write_auth(tmp_path, auth_registry)
    base = f"{auth_registry.host}/mirror/{repo.rsplit('/', 1)[-1]}"
    with fault_proxy(registry.host, seed=7, rate=0.5) as front:
        config = tmp_path / "mirror.yaml"
        config.write_text(
            "images:\n"
            + "".join(
                f"  - {{source: '{front.host}/{repo}/img{n}:v1', target: '{base}/img{n}'}}\n"
                for n in digests
            )
        )
        done = mirror(
            "--config", str(config), "--concurrency", "1", home=tmp_path, key=keys["first"]
        )
        injected = sum(front.plan.injected.values())  # type: ignore[attr-defined]

    assert injected > 0
    statuses = [r["status"] for r in results(done)]
    # Retries (idempotent reads, a blob cut short) carry most images through; whatever
    # failed must carry no signature, whatever is mirrored must verify.
    assert set(statuses) <= {"mirrored", "failed"} and "mirrored" in statuses, statuses
    with mirror_client(auth_registry, tmp_path) as target_client:
        for n, digest in digests.items():
            pinned = Reference.parse(f"{base}/img{n}@{digest}")
            signed = fetch_attachment_layers(target_client, attachment_ref(pinned, "sig"))
            if statuses[n] == "mirrored":
                assert target_client.resolve(Reference.parse(f"{base}/img{n}:v1")).digest == digest
                assert (
                    verify(auth_registry, keys["first.pub"], f"{base}/img{n}:v1", tmp_path).code
                    == 0
                )
            else:
                assert signed == [], f"img{n} failed but carries a signature"
                assert (
                    target_client.get_manifest_or_none(Reference.parse(f"{base}/img{n}:v1")) is None
                )

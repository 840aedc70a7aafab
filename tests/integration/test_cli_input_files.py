"""User input files are regular files read with a cap, and odd attachments never crash.

A FIFO as ``--predicate`` used to hang, ``/dev/zero`` was read to the cap, a symbolic link's
target was embedded in the published attestation; a malformed bundle annotation made
``download`` an internal error (exit 70).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    RFC3161_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.oci import EMPTY_JSON_DIGEST, OCI_CONFIG, OCI_MANIFEST, Reference, RegistryClient
from sealgate.workflows.targets import attachment_ref
from tests.integration.conftest import RunningRegistry
from tests.integration.test_cli_attest_copy import attest
from tests.support.cli import Result, run
from tests.support.images import build_image, push_image
from tests.workflows_helpers import write_signatures


def _one_line(result: Result) -> str:
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def _with_fifo_writer(fifo: Path, data: bytes, command: Callable[[], Result]) -> Result:
    """Run ``command`` while a writer holding ``data`` keeps ``fifo`` open, then close it.

    A reader that opened the FIFO without checking its type blocks until the writer goes;
    closing it then lets such a reader finish with the data, so a regression fails the test
    on its result instead of hanging it. How long the wait lasts changes no outcome.
    """
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    results: list[Result] = []
    try:
        os.write(writer, data)
        worker = threading.Thread(target=lambda: results.append(command()), daemon=True)
        worker.start()
        worker.join(timeout=10)
    finally:
        os.close(writer)
    worker.join()
    return results[0]


def _nothing_attested(client: RegistryClient, image: Reference) -> bool:
    digest = client.resolve(image).digest
    tag = attachment_ref(image.with_digest(digest), "att")
    return client.get_manifest_or_none(tag) is None


@pytest.fixture
def image(registry: RunningRegistry, client: RegistryClient, repo: str) -> Reference:
    ref = registry.ref(repo, "v1")
    push_image(client, ref, build_image())
    return ref


def test_predicate_fifo_is_refused_without_waiting_for_a_writer(
    registry: RunningRegistry,
    client: RegistryClient,
    image: Reference,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "predicate.json"
    result = _with_fifo_writer(
        fifo,
        b'{"a": 1}',
        lambda: attest(
            registry, keys["first"], str(image), "--predicate", str(fifo), home=tmp_path
        ),
    )
    assert result.code == 65
    assert _one_line(result) == f"error: {fifo}: is a FIFO, not a regular file"
    assert _nothing_attested(client, image)


def test_predicate_device_is_refused_before_reading(
    registry: RunningRegistry,
    client: RegistryClient,
    image: Reference,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    result = attest(registry, keys["first"], str(image), "--predicate", "/dev/zero", home=tmp_path)
    assert result.code == 65
    assert _one_line(result) == "error: /dev/zero: is a device, not a regular file"
    assert _nothing_attested(client, image)


def test_predicate_symlink_is_refused_and_its_target_never_published(
    registry: RunningRegistry,
    client: RegistryClient,
    image: Reference,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    secret = tmp_path / "credentials.json"
    secret.write_text(json.dumps({"token": "do-not-publish"}))
    link = tmp_path / "predicate.json"
    link.symlink_to(secret)
    result = attest(registry, keys["first"], str(image), "--predicate", str(link), home=tmp_path)
    assert result.code == 65
    assert "is a symbolic link" in _one_line(result)
    assert "do-not-publish" not in result.err + result.out
    assert _nothing_attested(client, image)


def test_scan_report_and_digest_file_are_regular_files_too(
    registry: RunningRegistry,
    client: RegistryClient,
    image: Reference,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    predicate = tmp_path / "predicate.json"
    predicate.write_text("{}")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"SchemaVersion": 2, "Results": []}))
    link = tmp_path / "report-link.json"
    link.symlink_to(report)
    linked = attest(
        registry,
        keys["first"],
        str(image),
        "--predicate",
        str(predicate),
        "--scan-report",
        str(link),
        home=tmp_path,
    )
    assert linked.code == 65 and "is a symbolic link" in _one_line(linked)
    fifo = tmp_path / "digest.txt"
    from_fifo = _with_fifo_writer(
        fifo,
        f"sha256:{'0' * 64}\n".encode(),
        lambda: attest(
            registry,
            keys["first"],
            str(image),
            "--predicate",
            str(predicate),
            "--digest-file",
            str(fifo),
            home=tmp_path,
        ),
    )
    assert from_fifo.code == 65 and "is a FIFO" in _one_line(from_fifo)
    assert _nothing_attested(client, image)


def test_malformed_bundle_annotation_is_malformed_data_not_a_bug(
    registry: RunningRegistry, client: RegistryClient, image: Reference, tmp_path: Path
) -> None:
    digest = client.resolve(image).digest
    layer = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE, b"{}", {SIGNATURE_ANNOTATION: "AAAA", BUNDLE_ANNOTATION: "{oops"}
    )
    write_signatures(client, image, digest, [layer])
    flags = ["--insecure-registry", registry.host, str(image)]
    downloaded = run(["download", "signature", *flags], home=str(tmp_path))
    assert downloaded.code == 3
    assert _one_line(downloaded) == (
        f"error: signature layer {layer.digest}: annotation {BUNDLE_ANNOTATION} is not valid JSON"
    )
    tree = run(["tree", *flags], home=str(tmp_path))
    assert tree.code == 0, tree.err
    assert layer.digest in tree.out


def test_malformed_timestamp_annotation_too(
    registry: RunningRegistry, client: RegistryClient, image: Reference, tmp_path: Path
) -> None:
    digest = client.resolve(image).digest
    nested = "[" * 100_000  # deep enough to exhaust the JSON decoder's recursion
    layer = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE, b"{}", {SIGNATURE_ANNOTATION: "AAAA", RFC3161_ANNOTATION: nested}
    )
    write_signatures(client, image, digest, [layer])
    downloaded = run(
        ["download", "signature", "--insecure-registry", registry.host, str(image)],
        home=str(tmp_path),
    )
    assert downloaded.code == 3
    assert "annotation dev.sigstore.cosign/rfc3161timestamp is not valid JSON" in downloaded.err


def test_tree_shows_what_it_can_and_marks_a_malformed_attachment(
    registry: RunningRegistry, client: RegistryClient, image: Reference, tmp_path: Path
) -> None:
    digest = client.resolve(image).digest
    signature = SignatureLayer(SIMPLESIGNING_MEDIA_TYPE, b"{}", {SIGNATURE_ANNOTATION: "AAAA"})
    write_signatures(client, image, digest, [signature])
    # A registry accepts a layer descriptor with an empty mediaType; cosign's layout does not.
    client.put_blob(image, b"{}")
    bad = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": EMPTY_JSON_DIGEST, "size": 2},
        "layers": [{"mediaType": "", "digest": EMPTY_JSON_DIGEST, "size": 2}],
    }
    att = attachment_ref(image.with_digest(digest), "att")
    client.put_manifest(att, json.dumps(bad).encode(), OCI_MANIFEST)
    tree = run(["tree", "--insecure-registry", registry.host, str(image)], home=str(tmp_path))
    assert tree.code == 3
    assert signature.digest in tree.out
    assert "malformed: attachment manifest layer 0 has no mediaType" in tree.out
    assert (
        _one_line(tree)
        == f"error: 1 attachment manifest(s) of {image.with_digest(digest)} are malformed"
    )

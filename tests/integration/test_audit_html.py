"""The audit's HTML report in headless Chromium: the picture, its numbers, sorting, and that
hostile values from the registry stay text.

The report is written by ``sealgate audit --html`` over real images in the real registry; the
same run's ``-o json`` is the reference the page's numbers are checked against. A screenshot is
kept next to the test's temporary files (``audit-report.png``) for a person to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

from sealgate.keys import generate_key_pair, load_signer_pem
from sealgate.oci import Reference, RegistryClient
from sealgate.workflows.attest import AttestOptions, attach_statement
from sealgate.workflows.targets import pinned_digest
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.chromium import DevTools, screenshot
from tests.support.cli import run
from tests.support.images import build_image, push_image

HOSTILE_NOTE = "<img src=x onerror=\"document.title='pwned'\">"
HOSTILE_SCRIPT = "</script><script>document.title='pwned'</script>"
HOSTILE_TYPE = "https://evil.example/<svg onload=\"document.title='pwned'\">"


def _estate(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> list[str]:
    env = {"COSIGN_PASSWORD": PASSWORD}
    flags = ["--insecure-registry", registry.host]
    images = []
    for name, tags in (("api", ("1", "2", "3")), ("web", ("1", "2")), ("batch", ("1",))):
        for tag in tags:
            ref = registry.ref(f"{repo}/{name}", tag)
            push_image(client, ref, build_image(layers=1))
            images.append(str(ref))
    sbom = tmp_path / "bom.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6"}))
    for image, key in ((images[0], "second"), (images[1], "first"), (images[3], "second")):
        signed = run(
            [
                "sign",
                "--key",
                str(keys[key]),
                "-a",
                f"note={HOSTILE_NOTE}",
                "-a",
                f"script={HOSTILE_SCRIPT}",
                *flags,
                image,
            ],
            env,
        )
        assert signed.code == 0, signed.err
    attested = run(
        [
            "attest",
            "--key",
            str(keys["second"]),
            "--type",
            "cyclonedx",
            "--predicate",
            str(sbom),
            *flags,
            images[0],
        ],
        env,
    )
    assert attested.code == 0, attested.err
    # An attestation whose predicate type is markup, signed by a key the audit does not know.
    private_pem, _ = generate_key_pair(b"stranger")
    stranger = load_signer_pem(private_pem, b"stranger")
    target = Reference.parse(images[2]).with_digest(
        client.resolve(Reference.parse(images[2])).digest
    )
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": HOSTILE_TYPE,
            "subject": [{"name": target.name, "digest": {"sha256": pinned_digest(target)[7:]}}],
            "predicate": {},
        }
    ).encode()
    attach_statement(
        client,
        stranger,
        target,
        statement,
        predicate_type_uri=HOSTILE_TYPE,
        options=AttestOptions(),
    )
    return images


def test_html_report_in_chromium(
    registry: RunningRegistry,
    client: RegistryClient,
    repo: str,
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    _estate(registry, client, repo, keys, tmp_path)
    page = tmp_path / "audit.html"
    result = run(
        ["audit", "--key", str(keys["second.pub"]), "--retired-key", str(keys["first.pub"])]
        + ["--insecure-ignore-tlog", "--insecure-registry", registry.host, "-o", "json"]
        + ["--html", str(page)]
        + [f"--repository={registry.host}/{repo}/{name}" for name in ("api", "web", "batch")]
    )
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["summary"] == {
        "images": 6,
        "signed": 2,
        "retired": 1,
        "untrusted": 0,
        "unsigned": 3,
        "error": 0,
        "sbom": 1,
        "noSbom": 5,
    }
    html = page.read_text()
    assert "<script>document.title" not in html
    assert 'onerror="' not in html and "<svg onload" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # no external assets

    png = tmp_path / "audit-report.png"
    screenshot(page, png)

    with DevTools(page) as browser:
        assert browser.evaluate("document.title") == "sealgate audit: 6 image(s)"
        assert browser.evaluate("document.querySelectorAll('img, iframe, object').length") == 0
        assert browser.evaluate("document.scripts.length") == 1
        for name, value in doc["summary"].items():
            shown = browser.evaluate(f"document.getElementById('summary-{name}')?.textContent")
            if name != "sbom":
                assert shown == str(value), name
        bars = browser.evaluate(
            "Array.from(document.querySelectorAll('#coverage g.repo')).map(g => ({...g.dataset}))"
        )
        assert bars[0]["repository"] == "all repositories"
        by_repo = {bar["repository"]: bar for bar in bars[1:]}
        for repository in doc["repositories"]:
            bar = by_repo[repository["repository"]]
            for key in ("images", "signed", "retired", "untrusted", "unsigned", "error"):
                assert bar[key] == str(repository[key]), (repository["repository"], key)
            assert bar["noSbom"] == str(repository["noSbom"])
        width = browser.evaluate(
            "document.getElementById('coverage').getBoundingClientRect().width"
        )
        assert width > 600
        rows = browser.evaluate(
            "Array.from(document.querySelectorAll('#images tbody tr')).map(r => r.dataset.status)"
        )
        assert sorted(rows) == sorted(image["status"] for image in doc["images"])
        # Sorting: the Status column, ascending then descending (by class rank).
        browser.evaluate("document.querySelectorAll('#images th')[3].click()")
        ascending = browser.evaluate(
            "Array.from(document.querySelectorAll('#images tbody tr')).map(r => r.dataset.status)"
        )
        assert ascending == ["signed", "signed", "retired", "unsigned", "unsigned", "unsigned"]
        browser.evaluate("document.querySelectorAll('#images th')[3].click()")
        descending = browser.evaluate(
            "Array.from(document.querySelectorAll('#images tbody tr')).map(r => r.dataset.status)"
        )
        assert descending == list(reversed(ascending))
        # Hostile values are on the page as text.
        text = browser.evaluate("document.body.textContent")
        assert HOSTILE_NOTE in text
        assert HOSTILE_SCRIPT in text
        assert HOSTILE_TYPE in text
        assert browser.evaluate("document.title") != "pwned"

"""The verify workflow over the in-memory registry: what it reads, in which order, and when.

Both storage layouts: cosign 2 tags first, cosign 3 bundle referrers only when the tags fall
short; a threshold met across layouts; each attachment read once per image.
"""

from __future__ import annotations

import json

import pytest

from sealgate.checks.authorities import KeyAuthority
from sealgate.checks.conditions import compile_conditions
from sealgate.checks.tlog import TlogPolicy
from sealgate.errors import ImageNotFound, NoMatchingSignatures, NoSignaturesFound
from sealgate.keys import Signer, generate_key_pair, load_signer_pem
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import AttestationRule, NoMatchingAttestations, Policy
from sealgate.workflows.attest import AttestOptions, attest_image
from sealgate.workflows.sign import SignOptions, sign_image
from sealgate.workflows.verify import verify_attestations, verify_image, verify_signatures
from tests.support.fake_registry import FakeRegistry
from tests.support.images import build_image, push_image
from tests.support.policies import NOW

IGNORE = TlogPolicy(insecure_ignore_tlog=True)
SBOM = json.dumps({"bomFormat": "CycloneDX", "components": [{"name": "zlib"}]}).encode()


def new_signer() -> Signer:
    private, _ = generate_key_pair(b"pw")
    return load_signer_pem(private, b"pw")


def key_policy(
    *signers: Signer, threshold: int = 1, rules: tuple[AttestationRule, ...] = ()
) -> Policy:
    return Policy(
        name="test",
        authorities=tuple(
            KeyAuthority.of(s.verifier(), name=f"k{i}") for i, s in enumerate(signers)
        ),
        threshold=threshold,
        tlog=IGNORE,
        attestations=rules,
    )


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def client(fake: FakeRegistry) -> RegistryClient:
    return RegistryClient(backend=fake)


@pytest.fixture
def image(client: RegistryClient) -> Reference:
    ref = Reference.parse("reg.example/team/app:v1")
    return ref.with_digest(push_image(client, ref, build_image()))


def requests_for(fake: FakeRegistry, op: str, needle: str) -> int:
    return sum(1 for o, _, what in fake.requests if o == op and needle in what)


def test_legacy_signature_needs_no_referrer_lookup(
    fake: FakeRegistry, client: RegistryClient, image: Reference
) -> None:
    signer = new_signer()
    sign_image(client, signer, image, SignOptions(annotations={}))
    fake.requests.clear()
    result = verify_signatures(client, image, key_policy(signer), reference_time=NOW)
    assert len(result.verdict.verified) == 1
    assert requests_for(fake, "GET referrers", "") == 0
    assert not any(
        ".sig" not in what and what.startswith("sha256-") for _, _, what in fake.requests
    )


def test_bundle_referrers_are_read_when_the_tag_falls_short(
    fake: FakeRegistry, client: RegistryClient, image: Reference
) -> None:
    signer = new_signer()
    sign_image(client, signer, image, SignOptions(annotations={}, bundle_format=True))
    result = verify_signatures(client, image, key_policy(signer), reference_time=NOW)
    [verified] = result.verdict.verified
    assert verified.thing is not None and verified.thing.bundle_version == "0.3"
    with pytest.raises(NoMatchingSignatures):
        verify_signatures(client, image, key_policy(new_signer()), reference_time=NOW)


def test_threshold_met_across_layouts(client: RegistryClient, image: Reference) -> None:
    a, b = new_signer(), new_signer()
    sign_image(client, a, image, SignOptions(annotations={}))
    sign_image(client, b, image, SignOptions(annotations={}, bundle_format=True))
    verdict = verify_signatures(
        client, image, key_policy(a, b, threshold=2), reference_time=NOW
    ).verdict
    assert len(verdict.authorities) == 2


def test_unsigned_and_missing_images(client: RegistryClient, image: Reference) -> None:
    with pytest.raises(NoSignaturesFound):
        verify_signatures(client, image, key_policy(new_signer()), reference_time=NOW)
    missing = image.with_digest("sha256:" + "0" * 64)
    with pytest.raises(ImageNotFound):
        verify_signatures(client, missing, key_policy(new_signer()), reference_time=NOW)


def test_attestation_tag_read_once_for_every_rule(
    fake: FakeRegistry, client: RegistryClient, image: Reference
) -> None:
    signer = new_signer()
    sign_image(client, signer, image, SignOptions(annotations={}))
    attest_image(client, signer, image, SBOM, AttestOptions(predicate_type="cyclonedx"))
    rules = (
        AttestationRule("sbom", "https://cyclonedx.org/bom"),
        AttestationRule(
            "sbom-with-zlib",
            "https://cyclonedx.org/bom",
            conditions=compile_conditions(["contains(predicate.components[].name, 'zlib')"]),
        ),
    )
    fake.requests.clear()
    result = verify_image(client, image, key_policy(signer, rules=rules), reference_time=NOW)
    assert [v.rule.name for v in result.attestations] == ["sbom", "sbom-with-zlib"]
    assert requests_for(fake, "GET manifest", ".att") == 1


def test_conditions_hold_for_every_attestation_of_the_type(
    client: RegistryClient, image: Reference
) -> None:
    signer = new_signer()
    attest_image(client, signer, image, SBOM, AttestOptions(predicate_type="cyclonedx"))
    empty = json.dumps({"bomFormat": "CycloneDX", "components": []}).encode()
    attest_image(client, signer, image, empty, AttestOptions(predicate_type="cyclonedx"))
    rule = AttestationRule(
        "sbom", "https://cyclonedx.org/bom", conditions=compile_conditions(["predicate.components"])
    )
    with pytest.raises(NoMatchingAttestations, match="1 of 2 sbom attestation"):
        verify_attestations(client, image, key_policy(signer), (rule,), reference_time=NOW)

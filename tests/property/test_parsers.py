"""Every parser of registry, user or signer data raises only sealgate's own errors.

Each property feeds a parser hostile input (arbitrary bytes or text, and valid documents with
subtrees replaced, bytes flipped or cut) and asserts that it returns or raises a
:class:`~sealgate.errors.SealgateError`: never a foreign exception, which the CLI would report
as a bug (exit 70) and a gate as ``internal``.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sealgate.checks.authorities import KeyAuthority
from sealgate.checks.conditions import compile_condition
from sealgate.checks.tlog import TlogPolicy, legacy_tlog_entry
from sealgate.formats.cosign_manifest import (
    SignatureLayer,
    build_attachment_manifest,
    parse_attachment_manifest,
)
from sealgate.formats.cosign_types import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    DSSE_LAYER_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.dsse import build_envelope, pae, parse_envelope
from sealgate.formats.intoto import build_statement, parse_statement
from sealgate.formats.simplesigning import build_payload, parse_payload
from sealgate.keys import load_verifier_pem
from sealgate.keys.pem import decode_pem
from sealgate.oci import FetchedManifest, Reference, parse_index
from sealgate.policy import AttestationRule, Policy, evaluate_attestation, evaluate_signatures
from tests.property.strategies import json_values, mutated_bytes, mutated_json
from tests.support.fuzz import only_own_errors
from tests.unit.checks._keys import EcKey, FakeRekor, hashedrekord

HEX = "ab" * 32
DIGEST = "sha256:" + HEX
NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = EcKey()
REKOR = FakeRekor()


def _payload() -> bytes:
    return build_payload("reg/repo", DIGEST, {"env": "prod"})


def _statement() -> bytes:
    return build_statement("reg/repo", HEX, "https://cyclonedx.org/bom", {"components": []})


def _envelope() -> bytes:
    body = _statement()
    return build_envelope(INTOTO_PAYLOAD_TYPE, body, KEY.sign(pae(INTOTO_PAYLOAD_TYPE, body)))


def _bundle(payload: bytes, signature_b64: str) -> str:
    return REKOR.bundle(hashedrekord(payload, signature_b64, KEY.public_pem()))


# Computed once: ECDSA signatures are randomised, and hypothesis needs the same inputs to
# replay a failing example.
PAYLOAD = _payload()
ENVELOPE = _envelope()
SIGNED_PAYLOAD_B64 = KEY.sign_b64(PAYLOAD)
BUNDLE = _bundle(PAYLOAD, SIGNED_PAYLOAD_B64)
CERTIFICATE = KEY.certificate_pem()

VALID_MANIFEST = json.loads(
    build_attachment_manifest([SignatureLayer(SIMPLESIGNING_MEDIA_TYPE, _payload(), {"a": "b"})])[0]
)
VALID_INDEX: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": DIGEST,
            "size": 10,
            "platform": {"os": "linux", "architecture": "amd64"},
            "annotations": {"k": "v"},
            "artifactType": "application/x",
        }
    ],
}


@given(st.binary(max_size=300) | mutated_json(VALID_MANIFEST))
def test_attachment_manifest(data: bytes) -> None:
    only_own_errors(lambda: parse_attachment_manifest(data, max_layers=10))


@given(st.binary(max_size=300) | mutated_json(VALID_INDEX))
def test_index(data: bytes) -> None:
    only_own_errors(lambda: parse_index(FetchedManifest(data, VALID_INDEX["mediaType"], DIGEST)))


@given(st.binary(max_size=300) | mutated_json(json.loads(_payload())))
def test_simplesigning_payload(data: bytes) -> None:
    only_own_errors(lambda: parse_payload(data))


@given(st.binary(max_size=300) | mutated_json(json.loads(ENVELOPE)))
def test_dsse_envelope(data: bytes) -> None:
    only_own_errors(lambda: parse_envelope(data))


@given(st.binary(max_size=300) | mutated_json(json.loads(_statement())))
def test_intoto_statement(data: bytes) -> None:
    only_own_errors(lambda: parse_statement(data))


@given(st.text(max_size=200) | mutated_json(json.loads(BUNDLE)).map(bytes.decode))
def test_rekor_bundle_and_its_body(annotation: str) -> None:
    def parse() -> None:
        legacy_tlog_entry(annotation)

    only_own_errors(parse)


@given(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
    | st.from_regex(
        r"[a-zA-Z0-9.:_/@-]{0,60}(:[\w.-]{0,10})?(@sha256:[0-9a-f]{0,64})?", fullmatch=True
    )
)
def test_image_reference(text: str) -> None:
    only_own_errors(lambda: Reference.parse(text))


@given(mutated_bytes(KEY.public_pem()) | mutated_bytes(CERTIFICATE) | st.binary(max_size=200))
def test_public_key_and_certificate_pem(data: bytes) -> None:
    only_own_errors(lambda: decode_pem(data))
    only_own_errors(lambda: load_verifier_pem(data))


@given(st.text(max_size=80), json_values)
def test_conditions(expression: str, document: Any) -> None:
    def run() -> None:
        compile_condition(expression).holds(document)

    only_own_errors(run)


def _signature_layer(draw: st.DrawFn) -> SignatureLayer:
    payload = draw(mutated_json(json.loads(PAYLOAD)) | st.just(PAYLOAD))
    annotations: dict[str, str] = {
        SIGNATURE_ANNOTATION: draw(
            st.just(SIGNED_PAYLOAD_B64) | st.text(max_size=40) | st.just("é" * 8)
        )
    }
    if draw(st.booleans()):
        annotations[BUNDLE_ANNOTATION] = draw(
            st.just(BUNDLE) | mutated_json(json.loads(BUNDLE)).map(bytes.decode)
        )
    if draw(st.booleans()):
        annotations[CERTIFICATE_ANNOTATION] = draw(
            mutated_bytes(CERTIFICATE).map(lambda b: b.decode("latin-1"))
        )
    media_type = draw(st.sampled_from([SIMPLESIGNING_MEDIA_TYPE, "text/plain"]))
    return SignatureLayer(media_type, payload, annotations)


@st.composite
def signature_layers(draw: st.DrawFn) -> list[SignatureLayer]:
    return [_signature_layer(draw) for _ in range(draw(st.integers(0, 3)))]


@given(signature_layers(), st.booleans())
def test_whole_signature_pipeline(layers: list[SignatureLayer], with_tlog: bool) -> None:
    tlog = TlogPolicy(insecure_ignore_tlog=not with_tlog, rekor_keys=(REKOR.trusted,))
    policy = Policy("p", (KeyAuthority.of(KEY.verifier()),), tlog=tlog)
    only_own_errors(
        lambda: evaluate_signatures(layers, policy, image_digest=DIGEST, reference_time=NOW)
    )


@given(st.lists(mutated_bytes(ENVELOPE) | mutated_json(json.loads(ENVELOPE)), max_size=3))
def test_whole_attestation_pipeline(envelopes: list[bytes]) -> None:
    rule = AttestationRule("cyclonedx", "https://cyclonedx.org/bom")
    policy = Policy(
        "p",
        (KeyAuthority.of(KEY.verifier()),),
        tlog=TlogPolicy(insecure_ignore_tlog=True),
        attestations=(rule,),
    )
    layers = [
        SignatureLayer(DSSE_LAYER_MEDIA_TYPE, e, {SIGNATURE_ANNOTATION: ""}) for e in envelopes
    ]
    only_own_errors(
        lambda: evaluate_attestation(layers, policy, rule, image_digest=DIGEST, reference_time=NOW)
    )


def test_a_valid_signature_still_verifies_under_the_same_helpers() -> None:
    # Guards the properties above: the valid documents they mutate really are valid.
    layer = SignatureLayer(
        SIMPLESIGNING_MEDIA_TYPE,
        PAYLOAD,
        {SIGNATURE_ANNOTATION: SIGNED_PAYLOAD_B64, BUNDLE_ANNOTATION: BUNDLE},
    )
    policy = Policy(
        "p", (KeyAuthority.of(KEY.verifier()),), tlog=TlogPolicy(rekor_keys=(REKOR.trusted,))
    )
    verdict = evaluate_signatures([layer], policy, image_digest=DIGEST, reference_time=NOW)
    assert verdict.verified
    assert base64.b64decode(layer.annotations[SIGNATURE_ANNOTATION])

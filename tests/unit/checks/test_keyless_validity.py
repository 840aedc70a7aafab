"""A keyless pass that leaned on "now" (log waived, no timestamp) is bounded by the certificate."""

from __future__ import annotations

import base64
from datetime import timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealgate.checks.authorities import CheckContext
from sealgate.checks.claims import image_signature_claims
from sealgate.checks.keyless_identity import IdentitySpec, KeylessAuthority
from sealgate.checks.pipeline import check_layers
from sealgate.checks.signed import simplesigning_layer
from sealgate.checks.tlog import TlogPolicy
from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.formats.cosign_types import (
    CERTIFICATE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from sealgate.formats.simplesigning import build_payload
from sealgate.policy.explain import validity_not_after
from tests.support.pki import T0, make_ca, make_leaf

DIGEST = "sha256:" + "cd" * 32


def test_keyless_pass_without_signing_time_is_valid_only_until_the_certificate_ends() -> None:
    ca = make_ca("private root")
    leaf = make_leaf(ca, minutes=60)
    payload = build_payload("reg/repo", DIGEST)
    signature = leaf.key.sign(payload, ec.ECDSA(hashes.SHA256()))
    pem = leaf.cert.public_bytes(serialization.Encoding.PEM).decode()
    layer = SignatureLayer(
        media_type=SIMPLESIGNING_MEDIA_TYPE,
        payload=payload,
        annotations={
            SIGNATURE_ANNOTATION: base64.b64encode(signature).decode(),
            CERTIFICATE_ANNOTATION: pem,
        },
    )
    authority = KeylessAuthority(
        "private",
        (IdentitySpec(issuer="https://issuer.example", subject="dev@example.com"),),
        roots_pem=ca.cert.public_bytes(serialization.Encoding.PEM),
        ignore_sct=True,
    )
    now = T0 + timedelta(minutes=5)
    results = check_layers(
        [layer],
        read=simplesigning_layer,
        kind="signature",
        authorities=[authority],
        context=CheckContext(now, TlogPolicy(insecure_ignore_tlog=True)),
        claims=image_signature_claims(DIGEST),
    )
    assert results[0].ok, results[0].error
    # Checked at "now", not at a proven signing time: a cached pass must end with the leaf.
    assert results[0].accepted[0].signing_time is None
    assert validity_not_after(results) == leaf.cert.not_valid_after_utc


def test_legacy_attestation_timestamp_over_the_envelope_is_a_signing_time() -> None:
    # cosign (VerifyRFC3161Timestamp) timestamps an attestation's signed payload, the whole
    # .att layer, not a signature; so does sealgate attest. With the log waived, that token is
    # the only proof the short-lived certificate was valid when the envelope was signed.
    import json
    from datetime import UTC, datetime

    from sealgate.checks.claims import statement_claims
    from sealgate.checks.signed import dsse_layer
    from sealgate.formats.cosign_types import DSSE_LAYER_MEDIA_TYPE, RFC3161_ANNOTATION
    from sealgate.formats.dsse import build_envelope, pae
    from sealgate.formats.intoto import build_statement
    from sealgate.formats.rfc3161 import build_timestamp_request
    from sealgate.trust import TimestampAuthority, TrustedRoot
    from tests.support.sigstore_services.tsa import TimestampAuthority as TestTsa

    tsa = TestTsa()
    now = datetime.now(UTC)
    ca = make_ca("private root", not_before=now - timedelta(days=1))
    leaf = make_leaf(ca, not_before=now - timedelta(minutes=5), minutes=10)
    statement = build_statement("reg/repo", "cd" * 32, "https://example.com/p", {"a": 1})
    signed = pae("application/vnd.in-toto+json", statement)
    envelope = build_envelope(
        "application/vnd.in-toto+json", statement, leaf.key.sign(signed, ec.ECDSA(hashes.SHA256()))
    )
    stamp = tsa.response(build_timestamp_request(envelope).der)
    layer = SignatureLayer(
        DSSE_LAYER_MEDIA_TYPE,
        envelope,
        {
            SIGNATURE_ANNOTATION: "",
            CERTIFICATE_ANNOTATION: leaf.cert.public_bytes(serialization.Encoding.PEM).decode(),
            RFC3161_ANNOTATION: json.dumps(
                {"SignedRFC3161Timestamp": base64.b64encode(stamp).decode()}
            ),
        },
    )
    authority = KeylessAuthority(
        "private",
        (IdentitySpec(issuer="https://issuer.example", subject="dev@example.com"),),
        trusted_root=TrustedRoot(
            timestamp_authorities=(TimestampAuthority(tsa.root.cert, leaf=tsa.leaf.cert),)
        ),
        roots_pem=ca.cert.public_bytes(serialization.Encoding.PEM),
        ignore_sct=True,
    )
    results = check_layers(
        [layer],
        read=dsse_layer,
        kind="attestation",
        authorities=[authority],
        context=CheckContext(now + timedelta(days=1), TlogPolicy(insecure_ignore_tlog=True)),
        claims=statement_claims(DIGEST),
    )
    assert results[0].ok, results[0].error
    assert results[0].accepted[0].signing_time is not None

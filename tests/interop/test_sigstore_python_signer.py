"""The loopback services speak the real protocols: sigstore-python's own signer uses them.

sigstore-python (an independent client) gets a certificate from the test Fulcio (CSR form),
logs in the test Rekor and timestamps with the test TSA; its verifier and sealgate's pure
building blocks both accept the bundle. A service that merely agreed with sealgate's client
would fail here.
"""

from __future__ import annotations

from sigstore.models import ClientTrustConfig
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

from sealgate.sigstore_checks import IdentityPolicy
from sealgate.trust import parse_trusted_root
from tests.interop.keyless_driver import verify_bundle
from tests.support.sigstore_services import TEST_EMAIL, SigstoreServices


def test_sigstore_python_signs_with_the_loopback_services(
    sigstore_services: SigstoreServices,
) -> None:
    config = ClientTrustConfig.from_json(sigstore_services.client_trust_config_json().decode())
    context = SigningContext.from_trust_config(config)
    with context.signer(IdentityToken(sigstore_services.mint_token())) as signer:
        bundle = signer.sign_artifact(b"artifact")
    issuer = sigstore_services.oidc.email.issuer
    Verifier(trusted_root=config.trusted_root).verify_artifact(
        b"artifact", bundle, Identity(identity=TEST_EMAIL, issuer=issuer)
    )
    ours = parse_trusted_root(sigstore_services.trusted_root_json())
    outcome = verify_bundle(
        bundle.to_json().encode(),
        b"artifact",
        ours,
        policy=IdentityPolicy(identity=TEST_EMAIL, issuer=issuer),
    )
    assert len(outcome.times) == 2  # Rekor's SET and the TSA's timestamp

"""PKCS#11 URIs (RFC 7512) as cosign reads them: attributes, precedence, PIN sources, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealgate.errors import KeyMaterialError, UsageError
from sealgate.keys.pkcs11_uri import is_pkcs11_uri, parse_pkcs11_uri, redact_key_ref

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def test_cosign_form_with_everything_in_the_uri() -> None:
    uri = parse_pkcs11_uri(
        f"pkcs11:token=my%20token;slot-id=7;object=release;id=%01%ff?module-path={MODULE}"
        "&pin-value=12%2634",
        {},
    )
    assert uri.token == "my token"
    assert uri.slot_id == 7
    assert uri.object_label == "release"
    assert uri.object_id == b"\x01\xff"
    assert uri.module_path == MODULE
    assert uri.pin == "12&34"
    assert "12&34" not in repr(uri)
    assert uri.redacted() == "pkcs11:token=my token;slot-id=7;object=release;id=%01%ff"
    assert uri.describe_key() == "id=%01%ff"  # id wins over the label, as in cosign


def test_module_and_pin_from_cosign_variables() -> None:
    env = {"COSIGN_PKCS11_MODULE_PATH": MODULE, "COSIGN_PKCS11_PIN": "4321"}
    uri = parse_pkcs11_uri("PKCS11:token=t;object=k", env)
    assert (uri.module_path, uri.pin) == (MODULE, "4321")
    assert parse_pkcs11_uri(f"pkcs11:token=t;object=k?module-path={MODULE}", {}).pin is None


def test_pin_source_file(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("9876\n")
    for source in (f"file:{pin}", str(pin), f"file://{pin}"):
        uri = parse_pkcs11_uri(
            f"pkcs11:token=t;object=k?module-path={MODULE}&pin-source={source}", {}
        )
        assert uri.pin == "9876"
    with pytest.raises(KeyMaterialError, match="PIN file"):
        parse_pkcs11_uri(
            f"pkcs11:token=t;object=k?module-path={MODULE}&pin-source={tmp_path}/missing", {}
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"pkcs11:object=k?module-path={MODULE}", "token and slot-id"),
        (f"pkcs11:token=t?module-path={MODULE}", "object and id"),
        ("pkcs11:token=t;object=k", "COSIGN_PKCS11_MODULE_PATH"),
        ("pkcs11:token=t;object=k?module-path=lib.so", "absolute"),
        (f"pkcs11:token=t;slot-id=x;object=k?module-path={MODULE}", "not a number"),
        (f"pkcs11:token=t;token=u;object=k?module-path={MODULE}", "appears twice"),
        (f"pkcs11:token=t;object=%zz?module-path={MODULE}", "percent-encoding"),
        (f"pkcs11:token=t;object=k?module-path={MODULE}&pin-source=|/bin/pinentry", "not run"),
        (f"pkcs11:token=t;object=k?module-path={MODULE}&pin-value=1&pin-source=/p", "exclude"),
        (f"pkcs11:token=t;object;x?module-path={MODULE}", "not name=value"),
        ("pkcs11:token=" + "a" * 9000, "longer than"),
        ("file:/x", "not a PKCS#11 URI"),
    ],
)
def test_malformed_uris_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_pkcs11_uri(text, {})


def test_redaction_drops_only_the_pin() -> None:
    ref = f"pkcs11:token=t;object=k?module-path={MODULE}&pin-value=secret"
    assert redact_key_ref(ref) == f"pkcs11:token=t;object=k?module-path={MODULE}"
    assert redact_key_ref("pkcs11:token=t;object=k?pin-value=s") == "pkcs11:token=t;object=k"
    assert redact_key_ref("cosign.pub") == "cosign.pub"
    assert is_pkcs11_uri("Pkcs11:token=t") and not is_pkcs11_uri("env://X")

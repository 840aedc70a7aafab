"""Keys that live in a PKCS#11 token (an HSM, a smart card, SoftHSM), through python-pkcs11.

The private key never leaves the token: signing sends the SHA-256 digest of the message to the
token (``CKM_ECDSA``, or ``CKM_RSA_PKCS`` over a DigestInfo), as cosign's ``pkcs11key`` does
through crypto11, and the answer is turned into the DER signature cosign writes. Every
signature is checked against the token's public key before it is returned, so a token whose
public and private objects do not match fails here, not at the verifier.

python-pkcs11 is an optional dependency (``pip install 'sealgate[pkcs11]'``): imported only
when a ``pkcs11:`` reference is used. Library handles are shared per module path and
finalised when the last session closes, so a later use re-reads the module's configuration.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from sealgate.errors import KeyMaterialError, SignatureInvalid, UsageError
from sealgate.keys.crypto import verifier_from_public_key
from sealgate.keys.pkcs11_uri import Pkcs11Uri
from sealgate.keys.protocols import Verifier

__all__ = ["Pkcs11Signer", "generate_token_key_pair", "open_token_signer", "token_verifier"]

# DER DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1): CKM_RSA_PKCS signs it as is.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_P256_OID = "1.2.840.10045.3.1.7"

_libraries_lock = threading.Lock()
_open_sessions: dict[str, int] = {}


def _module() -> Any:
    try:
        import pkcs11
    except ImportError as err:  # the optional dependency is missing
        raise UsageError(
            "pkcs11: key references need python-pkcs11: pip install 'sealgate[pkcs11]'"
        ) from err
    return pkcs11


def _load_library(uri: Pkcs11Uri) -> Any:
    module = _module()
    path = Path(uri.module_path)
    if not path.is_file():
        raise KeyMaterialError(f"PKCS#11 module {uri.module_path} is not a file")
    with _libraries_lock:
        try:
            library = module.lib(uri.module_path)
        except (module.PKCS11Error, RuntimeError, OSError) as err:
            raise KeyMaterialError(
                f"cannot load PKCS#11 module {uri.module_path} ({type(err).__name__})"
            ) from err
        _open_sessions[uri.module_path] = _open_sessions.get(uri.module_path, 0) + 1
    return library


def _release_library(uri: Pkcs11Uri, library: Any) -> None:
    with _libraries_lock:
        left = _open_sessions.get(uri.module_path, 1) - 1
        _open_sessions[uri.module_path] = left
        if left <= 0 and library.initialized:
            # C_Finalize: the next use initialises again (and re-reads e.g. SOFTHSM2_CONF).
            library.finalize()


def _find_token(library: Any, uri: Pkcs11Uri) -> Any:
    module = _module()
    try:
        if uri.slot_id is not None:
            for slot in library.get_slots(token_present=True):
                if slot.slot_id == uri.slot_id:
                    token: Any = slot.get_token()
                    return token
            raise KeyMaterialError(f"PKCS#11: no token in slot-id={uri.slot_id}")
        found: Any = library.get_token(token_label=uri.token)
        return found
    except module.NoSuchToken as err:
        raise KeyMaterialError(f"PKCS#11: no token labelled {uri.token!r}") from err
    except module.MultipleTokensReturned as err:
        raise KeyMaterialError(
            f"PKCS#11: several tokens labelled {uri.token!r}; use slot-id"
        ) from err
    except module.PKCS11Error as err:
        raise KeyMaterialError(f"PKCS#11: cannot list tokens ({type(err).__name__})") from err


def _pin_for(uri: Pkcs11Uri, token: Any, *, required: bool) -> str | None:
    """The PIN to log in with; prompts on a terminal when the token wants one and none given."""
    if uri.pin is not None:
        return uri.pin
    module = _module()
    if not (required or token.flags & module.TokenFlag.LOGIN_REQUIRED):
        return None
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"Enter PIN for key {uri.describe_key()} in PKCS#11 token: ")
    raise KeyMaterialError(
        f"PKCS#11 token {uri.describe_token()} needs a PIN: set pin-value or pin-source in the "
        "URI, or COSIGN_PKCS11_PIN"
    )


@contextmanager
def _session(uri: Pkcs11Uri, *, login: bool, rw: bool = False) -> Iterator[Any]:
    module = _module()
    library = _load_library(uri)
    try:
        token = _find_token(library, uri)
        pin = _pin_for(uri, token, required=rw) if login else None
        try:
            session: Any = token.open(rw=rw, user_pin=pin)
        except (module.PinIncorrect, module.PinLenRange) as err:
            raise KeyMaterialError(f"PKCS#11 token {uri.describe_token()}: wrong PIN") from err
        except module.PinLocked as err:
            raise KeyMaterialError(f"PKCS#11 token {uri.describe_token()}: PIN locked") from err
        except module.PKCS11Error as err:
            raise KeyMaterialError(
                f"PKCS#11 token {uri.describe_token()}: cannot open a session "
                f"({type(err).__name__})"
            ) from err
        with session:
            yield session
    finally:
        _release_library(uri, library)


def _get(session: Any, uri: Pkcs11Uri, object_class: Any) -> Any:
    """The one object of ``object_class`` the URI names (id wins over label, as in cosign)."""
    module = _module()
    search: dict[str, Any] = {"object_class": object_class}
    if uri.object_id is not None:
        search["id"] = uri.object_id
    else:
        search["label"] = uri.object_label
    try:
        return session.get_key(**search)
    except module.NoSuchKey:
        return None
    except module.MultipleObjectsReturned as err:
        raise KeyMaterialError(
            f"PKCS#11 token {uri.describe_token()}: several keys match {uri.describe_key()}; "
            "name one with id="
        ) from err


def _public_key(session: Any, uri: Pkcs11Uri) -> Verifier:
    """The key pair's public half: its public-key object, else a certificate with its id/label."""
    module = _module()
    public = _get(session, uri, module.ObjectClass.PUBLIC_KEY)
    try:
        if public is not None:
            if public.key_type == module.KeyType.EC:
                der = module.util.ec.encode_ec_public_key(public)
                return verifier_from_public_key(serialization.load_der_public_key(der))
            if public.key_type == module.KeyType.RSA:
                modulus = int.from_bytes(public[module.Attribute.MODULUS], "big")
                exponent = int.from_bytes(public[module.Attribute.PUBLIC_EXPONENT], "big")
                numbers = rsa.RSAPublicNumbers(exponent, modulus)
                return verifier_from_public_key(numbers.public_key())
            raise KeyMaterialError(
                f"PKCS#11 key {uri.describe_key()}: {public.key_type.name} keys are not supported "
                "(ECDSA and RSA are)"
            )
    except (ValueError, UnsupportedAlgorithm, module.PKCS11Error) as err:
        raise KeyMaterialError(f"PKCS#11 key {uri.describe_key()}: unusable public key") from err
    attrs: dict[Any, Any] = {module.Attribute.CLASS: module.ObjectClass.CERTIFICATE}
    if uri.object_id is not None:
        attrs[module.Attribute.ID] = uri.object_id
    else:
        attrs[module.Attribute.LABEL] = uri.object_label
    for certificate in session.get_objects(attrs):
        from cryptography import x509

        cert = x509.load_der_x509_certificate(certificate[module.Attribute.VALUE])
        return verifier_from_public_key(cert.public_key())
    raise KeyMaterialError(
        f"PKCS#11 token {uri.describe_token()} has no public key or certificate "
        f"{uri.describe_key()}"
    )


class Pkcs11Signer:
    """A :class:`~sealgate.keys.protocols.Signer` whose private key stays in the token.

    Holds one logged-in session until :meth:`close`; safe to share between threads (signing
    is serialised, as a PKCS#11 session allows one operation at a time).
    """

    def __init__(self, uri: Pkcs11Uri, session_cm: Any, session: Any, key: Any) -> None:
        self._uri = uri
        self._session_cm = session_cm
        self._session = session
        self._key = key
        self._lock = threading.Lock()
        self._verifier = _public_key(session, uri)
        self._is_ec = key.key_type == _module().KeyType.EC

    @property
    def description(self) -> str:
        """The URI without PIN or module, for messages."""
        return self._uri.redacted()

    def verifier(self) -> Verifier:
        return self._verifier

    def sign(self, data: bytes) -> bytes:
        """Sign SHA-256(``data``) in the token; return the DER (ECDSA) or PKCS#1 v1.5 signature.

        Raises:
            KeyMaterialError: The token refused, or its answer does not verify with its own
                public key.
        """
        module = _module()
        digest = hashlib.sha256(data).digest()
        with self._lock:
            if self._key is None:
                raise KeyMaterialError(f"PKCS#11 key {self._uri.redacted()} was closed")
            try:
                if self._is_ec:
                    raw = self._key.sign(digest, mechanism=module.Mechanism.ECDSA)
                    half = len(raw) // 2
                    signature = encode_dss_signature(
                        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
                    )
                else:
                    signature = self._key.sign(
                        _SHA256_DIGEST_INFO + digest, mechanism=module.Mechanism.RSA_PKCS
                    )
            except module.PKCS11Error as err:
                raise KeyMaterialError(
                    f"PKCS#11 key {self._uri.redacted()}: the token refused to sign "
                    f"({type(err).__name__})"
                ) from err
        try:
            self._verifier.verify(signature, data)
        except SignatureInvalid as err:
            raise KeyMaterialError(
                f"PKCS#11 key {self._uri.redacted()}: its signature does not verify with the "
                "token's public key for it (mismatched key objects?)"
            ) from err
        return bytes(signature)

    def close(self) -> None:
        """Log out and close the session (idempotent)."""
        with self._lock:
            if self._key is None:
                return
            self._key = None
            self._session_cm.__exit__(None, None, None)

    def __enter__(self) -> Pkcs11Signer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_token_signer(uri: Pkcs11Uri) -> Pkcs11Signer:
    """Log in to the token and find the private key the URI names.

    Raises:
        UsageError: python-pkcs11 is not installed.
        KeyMaterialError: Module, token or key not found, wrong or missing PIN, or an
            unsupported key.
    """
    module = _module()
    session_cm = _session(uri, login=True)
    session = session_cm.__enter__()
    try:
        key = _get(session, uri, module.ObjectClass.PRIVATE_KEY)
        if key is None:
            raise KeyMaterialError(
                f"PKCS#11 token {uri.describe_token()} has no private key {uri.describe_key()}"
                + ("" if uri.pin else " (or it needs a PIN to be seen)")
            )
        if key.key_type not in (module.KeyType.EC, module.KeyType.RSA):
            raise KeyMaterialError(
                f"PKCS#11 key {uri.describe_key()}: {key.key_type.name} keys are not supported"
            )
        return Pkcs11Signer(uri, session_cm, session, key)
    except BaseException:
        session_cm.__exit__(None, None, None)
        raise


def token_verifier(uri: Pkcs11Uri) -> Verifier:
    """The public key of the key pair the URI names (no login unless the token requires one).

    Raises:
        UsageError: python-pkcs11 is not installed.
        KeyMaterialError: Module, token or key not found.
    """
    with _session(uri, login=uri.pin is not None) as session:
        return _public_key(session, uri)


def generate_token_key_pair(uri: Pkcs11Uri) -> bytes:
    """Create an ECDSA P-256 key pair in the token; return its public key PEM.

    The private key is created sensitive and not extractable: the token never hands it out.
    An existing key with the URI's id or label is never replaced.

    Args:
        uri: Token and the label/id for the new pair.

    Raises:
        UsageError: python-pkcs11 is not installed.
        KeyMaterialError: Token not found, wrong PIN, a key of that name exists, or the
            token cannot generate P-256 keys.
    """
    module = _module()
    with _session(uri, login=True, rw=True) as session:
        for object_class in (module.ObjectClass.PRIVATE_KEY, module.ObjectClass.PUBLIC_KEY):
            if _get(session, uri, object_class) is not None:
                raise KeyMaterialError(
                    f"PKCS#11 token {uri.describe_token()} already holds a key "
                    f"{uri.describe_key()}; not replacing it"
                )
        key_id = uri.object_id if uri.object_id is not None else os.urandom(16)
        try:
            parameters = session.create_domain_parameters(
                module.KeyType.EC,
                {
                    module.Attribute.EC_PARAMS: module.util.ec.encode_named_curve_parameters(
                        _P256_OID
                    )
                },
                local=True,
            )
            public, _ = parameters.generate_keypair(
                id=key_id,
                label=uri.object_label,
                store=True,
                public_template={module.Attribute.VERIFY: True},
                private_template={
                    module.Attribute.SIGN: True,
                    module.Attribute.SENSITIVE: True,
                    module.Attribute.EXTRACTABLE: False,
                },
            )
            der = module.util.ec.encode_ec_public_key(public)
        except module.PKCS11Error as err:
            raise KeyMaterialError(
                f"PKCS#11 token {uri.describe_token()}: cannot generate a P-256 key pair "
                f"({type(err).__name__})"
            ) from err
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey):  # pragma: no cover - token bug
        raise KeyMaterialError("PKCS#11 token returned a public key that is not ECDSA")
    return verifier_from_public_key(key).public_pem()

"""PKCS#11 URIs (RFC 7512) as cosign reads them for ``--key pkcs11:...``.

``pkcs11:token=signing;object=release-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234``

Path attributes (``;``-separated) pick the token and the key: ``token`` (label) or ``slot-id``,
and ``object`` (label) or ``id`` (percent-encoded bytes); ``id`` wins over ``object`` and
``slot-id`` over ``token``, as in cosign (``pkg/cosign/pkcs11key``). Query attributes
(``&``-separated) say how to reach it: ``module-path`` (else ``COSIGN_PKCS11_MODULE_PATH``),
``pin-value`` or ``pin-source`` (RFC 7512 section 2.3: a file, as ``file:/path`` or a path;
never a command), else ``COSIGN_PKCS11_PIN``. Every value is percent-decoded. An attribute may
appear once (RFC 7512 section 2.3); unknown standard attributes are ignored, as cosign does.

Pure: nothing here touches a token. The PIN never appears in :meth:`Pkcs11Uri.redacted`, which
is what messages show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import unquote_to_bytes

from sealgate.errors import KeyMaterialError, UsageError
from sealgate.files import read_capped

__all__ = [
    "MODULE_PATH_ENV",
    "PIN_ENV",
    "SCHEME",
    "Pkcs11Uri",
    "is_pkcs11_uri",
    "parse_pkcs11_uri",
    "redact_key_ref",
]

SCHEME: Final = "pkcs11:"
#: cosign's variables (``pkg/cosign/env``) for what the URI leaves out.
MODULE_PATH_ENV: Final = "COSIGN_PKCS11_MODULE_PATH"
PIN_ENV: Final = "COSIGN_PKCS11_PIN"
_MAX_URI = 8 * 1024
_MAX_PIN_FILE = 4 * 1024
# RFC 7512 pk11-v-attr-nm-char / pk11-pchar: printable ASCII without the separators.
_ATTR_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_SECRET_ATTRS = ("pin-value",)


def is_pkcs11_uri(ref: str) -> bool:
    """True when ``ref`` is a PKCS#11 URI (scheme names are case-insensitive, RFC 3986)."""
    return ref[: len(SCHEME)].lower() == SCHEME


def _decode(value: str, what: str) -> bytes:
    if re.search(r"%(?![0-9A-Fa-f]{2})", value):
        raise UsageError(f"PKCS#11 URI: {what} has a malformed percent-encoding")
    return unquote_to_bytes(value)


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(f"PKCS#11 URI: {what} is not UTF-8") from err


def _attributes(part: str, separator: str, where: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for item in part.split(separator):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not _ATTR_NAME.match(name):
            raise UsageError(f"PKCS#11 URI: {where} attribute {item[:40]!r} is not name=value")
        if name in found:
            raise UsageError(f"PKCS#11 URI: {where} attribute {name!r} appears twice")
        found[name] = _decode(value, name)
    return found


@dataclass(frozen=True)
class Pkcs11Uri:
    """A parsed PKCS#11 key reference.

    Attributes:
        module_path: Absolute path of the PKCS#11 module (``.so``).
        token: Token label, or None.
        slot_id: Slot number, or None (wins over ``token``).
        object_label: Key label (``CKA_LABEL``), or None.
        object_id: Key id (``CKA_ID``) bytes, or None (wins over ``object_label``).
        pin: The user PIN, or None when the token is to be used without logging in.
    """

    module_path: str
    token: str | None = None
    slot_id: int | None = None
    object_label: str | None = None
    object_id: bytes | None = None
    pin: str | None = field(default=None, repr=False)

    def redacted(self) -> str:
        """The URI as messages show it: no PIN, no module path."""
        parts = []
        if self.token is not None:
            parts.append(f"token={self.token}")
        if self.slot_id is not None:
            parts.append(f"slot-id={self.slot_id}")
        if self.object_label is not None:
            parts.append(f"object={self.object_label}")
        if self.object_id is not None:
            parts.append("id=" + "".join(f"%{b:02x}" for b in self.object_id))
        return SCHEME + ";".join(parts)

    def describe_key(self) -> str:
        """How messages name the key object (``object=release`` or ``id=%01``)."""
        if self.object_id is not None:
            return "id=" + "".join(f"%{b:02x}" for b in self.object_id)
        return f"object={self.object_label}"

    def describe_token(self) -> str:
        """How messages name the token."""
        return f"slot-id={self.slot_id}" if self.slot_id is not None else f"token={self.token}"


def _pin(query: dict[str, bytes], env: Mapping[str, str]) -> str | None:
    if "pin-value" in query and "pin-source" in query:
        raise UsageError("PKCS#11 URI: pin-value and pin-source exclude each other")
    if "pin-value" in query:
        return _text(query["pin-value"], "pin-value")
    if "pin-source" in query:
        source = _text(query["pin-source"], "pin-source")
        if source.startswith("|"):
            raise UsageError("PKCS#11 URI: pin-source commands are not run; name a file")
        path = Path(source.removeprefix("file://").removeprefix("file:"))
        raw = read_capped(path, _MAX_PIN_FILE, error=KeyMaterialError, name="PKCS#11 PIN file")
        # A PIN file written by `echo` ends with a newline that is not part of the PIN.
        return _text(raw, "the PIN file").rstrip("\r\n")
    value = env.get(PIN_ENV)
    return value if value else None


def parse_pkcs11_uri(ref: str, env: Mapping[str, str]) -> Pkcs11Uri:
    """Parse a ``pkcs11:`` key reference.

    Args:
        ref: The URI.
        env: Environment for ``COSIGN_PKCS11_MODULE_PATH`` and ``COSIGN_PKCS11_PIN``.

    Returns:
        The parsed reference, PIN included (from the URI, a PIN file or the environment).

    Raises:
        UsageError: Not a PKCS#11 URI, malformed, or missing a token, key or module.
        KeyMaterialError: ``pin-source`` names a file that cannot be read.
    """
    if not is_pkcs11_uri(ref):
        raise UsageError("not a PKCS#11 URI (pkcs11:...)")
    if len(ref) > _MAX_URI:
        raise UsageError(f"PKCS#11 URI is longer than {_MAX_URI} characters")
    body = ref[len(SCHEME) :]
    path_part, _, query_part = body.partition("?")
    if "#" in query_part or "#" in path_part:
        raise UsageError("PKCS#11 URI: a fragment (#) is not allowed")
    path = _attributes(path_part, ";", "path")
    query = _attributes(query_part, "&", "query")
    token = _text(path["token"], "token") if "token" in path else None
    slot_text = _text(path["slot-id"], "slot-id") if "slot-id" in path else None
    if not token and slot_text is None:
        raise UsageError("PKCS#11 URI: one of token and slot-id must be set")
    slot_id = None
    if slot_text is not None:
        if not slot_text.isdigit():
            raise UsageError(f"PKCS#11 URI: slot-id {slot_text[:20]!r} is not a number")
        slot_id = int(slot_text)
    label = _text(path["object"], "object") if "object" in path else None
    object_id = path.get("id") or None
    if not label and object_id is None:
        raise UsageError("PKCS#11 URI: one of object and id must be set")
    module = _text(query["module-path"], "module-path") if "module-path" in query else ""
    module = module or env.get(MODULE_PATH_ENV, "")
    if not module:
        raise UsageError(
            f"PKCS#11 URI: set module-path in the URI or {MODULE_PATH_ENV} to the absolute "
            "path of the PKCS#11 module"
        )
    if not Path(module).is_absolute():
        raise UsageError("PKCS#11 URI: module-path must be an absolute path")
    return Pkcs11Uri(
        module_path=module,
        token=token or None,
        slot_id=slot_id,
        object_label=label or None,
        object_id=object_id,
        pin=_pin(query, env),
    )


def redact_key_ref(ref: str) -> str:
    """A key reference safe for messages and reports: a PKCS#11 URI loses its PIN.

    Anything else (a path, ``env://VAR``) is returned as is: it names where a key is, not the
    key. A URI that does not parse is cut at its query, where a PIN would be.
    """
    if not is_pkcs11_uri(ref):
        return ref
    path_part, sep, query = ref.partition("?")
    if not sep:
        return ref
    kept = [
        item for item in query.split("&") if item and item.partition("=")[0] not in _SECRET_ATTRS
    ]
    return path_part + ("?" + "&".join(kept) if kept else "")

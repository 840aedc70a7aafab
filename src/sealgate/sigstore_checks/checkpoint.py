"""Signed checkpoints (C2SP ``signed-note`` + ``tlog-checkpoint``) from Rekor v1 and v2.

Two dialects, told apart as sigstore-go does (``hasRekorV1STH``): a Rekor v1 origin ends in
``" - <tree ID>"``.

* Rekor v1 (rekor ``SignedNote.Verify``): every signature line must carry the log's key hint
  (first 4 bytes of SHA-256 of its SubjectPublicKeyInfo) and verify; the signer name and the
  origin are not bound to the trusted root.
* Rekor v2 and other C2SP logs (golang.org/x/mod/sumdb/note ``Open`` + transparency-dev
  ``ParseCheckpoint``, as rekor-tiles uses them): the log signs with name = origin = the host of
  its ``baseUrl``, key hint per rekor-tiles ``note.KeyHash`` (Ed25519: C2SP key ID; ECDSA:
  SPKI hash; RSA: C2SP with the ``PKIX-RSA-PKCS#1v1.5`` type). Signature lines from unknown keys
  (witness cosignatures, other logs) are ignored; a line that claims the log's key and fails is an
  error; at least one must verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sealgate.errors import TlogInvalid
from sealgate.trust import LogKey
from sealgate.trust.logkeys import spki_der

__all__ = ["Checkpoint", "note_key_hash", "verify_checkpoint"]

_V1_ORIGIN = re.compile(r".* - [0-9]+$")
_SIG_PREFIX = "\u2014 "
_MAX_SIGNATURES = 100  # note.Open's bound
_ED25519_TYPE = b"\x01"
_RSA_TYPE = b"\xffPKIX-RSA-PKCS#1v1.5"


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint body.

    Attributes:
        origin: The log's origin line.
        size: The tree size.
        root_hash: The tree root.
        other_content: Extension lines (e.g. Rekor v1's ``Timestamp: ...``).
    """

    origin: str
    size: int
    root_hash: bytes
    other_content: tuple[str, ...]


def note_key_hash(name: str, key: LogKey) -> bytes:
    """The 4-byte key hint a log's note signatures carry (rekor-tiles ``note.KeyHash``).

    Args:
        name: The signer name (the origin for C2SP logs).
        key: The log key.

    Returns:
        4 bytes.
    """
    public = key.public_key
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return hashlib.sha256(name.encode() + b"\n" + _ED25519_TYPE + raw).digest()[:4]
    if isinstance(public, rsa.RSAPublicKey):
        return hashlib.sha256(name.encode() + b"\n" + _RSA_TYPE + spki_der(public)).digest()[:4]
    return hashlib.sha256(spki_der(public)).digest()[:4]


def _split_note(envelope: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    if any(ch < " " and ch != "\n" for ch in envelope):
        raise TlogInvalid("checkpoint note contains control characters")
    try:
        envelope.encode("utf-8")
    except UnicodeEncodeError:
        raise TlogInvalid("checkpoint note is not valid UTF-8") from None
    split = envelope.rfind("\n\n")
    if split < 0:
        raise TlogInvalid("checkpoint note has no signature block")
    text, block = envelope[: split + 1], envelope[split + 2 :]
    if not block or not block.endswith("\n"):
        raise TlogInvalid("checkpoint note has no signature")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise TlogInvalid("checkpoint note has too many signatures")
    signatures = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise TlogInvalid("checkpoint signature line is malformed")
        name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise TlogInvalid("checkpoint signature is not valid base64") from None
        if not name or any(c.isspace() for c in name) or "+" in name or len(raw) < 5:
            raise TlogInvalid("checkpoint signature line is malformed")
        signatures.append((name, raw[:4], raw[4:]))
    return text, signatures


def _parse_body(text: str) -> Checkpoint:
    lines = text.split("\n", 3)
    if len(lines) < 4:
        raise TlogInvalid("checkpoint has too few lines (origin, size, root hash)")
    origin, size_text, hash_text, rest = lines
    if not origin:
        raise TlogInvalid("checkpoint has an empty origin")
    if not size_text.isdigit() or not size_text.isascii() or len(size_text) > 20:
        raise TlogInvalid("checkpoint tree size is not a number")
    try:
        root = base64.b64decode(hash_text, validate=True)
    except (binascii.Error, ValueError):
        raise TlogInvalid("checkpoint root hash is not valid base64") from None
    if not root:
        raise TlogInvalid("checkpoint has no root hash")
    other = tuple(line for line in rest.split("\n") if line)
    return Checkpoint(origin, int(size_text), root, other)


def _log_name(key: LogKey) -> str:
    host = urlsplit(key.base_url).hostname if key.base_url else None
    if not host:
        raise TlogInvalid("cannot verify a Rekor v2 checkpoint: the log has no baseUrl")
    return host


def verify_checkpoint(envelope: str, key: LogKey) -> Checkpoint:
    """Verify a checkpoint's log signature and parse it.

    Args:
        envelope: The signed note text from the inclusion proof.
        key: The trusted key of the log the entry claims to come from.

    Returns:
        The verified checkpoint.

    Raises:
        TlogInvalid: If the note or checkpoint is malformed, no signature by ``key`` is
            present, a signature by ``key`` fails, or (C2SP) the origin is not the log's name.
    """
    text, signatures = _split_note(envelope)
    body = _parse_body(text)
    message = text.encode("utf-8")
    if _V1_ORIGIN.match(body.origin):
        hint = hashlib.sha256(spki_der(key.public_key)).digest()[:4]
        for _name, sig_hint, sig in signatures:
            if sig_hint != hint:
                raise TlogInvalid("checkpoint signature is not from the entry's log (key hint)")
            if not key.verify(sig, message):
                raise TlogInvalid("checkpoint signature does not verify")
        return body
    name = _log_name(key)
    hint = note_key_hash(name, key)
    seen: set[bytes] = set()
    for signer, sig_hint, sig in signatures:
        if signer != name or sig_hint != hint or sig in seen:
            continue  # a witness, another log, or a repeated line
        seen.add(sig)
        if not key.verify(sig, message):
            raise TlogInvalid("checkpoint signature by the log does not verify")
    if not seen:
        raise TlogInvalid(f"checkpoint carries no signature by the log {name}")
    if body.origin != name:
        raise TlogInvalid(f"checkpoint origin {body.origin[:100]} is not the log {name}")
    return body

"""Ed25519ph signature verification (RFC 8032 §5.1), in pure Python.

cosign signs with Ed25519ph (SHA-512 prehash, ``dom2(1, "")``) when given an Ed25519
``--key``; ``cryptography`` only implements pure Ed25519. Verification touches public
data only, so a plain big-integer implementation has no secret-dependent timing to
worry about. It follows Go's ``crypto/ed25519`` semantics: cofactorless equation,
``S < L`` enforced, and the recomputed ``R`` must match the signature's bytes.

This module deliberately offers no signing: a non-constant-time implementation must
never touch a private scalar.
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = ["verify_ed25519", "verify_ed25519ph"]

_P: Final = 2**255 - 19
_L: Final = 2**252 + 27742317777372353535851937790883648493
_D: Final = (-121665 * pow(121666, -1, _P)) % _P
_SQRT_M1: Final = pow(2, (_P - 1) // 4, _P)
_DOM2_PREFIX: Final = b"SigEd25519 no Ed25519 collisions"

# Extended twisted-Edwards coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
_Point = tuple[int, int, int, int]


def _add(a: _Point, b: _Point) -> _Point:
    # RFC 8032 §5.1.4 unified addition; also correct for doubling.
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = t1 * 2 * _D * t2 % _P
    dd = z1 * 2 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(scalar: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _decompress(data: bytes) -> _Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def _compress(point: _Point) -> bytes:
    x, y, z, _ = point
    zinv = pow(z, -1, _P)
    x, y = x * zinv % _P, y * zinv % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _base_point() -> _Point:
    y = 4 * pow(5, -1, _P) % _P
    x = _recover_x(y, 0)
    if x is None:  # pragma: no cover - arithmetic constant, cannot happen
        raise RuntimeError("Ed25519 base point")
    return (x, y, 1, x * y % _P)


_G: Final = _base_point()


def _verify(public_key: bytes, signature: bytes, dom: bytes, message: bytes) -> bool:
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decompress(public_key)
    if a is None:
        return False
    r_bytes = signature[:32]
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False  # malleability guard, as RFC 8032 §5.1.7 and Go require
    k = int.from_bytes(hashlib.sha512(dom + r_bytes + public_key + message).digest(), "little") % _L
    # R' = [S]B - [k]A; negating A is (-x, y).
    neg_a: _Point = ((-a[0]) % _P, a[1], a[2], (-a[3]) % _P)
    r_check = _add(_mul(s, _G), _mul(k, neg_a))
    return _compress(r_check) == r_bytes


def verify_ed25519ph(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Check an Ed25519ph signature (empty context) over ``message``.

    Args:
        public_key: The 32-byte encoded public key.
        signature: The 64-byte signature.
        message: The message; it is SHA-512 prehashed here, as Ed25519ph specifies.

    Returns:
        True if and only if the signature is valid.
    """
    dom2 = _DOM2_PREFIX + bytes([1, 0])  # phflag=1, context length 0
    return _verify(public_key, signature, dom2, hashlib.sha512(message).digest())


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Check a pure Ed25519 signature (used to cross-check this module in tests).

    Args:
        public_key: The 32-byte encoded public key.
        signature: The 64-byte signature.
        message: The message.

    Returns:
        True if and only if the signature is valid.
    """
    return _verify(public_key, signature, b"", message)

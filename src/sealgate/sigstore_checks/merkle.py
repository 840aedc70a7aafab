"""RFC 6962 Merkle tree hashing and inclusion proofs (RFC 9162 §2.1.3.2).

A direct reading of transparency-dev/merkle ``proof.VerifyInclusion``, which Rekor v1 and v2,
cosign and sigstore-go all use: the audit path splits into an "inner" part (where the paths to
the leaf and to the last leaf differ) and a "border" part along the tree's right edge.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from sealgate.errors import TlogInvalid

__all__ = ["hash_children", "hash_leaf", "root_from_inclusion_proof", "verify_inclusion"]

_HASH_SIZE = 32


def hash_leaf(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof.

    Args:
        index: The leaf's index (0-based).
        size: The tree size the proof is for.
        leaf_hash: :func:`hash_leaf` of the entry.
        proof: The audit path, leaf to root.

    Returns:
        The computed root hash.

    Raises:
        TlogInvalid: If the index is outside the tree, the proof has the wrong length, or a
            hash is not 32 bytes.
    """
    if index < 0 or size <= 0 or index >= size:
        raise TlogInvalid(f"inclusion proof index {index} is outside a tree of size {size}")
    if len(leaf_hash) != _HASH_SIZE or any(len(h) != _HASH_SIZE for h in proof):
        raise TlogInvalid("inclusion proof hashes must be 32 bytes")
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    if len(proof) != inner + border:
        raise TlogInvalid(
            f"inclusion proof has {len(proof)} hashes, a tree of size {size} needs "
            f"{inner + border} for index {index}"
        )
    node = leaf_hash
    for level, sibling in enumerate(proof[:inner]):
        node = (
            hash_children(node, sibling)
            if (index >> level) & 1 == 0
            else hash_children(sibling, node)
        )
    for sibling in proof[inner:]:
        node = hash_children(sibling, node)
    return node


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is at ``index`` in the tree of ``size`` with root ``root``.

    Args:
        index: The leaf's index.
        size: The tree size.
        leaf_hash: :func:`hash_leaf` of the entry.
        proof: The audit path.
        root: The expected root (from a verified checkpoint).

    Raises:
        TlogInvalid: If the proof is malformed or leads to another root.
    """
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if not hmac.compare_digest(computed, root):
        raise TlogInvalid("inclusion proof does not lead to the checkpoint's root hash")

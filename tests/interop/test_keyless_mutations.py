"""Mutated bundles never raise a foreign exception and never verify by accident.

Deterministic (seeded) structural mutations of real bundles: drop a field, change a value's
type, flip a bit inside a base64 value. Every outcome must be a sealgate error (never a
traceback-worthy foreign one); a mutation that still verifies must not have touched anything
signed (checked by allowing only fields outside the signatures' reach).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
from typing import Any

import pytest

from sealgate.errors import InternalError, SealgateError
from sealgate.formats.sigstore_bundle import parse_sigstore_bundle
from sealgate.sigstore_checks import IdentityPolicy
from sealgate.trust import load_trusted_root
from tests.interop.keyless_driver import verify_bundle
from tests.interop.test_sigstore_conformance import BASE, PRODUCTION_ROOT

CASES = [
    "happy-path-v0.1",
    "happy-path-intoto-in-dsse-v3",
    "rekor2-happy-path",
    "intoto-with-custom-trust-root",
]
POLICY = IdentityPolicy(identity_regexp=".", issuer_regexp=".")
# Fields no signature needs: a DSSE key hint, a public-key hint, the optional message digest
# (the signature covers the artifact), proof fields the signed checkpoint supersedes when absent,
# and a Rekor v2 entry's (unused, unsigned) integrated time.
UNSIGNED = {"keyid", "hint", "messageDigest", "treeSize", "rootHash", "logIndex", "integratedTime"}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _mutate(doc: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], tuple[Any, ...]]:
    doc = copy.deepcopy(doc)
    path = rng.choice(_paths(doc))
    parent, last = _get(doc, path[:-1]), path[-1]
    value = parent[last]
    choice = rng.randrange(3)
    if choice == 0 and isinstance(parent, dict):
        del parent[last]
    elif choice == 1:
        parent[last] = rng.choice([None, 7, -1, "", [], {}, "x" * 5])
    elif isinstance(value, str):
        try:
            raw = bytearray(base64.b64decode(value, validate=True))
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            parent[last] = base64.b64encode(bytes(raw)).decode()
        except (binascii.Error, ValueError, IndexError):
            parent[last] = value[::-1]
    else:
        parent[last] = str(value)
    return doc, path


@pytest.mark.parametrize("case", CASES)
def test_mutations_fail_cleanly(case: str) -> None:
    folder = BASE / case
    root_path = folder / "trusted_root.json"
    root = load_trusted_root(root_path if root_path.exists() else PRODUCTION_ROOT)
    artifact = (
        folder / "artifact" if (folder / "artifact").exists() else BASE / "a.txt"
    ).read_bytes()
    original = json.loads((folder / "bundle.sigstore.json").read_text())
    parsed = parse_sigstore_bundle((folder / "bundle.sigstore.json").read_bytes())
    rng = random.Random(case)  # noqa: S311 - reproducible test mutations, not crypto
    for _ in range(1500):
        mutated, path = _mutate(original, rng)
        try:
            verify_bundle(json.dumps(mutated).encode(), artifact, root, policy=POLICY)
        except InternalError:
            raise
        except SealgateError:
            continue
        if parse_sigstore_bundle(json.dumps(mutated).encode()) == parsed:
            continue  # the same bundle spelled differently (e.g. [] for an absent list)
        if path[-1] == "canonicalizedBody" and case.startswith("rekor2"):
            continue  # Rekor v2: the proven leaf is rebuilt from the signature, not this copy
        if path[-1] == "inclusionProof" and parsed.version == "0.1":
            assert _get(mutated, path[:-1]).get("inclusionProof") is None
            continue  # v0.1 bundles rest on the SET; a proof is optional
        if path[-1] == "inclusionPromise" and parsed.version != "0.1":
            assert parsed.rfc3161_timestamps and _get(mutated, path[:-1]).get(path[-1]) is None
            continue  # v0.2+: the proof and the signed timestamp suffice without a SET
        if path[-1] in ("rfc3161Timestamps", "timestampVerificationData", "signedTimestamp"):
            # Extra evidence: the SET still gives a signing time, and a token that does not
            # verify does not count (sigstore-go threshold semantics).
            assert any(e.signed_entry_timestamp for e in parsed.tlog_entries)
            continue
        assert path[-1] in UNSIGNED, f"mutation at {path} still verified"
        if path[-1] in ("treeSize", "rootHash", "logIndex"):
            assert "inclusionProof" in path and _get(mutated, path[:-1]).get(path[-1]) in (None, 0)
        if path[-1] == "integratedTime":
            assert "inclusionPromise" not in _get(mutated, path[:-1])

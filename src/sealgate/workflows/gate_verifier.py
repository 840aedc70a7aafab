"""The gate's :class:`~sealgate.gate.ImageVerifier` over the real registry and verify workflow."""

from __future__ import annotations

import threading

from sealgate.checks.tlog import RekorKey, TlogPolicy
from sealgate.gate import Policy, Verdict
from sealgate.keys import Verifier, load_verifier, read_key_ref
from sealgate.oci import Reference, RegistryClient
from sealgate.workflows.targets import pinned_digest
from sealgate.workflows.verify import AttestationRequirement, TrustPolicy, verify_image

__all__ = ["RegistryImageVerifier"]


class RegistryImageVerifier:
    """Resolves and verifies images for the gate; thread-safe, keys loaded once per run."""

    def __init__(self, client: RegistryClient, *, repository: Reference | None = None) -> None:
        self._client = client
        self._repository = repository
        self._lock = threading.Lock()
        self._verifiers: dict[str, Verifier] = {}
        self._policies: dict[int, tuple[TrustPolicy, tuple[AttestationRequirement, ...]]] = {}
        #: (repository, digest) pairs this verifier resolved from a tag during this run.
        self._resolved: set[tuple[str, str]] = set()

    def _verifier(self, key_ref: str) -> Verifier:
        with self._lock:
            verifier = self._verifiers.get(key_ref)
        if verifier is None:
            verifier = load_verifier(key_ref)
            with self._lock:
                self._verifiers[key_ref] = verifier
        return verifier

    def _trust(self, policy: Policy) -> tuple[TrustPolicy, tuple[AttestationRequirement, ...]]:
        with self._lock:
            cached = self._policies.get(id(policy))
        if cached is not None:
            return cached
        rekor_keys = tuple(RekorKey.from_pem(read_key_ref(ref)) for ref in policy.rekor_keys)
        trust = TrustPolicy(
            verifiers=tuple(self._verifier(ref) for ref in policy.keys),
            annotations=policy.annotation_map,
            tlog=TlogPolicy(insecure_ignore_tlog=not policy.tlog, rekor_keys=rekor_keys),
            repository=self._repository,
        )
        requirements = tuple(
            AttestationRequirement(
                predicate_type=requirement.type,
                conditions=requirement.conditions,
                verifiers=tuple(self._verifier(ref) for ref in requirement.keys),
            )
            for requirement in policy.attestations
        )
        with self._lock:
            # Policies are frozen and live for the whole run, so id() is a stable key.
            self._policies[id(policy)] = (trust, requirements)
        return trust, requirements

    def resolve(self, ref: Reference) -> str:
        digest = self._client.resolve(ref).digest
        with self._lock:
            self._resolved.add((ref.name, digest))
        return digest

    def verify(self, ref: Reference, policy: Policy) -> Verdict:
        trust, requirements = self._trust(policy)
        with self._lock:
            exists = (ref.name, pinned_digest(ref)) in self._resolved
        signatures, attestations = verify_image(
            self._client, ref, trust, requirements, known_to_exist=exists
        )
        keys = sorted({s.key_fingerprint[:16] for s in signatures.signatures})
        kinds = [r.predicate_type for r in requirements]
        message = f"signed by key sha256:{', sha256:'.join(keys)}"
        if kinds:
            message += f"; attested: {', '.join(kinds)}"
        del attestations  # every requirement passed, or verify_image raised
        return Verdict.verified(pinned_digest(ref), message)

    def public_key_pem(self, key_ref: str) -> bytes:
        return self._verifier(key_ref).public_pem()

"""The gate's :class:`~sealgate.gate.ImageVerifier` over the real registry and verify workflow."""

from __future__ import annotations

import threading

from sealgate.checks.authorities import KeyAuthority
from sealgate.checks.conditions import compile_conditions
from sealgate.checks.tlog import TlogPolicy, load_rekor_keys
from sealgate.errors import ConfigError, UsageError
from sealgate.formats.predicates import resolve_predicate_type
from sealgate.gate import Clock, Policy, Verdict, utc_now
from sealgate.keys import load_verifier, read_key_ref
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import AttestationRule
from sealgate.policy import Policy as TrustPolicy
from sealgate.workflows.targets import pinned_digest
from sealgate.workflows.verify import verify_image

__all__ = ["RegistryImageVerifier"]


class RegistryImageVerifier:
    """Resolves and verifies images for the gate; thread-safe, keys loaded once per run."""

    def __init__(
        self,
        client: RegistryClient,
        *,
        repository: Reference | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._client = client
        self._repository = repository
        self._clock = clock
        self._lock = threading.Lock()
        self._authorities: dict[str, KeyAuthority] = {}
        self._policies: dict[int, TrustPolicy] = {}
        #: (repository, digest) pairs this verifier resolved from a tag during this run.
        self._resolved: set[tuple[str, str]] = set()

    def _authority(self, key_ref: str) -> KeyAuthority:
        with self._lock:
            authority = self._authorities.get(key_ref)
        if authority is None:
            authority = KeyAuthority.of(load_verifier(key_ref), name=key_ref)
            with self._lock:
                self._authorities[key_ref] = authority
        return authority

    def trust_policy(self, policy: Policy) -> TrustPolicy:
        """The gate's trust section as a :class:`sealgate.policy.Policy` (built once per run).

        Raises:
            KeyMaterialError: A key or Rekor key cannot be read.
            ConfigError: A condition or predicate type is invalid.
        """
        with self._lock:
            cached = self._policies.get(id(policy))
        if cached is not None:
            return cached
        rules = []
        for requirement in policy.attestations:
            try:
                predicate_type = resolve_predicate_type(requirement.type)
                conditions = compile_conditions(requirement.conditions)
            except UsageError as err:
                raise ConfigError(err.message) from err
            rules.append(
                AttestationRule(
                    name=requirement.type,
                    predicate_type=predicate_type,
                    conditions=conditions,
                    authorities=tuple(self._authority(ref) for ref in requirement.keys),
                )
            )
        trust = TrustPolicy(
            name="gate",
            authorities=tuple(self._authority(ref) for ref in policy.keys),
            tlog=TlogPolicy(
                insecure_ignore_tlog=not policy.tlog,
                rekor_keys=load_rekor_keys([read_key_ref(ref) for ref in policy.rekor_keys]),
            ),
            annotations=policy.annotation_map,
            attestations=tuple(rules),
        )
        with self._lock:
            # Policies are frozen and live for the whole run, so id() is a stable key.
            self._policies[id(policy)] = trust
        return trust

    def resolve(self, ref: Reference) -> str:
        digest = self._client.resolve(ref).digest
        with self._lock:
            self._resolved.add((ref.name, digest))
        return digest

    def verify(self, ref: Reference, policy: Policy) -> Verdict:
        trust = self.trust_policy(policy)
        with self._lock:
            exists = (ref.name, pinned_digest(ref)) in self._resolved
        result = verify_image(
            self._client,
            ref,
            trust,
            reference_time=self._clock(),
            repository=self._repository,
            known_to_exist=exists,
        )
        signers = sorted({a.signer for r in result.signatures.verified for a in r.accepted})
        message = f"signed by {', '.join(signers)}"
        if result.attestations:
            message += f"; attested: {', '.join(v.rule.name for v in result.attestations)}"
        return Verdict.verified(pinned_digest(ref), message)

    def public_key_pem(self, key_ref: str) -> bytes:
        return self._authority(key_ref).verifier.public_pem()

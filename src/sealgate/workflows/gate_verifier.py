"""The gate's :class:`~sealgate.gate.ImageVerifier`: the policy engine over the real registry."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sealgate.gate import Clock, Verdict, utc_now, verdict_for
from sealgate.oci import Reference, RegistryClient
from sealgate.policy import PolicySet, decide, policy_set_fingerprint
from sealgate.policy.resources import IMPLICIT_POD
from sealgate.workflows.judge import requirement_checker
from sealgate.workflows.targets import ResolvedImage, pinned_digest

__all__ = ["RegistryImageVerifier"]


class RegistryImageVerifier:
    """Resolves and verifies images for the gate; thread-safe.

    The policy set is built on first use (keys and policy files are read once per run, and
    never on an emergency bypass, which verifies nothing).
    """

    def __init__(
        self,
        client: RegistryClient,
        policies: Callable[[], PolicySet],
        *,
        repository: Reference | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._client = client
        self._build = policies
        self._repository = repository
        self._clock = clock
        self._lock = threading.Lock()
        self._policies: PolicySet | None = None
        self._fingerprint: str | None = None
        #: (repository, digest) pairs this verifier resolved from a tag during this run.
        self._resolved: set[tuple[str, str]] = set()

    def policies(self) -> PolicySet:
        """The run's policy set (built on first use).

        Raises:
            SealgateError: A key or policy file cannot be read or is invalid.
        """
        with self._lock:
            if self._policies is None:
                self._policies = self._build()
            return self._policies

    def fingerprint(self) -> str:
        policies = self.policies()
        with self._lock:
            if self._fingerprint is None:
                self._fingerprint = policy_set_fingerprint(policies)
            return self._fingerprint

    def resolve(self, ref: Reference) -> str:
        digest = self._client.resolve(ref).digest
        with self._lock:
            self._resolved.add((ref.name, digest))
        return digest

    def verify(self, ref: Reference) -> Verdict:
        digest = pinned_digest(ref)
        with self._lock:
            resolved_here = (ref.name, digest) in self._resolved
        # A digest written in a versions file must exist (not-found, as cosign's exit 11); one
        # this run resolved from a tag moments ago needs no second request.
        image = ResolvedImage(ref, None if resolved_here else self._client.resolve(ref))
        check = requirement_checker(
            self._client, image, reference_time=self._clock(), repository=self._repository
        )
        decision = decide(str(ref), IMPLICIT_POD, self.policies(), check)
        return verdict_for(decision, digest)

"""Fakes shared by the gate tests: a scripted verifier, a settable clock, builders."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sealgate.errors import ImageNotFound
from sealgate.gate import (
    EnvironmentConfig,
    ImageSpec,
    SourceLocation,
    TrustSection,
    Verdict,
)
from sealgate.oci.reference import Reference


def digest(n: int) -> str:
    """A well-formed fake digest."""
    return "sha256:" + f"{n:064x}"


class FakeClock:
    """A clock tests can move."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


Outcome = Verdict | BaseException | Callable[[Reference], Verdict]


@dataclass
class FakeVerifier:
    """Tags -> digests, and (name@digest) -> verdict or exception; records every call."""

    tags: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    resolve_errors: dict[str, BaseException] = field(default_factory=dict)
    #: What ``fingerprint()`` returns: the policies the run verifies against.
    policy_fingerprint: str = "policies-v1"
    delay: float = 0.0
    resolve_calls: list[str] = field(default_factory=list)
    verify_calls: list[str] = field(default_factory=list)
    max_active: int = 0
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, ref: Reference) -> str:
        with self._lock:
            self.resolve_calls.append(str(ref))
        if str(ref) in self.resolve_errors:
            raise self.resolve_errors[str(ref)]
        try:
            return self.tags[str(ref)]
        except KeyError:
            raise ImageNotFound(f"{ref}: no such tag") from None

    def verify(self, ref: Reference) -> Verdict:
        assert ref.digest is not None
        key = f"{ref.name}@{ref.digest}"
        with self._lock:
            self.verify_calls.append(key)
            self._active += 1
            self.max_active = max(self.max_active, self._active)
        try:
            if self.delay:
                time.sleep(self.delay)
            outcome = self.outcomes.get(key, Verdict.verified(ref.digest))
            if isinstance(outcome, BaseException):
                raise outcome
            if callable(outcome):
                return outcome(ref)
            return outcome
        finally:
            with self._lock:
                self._active -= 1

    def fingerprint(self) -> str:
        return self.policy_fingerprint


def spec(text: str, file: str = "deploy/app-versions.yaml", line: int = 3) -> ImageSpec:
    """An ImageSpec as sources would build it."""
    return ImageSpec(Reference.parse(text), text, (SourceLocation(file, line, "services.api"),))


def make_env(
    tmp_path: Path,
    *,
    name: str = "app-eu2",
    tier: str = "production",
    soft_fail: bool = False,
    allow_bypass: bool = True,
    trust: TrustSection | None = None,
) -> EnvironmentConfig:
    return EnvironmentConfig(
        name=name,
        tier=tier,  # type: ignore[arg-type]
        soft_fail=soft_fail,
        allow_bypass=allow_bypass,
        versions=("deploy/app-versions.yaml",),
        trust=trust or TrustSection(keys=(str(tmp_path / "cosign.pub"),)),
        base_dir=tmp_path,
        audit_log=tmp_path / "audit.jsonl",
        origin="sealgate.yaml:10",
    )

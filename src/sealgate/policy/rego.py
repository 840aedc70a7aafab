"""Rego policies as sigstore policy-controller runs them, evaluated by regopy in a child process.

policy-controller (through cosign's ``rego.ValidateJSONWithModuleInput``) loads the module and
queries ``isCompliant = data.sigstore.isCompliant`` with the attestation (or, for a
ClusterImagePolicy-level policy, ``{"authorityMatches": ...}``) as ``input``. Compliant when
the binding is ``true``, or when it is a set of ``{"result": true, ...}`` objects; anything
else (``false``, undefined, an error) is not compliant.

The evaluator is regopy (rego-cpp), a native library. It runs in a child Python process with a
time limit and capped output, because a policy can loop for a long time and the native code
can abort the process on inputs it does not expect: neither may take the caller down or hang
it. A policy that times out, crashes or cannot be parsed does not hold; it never passes.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from sealgate.checks.conditions import ConditionFailed, EvaluationBudget
from sealgate.errors import ConfigError

__all__ = ["QUERY", "RegoPolicy", "rego_available"]

QUERY = "isCompliant = data.sigstore.isCompliant"
_TIMEOUT_S = 10.0
_MAX_OUTPUT = 64 * 1024
_MAX_MODULE = 256 * 1024


def rego_available() -> bool:
    """Whether the regopy evaluator is installed (``pip install 'sealgate[rego]'``)."""
    return importlib.util.find_spec("regopy") is not None


def _run(module: str, document: Any, timeout_s: float) -> dict[str, Any]:
    request = json.dumps({"module": module, "input": document}).encode("utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sealgate.policy._rego_worker"],
            input=request,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"evaluation took longer than {timeout_s:g} s"}
    except OSError as err:
        return {"ok": False, "error": f"cannot start the evaluator: {err.strerror or err}"}
    if done.returncode != 0 or len(done.stdout) > _MAX_OUTPUT:
        return {"ok": False, "error": f"the evaluator failed (exit {done.returncode})"}
    try:
        answer = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {"ok": False, "error": "the evaluator gave no readable answer"}
    return answer if isinstance(answer, dict) else {"ok": False, "error": "unexpected answer"}


@dataclass(frozen=True)
class RegoPolicy:
    """A ``type: rego`` policy; usable as an attestation condition or a policy-level script.

    Attributes:
        name: Where it comes from (``attestation vuln``, ``ClusterImagePolicy/x``).
        module: The Rego source (package ``sigstore``, rule ``isCompliant``).
        timeout_s: Time limit of one evaluation.
    """

    name: str
    module: str = field(repr=False)
    timeout_s: float = _TIMEOUT_S

    @classmethod
    def compile(cls, name: str, module: str) -> RegoPolicy:
        """Check that regopy is installed and parses ``module``.

        Raises:
            ConfigError: No evaluator, or the module does not parse.
        """
        if not rego_available():
            raise ConfigError(
                "rego policies need the regopy evaluator: pip install 'sealgate[rego]'"
            )
        if len(module) > _MAX_MODULE:
            raise ConfigError(f"rego policy longer than {_MAX_MODULE} characters")
        answer = _run(module, {}, _TIMEOUT_S)
        if answer.get("parse_error"):
            raise ConfigError(f"rego policy does not parse: {answer['parse_error']}")
        if "error" in answer and not answer.get("evaluated"):
            raise ConfigError(f"rego policy cannot be evaluated: {answer['error']}")
        return cls(name, module)

    @property
    def expression(self) -> str:
        return f"rego {self.name}"

    def holds(self, document: Any, budget: EvaluationBudget | None = None) -> bool:
        """Run the policy with ``document`` as input.

        Raises:
            ConditionFailed: The evaluation failed, timed out or crashed.
        """
        del budget
        answer = _run(self.module, document, self.timeout_s)
        if "error" in answer:
            raise ConditionFailed(f"{self.expression}: {str(answer['error'])[:300]}")
        return answer.get("compliant") is True

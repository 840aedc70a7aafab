"""Child process of :mod:`sealgate.policy.rego`: evaluate one Rego module, print one JSON line.

Reads ``{"module": str, "input": any}`` on standard input and writes
``{"evaluated": true, "compliant": bool}`` or ``{"error": str}`` (``parse_error`` when the
module does not parse) on standard output. The native evaluator writes diagnostics to its
own standard output; it is pointed at standard error so that only the answer reaches ours.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

_QUERY = "isCompliant = data.sigstore.isCompliant"


def _compliant(binding: Any) -> bool:
    """cosign's reading of the ``isCompliant`` binding."""
    if binding is True:
        return True
    # A v0 partial set rule (isCompliant[r] {...}): rego-cpp yields an object keyed by the
    # members' JSON text; a v1 ``contains`` rule yields a list. Compliant when a member says
    # result: true (cosign evaluateRegoEvalMapResult).
    members: list[Any] = []
    if isinstance(binding, dict):
        for key in binding:
            try:
                members.append(json.loads(key))
            except (TypeError, ValueError):
                return False
    elif isinstance(binding, list):
        members = binding
    return any(isinstance(m, dict) and m.get("result") is True for m in members)


def _evaluate(module: str, document: Any) -> dict[str, Any]:
    from regopy import Input, Interpreter, RegoError

    interpreter = Interpreter()
    try:
        interpreter.add_module("sigstore.rego", module)
        interpreter.set_input(Input(document))
        output = interpreter.query(_QUERY)
    except RegoError as err:
        messages = re.findall(r"errormsg \d+:([^)\n]*)", str(err))
        return {"parse_error": "; ".join(dict.fromkeys(messages))[:300] or "invalid module"}
    if str(output) == "undefined" or not output.ok():
        return {"evaluated": True, "compliant": False}
    for result in output.results:
        bindings = getattr(result, "bindings", None)
        if isinstance(bindings, dict) and _compliant(bindings.get("isCompliant")):
            return {"evaluated": True, "compliant": True}
    return {"evaluated": True, "compliant": False}


def main() -> int:
    """Entry point of the child process."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        request = json.loads(sys.stdin.buffer.read(64 * 1024 * 1024))
        answer = _evaluate(str(request["module"]), request.get("input"))
    except Exception as err:  # any failure is "no answer", reported to the parent
        answer = {"error": f"{type(err).__name__}: {str(err)[:200]}"}
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Render Helm templates written in a small Go-template subset (no helm binary here).

Supported, and nothing else (anything else raises, so a template that drifts outside the subset
fails its test instead of rendering wrongly): ``{{ .Values.a.b }}``, ``.Release.Namespace``,
``.Release.Name``, ``.``; pipelines ``| quote``, ``| b64enc``, ``toYaml X | nindent N``;
``{{ if X }}``, ``{{ if eq X "s" }}``, ``{{ if ne X "s" }}``, ``{{ else }}``, ``{{ end }}``,
``{{ range X }}``; ``{{-``/``-}}`` whitespace trimming as text/template does it.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import yaml

_ACTION = re.compile(r"{{(-?)\s*(.*?)\s*(-?)}}", re.DOTALL)


class TemplateError(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    for match in _ACTION.finditer(text):
        literal = text[pos : match.start()]
        if match.group(1):
            literal = literal.rstrip()
        if out and out[-1][0] == "trim-next":
            out.pop()
            literal = literal.lstrip()
        out.append(("text", literal))
        out.append(("action", match.group(2)))
        if match.group(3):
            out.append(("trim-next", ""))
        pos = match.end()
    tail = text[pos:]
    if out and out[-1][0] == "trim-next":
        out.pop()
        tail = tail.lstrip()
    out.append(("text", tail))
    return out


def _lookup(path: str, context: dict[str, Any], dot: Any) -> Any:
    if path == ".":
        return dot
    if not path.startswith("."):
        raise TemplateError(f"unsupported value {path!r}")
    value: Any = context
    for part in path[1:].split("."):
        if not isinstance(value, dict) or part not in value:
            raise TemplateError(f"{path} is not defined")
        value = value[part]
    return value


def _literal(token: str, context: dict[str, Any], dot: Any) -> Any:
    if token.startswith('"') and token.endswith('"'):
        return json.loads(token)
    return _lookup(token, context, dot)


def _pipeline(expression: str, context: dict[str, Any], dot: Any) -> Any:
    stages = [s.strip() for s in expression.split("|")]
    head = stages[0].split()
    if head[0] == "toYaml" and len(head) == 2:
        value: Any = yaml.safe_dump(_lookup(head[1], context, dot), sort_keys=False).rstrip("\n")
        if value.endswith("\n..."):
            value = value[: -len("\n...")]
    elif head[0] in ("eq", "ne") and len(head) == 3:
        left, right = (_literal(t, context, dot) for t in head[1:])
        value = (left == right) == (head[0] == "eq")
    elif len(head) == 1:
        value = _lookup(head[0], context, dot)
    else:
        raise TemplateError(f"unsupported expression {stages[0]!r}")
    for stage in stages[1:]:
        name, *args = stage.split()
        if name == "quote" and not args:
            value = json.dumps(str(value))
        elif name == "b64enc" and not args:
            value = base64.b64encode(str(value).encode()).decode()
        elif name == "nindent" and len(args) == 1:
            pad = " " * int(args[0])
            value = "\n" + "\n".join(pad + line for line in str(value).splitlines())
        else:
            raise TemplateError(f"unsupported function {stage!r}")
    return value


def _render(
    tokens: list[tuple[str, str]], i: int, context: dict[str, Any], dot: Any, out: list[str] | None
) -> tuple[int, str]:
    """Render from ``tokens[i]`` until an ``else``/``end`` (returned) or the end."""
    while i < len(tokens):
        kind, value = tokens[i]
        i += 1
        if kind == "text":
            if out is not None:
                out.append(value)
            continue
        word = value.split()[0] if value else ""
        if word in ("else", "end"):
            return i, word
        if word == "if":
            truth = bool(_pipeline(value[2:].strip(), context, dot)) if out is not None else False
            i, stop = _render(tokens, i, context, dot, out if truth else None)
            if stop == "else":
                i, stop = _render(tokens, i, context, dot, None if truth else out)
            if stop != "end":
                raise TemplateError("if without end")
        elif word == "range":
            items = _pipeline(value[5:].strip(), context, dot) if out is not None else []
            start = i
            i, stop = _render(tokens, start, context, dot, None)
            for item in items or []:
                _render(tokens, start, context, item, out)
            if stop != "end":
                raise TemplateError("range without end")
        elif out is not None:
            rendered = _pipeline(value, context, dot)
            out.append(str(rendered).lower() if isinstance(rendered, bool) else str(rendered))
    return i, ""


def render(text: str, values: dict[str, Any], namespace: str, release: str = "sealgate") -> str:
    """Render one template."""
    context = {"Values": values, "Release": {"Namespace": namespace, "Name": release}}
    out: list[str] = []
    _, stop = _render(_tokens(text), 0, context, None, out)
    if stop:
        raise TemplateError(f"unexpected {stop}")
    return "".join(out)

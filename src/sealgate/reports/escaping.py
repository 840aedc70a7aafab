"""Escaping for the places reports go: JUnit XML, Markdown tables, Azure DevOps log commands.

Shared by every command's reports (gate today; verify and audit next), so a reference or
message an attacker controls (a tag, an annotation, a registry error) is neutralised the
same way everywhere:

* :func:`xml_text`: characters XML 1.0 forbids (section 2.2) are replaced by U+FFFD;
  ElementTree does the escaping of ``<``, ``&`` and quotes.
* :func:`markdown_cell`: one line, HTML-escaped, ``|`` and backticks escaped, so a value
  cannot close a table cell, open a code span or inject HTML.
* :func:`vso_escape` / :func:`vso_logissue`: Azure DevOps ``##vso[...]`` commands; ``%`` ->
  ``%AZP25``, CR -> ``%0D``, LF -> ``%0A``, ``;`` -> ``%3B``, ``]`` -> ``%5D`` (what
  azure-pipelines-task-lib emits and the agent unescapes; a bare ``%25`` is shown
  literally), so no value can end the command early or start a new one.
"""

from __future__ import annotations

import html
import re

__all__ = ["markdown_cell", "printable", "vso_escape", "vso_logissue", "xml_text"]

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """``str(value)`` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return _XML_INVALID.sub("\ufffd", str(value))


def printable(text: str) -> str:
    """``text`` with terminal escapes and other control characters (but CR/LF) as spaces."""
    return "".join(ch if ch.isprintable() or ch in "\r\n" else " " for ch in text)


def markdown_cell(value: object) -> str:
    """``str(value)`` made safe for one Markdown table cell or list item."""
    text = " ".join(printable(str(value)).split())
    return html.escape(text, quote=False).replace("|", "\\|").replace("`", "\\`")


def vso_escape(value: str) -> str:
    """Escape a property value or message for an Azure DevOps logging command."""
    return (
        value.replace("%", "%AZP25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .replace(";", "%3B")
        .replace("]", "%5D")
    )


def vso_logissue(
    kind: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    code: str | None = None,
) -> str:
    """One ``##vso[task.logissue ...]`` line (``kind`` is ``error`` or ``warning``)."""
    props = [f"type={kind}"]
    if file:
        props.append(f"sourcepath={vso_escape(file)}")
    if line is not None:
        props.append(f"linenumber={line}")
    if code:
        props.append(f"code={vso_escape(code)}")
    return f"##vso[task.logissue {';'.join(props)}]{vso_escape(printable(message))}"

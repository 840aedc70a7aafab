"""sealgate.reports: machine-readable reports for every command (JSON, JUnit, Markdown, vso).

Pure renderers: a result object in, text out; the CLI decides where the text goes. The deploy
gate's renderers live in :mod:`sealgate.reports.gate`; the escaping every renderer needs (XML,
Markdown cells, Azure DevOps logging commands) in :mod:`sealgate.reports.escaping`, so the
verify and audit commands' reports neutralise hostile text exactly the same way.
"""

from sealgate.reports.escaping import (
    markdown_cell,
    printable,
    vso_escape,
    vso_logissue,
    xml_text,
)
from sealgate.reports.gate import (
    REPORT_JSON_SCHEMA,
    REPORT_SCHEMA_VERSION,
    pin_map,
    render_json,
    render_junit,
    render_markdown,
    render_pins,
    render_vso,
    report_to_dict,
)

__all__ = [
    "REPORT_JSON_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "markdown_cell",
    "pin_map",
    "printable",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_pins",
    "render_vso",
    "report_to_dict",
    "vso_escape",
    "vso_logissue",
    "xml_text",
]

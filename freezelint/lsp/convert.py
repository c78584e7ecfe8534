"""freezelint Diagnostics -> LSP Diagnostics.

The message never repeats the rule code: editors show `code` in a column of their own
(jupyterlab-lsp's panel, VS Code's Problems view), and "FZL101 FZL101 ..." is noise.
`data` carries the fixes as plain JSON in LSP coordinates, for clients that apply fixes
themselves; the server's own code actions recompute them from the current text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from freezelint.common.diagnostics import Diagnostic, Severity
from freezelint.common.rule_docs import rule_doc
from freezelint.lsp.settings import Notice
from freezelint.lsp.text import Layout, to_client_column

SOURCE = "freezelint"

SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


@dataclass(frozen=True)
class Entry:
    """One published LSP diagnostic and the freezelint diagnostic it came from (None for a
    configuration notice)."""

    uri: str
    lsp: types.Diagnostic
    source: Diagnostic | None


def entries(diagnostics: list[Diagnostic], notices: list[Notice], layout: Layout) -> list[Entry]:
    found = [_notice(notice, layout) for notice in notices if layout.segments]
    for diagnostic in diagnostics:
        entry = _entry(diagnostic, layout)
        if entry is not None:
            found.append(entry)
    return found


def _entry(diagnostic: Diagnostic, layout: Layout) -> Entry | None:
    located = layout.locate(diagnostic.span)
    if located is None:
        return None
    uri, range_ = located
    doc = rule_doc(diagnostic.rule)
    related = []
    for item in diagnostic.related:
        where = layout.locate(item.span)
        if where is not None:
            related.append(types.DiagnosticRelatedInformation(
                types.Location(where[0], where[1]), item.message))
    lsp = types.Diagnostic(
        range=range_,
        message=diagnostic.message,
        severity=SEVERITY.get(diagnostic.severity, types.DiagnosticSeverity.Warning),
        code=diagnostic.rule,
        code_description=types.CodeDescription(href=doc.url) if doc else None,
        source=SOURCE,
        related_information=related or None,
        data={"rule": diagnostic.rule, "fixes": _fixes_json(diagnostic, layout)},
    )
    return Entry(uri, lsp, diagnostic)


def _fixes_json(diagnostic: Diagnostic, layout: Layout) -> list[dict[str, Any]]:
    fixes = []
    for fix in diagnostic.fixes:
        edits = []
        for edit in fix.edits:
            where = layout.locate(edit.span)
            if where is not None:
                edits.append({"uri": where[0], "range": _range_json(where[1]),
                              "newText": edit.text})
        fixes.append({"title": fix.title, "safety": fix.safety.value, "edits": edits})
    return fixes


def _range_json(range_: types.Range) -> dict[str, Any]:
    return {"start": {"line": range_.start.line, "character": range_.start.character},
            "end": {"line": range_.end.line, "character": range_.end.character}}


def _notice(notice: Notice, layout: Layout) -> Entry:
    """Shown on the first line of the (first) document, where a file-level message goes."""
    first = layout.segments[0]
    text = layout.lines[first.start] if first.start < len(layout.lines) else ""
    width = to_client_column(text, len(text), layout.codec)
    line = types.Range(types.Position(0, 0), types.Position(0, width))
    return Entry(first.uri, types.Diagnostic(
        range=line, message=notice.message, severity=SEVERITY[notice.severity],
        code=notice.code, source=SOURCE), None)

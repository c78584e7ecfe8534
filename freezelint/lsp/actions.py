"""Code actions: one quick fix per fixable diagnostic, "ignore on this line", and
`source.fixAll.freezelint`.

A quick fix applies the diagnostic's preferred fix: the first safe one, else the first
unsafe one, titled "(unsafe)" so that nobody applies a behaviour change by reflex. Fix-all
applies safe fixes only, through the same `fix_text` as `freezelint check --fix`, and is
never offered as formatting: a formatter that silently applies every fix on save is what
users of other linters complain about.

Edits are computed from the server's own result for the current text, not from the
`data` the client echoes back, which may describe an older version of the text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from lsprotocol import types

from freezelint.common.diagnostics import Diagnostic, Fix, Safety
from freezelint.engine.fixes import chosen_fix, fix_text
from freezelint.inputs.notebook import split_keep_ends
from freezelint.lsp.convert import Entry
from freezelint.lsp.linting import LintResult
from freezelint.lsp.text import to_client_column

FIX_ALL = "source.fixAll.freezelint"
KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, FIX_ALL]
_RULE = re.compile(r"FZL\d{3}")
_EXISTING = re.compile(r"#\s*freezelint:\s*ignore\[([A-Za-z0-9, ]+)\]")


def wants(only: Sequence[str] | None, kind: str) -> bool:
    """Whether a client asking for `only` kinds wants `kind` (kinds are dotted
    hierarchies: asking for "source" includes "source.fixAll.freezelint")."""
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)


def wants_fix_all(context: types.CodeActionContext) -> bool:
    """Fix-all re-lints until stable, which costs several lints on a long file, so it is
    computed when asked for by kind (VS Code's Source Action menu, codeActionsOnSave) or by
    an explicit request (a menu the user opened), not for every automatic lightbulb
    request as the cursor moves."""
    if context.only is not None:
        return wants(context.only, FIX_ALL)
    return context.trigger_kind == types.CodeActionTriggerKind.Invoked


def line_actions(result: LintResult, uri: str, range_: types.Range,
                 only: Sequence[str] | None) -> list[types.CodeAction]:
    """Quick fixes, then ignore-comments, for the diagnostics touching `range_`."""
    if not wants(only, types.CodeActionKind.QuickFix):
        return []
    touching = [e for e in result.entries
                if e.uri == uri and e.source is not None and _overlaps(e.lsp.range, range_)]
    fixes = [a for e in touching if (a := _quick_fix(result, e)) is not None]
    ignores = [a for e in touching if (a := _ignore(result, e)) is not None]
    return fixes + ignores


def preferred_fix(diagnostic: Diagnostic) -> Fix | None:
    return chosen_fix(diagnostic, unsafe=False) or chosen_fix(diagnostic, unsafe=True)


def _quick_fix(result: LintResult, entry: Entry) -> types.CodeAction | None:
    assert entry.source is not None
    fix = preferred_fix(entry.source)
    if fix is None:
        return None
    changes: dict[str, list[types.TextEdit]] = {}
    for edit in fix.edits:
        where = result.layout.locate(edit.span)
        if where is None:
            return None
        changes.setdefault(where[0], []).append(types.TextEdit(where[1], edit.text))
    unsafe = fix.safety is Safety.UNSAFE
    return types.CodeAction(
        title=f"{fix.title} (unsafe)" if unsafe else fix.title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[entry.lsp],
        edit=types.WorkspaceEdit(changes=changes),
        is_preferred=not unsafe,
    )


def _ignore(result: LintResult, entry: Entry) -> types.CodeAction | None:
    """`# freezelint: ignore[FZLnnn]` at the end of the diagnostic's first line (the line
    `lint` checks for suppressions), or the code added to a comment already there."""
    rule = str(entry.lsp.code)
    if not _RULE.fullmatch(rule) or rule == "FZL000":
        return None
    line = entry.lsp.range.start.line
    text = result.layout.line_text(entry.uri, line)
    if text is None or text.rstrip().endswith("\\"):
        return None  # a comment after a line continuation would break the code
    codec = result.layout.codec
    existing = _EXISTING.search(text)
    if existing is not None:
        end = to_client_column(text, existing.end(1), codec)
        where = types.Range(types.Position(line, end), types.Position(line, end))
        edit = types.TextEdit(where, f", {rule}")
    else:
        end = to_client_column(text, len(text), codec)
        where = types.Range(types.Position(line, end), types.Position(line, end))
        edit = types.TextEdit(where, f"  # freezelint: ignore[{rule}]")
    return types.CodeAction(
        title=f"Ignore {rule} on this line",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[entry.lsp],
        edit=types.WorkspaceEdit(changes={entry.uri: [edit]}),
    )


def has_safe_fix(result: LintResult, uri: str) -> bool:
    return any(e.uri == uri and e.source is not None
               and any(f.safety is Safety.SAFE for f in e.source.fixes)
               for e in result.entries)


def fix_all(result: LintResult, uri: str) -> types.CodeAction | None:
    """Every safe fix of document `uri`, as the minimal line edits between the current
    text and `fix_text(..., unsafe=False)`. Runs the linter again: call it off the event
    loop."""
    segment = result.layout.segment_of_uri(uri)
    if segment is None:
        return None
    fixed = fix_text(result.prepared.text, result.config, unsafe=False)
    if not fixed.changed:
        return None
    old = split_keep_ends(result.prepared.text)
    new = split_keep_ends(fixed.text)
    blanked = result.prepared.blanked
    codec = result.layout.codec
    edits: list[types.TextEdit] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        inside = segment.start <= i1 and i2 <= segment.end and (i1 < segment.end or segment.terminated)
        if tag == "equal" or not inside or any(i in blanked for i in range(i1, i2)):
            continue
        text = "".join(new[j1:j2])
        start = types.Position(i1 - segment.start, 0)
        if i2 == segment.end and not segment.terminated and i2 > i1:
            last = old[i2 - 1].rstrip("\r\n")
            end = types.Position(i2 - 1 - segment.start, to_client_column(last, len(last), codec))
            text = _without_final_newline(text)
        else:
            end = types.Position(i2 - segment.start, 0)
        edits.append(types.TextEdit(types.Range(start, end), text))
    if not edits:
        return None
    return types.CodeAction(
        title="freezelint: apply all safe fixes",
        kind=FIX_ALL,
        edit=types.WorkspaceEdit(changes={uri: edits}),
    )


def _without_final_newline(text: str) -> str:
    """Drop the one newline that was added to join a cell with the next."""
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[:-len(ending)]
    return text


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return not (key(a.end) < key(b.start) or key(b.end) < key(a.start))

"""Diagnostics -> what the user reads: concise lines, code frames, JSON, a summary.

No analysis happens here: the report only formats what `lint()` returned. Positions are
converted once, here and in `Span.to_json`: lines stay 1-based, columns become 1-based
(column + 1), the convention of compilers, Ruff and every editor's "go to line:col".
Output is sorted by path, line, column and rule, so that two runs diff cleanly.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from freezelint.diagnostics import Diagnostic, Fix, Safety, Span
from freezelint.rule_docs import rule_doc

OUTPUT_FORMATS = ("full", "concise", "json")


@dataclass
class FileResult:
    """The diagnostics of one file; `text` (the source) is needed only for code frames."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    text: str | None = None
    # With --diff: the text the fixes would produce. With --fix/--diff: how many were
    # applied, and which rules they fixed.
    fixed_text: str | None = None
    applied: int = 0
    fixed_rules: dict[str, int] = field(default_factory=dict)


def _ordered(results: list[FileResult]) -> list[tuple[str, Diagnostic, str | None]]:
    rows = [(r.path, d, r.text) for r in results for d in r.diagnostics]
    return sorted(rows, key=lambda row: (row[0], *row[1].sort_key))


def location(path: str, span: Span) -> str:
    return f"{path}:{span.start.line}:{span.start.column + 1}"


def concise_line(path: str, diagnostic: Diagnostic) -> str:
    return f"{location(path, diagnostic.span)}: {diagnostic.rule} {diagnostic.message}"


# -- concise ---------------------------------------------------------------------------


def render_concise(results: list[FileResult]) -> str:
    return "".join(concise_line(path, d) + "\n" for path, d, _ in _ordered(results))


# -- full ------------------------------------------------------------------------------

# (text, rich style) pieces of one output line; the style is used only with colour.
_Segment = tuple[str, str]

_SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold cyan"}


def render_full(results: list[FileResult], color: bool = False) -> str:
    """Each diagnostic as its concise line, the offending source line with the span
    underlined, `help:` lines for its fixes and `note:` lines for related places."""
    lines: list[list[_Segment]] = []
    for path, diagnostic, text in _ordered(results):
        source_lines = text.splitlines() if text is not None else []
        lines.extend(_full_diagnostic(path, diagnostic, source_lines))
        lines.append([])
    if not color:
        return "".join("".join(piece for piece, _ in line) + "\n" for line in lines)
    return _colored(lines)


def _full_diagnostic(path: str, d: Diagnostic, source: list[str]) -> list[list[_Segment]]:
    style = _SEVERITY_STYLE.get(d.severity.value, "bold")
    out: list[list[_Segment]] = [[(location(path, d.span), "bold"), (": ", ""),
                                  (d.rule, style), (" " + d.message, "")]]
    out.extend(_frame(d.span, source))
    for fix in d.fixes:
        out.append([("   = ", "blue"), ("help", "bold cyan"), (": " + _fix_title(fix), "")])
    for related in d.related:
        out.append([("  " + location(path, related.span), "bold"), (": ", ""),
                    ("note", "bold cyan"), (": " + related.message, "")])
    return out


def _fix_title(fix: Fix) -> str:
    return f"{fix.title} (unsafe)" if fix.safety is Safety.UNSAFE else fix.title


def _frame(span: Span, source: list[str]) -> list[list[_Segment]]:
    """The span's first line with a caret underline; a span over several lines is
    underlined to the end of its first line. Nothing when the line is not in the text
    (a syntax error at end of file)."""
    number = span.start.line
    if not 0 < number <= len(source):
        return []
    line = source[number - 1]
    end = span.end.column if span.end.line == number else len(line)
    start = min(span.start.column, len(line))
    end = max(min(end, len(line)), start)
    shown = line.expandtabs(4) if "\t" in line else line
    indent = _width(line[:start])
    carets = max(_width(line[start:end]), 1)
    gutter = " " * len(str(number))
    return [
        [(f"{gutter} |", "blue")],
        [(f"{number} | ", "blue"), (shown, "")],
        [(f"{gutter} | ", "blue"), (" " * indent, ""), ("^" * carets, "bold red")],
        [(f"{gutter} |", "blue")],
    ]


def _width(text: str) -> int:
    """Display width, so that carets stay under the span after tabs and wide characters."""
    width = 0
    for char in text:
        if char == "\t":
            width += 4 - width % 4
        elif unicodedata.combining(char):
            continue
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            width += 2
        else:
            width += 1
    return width


def _colored(lines: list[list[_Segment]]) -> str:
    """Render with rich into an ANSI string (imported here: plain output never needs it)."""
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard",
                      highlight=False, soft_wrap=True, width=10_000)
    for line in lines:
        console.print(Text.assemble(*line) if line else "")
    return buffer.getvalue()


# -- json ------------------------------------------------------------------------------


def json_records(results: list[FileResult]) -> list[dict[str, Any]]:
    records = []
    for path, diagnostic, _ in _ordered(results):
        doc = rule_doc(diagnostic.rule)
        records.append({"path": path, **diagnostic.to_json(),
                        "url": doc.url if doc is not None else None})
    return records


def render_json(results: list[FileResult]) -> str:
    return json.dumps(json_records(results), indent=2) + "\n"


# -- summary ---------------------------------------------------------------------------


def summary(results: list[FileResult], unreadable: int = 0) -> str:
    """One line for stderr after a text report, like Ruff's: how many problems and how many
    of them `--fix` / `--unsafe-fixes` would repair."""
    diagnostics = [d for r in results for d in r.diagnostics]
    skipped = ""
    if unreadable:
        skipped = f"{_count(unreadable, 'file')} could not be checked"
    if not diagnostics:
        return f"No problems found, but {skipped}." if skipped else "All checks passed!"
    safe = sum(1 for d in diagnostics if any(f.safety is Safety.SAFE for f in d.fixes))
    unsafe = sum(1 for d in diagnostics
                 if d.fixes and not any(f.safety is Safety.SAFE for f in d.fixes))
    fixable = []
    if safe:
        fixable.append(f"{safe} fixable with --fix")
    if unsafe:
        fixable.append(f"{unsafe} {'more ' if safe else ''}"
                       f"{'with' if safe else 'fixable with'} --unsafe-fixes")
    text = f"Found {_count(len(diagnostics), 'problem')}"
    if fixable:
        text += f" ({', '.join(fixable)})"
    return f"{text}; {skipped}." if skipped else f"{text}."


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"

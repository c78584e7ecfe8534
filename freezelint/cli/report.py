"""Diagnostics -> what the user reads: concise lines, code frames, JSON (one document or
one object per line), SARIF for code scanning, GitHub workflow annotations, statistics and
a summary.

No analysis happens here: the report only formats what `lint()` returned. Positions are
converted once, here and in `Span.to_json`: lines stay 1-based, columns become 1-based
(column + 1), the convention of compilers, Ruff, SARIF and every editor's "go to line:col";
an end column is the one just after the span. Output is sorted by path, line, column and
rule, so that two runs diff cleanly.
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from freezelint import __version__
from freezelint.common.coverage import Coverage, file_message, statistics_line, summary_line
from freezelint.common.diagnostics import Diagnostic, Edit, Fix, Safety, Severity, Span
from freezelint.common.rule_docs import RuleDoc, all_rule_docs, rule_doc
from freezelint.common.terminal import visible

if TYPE_CHECKING:
    from freezelint.inputs.notebook import CellMap

OUTPUT_FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github")
# Formats read by programs: no summary line on stderr, no colour.
MACHINE_FORMATS = frozenset({"json", "json-lines", "sarif"})
# The formats that count the sites not checked without placing them (`_not_checked`).
TEXT_FORMATS = frozenset({"full", "concise"})
INFORMATION_URI = "https://github.com/freezelint/freezelint"


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
    # With --add-noqa: how many lines got a suppression comment.
    noqa_added: int = 0
    # A notebook: its diagnostics are in the coordinates of the joined code cells, which
    # `cells` maps to `cell N:line` (and `fixed_cells` for `fixed_text`).
    cells: CellMap | None = None
    fixed_cells: CellMap | None = None
    # The sites model-aware rules check and how many of them were checked (None: not
    # counted, e.g. a file that could not be read).
    coverage: Coverage | None = None


def _ordered(results: list[FileResult]) -> list[tuple[str, Diagnostic, str | None]]:
    rows = [(r.path, d, r.text) for r in results for d in r.diagnostics]
    return sorted(rows, key=lambda row: (row[0], *row[1].sort_key))


def _cell_maps(results: list[FileResult]) -> dict[str, CellMap]:
    """The notebooks among `results`, by path."""
    return {r.path: r.cells for r in results if r.cells is not None}


def location(path: str, span: Span, cells: CellMap | None = None) -> str:
    """`path:line:col`, or for a notebook `path:cell N:line:col` as Ruff prints it (the
    line counted within the cell)."""
    if cells is not None:
        cell, line = cells.locate(span.start.line)
        return f"{path}:cell {cell}:{line}:{span.start.column + 1}"
    return f"{path}:{span.start.line}:{span.start.column + 1}"


def concise_line(path: str, diagnostic: Diagnostic, cells: CellMap | None = None) -> str:
    """One line; control characters from the source (in the path or the message) are
    escaped, as in every text format (common/terminal.py)."""
    return visible(f"{location(path, diagnostic.span, cells)}: {diagnostic.rule} "
                   f"{diagnostic.message}")


# -- concise ---------------------------------------------------------------------------


def render_concise(results: list[FileResult]) -> str:
    cells = _cell_maps(results)
    return "".join(concise_line(path, d, cells.get(path)) + "\n"
                   for path, d, _ in _ordered(results))


# -- full ------------------------------------------------------------------------------

# (text, rich style) pieces of one output line; the style is used only with colour.
_Segment = tuple[str, str]

_SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold cyan"}


def render_full(results: list[FileResult], color: bool = False) -> str:
    """Each diagnostic as its concise line, the offending source line with the span
    underlined, `help:` lines for its fixes and `note:` lines for related places."""
    lines: list[list[_Segment]] = []
    cells = _cell_maps(results)
    for path, diagnostic, text in _ordered(results):
        source_lines = text.splitlines() if text is not None else []
        lines.extend(_full_diagnostic(path, diagnostic, source_lines, cells.get(path)))
        lines.append([])
    lines = [[(visible(piece), style) for piece, style in line] for line in lines]
    if not color:
        return "".join("".join(piece for piece, _ in line) + "\n" for line in lines)
    return _colored(lines)


def _full_diagnostic(path: str, d: Diagnostic, source: list[str],
                     cells: CellMap | None = None) -> list[list[_Segment]]:
    style = _SEVERITY_STYLE.get(d.severity.value, "bold")
    out: list[list[_Segment]] = [[(location(path, d.span, cells), "bold"), (": ", ""),
                                  (d.rule, style), (" " + d.message, "")]]
    shown = cells.locate(d.span.start.line)[1] if cells is not None else None
    out.extend(_frame(d.span, source, shown))
    for index, fix in enumerate(d.fixes):
        out.append([("   = ", "blue"), ("help", "bold cyan"), (": " + _fix_title(fix), "")])
        if index == 0:
            out.extend(_fix_diff(fix, source, cells))
    for related in d.related:
        out.append([("  " + location(path, related.span, cells), "bold"), (": ", ""),
                    ("note", "bold cyan"), (": " + related.message, "")])
    return out


def _fix_diff(fix: Fix, source: list[str], cells: CellMap | None = None
              ) -> list[list[_Segment]]:
    """The lines a fix changes, before (`-`) and after (`+`), as Ruff shows them."""
    from freezelint.inputs.edits import apply_edits

    if not fix.edits:
        return []
    first = min(e.span.start.line for e in fix.edits)
    last = max(e.span.end.line for e in fix.edits)
    if not 0 < first <= last <= len(source):
        return []
    before = source[first - 1:last]
    shifted = [Edit(Span.of(e.span.start.line - first + 1, e.span.start.column,
                            e.span.end.line - first + 1, e.span.end.column), e.text)
               for e in fix.edits]
    after = apply_edits("\n".join(before), shifted)[0].split("\n")
    number = cells.locate(first)[1] if cells is not None else first
    width = len(str(number + max(len(before), len(after))))
    out: list[list[_Segment]] = [[(" " * width + " |", "blue")]]
    for offset, line in enumerate(before):
        out.append([(f"{number + offset:>{width}} ", "blue"), ("- " + line, "red")])
    for offset, line in enumerate(after):
        out.append([(f"{number + offset:>{width}} ", "blue"), ("+ " + line, "green")])
    return out


def _fix_title(fix: Fix) -> str:
    return f"{fix.title} (unsafe)" if fix.safety is Safety.UNSAFE else fix.title


def _frame(span: Span, source: list[str], shown_number: int | None = None
           ) -> list[list[_Segment]]:
    """The span's first line with a caret underline; a span over several lines is
    underlined to the end of its first line. Nothing when the line is not in the text
    (a syntax error at end of file). The gutter shows `shown_number` when given (a line
    within a notebook cell)."""
    if not 0 < span.start.line <= len(source):
        return []
    line = source[span.start.line - 1]
    number = shown_number if shown_number is not None else span.start.line
    end = span.end.column if span.end.line == span.start.line else len(line)
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
    """One record per diagnostic. A notebook's records also have `cell` (numbered from 1
    among all cells, as in `path:cell N:line:col`), and their ranges count lines within
    that cell; so do their related locations and fix edits, each with its own `cell`.

    A file whose model was unknown at some sites also gets one record of `"kind":
    "not-checked"` (no rule, severity info, not a finding: the exit code ignores it) with
    the first such site as its range and the counts in `coverage`."""
    records = []
    cells = _cell_maps(results)
    for path, diagnostic, _ in _ordered(results):
        doc = rule_doc(diagnostic.rule)
        record = diagnostic.to_json()
        if path in cells:
            record = _in_cells(record, diagnostic, cells[path])
        records.append({"path": path, **record, "url": doc.url if doc is not None else None})
    for path, coverage, span in _not_checked(results):
        record = {"path": path, "kind": "not-checked", "rule": None, "name": "not-checked",
                  "severity": "info", "message": file_message(coverage),
                  "range": span.to_json(), "related": [], "fixes": [], "url": None,
                  "coverage": {"sites": coverage.sites, "checked": coverage.checked}}
        if path in cells:
            cell, _ = cells[path].locate(span.start.line)
            record = {"cell": cell, **record, "range": _cell_span(span, cell, cells[path])}
        records.append(record)
    return records


def _not_checked(results: list[FileResult]) -> list[tuple[str, Coverage, Span]]:
    """Files with sites where the model was unknown, by path, with the first such site."""
    found = []
    for result in sorted(results, key=lambda r: r.path):
        coverage = result.coverage
        if coverage is not None and coverage.unchecked():
            found.append((result.path, coverage,
                          coverage.first_unchecked or Span.of(1, 0, 1, 0)))
    return found


def _cell_span(span: Span, cell: int, cells: CellMap) -> dict[str, Any]:
    doc = span.to_json()
    doc["start"]["line"] = cells.local(span.start.line, cell)
    doc["end"]["line"] = cells.local(span.end.line, cell)
    return doc


def _cell_local(d: Diagnostic, cells: CellMap | None) -> Diagnostic:
    """For formats without cells (github, sarif): a notebook's diagnostic with its lines
    counted within its cell and the cell named in its message (`cell 4: ...`)."""
    if cells is None:
        return d

    def local(span: Span) -> tuple[int, Span]:
        cell, line = cells.locate(span.start.line)
        return cell, Span.of(line, span.start.column, cells.local(span.end.line, cell),
                             span.end.column)

    cell, span = local(d.span)
    related = []
    for r in d.related:
        where, within = local(r.span)
        related.append(replace(r, span=within, message=f"cell {where}: {r.message}"))
    fixes = tuple(replace(f, edits=tuple(replace(e, span=local(e.span)[1]) for e in f.edits))
                  for f in d.fixes)
    return replace(d, span=span, message=f"cell {cell}: {d.message}", related=tuple(related),
                   fixes=fixes)


def _in_cells(record: dict[str, Any], d: Diagnostic, cells: CellMap) -> dict[str, Any]:
    def where(span: Span) -> dict[str, Any]:
        cell, _ = cells.locate(span.start.line)
        return {"cell": cell, "range": _cell_span(span, cell, cells)}

    main = where(d.span)
    record = {"cell": main["cell"], **record, "range": main["range"]}
    record["related"] = [{**where(r.span), "message": r.message} for r in d.related]
    record["fixes"] = [
        {**doc, "edits": [{**where(e.span), "text": e.text} for e in fix.edits]}
        for doc, fix in zip(record["fixes"], d.fixes, strict=True)]
    return record


def render_json(results: list[FileResult]) -> str:
    return json.dumps(json_records(results), indent=2) + "\n"


def render_json_lines(results: list[FileResult]) -> str:
    """One `render_json` record per line: streamable, and `grep`-able."""
    return "".join(json.dumps(record) + "\n" for record in json_records(results))


# -- github ----------------------------------------------------------------------------

_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(results: list[FileResult]) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the pull
    request's diff and in the run summary."""
    lines = []
    cells = _cell_maps(results)
    for path, d, _ in _ordered(results):
        d = _cell_local(d, cells.get(path))
        start, end = d.span.start, d.span.end
        properties = ",".join([
            f"file={_github_property(path)}", f"line={start.line}", f"col={start.column + 1}",
            f"endLine={end.line}", f"endColumn={end.column + 1}",
            f"title={_github_property(f'{d.rule} {d.name}')}",
        ])
        lines.append(f"::{_GITHUB_LEVEL[d.severity]} {properties}::{_github_data(d.message)}\n")
    for path, coverage, span in _not_checked(results):
        cell = ""
        if path in cells:
            number, line = cells[path].locate(span.start.line)
            span, cell = Span.of(line, span.start.column, line, span.start.column), \
                f"cell {number}: "
        properties = ",".join([f"file={_github_property(path)}", f"line={span.start.line}",
                               f"col={span.start.column + 1}",
                               f"title={_github_property('not checked: model unknown')}"])
        lines.append(f"::notice {properties}::{_github_data(cell + file_message(coverage))}\n")
    return "".join(lines)


def _github_data(text: str) -> str:
    """Escaping of a workflow command's message (GitHub's own toolkit does the same)."""
    return visible(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _github_property(text: str) -> str:
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


# -- sarif -----------------------------------------------------------------------------

SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render_sarif(results: list[FileResult]) -> str:
    """A SARIF 2.1.0 log (GitHub code scanning, Azure DevOps, VS Code's SARIF viewer):
    every rule of the catalog with its documentation, and one result per finding with its
    related locations and fixes. Paths under the working directory are URIs relative to
    %SRCROOT% (GitHub resolves them against the repository root, so run from there);
    columns count code points."""
    docs = sorted(all_rule_docs().values(), key=lambda doc: doc.id)
    index = {doc.id: i for i, doc in enumerate(docs)}
    sarif_results = []
    cells = _cell_maps(results)
    for path, d, _ in _ordered(results):
        d = _cell_local(d, cells.get(path))
        location = _sarif_location(path, d.span)
        result: dict[str, Any] = {
            "ruleId": d.rule,
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message},
            "locations": [location],
        }
        if d.rule in index:
            result["ruleIndex"] = index[d.rule]
        if d.related:
            result["relatedLocations"] = [
                {"id": i, **_sarif_location(path, r.span), "message": {"text": r.message}}
                for i, r in enumerate(d.related)]
        if d.fixes:
            result["fixes"] = [_sarif_fix(path, fix) for fix in d.fixes]
        sarif_results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "freezelint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_sarif_rule(doc) for doc in docs],
            }},
            "columnKind": "unicodeCodePoints",
            "results": sarif_results,
            "invocations": [_sarif_invocation(results)],
            "properties": {"coverage": _coverage_totals(results)},
        }],
    }
    return json.dumps(log, indent=2) + "\n"


def _sarif_invocation(results: list[FileResult]) -> dict[str, Any]:
    """What was not checked, as tool notifications (not results: nothing was found there)."""
    cells = _cell_maps(results)
    notes = []
    for path, coverage, span in _not_checked(results):
        message = file_message(coverage)
        if path in cells:
            number, line = cells[path].locate(span.start.line)
            span, message = Span.of(line, span.start.column, line, span.start.column + 1), \
                f"cell {number}: {message}"
        notes.append({"level": "note", "message": {"text": message},
                      "locations": [_sarif_location(path, span)],
                      "descriptor": {"id": "not-checked"},
                      "properties": {"sites": coverage.sites, "checked": coverage.checked}})
    return {"executionSuccessful": True, "toolExecutionNotifications": notes}


def _coverage_totals(results: list[FileResult]) -> dict[str, Any]:
    sites: dict[str, int] = {}
    checked: dict[str, int] = {}
    for result in results:
        if result.coverage is None:
            continue
        for kind, n in result.coverage.sites.items():
            sites[kind] = sites.get(kind, 0) + n
        for kind, n in result.coverage.checked.items():
            checked[kind] = checked.get(kind, 0) + n
    return {"sites": sites, "checked": checked}


def _sarif_rule(doc: RuleDoc) -> dict[str, Any]:
    """A reportingDescriptor: the summary, what the rule finds and why it matters (as
    plain paragraphs), and the whole rules/*.md text as help."""
    sections = (doc.section("What it does"), doc.section("Why is this bad"))
    full = "\n\n".join(" ".join(paragraph.split()) for part in sections
                        for paragraph in part.split("\n\n") if paragraph.strip())
    return {
        "id": doc.id,
        "name": doc.name,
        "shortDescription": {"text": doc.summary or doc.title},
        "fullDescription": {"text": full or doc.summary or doc.title},
        "help": {"text": doc.body.strip(), "markdown": doc.body.strip()},
        "helpUri": doc.url,
        "defaultConfiguration": {"level": _SARIF_LEVEL[doc.severity]},
        "properties": {"fix": doc.fix},
    }


def _sarif_artifact(path: str) -> dict[str, Any]:
    """A relative URI for a path under the working directory, else a file: URI."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": "%SRCROOT%"}


def _sarif_region(span: Span) -> dict[str, int]:
    return {"startLine": span.start.line, "startColumn": span.start.column + 1,
            "endLine": span.end.line, "endColumn": span.end.column + 1}


def _sarif_location(path: str, span: Span) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": _sarif_artifact(path),
                                 "region": _sarif_region(span)}}


def _sarif_fix(path: str, fix: Fix) -> dict[str, Any]:
    return {
        "description": {"text": _fix_title(fix)},
        "artifactChanges": [{
            "artifactLocation": _sarif_artifact(path),
            "replacements": [{"deletedRegion": _sarif_region(edit.span),
                              "insertedContent": {"text": edit.text}}
                             for edit in fix.edits],
        }],
    }


# -- statistics ------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistic:
    code: str
    name: str
    count: int
    fixable: int  # how many of them --fix would repair (with --unsafe-fixes: unsafe too)


def statistics(results: list[FileResult], unsafe: bool = False) -> list[Statistic]:
    """Findings counted per rule, most frequent first."""
    counts: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for result in results:
        for d in result.diagnostics:
            entry = counts.setdefault(d.rule, [0, 0])
            entry[0] += 1
            entry[1] += any(f.safety is Safety.SAFE or unsafe for f in d.fixes)
            names[d.rule] = d.name
    rows = [Statistic(code, names[code], count, fixable)
            for code, (count, fixable) in counts.items()]
    return sorted(rows, key=lambda s: (-s.count, s.code))


def render_statistics(results: list[FileResult], unsafe: bool = False,
                      as_json: bool = False) -> str:
    """Ruff's `--statistics` table: count, code, `[*]` when --fix repairs every finding of
    the rule (`[-]` some of them, `[ ]` none), name."""
    rows = statistics(results, unsafe)
    if as_json:
        return json.dumps([{"code": s.code, "name": s.name, "count": s.count,
                            "fixable": s.fixable == s.count} for s in rows], indent=2) + "\n"
    if not rows:
        return ""
    count_width = max(len(str(s.count)) for s in rows)
    code_width = max(len(s.code) for s in rows)
    lines = []
    for s in rows:
        marker = "[*]" if s.fixable == s.count else "[-]" if s.fixable else "[ ]"
        lines.append(f"{s.count:>{count_width}}\t{s.code:<{code_width}}\t{marker} {s.name}\n")
    return "".join(lines)


def coverage_statistics(results: list[FileResult]) -> str:
    """With --statistics: at how many sites the model was known (stderr, like the summary:
    the table on stdout keeps Ruff's shape)."""
    coverages = [r.coverage for r in results if r.coverage is not None]
    return statistics_line(coverages) if any(c.total for c in coverages) else ""


# -- summary ---------------------------------------------------------------------------


def summary(results: list[FileResult], unreadable: int = 0) -> str:
    """One line for stderr after a text report, like Ruff's: how many problems and how many
    of them `--fix` / `--unsafe-fixes` would repair."""
    diagnostics = [d for r in results for d in r.diagnostics]
    skipped = ""
    if unreadable:
        skipped = f"{_count(unreadable, 'file')} could not be checked"
    unchecked = summary_line(r.coverage for r in results if r.coverage is not None)
    if unchecked:
        skipped = f"{skipped}; {unchecked}" if skipped else unchecked
    if not diagnostics:
        if unchecked and not unreadable:
            return f"No problems found; {unchecked}."
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

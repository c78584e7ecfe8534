"""Jupyter notebooks as source: code cells -> one lintable text, and back again.

A notebook is linted as one program, because the freeze loop in one cell and the optimizer
in another is the common case. But notebooks hold things that are not Python: IPython
magics (`%time`, `!pip`), help syntax (`x?`) and cells that are simply unfinished. One such
cell must not hide the diagnostics of all the others, so when the joined text does not parse:

1. magic, shell and help lines are blanked out, with the lines a trailing backslash
   continues (`!pip install a` + backslash, then `    b`); one that sits in an indented block becomes
   `pass` at its indentation instead, so that `if x:` + `    %pip install y` keeps a body;
2. if it still does not parse, the chunk holding the syntax error (a cell, or whatever
   chunks the caller passes) is blanked out and reported once as FZL000, and this repeats
   until the rest parses.

Blanking keeps every line where it was, so positions need no remapping and the code before
and after a skipped cell still flows into each other. Plain scripts get none of this: a
syntax error in a `.py` file is reported by `lint` as it is.

The language server (VS Code's notebook cells) and the CLI (`.ipynb` files) share this
module; it sits with `source`, before parsing, and imports neither libcst nor the linter.
For files it also reads the notebook JSON and writes it back with only the fixed source
lines changed: every other byte (outputs, metadata, key order, indentation, the final
newline) is reproduced exactly, or the notebook is not written at all.
"""

from __future__ import annotations

import ast
import codecs
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from freezelint.common.diagnostics import Diagnostic, Severity, Span
from freezelint.inputs.source import SourceError

# -- lines -------------------------------------------------------------------------------

# LSP and libcst split lines on the same three sequences (str.splitlines also splits on
# form feeds and other separators, which would shift every line after them).
NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines without their endings; a final newline gives a final empty line, as in LSP."""
    return NEWLINE.split(text)


def split_keep_ends(text: str) -> list[str]:
    """Lines with their endings, so that joining them gives `text` back byte for byte."""
    lines: list[str] = []
    start = 0
    for match in NEWLINE.finditer(text):
        lines.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


@dataclass(frozen=True)
class Segment:
    """The lines [start, end) of the linted text (0-based) are the document `uri`.

    `terminated` is False when the document does not end with a newline but one was added
    to join it with the next cell: an edit reaching its end must not add that newline."""

    uri: str
    version: int | None
    start: int
    end: int
    terminated: bool = True


# -- cells -> one text --------------------------------------------------------------------

_LINE_MAGIC = re.compile(r"^\s*[%!]")
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.]+(\s*,\s*[\w.]+)*\s*=\s*[%!]")
_HELP = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.\[\]()'\"]+\?{1,2})\s*$")
_CELL_MAGIC = re.compile(r"^\s*%%(\w+)")
# Cell magics whose body is ordinary Python; any other cell magic (%%bash, %%writefile)
# makes the whole cell foreign text.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})


@dataclass(frozen=True)
class Part:
    """One document: a script, a notebook cell, or JupyterLab's notebook text."""

    uri: str
    version: int | None
    text: str


@dataclass(frozen=True)
class Prepared:
    """The text to lint, where its lines came from, and what had to be left out."""

    text: str
    lines: tuple[str, ...]  # the documents' own lines, before any blanking
    segments: tuple[Segment, ...]
    blanked: frozenset[int]  # 0-based lines emptied for the linter
    skipped: tuple[Diagnostic, ...]  # one FZL000 per chunk left out
    # Of `blanked`: indented magic lines, which read as `pass` at their indentation.
    stubs: frozenset[int] = frozenset()


def prepare_script(part: Part) -> Prepared:
    """A `.py` document is linted exactly as it is (fixes must match the CLI's)."""
    lines = tuple(split_lines(part.text))
    return Prepared(part.text, lines, (Segment(part.uri, part.version, 0, len(lines)),),
                    frozenset(), ())


def prepare_cells(cells: Sequence[Part]) -> Prepared:
    """Code cells in order, one segment per cell. A cell that does not parse is left out as
    a whole. A cell without a final newline gets one to join it with the next."""
    physical, segments = join_cells(cells)
    chunks = [(s.start, s.end) for s in segments if s.end > s.start]
    return prepare_lines(physical, segments, chunks, cell_magics=True)


def join_cells(cells: Sequence[Part]) -> tuple[list[str], tuple[Segment, ...]]:
    """The cells' lines (with endings) one after the other, and where each cell is."""
    physical: list[str] = []
    segments: list[Segment] = []
    for cell in cells:
        cell_lines = split_keep_ends(cell.text)
        terminated = not cell_lines or cell_lines[-1].endswith(("\n", "\r"))
        if not terminated:
            cell_lines[-1] += "\n"
        segments.append(Segment(cell.uri, cell.version, len(physical),
                                len(physical) + len(cell_lines), terminated))
        physical.extend(cell_lines)
    return physical, tuple(segments)


def prepare_lines(physical: list[str], segments: tuple[Segment, ...],
                  chunks: list[tuple[int, int]], cell_magics: bool) -> Prepared:
    """Blank magics, then unparsable chunks, until `physical` parses (see the module doc).
    `cell_magics`: the chunks are cells, whose first line may be a `%%` cell magic."""
    original = tuple(line.rstrip("\r\n") for line in physical)
    text = "".join(physical)
    if syntax_error(text) is None:
        return Prepared(text, _editor_lines(original, segments), segments, frozenset(), ())
    blanked: set[int] = set()
    stubs: set[int] = set()
    for index, first in _magic_lines(original, chunks if cell_magics else []):
        blanked.add(index)
        if first and original[index][:1].isspace():
            stubs.add(index)
    skipped = _skip_unparsable(physical, chunks, blanked, stubs)
    return Prepared(_blank(physical, blanked, stubs), _editor_lines(original, segments),
                    segments, frozenset(blanked), tuple(skipped), frozenset(stubs & blanked))


def _editor_lines(original: tuple[str, ...], segments: tuple[Segment, ...]) -> tuple[str, ...]:
    """Pad so that a position on the last (empty) line of a document still has a line."""
    end = max((s.end for s in segments), default=0)
    return original + ("",) * max(end - len(original), 0)


def _magic_lines(lines: tuple[str, ...], cells: list[tuple[int, int]]
                 ) -> list[tuple[int, bool]]:
    """Lines that are not Python, each with whether it starts a magic (a line a backslash
    continues does not: it must not become a statement of its own)."""
    found: list[tuple[int, bool]] = []
    for start, end in cells:
        first = next((i for i in range(start, end) if lines[i].strip()), None)
        match = _CELL_MAGIC.match(lines[first]) if first is not None else None
        if match is not None and first is not None:
            found.extend([(first, False)] if match.group(1) in _PYTHON_CELL_MAGICS
                         else ((i, False) for i in range(start, end)))
    ends = {end for _, end in cells}
    index = 0
    while index < len(lines):
        line = lines[index]
        if _LINE_MAGIC.match(line) or _ASSIGNED_MAGIC.match(line) or _HELP.match(line):
            found.append((index, True))
            # IPython joins a magic's lines ended by a backslash (within its cell).
            while lines[index].endswith("\\") and index + 1 < len(lines) \
                    and index + 1 not in ends:
                index += 1
                found.append((index, False))
        index += 1
    return found


def _skip_unparsable(physical: list[str], chunks: list[tuple[int, int]],
                     blanked: set[int], stubs: set[int]) -> list[Diagnostic]:
    """Blank out the chunk holding each syntax error until the text parses; one FZL000 per
    chunk. Gives up (leaving `lint` to report the error) if an error lies outside every
    chunk, which bounds the loop by the number of chunks.

    Python reports a block left without a body (`if x:` ending a cell) at the next line it
    reads, which may be the next cell's; its message names the opening line, and that line
    is the error's. Line numbers in messages count within the cell, as the report does."""
    skipped: list[Diagnostic] = []
    done: set[tuple[int, int]] = set()
    for _ in range(len(chunks) + 1):
        error = syntax_error(_blank(physical, blanked, stubs))
        if error is None or error.lineno is None:
            break
        line = error.lineno - 1
        column = max((error.offset or 1) - 1, 0)
        opened = _OPENED_ON.search(error.msg or "")
        if opened is not None and "indented block" in error.msg:
            line = int(opened.group(1)) - 1
            column = len(physical[line]) - len(physical[line].lstrip())
        chunk = _chunk_at(chunks, line, done, physical, blanked)
        if chunk is None:
            break
        done.add(chunk)
        if not chunk[0] <= line < chunk[1]:
            line, column = chunk[0], 0
        message = _OPENED_ON.sub(lambda m, at=chunk: _within(at, int(m.group(1))),  # type: ignore[misc]
                                 error.msg or "")
        skipped.append(Diagnostic(
            "FZL000", "syntax-error", Severity.ERROR,
            f"syntax error: {message}; this cell is skipped, the others are still checked",
            Span.of(line + 1, column, line + 1, column + 1)))
        blanked.update(range(*chunk))
    return skipped


_OPENED_ON = re.compile(r"on line (\d+)")


def _within(chunk: tuple[int, int], line: int) -> str:
    """`on line N` of the joined text, counted within the chunk (cell) when it is there."""
    if chunk[0] < line <= chunk[1]:
        return f"on line {line - chunk[0]}"
    return "in an earlier cell" if line <= chunk[0] else "in a later cell"


def _chunk_at(chunks: list[tuple[int, int]], line: int, done: set[tuple[int, int]],
              physical: list[str], blanked: set[int]) -> tuple[int, int] | None:
    """The chunk holding `line`, else the last one before it that still has code (Python
    reports an unclosed bracket or block where the file ends)."""
    for chunk in chunks:
        if chunk[0] <= line < chunk[1] and chunk not in done:
            return chunk
    candidates = [c for c in chunks if c[0] <= line and c not in done
                  and any(physical[i].strip() and i not in blanked for i in range(*c))]
    return candidates[-1] if candidates else None


def _blank(physical: list[str], blanked: set[int], stubs: set[int] | frozenset[int] = frozenset()
           ) -> str:
    if not blanked:
        return "".join(physical)
    return "".join((_stub(line) if index in stubs else line[len(line.rstrip("\r\n")):])
                   if index in blanked else line for index, line in enumerate(physical))


def _stub(line: str) -> str:
    """An indented magic as `pass` at its indentation, with the line's own ending."""
    content = line.rstrip("\r\n")
    return content[:len(content) - len(content.lstrip())] + "pass" + line[len(content):]


def syntax_error(text: str) -> SyntaxError | None:
    """Python's own parser (fast, and it points at the right line); top-level `await` is
    allowed because notebooks run it."""
    try:
        compile(text, "<notebook>", "exec", dont_inherit=True,
                flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as error:
        return error
    except (ValueError, OverflowError, RecursionError, MemoryError):
        return None  # not a located syntax error: lint reports what it can
    return None


# -- one text -> cells again, for fixes ---------------------------------------------------


@dataclass(frozen=True)
class Editable:
    """The code cells as one Python text that `fix_text` can edit and that splits back into
    cells: a marker comment line starts each cell, and every line blanked for the linter
    (magics, skipped cells) is a numbered marker that is put back afterwards. Comments
    change nothing the linter sees, and a marker that a fix moved or damaged is noticed
    (`split` returns None) instead of being written into a cell."""

    text: str
    marker: str
    kept: tuple[str, ...]  # the original text (with its ending) of each hidden line
    terminated: tuple[bool, ...]  # per cell: False when a newline was added to join it

    def split(self, fixed: str) -> list[str] | None:
        """The cells' sources in `fixed` (a result of editing `text`), or None when the
        markers are no longer where they were."""
        cells: list[list[str]] = []
        kept = 0
        for line in split_keep_ends(fixed):
            content = line.rstrip("\r\n")
            if content == f"#{self.marker} cell":
                cells.append([])
            elif content.strip() in (f"#{self.marker} keep {kept}",
                                     f"pass  #{self.marker} keep {kept}") and cells:
                cells[-1].append(self.kept[kept])
                kept += 1
            elif self.marker in line or not cells:
                return None
            else:
                cells[-1].append(line)
        if len(cells) != len(self.terminated) or kept != len(self.kept):
            return None
        sources = []
        for lines, terminated in zip(cells, self.terminated, strict=True):
            text = "".join(lines)
            if not terminated and text.endswith("\n"):
                text = text[:-1]
            sources.append(text)
        return sources


def editable(prepared: Prepared) -> Editable:
    """Mark `prepared` (from `prepare_cells`) for fixing; see Editable."""
    marker = "freezelint-" + secrets.token_hex(6)
    physical = split_keep_ends(prepared.text)
    out: list[str] = []
    kept: list[str] = []
    for segment in prepared.segments:
        out.append(f"#{marker} cell\n")
        for index in range(segment.start, segment.end):
            line = physical[index]
            if index in prepared.blanked:
                ending = line[len(line.rstrip("\r\n")):]
                # A stub keeps its `pass`, so that the block around it still parses.
                stub = _stub(line).rstrip("\r\n") + "  " if index in prepared.stubs else ""
                out.append(f"{stub}#{marker} keep {len(kept)}{ending}")
                kept.append(prepared.lines[index] + ending)
            else:
                out.append(line)
    return Editable("".join(out), marker, tuple(kept),
                    tuple(s.terminated for s in prepared.segments))


# -- .ipynb files -------------------------------------------------------------------------

SUFFIX = ".ipynb"


class NotebookError(SourceError):
    """An `.ipynb` file that is not a notebook freezelint can read (or write back)."""


def is_notebook(path: str | Path) -> bool:
    return str(path).lower().endswith(SUFFIX)


@dataclass(frozen=True)
class CellMap:
    """Which lines of a notebook's linted text belong to which code cell.

    Cells are numbered from 1 among *all* cells, markdown included, as Ruff reports them
    (`nb.ipynb:cell 3:2:5`): the number is the cell's position in the notebook, counted
    the way a reader scrolling through it counts. Lines are 1-based; `starts[i]` is the
    first line of code cell i in the linted text, and `ends[i]` the line after its last."""

    numbers: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    sources: tuple[str, ...]

    def cell_at(self, line: int) -> int:
        """The index (among code cells) of the cell holding 1-based `line`; a line past the
        end belongs to the last cell with lines."""
        last = 0
        for index, (start, end) in enumerate(zip(self.starts, self.ends, strict=True)):
            if start <= line < end:
                return index
            if end > start and start <= line:
                last = index
        return last

    def locate(self, line: int) -> tuple[int, int]:
        """1-based `line` of the linted text -> (cell number, 1-based line in that cell)."""
        index = self.cell_at(line)
        return self.numbers[index], line - self.starts[index] + 1

    def local(self, line: int, cell_number: int) -> int:
        """`line` counted from the start of cell `cell_number` (for the end of a span that
        started in that cell)."""
        index = self.numbers.index(cell_number)
        return line - self.starts[index] + 1


@dataclass(frozen=True)
class JsonLayout:
    """How the file's JSON was written, found by writing it again until the bytes match."""

    indent: int | str | None
    separators: tuple[str, str]
    ensure_ascii: bool
    newline: str
    tail: str  # whatever follows the closing brace (usually "\n")

    def dumps(self, doc: Any) -> str:
        text = json.dumps(doc, indent=self.indent, separators=self.separators,
                          ensure_ascii=self.ensure_ascii)
        if self.newline != "\n":
            text = text.replace("\n", self.newline)  # strings escape their own newlines
        return text + self.tail


@dataclass(frozen=True)
class Notebook:
    """A parsed `.ipynb` file: the JSON document and its code cells' sources."""

    doc: dict[str, Any]
    code_cells: tuple[int, ...]  # indices into doc["cells"] of the cells linted
    sources: tuple[str, ...]  # their source text, in that order
    python: bool  # False for another kernel's notebook (R, Julia): nothing to lint
    layout: JsonLayout | None  # None: the file's formatting cannot be reproduced
    bom: bool

    @property
    def encoding(self) -> str:
        return "utf-8-sig" if self.bom else "utf-8"

    def parts(self) -> list[Part]:
        return [Part(str(index + 1), None, source)
                for index, source in zip(self.code_cells, self.sources, strict=True)]

    def prepare(self) -> Prepared:
        return prepare_cells(self.parts())

    @property
    def cells(self) -> CellMap:
        _, segments = join_cells(self.parts())
        return CellMap(tuple(i + 1 for i in self.code_cells),
                       tuple(s.start + 1 for s in segments), tuple(s.end + 1 for s in segments),
                       self.sources)

    @property
    def text(self) -> str:
        """The code cells joined (what code frames and diffs show), before any blanking."""
        physical, _ = join_cells(self.parts())
        return "".join(physical)

    def with_sources(self, sources: Sequence[str]) -> Notebook:
        """A copy whose code cells hold `sources`. A changed cell's source keeps its form
        (a list of lines, each with its newline, or one string); unchanged cells, outputs
        and metadata are the very same objects."""
        cells = list(self.doc["cells"])
        for index, old, new in zip(self.code_cells, self.sources, sources, strict=True):
            if new != old:
                cell = dict(cells[index])
                cell["source"] = split_keep_ends(new) if isinstance(cell["source"], list) else new
                cells[index] = cell
        return replace(self, doc={**self.doc, "cells": cells}, sources=tuple(sources))

    def dumps(self) -> str:
        """The file's text, in the layout it was read with."""
        if self.layout is None:
            raise NotebookError(
                "cannot write the fixes back: the notebook's JSON layout is not one freezelint "
                "can reproduce byte for byte (saving it once from Jupyter makes it so); "
                "nothing was written")
        return self.layout.dumps(self.doc)


def read_notebook(data: bytes) -> Notebook:
    """Parse the bytes of an `.ipynb` file, or raise NotebookError saying why not."""
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotebookError(f"not a Jupyter notebook: not valid UTF-8 (byte "
                            f"0x{data[error.start]:02x} at offset {error.start})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a Jupyter notebook: invalid JSON ({error.msg} at line "
                            f"{error.lineno} column {error.colno})") from None
    except RecursionError:
        raise NotebookError("not a Jupyter notebook: JSON nested too deeply") from None
    version = doc.get("nbformat") if isinstance(doc, dict) else None
    old_format = isinstance(version, int) and version < 4
    if old_format or (isinstance(doc, dict) and "worksheets" in doc):
        raise NotebookError(f"unsupported notebook format (nbformat {version!r}): freezelint "
                            "reads nbformat 4; upgrade it with `jupyter nbconvert --to "
                            "notebook --nbformat 4 --inplace`")
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise NotebookError("not a Jupyter notebook: the JSON has no \"cells\" list")
    if not isinstance(version, int) or version < 4:
        raise NotebookError(f"unsupported notebook format (nbformat {version!r}); freezelint "
                            "reads nbformat 4 (jupyter nbconvert --to notebook upgrades it)")
    code_cells: list[int] = []
    sources: list[str] = []
    for index, cell in enumerate(doc["cells"]):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"not a Jupyter notebook: cell {index + 1} has no cell_type")
        if cell["cell_type"] != "code":
            continue
        source = cell.get("source")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotebookError(f"not a Jupyter notebook: cell {index + 1} has no source text")
        code_cells.append(index)
        sources.append(source)
    return Notebook(doc, tuple(code_cells), tuple(sources), _is_python(doc),
                    _layout(text, doc), bom)


def _is_python(doc: dict[str, Any]) -> bool:
    """Only a notebook whose kernel says another language is skipped (as Ruff does); one
    without metadata is taken for Python."""
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        info = metadata.get(key)
        if isinstance(info, dict) and isinstance(info.get(field), str):
            return info[field].lower() == "python"
    return True


def _layout(text: str, doc: Any) -> JsonLayout | None:
    """The json.dumps arguments that write `doc` back as exactly `text`: Jupyter's own
    (indent 1, ensure_ascii False) and the usual alternatives, tried in turn. Key order
    needs nothing: json keeps the file's order."""
    body = text.rstrip()
    tail = text[len(body):]
    newline = "\r\n" if "\r\n" in body else "\n"
    lines = body.split(newline, 2)
    indents: list[int | str | None] = [None]
    if len(lines) > 1:
        second = lines[1]
        whitespace = second[:len(second) - len(second.lstrip(" \t"))]
        indents = [len(whitespace) if set(whitespace) <= {" "} else whitespace]
    for indent in indents:
        options = [(",", ": ")] if indent is not None else [(", ", ": "), (",", ":")]
        for separators in options:
            for ensure_ascii in (False, True):
                layout = JsonLayout(indent, separators, ensure_ascii, newline, tail)
                if layout.dumps(doc) == text:
                    return layout
    return None

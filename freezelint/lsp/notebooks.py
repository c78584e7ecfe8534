"""Turn what the editor holds (a script, VS Code notebook cells, JupyterLab's notebook text)
into one text the linter can parse, and remember where each line came from.

A notebook is linted as one program (the freeze loop in one cell and the optimizer in
another is the common case), but notebooks hold things that are not Python: IPython magics
(`%time`, `!pip`), help syntax (`x?`) and cells that are simply unfinished. One such cell
must not hide the diagnostics of all the others, so when the text does not parse:

1. magic, shell and help lines are blanked out;
2. if it still does not parse, the chunk holding the syntax error (a cell in the VS Code
   form; a blank-line separated block in JupyterLab's single text) is blanked out and
   reported once as FZL000, and this repeats until the rest parses.

Blanking keeps every line where it was, so positions need no remapping and the code before
and after a skipped cell still flows into each other. Plain scripts get none of this: a
syntax error in a `.py` file is reported by `lint` as it is.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from freezelint.diagnostics import Diagnostic, Severity, Span
from freezelint.lsp.text import Segment, split_keep_ends, split_lines

_LINE_MAGIC = re.compile(r"^\s*[%!]")
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.]+(\s*,\s*[\w.]+)*\s*=\s*[%!]")
_HELP = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.\[\]()'\"]+\?{1,2})\s*$")
_CELL_MAGIC = re.compile(r"^\s*%%(\w+)")
# Cell magics whose body is ordinary Python; any other cell magic (%%bash, %%writefile)
# makes the whole cell foreign text.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})


@dataclass(frozen=True)
class Part:
    """One editor document: a script, a notebook cell, or JupyterLab's notebook text."""

    uri: str
    version: int | None
    text: str


@dataclass(frozen=True)
class Prepared:
    """The text to lint, where its lines came from, and what had to be left out."""

    text: str
    lines: tuple[str, ...]  # the editor's lines, before any blanking
    segments: tuple[Segment, ...]
    blanked: frozenset[int]  # 0-based lines emptied for the linter
    skipped: tuple[Diagnostic, ...]  # one FZL000 per chunk left out


def prepare_script(part: Part) -> Prepared:
    """A `.py` document is linted exactly as it is (fixes must match the CLI's)."""
    lines = tuple(split_lines(part.text))
    return Prepared(part.text, lines, (Segment(part.uri, part.version, 0, len(lines)),),
                    frozenset(), ())


def prepare_cells(cells: list[Part]) -> Prepared:
    """VS Code's notebookDocument form: code cells in order, one segment per cell. A cell
    that does not parse is left out as a whole."""
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
    chunks = [(s.start, s.end) for s in segments if s.end > s.start]
    return _robust(physical, tuple(segments), chunks, cell_magics=True)


def prepare_jupyterlab(part: Part) -> Prepared:
    """jupyterlab-lsp's form: one `file:///x.ipynb` document whose text is the code cells
    joined by blank lines, with magics already rewritten to `get_ipython()` calls (valid
    Python) but help syntax such as `x?` left as it is. Chunks are blank-line separated."""
    physical = split_keep_ends(part.text)
    segment = Segment(part.uri, part.version, 0, len(split_lines(part.text)))
    return _robust(physical, (segment,), _blank_separated(physical), cell_magics=False)


def _robust(physical: list[str], segments: tuple[Segment, ...], chunks: list[tuple[int, int]],
            cell_magics: bool) -> Prepared:
    original = tuple(line.rstrip("\r\n") for line in physical)
    text = "".join(physical)
    if syntax_error(text) is None:
        return Prepared(text, _editor_lines(original, segments), segments, frozenset(), ())
    blanked: set[int] = set()
    for index in _magic_lines(original, chunks if cell_magics else []):
        blanked.add(index)
    skipped = _skip_unparsable(physical, chunks, blanked)
    return Prepared(_blank(physical, blanked), _editor_lines(original, segments), segments,
                    frozenset(blanked), tuple(skipped))


def _editor_lines(original: tuple[str, ...], segments: tuple[Segment, ...]) -> tuple[str, ...]:
    """Pad so that a position on the last (empty) line of a document still has a line."""
    end = max((s.end for s in segments), default=0)
    return original + ("",) * max(end - len(original), 0)


def _magic_lines(lines: tuple[str, ...], cells: list[tuple[int, int]]) -> list[int]:
    found: list[int] = []
    for start, end in cells:
        first = next((i for i in range(start, end) if lines[i].strip()), None)
        match = _CELL_MAGIC.match(lines[first]) if first is not None else None
        if match is not None:
            found.extend([first] if match.group(1) in _PYTHON_CELL_MAGICS else range(start, end))
    for index, line in enumerate(lines):
        if _LINE_MAGIC.match(line) or _ASSIGNED_MAGIC.match(line) or _HELP.match(line):
            found.append(index)
    return found


def _blank_separated(physical: list[str]) -> list[tuple[int, int]]:
    chunks: list[tuple[int, int]] = []
    start: int | None = None
    for index, line in enumerate(physical):
        if line.strip():
            if start is None:
                start = index
        elif start is not None:
            chunks.append((start, index))
            start = None
    if start is not None:
        chunks.append((start, len(physical)))
    return chunks


def _skip_unparsable(physical: list[str], chunks: list[tuple[int, int]],
                     blanked: set[int]) -> list[Diagnostic]:
    """Blank out the chunk holding each syntax error until the text parses; one FZL000 per
    chunk. Gives up (leaving `lint` to report the error) if an error lies outside every
    chunk, which bounds the loop by the number of chunks."""
    skipped: list[Diagnostic] = []
    done: set[tuple[int, int]] = set()
    for _ in range(len(chunks) + 1):
        error = syntax_error(_blank(physical, blanked))
        if error is None or error.lineno is None:
            break
        line = error.lineno - 1
        chunk = _chunk_at(chunks, line, done, physical, blanked)
        if chunk is None:
            break
        done.add(chunk)
        if not chunk[0] <= line < chunk[1]:
            line, column = chunk[0], 0
        else:
            column = max((error.offset or 1) - 1, 0)
        skipped.append(Diagnostic(
            "FZL000", "syntax-error", Severity.ERROR,
            f"syntax error: {error.msg}; this cell is skipped, the others are still checked",
            Span.of(line + 1, column, line + 1, column + 1)))
        blanked.update(range(*chunk))
    return skipped


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


def _blank(physical: list[str], blanked: set[int]) -> str:
    if not blanked:
        return "".join(physical)
    return "".join(line[len(line.rstrip("\r\n")):] if index in blanked else line
                   for index, line in enumerate(physical))


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

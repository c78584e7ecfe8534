"""Parsing an editor buffer again after a keystroke, reusing the statements that did not change.

Parsing is most of a lint's cost in the editor (about 90 ms per 1,000 lines), yet a keystroke
changes one top-level statement. Python's own parser (several times faster) says where each
top-level statement ends; the text is cut there into chunks, each chunk is parsed by libcst
once and remembered by its text, and the module is assembled from the chunks' statements.
Whenever anything looks different from what a whole-file parse would give (a chunk that does
not parse alone, chunks that disagree on indentation or newlines), the whole text is parsed
as usual. tests/test_incremental.py checks that lint results are identical either way.

Python's parser itself is not run on the whole text after a keystroke either (~16 ms per
1,000 lines): the new text is compared with a recent one, and only the chunks the edit
touched are cut again, from Python's parse of just their new text. That is the whole
parse's cut whenever that text parses alone and ends at a line end: the chunks before it
end with a complete top-level statement, and the chunks after it start with one (at column
0, and no `else`/`except`... clause, which cannot start a statement), so nothing can join
across the seams. Anything else (the text does not parse alone, an edit that joins two
lines, a `__future__` import, which may change the grammar) cuts the whole text again.
"""

from __future__ import annotations

import ast
import bisect
import threading
from collections import OrderedDict
from typing import Any

import libcst as cst

from freezelint.inputs.nesting import MAX_DEPTH, check_nesting, nesting_depth

MAX_CHUNKS = 4096  # remembered chunks, least recently used first out
# str.splitlines breaks at these too; Python's parser does not, so line numbers would differ.
_ODD_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"


class StatementCache:
    def __init__(self) -> None:
        self._chunks: OrderedDict[str, cst.Module] = OrderedDict()
        self._lock = threading.Lock()
        # Positions inside each remembered statement (analysis/positions.py fills it).
        self.positions: dict[int, tuple[cst.CSTNode, dict[cst.CSTNode, Any]]] = {}
        # The coverage sites and the syntax pass's facts of each remembered statement
        # (engine/sites.py and analysis/syntax.py fill them).
        self.sites: dict[int, tuple[cst.CSTNode, list[Any]]] = {}
        self.syntax: dict[int, tuple[cst.CSTNode, frozenset[type], Any]] = {}
        self.parsed = 0  # chunks parsed (not found in the cache), for tests and benchmarks
        # The cuts of the texts parsed last (one per document being edited, a few at most),
        # newest first: the next text is cut again only where it differs.
        self._cuts: list[Cut] = []
        # The module last assembled from remembered chunks: only its statements live as
        # long as the chunks, so only they may be remembered in the memos above.
        self.last_assembled: cst.Module | None = None

    def statement_lines(self, text: str) -> list[int] | None:
        """The line of each top-level statement as Python's parser counts it (its `lineno`),
        if `text` is the text of one of the last cuts (analysis/positions.py reads them
        instead of parsing the same text again)."""
        for cut in list(self._cuts):
            if cut.text is text:
                return cut.lines()
        return None

    def reuses(self, module: cst.Module) -> bool:
        """Whether `module` was assembled from remembered chunks (not parsed whole), so
        that what is computed per statement may be remembered for its statements."""
        return self.last_assembled is module

    def parse(self, text: str) -> cst.Module:
        """The module for `text`: from remembered chunks where possible. Raises what
        `cst.parse_module(text)` raises when the text does not parse, and TooDeep where
        `inputs.nesting.check_nesting(text)` does (before libcst sees the text).

        The nesting bound of a text is the largest of its top-level statements' (the scan
        starts each one afresh), so only a chunk not seen before is measured; a
        remembered one was measured before it was parsed."""
        cut = self._cut(text)
        if cut is None:
            return _parse_whole(text)
        chunks = cut.chunks
        measure = len(text) >= MAX_DEPTH  # check_nesting's own shortcut
        modules: list[cst.Module] = []
        for chunk in chunks:
            module = self._lookup(chunk)
            if module is None:
                if measure and nesting_depth(chunk)[0] > MAX_DEPTH:
                    return _parse_whole(text)  # raises TooDeep, with the file's line
                try:
                    module = _with_header_folded(cst.parse_module(chunk),
                                                 keep_header=not modules)
                except cst.ParserSyntaxError:
                    return _parse_whole(text)
                self.parsed += 1
                self._store(chunk, module)
            modules.append(module)
        first, last = modules[0], modules[-1]
        styles = {(m.default_indent, m.default_newline) for m in modules if m.body}
        if len(styles) > 1 or any(m.header for m in modules[1:]):
            return cst.parse_module(text)  # every chunk was measured: so is the text
        body = [statement for module in modules for statement in module.body]
        assembled = first.with_changes(body=body, footer=last.footer,
                                       has_trailing_newline=last.has_trailing_newline)
        self.last_assembled = assembled
        return assembled

    def _cut(self, text: str) -> Cut | None:
        """The text's chunks, cut again only where it differs from a recent text."""
        with self._lock:
            recent = list(self._cuts)
        cut = None
        if text and "__future__" not in text and not any(ch in text for ch in _ODD_BREAKS):
            best = max(((_common_ends(c.text, text), c) for c in recent),
                       key=lambda found: found[0][0] + found[0][1], default=None)
            if best is not None:
                cut = best[1].edited(text, *best[0])
        if cut is None:
            cut = Cut.of(text)
        if cut is not None:
            with self._lock:
                self._cuts = [cut, *(c for c in self._cuts if c is not cut)][:_RECENT_CUTS]
        return cut

    def _lookup(self, chunk: str) -> cst.Module | None:
        with self._lock:
            module = self._chunks.get(chunk)
            if module is not None:
                self._chunks.move_to_end(chunk)
            return module

    def _store(self, chunk: str, module: cst.Module) -> None:
        with self._lock:
            self._chunks[chunk] = module
            while len(self._chunks) > MAX_CHUNKS:
                _, evicted = self._chunks.popitem(last=False)
                for statement in evicted.body:
                    self.positions.pop(id(statement), None)
                    self.sites.pop(id(statement), None)
                    self.syntax.pop(id(statement), None)


def _with_header_folded(module: cst.Module, keep_header: bool) -> cst.Module:
    """A chunk after the first starts with the comments and blank lines before its
    statement: alone, libcst makes them the module's header; in the file they are the
    statement's leading lines. Fold them back, once, when the chunk is first parsed."""
    if keep_header or not module.header or not module.body:
        return module
    first = module.body[0]
    folded = first.with_changes(leading_lines=[*module.header, *first.leading_lines])
    return module.with_changes(header=[], body=[folded, *module.body[1:]])


def _parse_whole(text: str) -> cst.Module:
    check_nesting(text)
    return cst.parse_module(text)


_RECENT_CUTS = 4


class Cut:
    """A text cut after each top-level statement's last line (comments and blank lines
    before a statement travel with it), with what Python's parser said of each chunk: how
    many lines it has, and the line of each statement in it (counted from its first)."""

    def __init__(self, text: str, chunks: list[str], sizes: list[int],
                 starts: list[list[int]], trailing: int = 0) -> None:
        self.text = text
        self.chunks = chunks
        self.sizes = sizes
        self.starts = starts
        self.trailing = trailing  # lines after the last statement, in the last chunk

    @classmethod
    def of(cls, text: str) -> Cut | None:
        """The whole text cut from Python's parse of it, or None when its parser says no
        (or there is nothing to cut)."""
        if any(ch in text for ch in _ODD_BREAKS):
            return None  # line breaks Python's parser does not count: parse the whole text
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        if not tree.body:
            return None
        lines = text.splitlines(keepends=True)
        chunks: list[str] = []
        sizes: list[int] = []
        starts: list[list[int]] = []
        start = 0
        body = iter(tree.body)
        statement = next(body, None)
        for end in sorted({s.end_lineno or 0 for s in tree.body}):
            chunks.append("".join(lines[start:end]))
            sizes.append(end - start)
            inside = []
            while statement is not None and (statement.end_lineno or 0) <= end:
                inside.append(statement.lineno - start)
                statement = next(body, None)
            starts.append(inside)
            start = end
        trailing = len(lines) - start
        if trailing:
            chunks[-1] += "".join(lines[start:])
            sizes[-1] += trailing
        return cls(text, chunks, sizes, starts, trailing) if all(chunks) else None

    def lines(self) -> list[int]:
        found: list[int] = []
        offset = 0
        for size, inside in zip(self.sizes, self.starts, strict=True):
            found.extend(offset + line for line in inside)
            offset += size
        return found

    def edited(self, text: str, prefix: int, suffix: int) -> Cut | None:
        """The cut of `text`, which has this cut's text's first `prefix` and last `suffix`
        characters: only the chunks between are cut again. None where that cannot be
        known to equal the whole text's cut (see the module docstring)."""
        old = self.text
        if text == old:
            return Cut(text, self.chunks, self.sizes, self.starts, self.trailing)
        ends: list[int] = []
        total = 0
        for chunk in self.chunks:
            total += len(chunk)
            ends.append(total)
        # The chunks the edit touched, old[prefix:len(old) - suffix]: the one holding its
        # first character (or, for an insertion, the one it is inserted before) to the one
        # holding its last.
        first = _chunk_at(ends, prefix)
        last = _chunk_at(ends, len(old) - suffix - 1) if len(old) - suffix > prefix else first
        last = max(first, last)
        begin = ends[first - 1] if first else 0
        tail = len(old) - ends[last]  # unchanged characters after the last touched chunk
        middle = text[begin:len(text) - tail]
        if not middle:
            return None
        at_end = last == len(self.chunks) - 1
        if not at_end and (middle[-1] not in "\r\n"
                           or (middle[-1] == "\r" and old[ends[last]] == "\n")):
            return None  # the edit joined lines across the seam
        if first and old[begin - 1] == "\r" and middle[0] == "\n":
            return None
        cut = Cut.of(middle)
        if cut is None or (cut.trailing and not at_end):
            return None  # (lines after its last statement belong to the next chunk)
        return Cut(text, [*self.chunks[:first], *cut.chunks, *self.chunks[last + 1:]],
                   [*self.sizes[:first], *cut.sizes, *self.sizes[last + 1:]],
                   [*self.starts[:first], *cut.starts, *self.starts[last + 1:]],
                   cut.trailing if at_end else self.trailing)


def _chunk_at(ends: list[int], offset: int) -> int:
    """The index of the chunk holding character `offset` (the last chunk past the end)."""
    return min(bisect.bisect_right(ends, offset), len(ends) - 1)


def _common_ends(old: str, new: str) -> tuple[int, int]:
    """How many characters `old` and `new` share at their start, and then at their end
    (not counting any of the first ones twice)."""
    low, high = 0, min(len(old), len(new))
    while low < high:  # the longest common prefix, by halving (each test runs in C)
        middle = (low + high + 1) // 2
        if new.startswith(old[:middle]):
            low = middle
        else:
            high = middle - 1
    prefix = low
    low, high = 0, min(len(old), len(new)) - prefix
    while low < high:
        middle = (low + high + 1) // 2
        if new.endswith(old[len(old) - middle:]):
            low = middle
        else:
            high = middle - 1
    return prefix, low

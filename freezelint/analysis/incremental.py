"""Parsing an editor buffer again after a keystroke, reusing the statements that did not change.

Parsing is most of a lint's cost in the editor (about 90 ms per 1,000 lines), yet a keystroke
changes one top-level statement. Python's own parser (several times faster) says where each
top-level statement ends; the text is cut there into chunks, each chunk is parsed by libcst
once and remembered by its text, and the module is assembled from the chunks' statements.
Whenever anything looks different from what a whole-file parse would give (a chunk that does
not parse alone, chunks that disagree on indentation or newlines), the whole text is parsed
as usual. tests/test_incremental.py checks that lint results are identical either way.
"""

from __future__ import annotations

import ast
import threading
from collections import OrderedDict
from typing import Any

import libcst as cst

MAX_CHUNKS = 4096  # remembered chunks, least recently used first out
# str.splitlines breaks at these too; Python's parser does not, so line numbers would differ.
_ODD_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"


class StatementCache:
    def __init__(self) -> None:
        self._chunks: OrderedDict[str, cst.Module] = OrderedDict()
        self._lock = threading.Lock()
        # Positions inside each remembered statement (analysis/positions.py fills it).
        self.positions: dict[int, tuple[cst.CSTNode, dict[cst.CSTNode, Any]]] = {}
        self.parsed = 0  # chunks parsed (not found in the cache), for tests and benchmarks

    def parse(self, text: str) -> cst.Module:
        """The module for `text`: from remembered chunks where possible. Raises what
        `cst.parse_module(text)` raises when the text does not parse."""
        chunks = _chunks(text)
        if chunks is None:
            return cst.parse_module(text)
        modules: list[cst.Module] = []
        for chunk in chunks:
            module = self._lookup(chunk)
            if module is None:
                try:
                    module = _with_header_folded(cst.parse_module(chunk),
                                                 keep_header=not modules)
                except cst.ParserSyntaxError:
                    return cst.parse_module(text)
                self.parsed += 1
                self._store(chunk, module)
            modules.append(module)
        first, last = modules[0], modules[-1]
        styles = {(m.default_indent, m.default_newline) for m in modules if m.body}
        if len(styles) > 1 or any(m.header for m in modules[1:]):
            return cst.parse_module(text)
        body = [statement for module in modules for statement in module.body]
        return first.with_changes(body=body, footer=last.footer,
                                  has_trailing_newline=last.has_trailing_newline)

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


def _with_header_folded(module: cst.Module, keep_header: bool) -> cst.Module:
    """A chunk after the first starts with the comments and blank lines before its
    statement: alone, libcst makes them the module's header; in the file they are the
    statement's leading lines. Fold them back, once, when the chunk is first parsed."""
    if keep_header or not module.header or not module.body:
        return module
    first = module.body[0]
    folded = first.with_changes(leading_lines=[*module.header, *first.leading_lines])
    return module.with_changes(header=[], body=[folded, *module.body[1:]])


def _chunks(text: str) -> list[str] | None:
    """The text cut after each top-level statement's last line (comments and blank lines
    before a statement travel with it), or None when Python's parser says no."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not tree.body:
        return None
    if any(ch in text for ch in _ODD_BREAKS):
        return None  # line breaks Python's parser does not count: parse the whole text
    lines = text.splitlines(keepends=True)
    ends = sorted({statement.end_lineno or 0 for statement in tree.body})
    chunks: list[str] = []
    start = 0
    for end in ends:
        chunks.append("".join(lines[start:end]))
        start = end
    if start < len(lines):
        chunks[-1] += "".join(lines[start:])
    return chunks if all(chunks) else None

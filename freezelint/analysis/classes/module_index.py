"""A project module read one top-level statement at a time, when a name it binds is used.

A script that imports a class or a helper from a project module needs that one definition
(and what it refers to), not the whole file: transformers' `from ..utils import logging`
sits in every file of the package, and building libcst trees of whole modules for it was
most of a cold lint of a large project. Python's own parser (C, several times faster than
libcst) finds each top-level statement's lines and the names it binds; a statement is parsed
with libcst only when one of its names is first looked up (analysis/classes/helpers.py
`LazyNames`), and its tree is kept per file content.

What a statement binds is a superset of what the class reader defines from it (instantiate.py
`define`: imports, functions, classes, constant assignments, and inside `try` and `if`): a
statement it does not define leaves its names unknown, as before.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Iterator, Sequence

import libcst as cst

from freezelint.inputs.nesting import check_nesting
from freezelint.inputs.source import SourceError, python_tree

_MAX_CACHED_STATEMENTS = 4096
_STATEMENTS: dict[tuple[str, int], Sequence[cst.BaseStatement] | None] = {}


class ModuleIndex:
    """The top-level statements of one module's text: their lines and the names they bind."""

    def __init__(self, text: str, digest: str, tree: ast.Module) -> None:
        self.digest = digest
        self._lines = io.StringIO(text, newline="").readlines()  # as the tokenizer counts
        self.spans: list[tuple[int, int]] = []  # 1-based first and last line per chunk
        self.by_name: dict[str, list[int]] = {}
        for stmt in tree.body:
            first = min([stmt.lineno, *(d.lineno for d in _decorators(stmt))])
            last = stmt.end_lineno or stmt.lineno
            if self.spans and first <= self.spans[-1][1]:  # `a = 1; b = 2`: one chunk
                self.spans[-1] = (self.spans[-1][0], max(last, self.spans[-1][1]))
            else:
                self.spans.append((first, last))
            for name in _bound(stmt):
                chunks = self.by_name.setdefault(name, [])
                if not chunks or chunks[-1] != len(self.spans) - 1:
                    chunks.append(len(self.spans) - 1)

    @classmethod
    def of(cls, text: str, digest: str) -> ModuleIndex | None:
        """The index of `text`, None when Python cannot parse it. (Python's parser refuses
        deep nesting with an exception; libcst's native one may crash, so each statement is
        measured before libcst sees it.)"""
        tree = python_tree(text)
        return None if tree is None else cls(text, digest, tree)

    def names(self) -> list[str]:
        return list(self.by_name)

    def statements(self, chunk: int) -> Sequence[cst.BaseStatement]:
        """The libcst statements of chunk `chunk` (parsed once per file content); none when
        libcst cannot parse it."""
        key = (self.digest, chunk)
        if key in _STATEMENTS:
            found = _STATEMENTS.pop(key)
            _STATEMENTS[key] = found  # most recently used last
        else:
            first, last = self.spans[chunk]
            text = "".join(self._lines[first - 1:last])
            try:
                # an imported module is as untrusted as the linted file: never hand the
                # native parser a text it could crash on (inputs/nesting.py raises TooDeep)
                check_nesting(text)
                found = cst.parse_module(text).body
            except (cst.ParserSyntaxError, ValueError, RecursionError, SourceError):
                found = None
            while len(_STATEMENTS) >= _MAX_CACHED_STATEMENTS:
                del _STATEMENTS[next(iter(_STATEMENTS))]  # the least recently used
            _STATEMENTS[key] = found
        return found or ()


def _decorators(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return list(stmt.decorator_list)
    return []


def _bound(stmt: ast.stmt) -> Iterator[str]:
    """The names a top-level statement may bind, in `try`/`if`/`with` bodies too."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield stmt.name
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            yield alias.asname or alias.name.split(".")[0]
    elif isinstance(stmt, ast.ImportFrom):
        for alias in stmt.names:
            if alias.name != "*":
                yield alias.asname or alias.name
    elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    yield node.id
    elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
        for field in ("body", "orelse", "finalbody"):
            for inner in getattr(stmt, field, ()):
                yield from _bound(inner)
        for handler in getattr(stmt, "handlers", ()):
            for inner in handler.body:
                yield from _bound(inner)

"""A project module read one top-level statement at a time, when a name it binds is used.

A script that imports a class or a helper from a project module needs that one definition
(and what it refers to), not the whole file: transformers' `from ..utils import logging`
sits in every file of the package, and building libcst trees of whole modules for it was
most of a cold lint of a large project. Python's own parser (C, several times faster than
libcst) finds each top-level statement's lines and the names it binds; a statement is parsed
with libcst only when one of its names is first looked up (analysis/classes/helpers.py
`LazyNames`), and its tree is kept per file content.

A class is read without its methods' bodies, a function without its body: each is parsed
when it is first run (a lint that looks up transformers' `PreTrainedModel`, 4,000 lines, runs a
handful of its methods; most functions a script imports are never called by the analysis).
The skeleton, bodies replaced by `...`, is what libcst parses; each stubbed function gets a
`DeferredBody` that parses the function's own text on first use. A body libcst
cannot parse (which would have made the whole class unknown) raises `UnreadableBody` there,
and the interpreter treats the call as one into code it cannot see.

What a statement binds is a superset of what the class reader defines from it (instantiate.py
`define`: imports, functions, classes, constant assignments, and inside `try` and `if`): a
statement it does not define leaves its names unknown, as before.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Callable, Iterator, Sequence
from typing import cast, overload

import libcst as cst

from freezelint.analysis.scope import UnreadableBody
from freezelint.inputs.nesting import check_nesting
from freezelint.inputs.source import SourceError, python_tree

_MAX_CACHED_STATEMENTS = 4096
# How a chunk of a project module is parsed: libcst's parser, which a run over many files
# replaces with one that skips each node's validation (cli/batch.py: a tree the parser made
# from a text is valid by construction).
parse_chunk: Callable[[str], cst.Module] = cst.parse_module
_STATEMENTS: dict[tuple[str, int], Sequence[cst.BaseStatement] | None] = {}


# A body shorter than this is parsed with its class or header (a stub saves nothing).
_MIN_DEFERRED_LINES = 4


class DeferredBody(Sequence[cst.BaseStatement]):
    """The statements of a function, parsed from its own text when first iterated. The
    language server lints in worker threads that share these: two may parse the same body
    at once, each to the same statements, and neither sees a half-done one."""

    def __init__(self, text: str) -> None:
        # the function with its decorators: a method at its class's indentation, or a
        # function of the module at none
        self._text = text
        self._statements: Sequence[cst.BaseStatement] | None = None
        self._unreadable = False

    @property
    def size(self) -> int:
        """The length of the function's text, known without parsing it."""
        return len(self._text)

    def _parsed(self) -> Sequence[cst.BaseStatement]:
        statements = self._statements
        if statements is not None:
            return statements
        if self._unreadable:
            raise UnreadableBody
        statements = _function_body(self._text)
        if statements is None:
            self._unreadable = True
            raise UnreadableBody
        self._statements = statements
        return statements

    @overload
    def __getitem__(self, index: int) -> cst.BaseStatement: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[cst.BaseStatement]: ...
    def __getitem__(self, index: int | slice) -> cst.BaseStatement | Sequence[cst.BaseStatement]:
        return self._parsed()[index]

    def __len__(self) -> int:
        return len(self._parsed())

    def __iter__(self) -> Iterator[cst.BaseStatement]:
        return iter(self._parsed())


class ModuleIndex:
    """The top-level statements of one module's text: their lines and the names they bind."""

    def __init__(self, text: str, digest: str, tree: ast.Module) -> None:
        self.digest = digest
        self._lines = io.StringIO(text, newline="").readlines()  # as the tokenizer counts
        self.spans: list[tuple[int, int]] = []  # 1-based first and last line per chunk
        self.by_name: dict[str, list[int]] = {}
        # per class chunk: its methods whose bodies are deferred, as (first line with the
        # decorators, first line of the body, last line), None for one that is not; per
        # function chunk: the function's own
        self.deferred: dict[int, list[tuple[int, int, int] | None]] = {}
        # names bound only by top-level `def` statements without decorators: their value is
        # a function, never a class, (is_function)
        defined: set[str] = set()
        classes: set[str] = set()  # bound by class statements (is_class)
        other: set[str] = set()
        imported: set[str] = set()  # names bound by import statements
        statements: dict[str, int] = {}  # per name, the statements that may bind it
        from_import: dict[str, tuple[str, str]] = {}  # `from .x import y as z`: z -> (.x, y)
        for stmt in tree.body:
            names = list(_bound(stmt))
            for name in set(names):
                statements[name] = statements.get(name, 0) + 1
            if isinstance(stmt, ast.ImportFrom):
                source = "." * stmt.level + (stmt.module or "")
                for alias in stmt.names:
                    if alias.name != "*":
                        from_import[alias.asname or alias.name] = (source, alias.name)
            if type(stmt) is ast.FunctionDef and not stmt.decorator_list:
                defined.update(names)
            elif type(stmt) is ast.ClassDef:
                classes.update(names)
            else:
                other.update(names)
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                imported.update(names)
            first = min([stmt.lineno, *(d.lineno for d in _decorators(stmt))])
            last = stmt.end_lineno or stmt.lineno
            if self.spans and first <= self.spans[-1][1]:  # `a = 1; b = 2`: one chunk
                self.spans[-1] = (self.spans[-1][0], max(last, self.spans[-1][1]))
            else:
                self.spans.append((first, last))
            if isinstance(stmt, ast.ClassDef):
                methods = [self._deferrable(m) for m in stmt.body
                           if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
                if any(methods) and self.spans[-1][0] == first:
                    self.deferred[len(self.spans) - 1] = methods
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = self._deferrable(stmt)
                if function is not None and self.spans[-1][0] == first:
                    self.deferred[len(self.spans) - 1] = [function]
            for name in names:
                chunks = self.by_name.setdefault(name, [])
                if not chunks or chunks[-1] != len(self.spans) - 1:
                    chunks.append(len(self.spans) - 1)
        self._functions = frozenset(defined - other - classes)
        self._classes = frozenset(classes - other - defined)
        self._imported = frozenset(imported)
        # names bound by one `from ... import` statement alone: whatever they are there
        self._reexported = {name: found for name, found in from_import.items()
                            if statements.get(name) == 1}

    def is_function(self, name: str) -> bool:
        """Whether `name` is bound by plain `def` statements only: it is a function (or, when
        its statement cannot be parsed, unknown), so a caller that only asks whether it is a
        class needs none of its statements parsed."""
        return name in self._functions

    def reexported(self, name: str) -> tuple[str, str] | None:
        """Where `name` comes from when the module binds it by one `from ... import`
        statement alone (a package's `__init__` re-exporting its modules' names): the
        module as written there (`.import_utils`) and the name in it."""
        return self._reexported.get(name)

    def is_class(self, name: str) -> bool:
        """Whether `name` is bound by `class` statements only: calling it builds a new
        object (or, when its statement cannot be parsed, an unknown one), never one that
        exists already, which is all a caller asking this needs (branches.discarded_call)."""
        return name in self._classes

    def own_names(self) -> list[str]:
        """The names the module binds other than by importing them: what `from module
        import *` brings that is the module's own (a name it imports, `torch`, `nn`, is the
        script's own import's business)."""
        return [name for name in self.by_name if name not in self._imported]

    @classmethod
    def of(cls, text: str, digest: str) -> ModuleIndex | None:
        """The index of `text`, None when Python cannot parse it. (Python's parser refuses
        deep nesting with an exception; libcst's native one may crash, so each statement is
        measured before libcst sees it.)"""
        tree = python_tree(text, keep=False)
        return None if tree is None else cls(text, digest, tree)

    def names(self) -> list[str]:
        return list(self.by_name)

    def _deferrable(self, method: ast.FunctionDef | ast.AsyncFunctionDef
                    ) -> tuple[int, int, int] | None:
        """The lines of a function (or method) whose body can be stubbed: one that starts
        on a line of its own, after the header, and is long enough to be worth it."""
        body = method.body[0]
        start, last = body.lineno, method.end_lineno or method.lineno
        if start <= method.lineno or last - start + 1 < _MIN_DEFERRED_LINES \
                or _decorators(body):
            return None
        if body.col_offset != len(_indent(self._lines[start - 1])):  # not first on its line
            return None
        first = min([method.lineno, *(d.lineno for d in method.decorator_list)])
        return first, start, last

    def _text(self, chunk: int) -> tuple[str, list[str]]:
        """The text libcst parses for `chunk`, and the texts of its deferred methods (in
        the order of the class's methods; '' for one not deferred)."""
        first, last = self.spans[chunk]
        methods = self.deferred.get(chunk)
        if not methods:
            return "".join(self._lines[first - 1:last]), []
        parts: list[str] = []
        texts: list[str] = []
        at = first
        for method in methods:
            if method is None:
                texts.append("")
                continue
            method_first, start, end = method
            texts.append("".join(self._lines[method_first - 1:end]))
            line = self._lines[start - 1]
            ending = line[len(line.rstrip("\r\n")):] or "\n"
            parts.extend(self._lines[at - 1:start - 1])
            parts.append(_indent(line) + "..." + ending)
            at = end + 1
        parts.extend(self._lines[at - 1:last])
        return "".join(parts), texts

    def statements(self, chunk: int) -> Sequence[cst.BaseStatement]:
        """The libcst statements of chunk `chunk` (parsed once per file content); none when
        libcst cannot parse it."""
        key = (self.digest, chunk)
        if key in _STATEMENTS:
            found = _STATEMENTS.pop(key)
            _STATEMENTS[key] = found  # most recently used last
        else:
            text, deferred = self._text(chunk)
            try:
                # an imported module is as untrusted as the linted file: never hand the
                # native parser a text it could crash on (inputs/nesting.py raises TooDeep)
                check_nesting(text)
                found = parse_chunk(text).body
                if deferred:
                    found = _with_deferred_bodies(found, deferred)
            except (cst.ParserSyntaxError, ValueError, RecursionError, SourceError):
                found = None
            while len(_STATEMENTS) >= _MAX_CACHED_STATEMENTS:
                del _STATEMENTS[next(iter(_STATEMENTS))]  # the least recently used
            _STATEMENTS[key] = found
        return found or ()


def _function_body(text: str) -> Sequence[cst.BaseStatement] | None:
    """The body of the function `text` defines, None when libcst cannot (or must not)
    parse it."""
    try:
        check_nesting(text)
        if text[:1] in (" ", "\t"):  # a method: parsed inside a class
            inner = parse_chunk("class _:\n" + text).body[0]
            function = inner.body.body[0] if isinstance(inner, cst.ClassDef) \
                and isinstance(inner.body, cst.IndentedBlock) else None
        else:
            function = parse_chunk(text).body[0]
    except (cst.ParserSyntaxError, ValueError, RecursionError, SourceError, IndexError):
        return None
    if not isinstance(function, cst.FunctionDef) \
            or not isinstance(function.body, cst.IndentedBlock):
        return None
    return function.body.body


def _deferred(function: cst.CSTNode, text: str) -> cst.CSTNode:
    if text and isinstance(function, cst.FunctionDef) \
            and isinstance(function.body, cst.IndentedBlock):
        return function.with_changes(body=function.body.with_changes(body=DeferredBody(text)))
    return function


def _with_deferred_bodies(statements: Sequence[cst.BaseStatement],
                          texts: list[str]) -> Sequence[cst.BaseStatement]:
    """The class (or function) of a skeleton with each stubbed body deferred to its text."""
    if len(statements) == 1 and isinstance(statements[0], cst.FunctionDef) and len(texts) == 1:
        return [cast(cst.BaseStatement, _deferred(statements[0], texts[0]))]
    if len(statements) != 1 or not isinstance(statements[0], cst.ClassDef) \
            or not isinstance(statements[0].body, cst.IndentedBlock):
        raise ValueError("not a skeleton")  # (cannot happen: Python read one definition)
    klass = statements[0]
    body = list(klass.body.body)
    methods = [i for i, stmt in enumerate(body) if isinstance(stmt, cst.FunctionDef)]
    if len(methods) != len(texts):
        raise ValueError("the skeleton's methods differ from Python's")
    for index, text in zip(methods, texts, strict=True):
        body[index] = _deferred(body[index], text)
    return [klass.with_changes(body=klass.body.with_changes(body=body))]


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t"))]


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

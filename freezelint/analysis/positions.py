"""Line and column of CST nodes, computed only for the top-level statements that need them.

libcst's PositionProvider renders the whole module to count positions: on a 1,000-line
script that is the largest single cost of a lint, and in the editor it is paid on every
keystroke although a finding sits in one or two statements. Here each top-level statement
is rendered on its own (inside a one-statement module that keeps the file's indentation
settings), and its lines are shifted to where Python's parser says the statement starts.
A node the analysis did not place falls back to the whole-module provider. (It calls the
provider's `_gen_impl` directly; tests/test_positions.py compares the result with
MetadataWrapper's on every placed node, so a libcst change cannot go unnoticed.)
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

Relative = tuple[int, int, int, int]  # start line (from the statement's first), column, end


class StatementPositions:
    def __init__(self, module: cst.Module, text: str, owner: dict[cst.CSTNode, int],
                 memo: dict[int, tuple[cst.CSTNode, dict[cst.CSTNode, Relative]]] | None = None,
                 statement_lines: list[int] | None = None) -> None:
        # `memo` keeps each statement's positions relative to its first line, for an editor
        # that reuses unchanged statements between keystrokes (analysis/incremental.py);
        # `statement_lines`: the line of each top-level statement of Python's tree of
        # `text`, where the caller has them already.
        self.memo = memo
        self.statement_lines = statement_lines
        self.module = module
        self.text = text
        self.owner = owner
        self.relative: dict[int, dict[cst.CSTNode, Relative]] = {}
        self.starts: list[int] | None = None
        self.full: object | None = None

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        top = self.owner.get(node)
        if top is not None:
            found = self._statement(top).get(node)
            starts = self.starts
            if found is not None and starts is not None:
                line, column, end_line, end_column = found
                return CodeRange(CodePosition(line + starts[top], column),
                                 CodePosition(end_line + starts[top], end_column))
        return self._whole_module(node)

    def _statement(self, index: int) -> dict[cst.CSTNode, Relative]:
        if index not in self.relative:
            self.relative[index] = {} if self._starts() is None else \
                self._relative(self.module.body[index])
        return self.relative[index]

    def _relative(self, statement: cst.BaseStatement) -> dict[cst.CSTNode, Relative]:
        """Positions inside one statement, lines counted from its first line (0)."""
        remembered = self.memo.get(id(statement)) if self.memo is not None else None
        if remembered is not None and remembered[0] is statement:
            return remembered[1]
        alone = self.module.with_changes(body=[statement], header=[], footer=[])
        # The provider's own pass, without MetadataWrapper's extra visit of the tree.
        provider = PositionProvider()
        provider._gen_impl(alone)
        computed: dict[cst.CSTNode, CodeRange] = provider._computed  # type: ignore[assignment]
        first = computed[statement].start.line
        relative = {node: (r.start.line - first, r.start.column, r.end.line - first,
                           r.end.column)
                    for node, r in computed.items()}
        if self.memo is not None:
            self.memo[id(statement)] = (statement, relative)
        return relative

    def _starts(self) -> list[int] | None:
        """The line each top-level statement's position starts on, from Python's parser:
        the `def`/`class` line for decorated ones (as libcst counts them), a `a; b` line
        counted once. None if the two parsers disagree."""
        if self.starts is None:
            found = self.statement_lines
            if found is None:
                try:
                    found = [s.lineno for s in ast.parse(self.text).body]
                except (SyntaxError, ValueError, RecursionError):
                    return None
            lines: list[int] = []
            body = iter(found)
            for statement in self.module.body:
                first = next(body, None)
                if first is None:
                    return None
                lines.append(first)
                if isinstance(statement, cst.SimpleStatementLine):
                    for _ in statement.body[1:]:
                        next(body, None)
            self.starts = lines
        return self.starts

    def _whole_module(self, node: cst.CSTNode) -> CodeRange:
        if self.full is None:
            self.full = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
                PositionProvider)
        return self.full[node]  # type: ignore[index]

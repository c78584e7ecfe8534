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


class StatementPositions:
    def __init__(self, module: cst.Module, text: str, owner: dict[cst.CSTNode, int]) -> None:
        self.module = module
        self.text = text
        self.owner = owner
        self.ranges: dict[cst.CSTNode, CodeRange] = {}
        self.done: set[int] = set()
        self.starts: list[int] | None = None
        self.full: object | None = None

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        top = self.owner.get(node)
        if top is not None and top not in self.done:
            self._statement(top)
        found = self.ranges.get(node)
        return found if found is not None else self._whole_module(node)

    def _statement(self, index: int) -> None:
        self.done.add(index)
        starts = self._starts()
        if starts is None:
            return
        statement = self.module.body[index]
        alone = self.module.with_changes(body=[statement], header=[], footer=[])
        # The provider's own pass, without MetadataWrapper's extra visit of the tree.
        provider = PositionProvider()
        provider._gen_impl(alone)
        ranges = provider._computed
        shift = starts[index] - ranges[statement].start.line
        for node, code_range in ranges.items():
            self.ranges[node] = CodeRange(
                CodePosition(code_range.start.line + shift, code_range.start.column),
                CodePosition(code_range.end.line + shift, code_range.end.column))

    def _starts(self) -> list[int] | None:
        """The line each top-level statement's position starts on, from Python's parser:
        the `def`/`class` line for decorated ones (as libcst counts them), a `a; b` line
        counted once. None if the two parsers disagree."""
        if self.starts is None:
            try:
                tree = ast.parse(self.text)
            except (SyntaxError, ValueError, RecursionError):
                return None
            lines: list[int] = []
            body = iter(tree.body)
            for statement in self.module.body:
                first = next(body, None)
                if first is None:
                    return None
                lines.append(first.lineno)
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

"""Line and column of CST nodes, computed only for the top-level statements that need them.

libcst's PositionProvider renders the whole module to count positions: on a 1,000-line
script that is the largest single cost of a lint, and in the editor it is paid on every
keystroke although a finding sits in one or two statements. Here each top-level statement
is rendered on its own (inside a one-statement module that keeps the file's indentation
settings), and its lines are shifted to where Python's parser says the statement starts.
A node the analysis did not place falls back to the whole-module provider. (It calls the
provider's `_gen_impl` directly; tests/test_positions.py compares the result with
MetadataWrapper's on every placed node, so a libcst change cannot go unnoticed.)

A top-level statement of more than `LARGE_STATEMENT` lines (a library's 5,000-line class) is
not rendered whole for one node: only the statements on the way down to the innermost one
that holds the node, each with its other blocks reduced to `pass`, so the node keeps its
indentation; that statement's line comes from Python's tree, found by the same path. A lint
that keeps no positions between runs (the command line: a finding or two per file, and the
first site not checked) takes that way from `ONE_OFF_STATEMENT` lines: a 100-line function was
rendered whole to place one literal. An editor keeps each statement's positions between
keystrokes (`memo`), so there a statement is rendered whole once.
"""

from __future__ import annotations

import ast
import itertools

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from freezelint.analysis.walk import children
from freezelint.inputs.source import python_tree

Relative = tuple[int, int, int, int]  # start line (from the statement's first), column, end
LARGE_STATEMENT = 300  # lines
ONE_OFF_STATEMENT = 20  # lines, without a memo
_PASS = cst.SimpleStatementLine([cst.Pass()])


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
            if top not in self.relative and self._large(top):
                nested = self._in_large_statement(top, node)
                if nested is not None:
                    return nested
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
                tree = self._tree()
                if tree is None:
                    return None
                found = [s.lineno for s in tree.body]
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

    def _tree(self) -> ast.Module | None:
        """Python's tree of the text (one parse per lint: inputs/source.py keeps it)."""
        return python_tree(self.text)

    def _large(self, top: int) -> bool:
        starts = self._starts()
        if starts is None:
            return False
        end = starts[top + 1] if top + 1 < len(starts) else self.text.count("\n") + 1
        return end - starts[top] > (LARGE_STATEMENT if self.memo is not None
                                    else ONE_OFF_STATEMENT)

    def _in_large_statement(self, top: int, node: cst.CSTNode) -> CodeRange | None:
        """`node`'s range, rendering only the way down to the innermost statement around it
        (None when that way cannot be followed: the caller renders the whole statement)."""
        chain = _chain(self.module.body[top], node)
        if chain is None or len(chain) < 2:
            return None
        line = self._python_line(top, chain)
        if line is None:
            return None
        innermost = chain[-1]
        pruned: cst.CSTNode = innermost
        for inner, outer in itertools.pairwise(reversed(chain)):
            reduced = _keep_only(outer, inner, pruned)
            if reduced is None:
                return None
            pruned = reduced
        alone = self.module.with_changes(body=[pruned], header=[], footer=[])
        provider = PositionProvider()
        provider._gen_impl(alone)
        computed: dict[cst.CSTNode, CodeRange] = provider._computed  # type: ignore[assignment]
        if innermost not in computed or node not in computed:
            return None
        first = computed[innermost].start.line
        found = computed[node]
        return CodeRange(CodePosition(found.start.line - first + line, found.start.column),
                         CodePosition(found.end.line - first + line, found.end.column))

    def _python_line(self, top: int, chain: tuple[cst.CSTNode, ...]) -> int | None:
        """The line Python's tree gives the innermost statement of `chain`, followed down the
        same bodies (a libcst statement line holds several of Python's statements)."""
        tree = self._tree()
        if tree is None:
            return None
        index = sum(len(s.body) if isinstance(s, cst.SimpleStatementLine) else 1
                    for s in self.module.body[:top])
        if index >= len(tree.body):
            return None
        found: ast.AST = tree.body[index]
        for outer, inner in itertools.pairwise(chain):
            step = _python_child(outer, inner, found)
            if step is None:
                return None
            found = step
        line = getattr(found, "lineno", None)
        return line if isinstance(line, int) else None

    def _whole_module(self, node: cst.CSTNode) -> CodeRange:
        if self.full is None:
            self.full = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
                PositionProvider)
        return self.full[node]  # type: ignore[index]


def _chain(root: cst.CSTNode, target: cst.CSTNode) -> tuple[cst.CSTNode, ...] | None:
    """The statements from `root` down to the innermost one holding `target`."""
    stack: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = [(root, (root,))]
    while stack:
        current, path = stack.pop()
        if current is target:
            return path
        for child in children(current):
            stack.append((child, (*path, child) if isinstance(child, cst.BaseStatement)
                          else path))
    return None


def _blocks(statement: cst.CSTNode) -> list[tuple[str, cst.CSTNode]]:
    """The statement's own indented blocks, by field (an `elif` is its own statement)."""
    found: list[tuple[str, cst.CSTNode]] = []
    for field in ("body", "orelse", "finalbody"):
        value = getattr(statement, field, None)
        if isinstance(value, cst.IndentedBlock):
            found.append((field, value))
        elif isinstance(value, (cst.Else, cst.Finally)) and isinstance(value.body,
                                                                        cst.IndentedBlock):
            found.append((field, value.body))
    for index, handler in enumerate(getattr(statement, "handlers", ())):
        if isinstance(handler.body, cst.IndentedBlock):
            found.append((f"handlers.{index}", handler.body))
    return found


def _keep_only(outer: cst.CSTNode, inner: cst.CSTNode,
               replacement: cst.CSTNode) -> cst.CSTNode | None:
    """`outer` with `inner` (one of its statements, or its `elif`) replaced by `replacement`
    and every other block reduced to `pass`; None for a statement of another shape."""
    if isinstance(outer, cst.If) and outer.orelse is inner:
        body = outer.body.with_changes(body=[_PASS]) \
            if isinstance(outer.body, cst.IndentedBlock) else outer.body
        return outer.with_changes(body=body, orelse=replacement)
    changes: dict[str, object] = {}
    kept = False
    for field, block in _blocks(outer):
        assert isinstance(block, cst.IndentedBlock)
        if any(s is inner for s in block.body):
            new_block = block.with_changes(body=[replacement])
            kept = True
        else:
            new_block = block.with_changes(body=[_PASS])
        if field.startswith("handlers."):
            index = int(field.partition(".")[2])
            handlers = list(changes.get("handlers", getattr(outer, "handlers", ())))  # type: ignore[call-overload]
            handlers[index] = handlers[index].with_changes(body=new_block)
            changes["handlers"] = handlers
        elif field == "body":
            changes["body"] = new_block
        else:
            wrapper = getattr(outer, field)
            changes[field] = wrapper.with_changes(body=new_block)
    if not kept:
        return None
    return outer.with_changes(**changes)


def _python_child(outer: cst.CSTNode, inner: cst.CSTNode, found: ast.AST) -> ast.AST | None:
    """Python's statement for `inner`, a statement of `outer` (whose Python statement is
    `found`)."""
    if isinstance(outer, cst.If) and outer.orelse is inner:
        orelse = getattr(found, "orelse", None)
        return orelse[0] if isinstance(orelse, list) and orelse else None
    for field, block in _blocks(outer):
        assert isinstance(block, cst.IndentedBlock)
        for position, statement in enumerate(block.body):
            if statement is not inner:
                continue
            index = sum(len(s.body) if isinstance(s, cst.SimpleStatementLine) else 1
                        for s in block.body[:position])
            if field.startswith("handlers."):
                handlers = getattr(found, "handlers", [])
                number = int(field.partition(".")[2])
                body = handlers[number].body if number < len(handlers) else []
            else:
                body = getattr(found, field, [])
            return body[index] if isinstance(body, list) and index < len(body) else None
    return None

"""Counting the sites of a file (see common/coverage.py for what a site is).

Two readers count the same sites: the libcst tree of a file the engine analysed (where the
interpreter's facts say which sites it checked), and Python's own `ast` of a file the
pre-filter skipped (no model anywhere in it, so no site is checked; parsing it with libcst
only to count would cost what the pre-filter saves). tests/test_unchecked.py holds them equal.
"""

from __future__ import annotations

import ast
import bisect
import heapq
import re
from collections.abc import Container, Iterator
from typing import Any

import libcst as cst

from freezelint.analysis.facts import Facts
from freezelint.analysis.walk import children
from freezelint.common.coverage import FREEZE, LOAD, NAME_TEST, OPTIMIZER, Coverage
from freezelint.common.diagnostics import Span
from freezelint.common.torch_api import OPTIMIZER_NAMES as OPTIMIZERS
from freezelint.common.words import starts_a_name
from freezelint.engine.definition_texts import DefinitionSpan
from freezelint.inputs.source import LONE_CR

# Iterating these yields (name, value) pairs whose names a rule compares with real names.
NAME_METHODS = frozenset({"named_parameters", "named_modules", "named_children",
                          "named_buffers"})
NAME_TESTS = frozenset({"startswith", "endswith"})
REGEX_TESTS = frozenset({"match", "search", "fullmatch"})
ITERATORS = frozenset({"parameters", "named_parameters", "modules", "named_modules",
                       "children", "named_children"})
# A file without any of these words has no site (checked before any tree is walked). An
# optimizer's name counts whole (`SGD`, not `MySGD`): the start is tested on each match, since a
# leading `\b` makes `re` try the pattern at every character. The two patterns are kept apart:
# either alone is found by its first characters, one alternation of both is tried everywhere
# (seven times slower on a large package, most of whose files are skipped).
_SITE_WORDS = re.compile(
    r"requires_grad|named_(?:parameters|modules|children|buffers)|load_state_dict")
_OPTIMIZER_WORDS = re.compile(r"(?:" + "|".join(sorted(OPTIMIZERS)) + r")\b")


def _optimizer_words(text: str) -> Iterator[re.Match[str]]:
    for match in _OPTIMIZER_WORDS.finditer(text):
        if starts_a_name(text, match.start()):
            yield match


def site_words(text: str) -> Iterator[re.Match[str]]:
    """Each occurrence of a word a site needs, in order."""
    return heapq.merge(_SITE_WORDS.finditer(text), _optimizer_words(text),
                       key=lambda match: match.start())


def may_have_sites(text: str) -> bool:
    """Whether `text` has a word a site needs (site_words, without listing them)."""
    return _SITE_WORDS.search(text) is not None \
        or next(_optimizer_words(text), None) is not None


# -- the libcst reader (files the engine analysed) -----------------------------------------


def _last(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Name):
        return func.value
    return func.attr.value if isinstance(func, cst.Attribute) else ""


def _cst_anchor(iterable: cst.BaseExpression) -> cst.Attribute | None:
    """The `X.named_parameters` of the call a loop iterates (inside enumerate(), list()...)."""
    stack: list[cst.CSTNode] = [iterable]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value in NAME_METHODS:
            return node.func
        if not isinstance(node, (cst.Lambda, cst.BaseComp)):
            stack.extend(children(node))
    return None


def _cst_loop_anchor(iterable: cst.BaseExpression) -> cst.Attribute | None:
    """The `X.parameters` (any module iterator) of the call a loop iterates."""
    stack: list[cst.CSTNode] = [iterable]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value in ITERATORS:
            return node.func
        if not isinstance(node, (cst.Lambda, cst.BaseComp)):
            stack.extend(children(node))
    return None


def _cst_bound(target: cst.BaseExpression, iterable: cst.BaseExpression) -> str | None:
    """The variable that holds the name: `n` in `for n, p in ...`, `for i, (n, p) in
    enumerate(...)`."""
    enumerated = isinstance(iterable, cst.Call) and _last(iterable.func) == "enumerate"
    if isinstance(target, cst.Tuple) and target.elements:
        first = target.elements[1 if enumerated and len(target.elements) > 1 else 0].value
        if isinstance(first, cst.Tuple) and first.elements:
            first = first.elements[0].value
        return first.value if isinstance(first, cst.Name) else None
    return target.value if isinstance(target, cst.Name) and not enumerated else None


# One site found in a statement's syntax, before the facts say whether it was checked:
# (kind, node, how it is judged, what the judgement reads). Statements an editor reuses
# between keystrokes keep their sites (`memo`), so only a changed statement is walked again.
Site = tuple[str, cst.CSTNode, str, tuple[Any, ...]]

_COMPS = frozenset({cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp})
_ASSIGNS = frozenset({cst.Assign, cst.AugAssign, cst.AnnAssign})
_EQUALITIES = (cst.Equal, cst.NotEqual, cst.In, cst.NotIn)


class _CstSites:
    """The sites of one top-level statement, in the order of a walk (parents first)."""

    def __init__(self) -> None:
        self.names: list[tuple[str, cst.Attribute]] = []
        # The module iterators of the enclosing loops: a freeze inside a loop over a known
        # model's parameters was checked even where no parameter reached it (a name test
        # that matches nothing).
        self.loops: list[cst.Attribute | None] = []
        self.found: list[Site] = []

    def _bound(self, node: cst.CSTNode) -> cst.Attribute | None:
        if type(node) is cst.Name:
            for name, anchor in reversed(self.names):
                if name == node.value:
                    return anchor
        return None

    def _bind(self, target: cst.BaseExpression, iterable: cst.BaseExpression) -> int:
        anchor = _cst_anchor(iterable)
        name = _cst_bound(target, iterable) if anchor is not None else None
        if name is None or anchor is None:
            return 0
        self.names.append((name, anchor))
        return 1

    def visit(self, node: cst.CSTNode) -> None:
        kind = type(node)
        pushed = 0
        if kind is cst.For:
            assert isinstance(node, cst.For)
            self.visit(node.iter)
            pushed = self._bind(node.target, node.iter)
            self.loops.append(_cst_loop_anchor(node.iter))
            for part in (node.body, node.orelse):
                if part is not None:
                    self.visit(part)
            self.loops.pop()
        elif kind in _COMPS:
            assert isinstance(node, cst.BaseComp)
            clause: cst.CompFor | None = node.for_in
            while clause is not None:
                self.visit(clause.iter)
                pushed += self._bind(clause.target, clause.iter)
                for test in clause.ifs:
                    self.visit(test.test)
                clause = clause.inner_for_in
            for name in ("elt", "key", "value"):
                expression = getattr(node, name, None)
                if expression is not None:
                    self.visit(expression)
        else:
            if kind is cst.Comparison:
                self._comparison(node)  # type: ignore[arg-type]
            elif kind is cst.Call:
                self._call(node)  # type: ignore[arg-type]
            elif kind in _ASSIGNS:
                self._assign(node)  # type: ignore[arg-type]
            for child in children(node):
                self.visit(child)
        if pushed:
            del self.names[-pushed:]

    def _comparison(self, node: cst.Comparison) -> None:
        if self.names and all(isinstance(c.operator, _EQUALITIES) for c in node.comparisons):
            sides = [node.left, *(c.comparator for c in node.comparisons)]
            anchor = next((a for a in map(self._bound, sides) if a is not None), None)
            if anchor is not None:
                self.found.append((NAME_TEST, node, "name", (anchor, _subtree(node))))

    def _call(self, node: cst.Call) -> None:
        func = node.func
        name = _last(func)
        if name in NAME_TESTS and isinstance(func, cst.Attribute) and self.names:
            anchor = self._bound(func.value)
            if anchor is not None:
                self.found.append((NAME_TEST, node, "name", (anchor, _subtree(node))))
        elif name in REGEX_TESTS and isinstance(func, cst.Attribute) and self.names \
                and isinstance(func.value, cst.Name) and func.value.value == "re":
            anchor = next((a for a in (self._bound(x.value) for x in node.args) if a), None)
            if anchor is not None:
                self.found.append((NAME_TEST, node, "name", (anchor, _subtree(node))))
        elif name == "requires_grad_" and isinstance(func, cst.Attribute):
            self.found.append((FREEZE, node, "grad_call", (func, _subtree(node))))
        elif name in OPTIMIZERS:
            self.found.append((OPTIMIZER, node, "optimizer", ()))
        elif name == "load_state_dict" and isinstance(func, cst.Attribute):
            self.found.append((LOAD, node, "load", ()))

    def _assign(self, node: cst.Assign | cst.AugAssign | cst.AnnAssign) -> None:
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) \
            else [node.target]
        if any(_cst_assigns_requires_grad(t) for t in targets):
            # A parameter's flag (GradAssign), or a plain attribute set on a known
            # module (`model.fc.requires_grad = False`, FZL104's fact).
            self.found.append((FREEZE, node, "grad_assign",
                               (tuple(a for a in self.loops if a is not None), _subtree(node))))


def _cst_assigns_requires_grad(target: cst.BaseExpression) -> bool:
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_cst_assigns_requires_grad(e.value) for e in target.elements)
    return isinstance(target, cst.Attribute) and target.attr.value == "requires_grad"


def _subtree(node: cst.CSTNode) -> tuple[cst.CSTNode, ...]:
    found = []
    stack = [node]
    while stack:
        sub = stack.pop()
        found.append(sub)
        stack.extend(children(sub))
    return tuple(found)


def statement_sites(statement: cst.CSTNode,
                    memo: dict[int, tuple[cst.CSTNode, list[Site]]] | None = None) -> list[Site]:
    """The sites of one top-level statement (remembered in `memo` for the statement object,
    which an editor's statement cache reuses while its text is unchanged)."""
    remembered = memo.get(id(statement)) if memo is not None else None
    if remembered is not None and remembered[0] is statement:
        return remembered[1]
    reader = _CstSites()
    reader.visit(statement)
    if memo is not None:
        memo[id(statement)] = (statement, reader.found)
    return reader.found


class _Judge:
    """Whether the analysis knew the model at a site (from the interpreter's facts), or a
    rule that ran checked it without one: a load of a checkpoint the script saves, whose
    key format FZL308 (FZL309 for a dict holding the state dict) judged from the code
    (wrong, or found to fit: saved and loaded in the same format), and
    a loose load whose result is thrown away, which FZL304 reports on any model."""

    def __init__(self, facts: Facts, flow: object = None,
                 ran: Container[str] = ()) -> None:
        self.facts = facts
        self.optimizers = {b.optimizer.node for b in facts.optimizers
                           if b.optimizer.model is not None}
        self.flow_loads: set[cst.CSTNode] = set()
        if flow is not None:
            self.flow_loads.update(
                load.node for load in getattr(flow, "loads", ())
                if ("FZL309" if load.kind == "container" else "FZL308") in ran)
            if "FZL308" in ran:  # loads whose key format the flow found right
                self.flow_loads.update(getattr(flow, "fits", ()))
            if "FZL304" in ran:
                self.flow_loads.update(node for node, _ in
                                       getattr(flow, "discarded_nonstrict", ()))

    def __call__(self, site: Site) -> bool:
        _, node, how, data = site
        facts = self.facts
        if how == "name":
            anchor, subtree = data
            if anchor in facts.module_method_refs:
                return True
            tests = facts.name_tests
            return any(sub in tests for sub in subtree)
        if how == "grad_call":
            func, subtree = data
            return func in facts.module_method_refs \
                or any(sub in facts.grad_assigns for sub in subtree)
        if how == "optimizer":
            return node in self.optimizers
        if how == "load":
            load = facts.loads.get(node)
            return (load is not None and load.model is not None) or node in self.flow_loads
        loops, subtree = data
        return node in facts.grad_assigns or node in facts.module_grad_attrs \
            or any(sub in facts.grad_assigns for sub in subtree) \
            or any(a in facts.module_method_refs for a in loops)


def analysed_sites(module: cst.Module, facts: Facts, text: str,
                   owner: dict[cst.CSTNode, int], flow: object = None,
                   ran: Container[str] = (),
                   memo: dict[int, tuple[cst.CSTNode, list[Site]]] | None = None,
                   spans: list[DefinitionSpan] | None = None
                   ) -> tuple[Coverage, cst.CSTNode | None]:
    """The sites of an analysed file, and the node of the first unchecked one (recorded in
    `owner` under its top-level statement, so that its position can be computed). `flow`:
    the checkpoint flow the rules followed, if they did, and `ran` the rules that ran (a
    load one of them judged from the flow was checked); `memo`: each statement's sites,
    kept between an editor's keystrokes; `spans`: the texts of the top-level functions and
    classes (engine/definition_texts.py), whose trees are not walked where the text holds
    no word a site needs (a site is a name test, a freeze, an optimizer or a load within one
    top-level statement)."""
    if not may_have_sites(text):
        return Coverage(), None
    skipped: set[cst.CSTNode] = set()
    if spans:
        words = [match.start() for match in site_words(text)]
        for definition, start, end in spans:
            at = bisect.bisect_left(words, start)
            if at == len(words) or words[at] >= end:
                skipped.add(definition)
    judge: _Judge | None = None
    sites: dict[str, int] = {}
    checked: dict[str, int] = {}
    first: cst.CSTNode | None = None
    for index, statement in enumerate(module.body):
        if statement in skipped:
            continue
        for site in statement_sites(statement, memo):
            if judge is None:
                judge = _Judge(facts, flow, ran)
            kind, node = site[0], site[1]
            sites[kind] = sites.get(kind, 0) + 1
            if judge(site):
                checked[kind] = checked.get(kind, 0) + 1
            elif first is None:
                first = node
                owner.setdefault(node, index)
    return Coverage(sites, checked), first


# -- the ast reader (files the pre-filter skipped: no model, nothing checked) --------------


def _ast_last(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _ast_anchored(iterable: ast.expr) -> bool:
    stack: list[ast.AST] = [iterable]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in NAME_METHODS:
            return True
        if not isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                 ast.GeneratorExp)):
            stack.extend(ast.iter_child_nodes(node))
    return False


def _ast_bound(target: ast.expr, iterable: ast.expr) -> str | None:
    enumerated = isinstance(iterable, ast.Call) and _ast_last(iterable.func) == "enumerate"
    if isinstance(target, ast.Tuple) and target.elts:
        first = target.elts[1 if enumerated and len(target.elts) > 1 else 0]
        if isinstance(first, ast.Tuple) and first.elts:
            first = first.elts[0]
        return first.id if isinstance(first, ast.Name) else None
    return target.id if isinstance(target, ast.Name) and not enumerated else None


class _AstSites:
    def __init__(self, lines: list[int] | None = None) -> None:
        self.names: list[str] = []
        self.sites: dict[str, int] = {}
        self.first: ast.AST | None = None
        # The lines of site_words (sorted): a statement spanning none of them holds
        # no site, unless a loop over names() around it makes any comparison a name test.
        self.lines = lines

    def _may_hold(self, node: ast.stmt) -> bool:
        if self.lines is None or self.names:
            return True
        at = bisect.bisect_left(self.lines, node.lineno)
        return at < len(self.lines) and self.lines[at] <= (node.end_lineno or node.lineno)

    def add(self, kind: str, node: ast.AST) -> None:
        self.sites[kind] = self.sites.get(kind, 0) + 1
        if self.first is None:
            self.first = node

    def _bind(self, target: ast.expr, iterable: ast.expr) -> int:
        name = _ast_bound(target, iterable) if _ast_anchored(iterable) else None
        if name is None:
            return 0
        self.names.append(name)
        return 1

    def _bound(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in self.names

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.stmt) and not self._may_hold(node):
            return
        pushed = 0
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.visit(node.iter)
            pushed = self._bind(node.target, node.iter)
            for statement in (*node.body, *node.orelse):
                self.visit(statement)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for clause in node.generators:
                self.visit(clause.iter)
                pushed += self._bind(clause.target, clause.iter)
                for test in clause.ifs:
                    self.visit(test)
            parts = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
            for sub in parts:
                self.visit(sub)
        else:
            self._site(node)
            for child in ast.iter_child_nodes(node):
                self.visit(child)
        if pushed:
            del self.names[-pushed:]

    def _site(self, node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            if self.names and all(isinstance(o, (ast.Eq, ast.NotEq, ast.In, ast.NotIn))
                                  for o in node.ops) \
                    and any(map(self._bound, [node.left, *node.comparators])):
                self.add(NAME_TEST, node)
        elif isinstance(node, ast.Call):
            name = _ast_last(node.func)
            func = node.func
            if name in NAME_TESTS and isinstance(func, ast.Attribute) and self.names:
                if self._bound(func.value):
                    self.add(NAME_TEST, node)
            elif name in REGEX_TESTS and isinstance(func, ast.Attribute) and self.names \
                    and isinstance(func.value, ast.Name) and func.value.id == "re":
                if any(self._bound(arg) for arg in node.args):
                    self.add(NAME_TEST, node)
            elif name == "requires_grad_" and isinstance(func, ast.Attribute):
                self.add(FREEZE, node)
            elif name in OPTIMIZERS:
                self.add(OPTIMIZER, node)
            elif name == "load_state_dict" and isinstance(func, ast.Attribute):
                self.add(LOAD, node)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_assigns_requires_grad(t) for t in targets):
                self.add(FREEZE, node)


def _assigns_requires_grad(target: ast.expr) -> bool:
    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_assigns_requires_grad(t) for t in target.elts)
    return isinstance(target, ast.Attribute) and target.attr == "requires_grad"


def unanalysed_sites(tree: ast.Module, text: str | None = None) -> Coverage:
    """The sites of a file the pre-filter skipped: none of them checked. With the `text`,
    only the statements around the words a site needs are walked."""
    lines = None
    if text is not None and not LONE_CR.search(text):  # (a lone CR ends a line for Python)
        lines, line, counted = [], 1, 0
        for match in site_words(text):
            line += text.count("\n", counted, match.start())
            counted = match.start()
            lines.append(line)
    reader = _AstSites(lines)
    reader.visit(tree)
    first = reader.first
    span = None
    if first is not None:
        line, column = getattr(first, "lineno", 1), getattr(first, "col_offset", 0)
        span = Span.of(line, column, getattr(first, "end_lineno", line) or line,
                       getattr(first, "end_col_offset", column + 1) or column + 1)
    return Coverage(reader.sites, {}, span)

"""Syntactic facts gathered in one pass over the whole tree, for the rules that need no model
(typos, discarded comparisons, uncalled methods, size attributes).

One pass, not one matcher search per rule: `libcst.matchers.findall` walks the whole tree
each time it is called, which costs seconds on a 5,000-line file. The pass is walk.traverse,
not a CSTVisitor, whose `visit()` rebuilds every node it passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from freezelint.analysis.walk import Handler, traverse, walk
from freezelint.common.torch_api import (
    CHECKPOINT_PREFIXES,
    ITERATOR_METHODS,
    TORCH_OPTIMIZER_NAMES,
)

# Wrapper prefixes by length, to read `k[7:]` as "strip `module.`".
PREFIX_BY_LENGTH = {len(p): p for p in CHECKPOINT_PREFIXES}
KNOWN_PREFIXES = frozenset(PREFIX_BY_LENGTH.values())
CONSUMERS = frozenset({"filter", "list", "tuple", "enumerate", "sorted", "set", "map", "zip",
                       "sum", "clip_grad_norm_", "clip_grad_value_", *TORCH_OPTIMIZER_NAMES})


@dataclass
class SyntaxFacts:
    # (statement, target attribute) for every assignment to an attribute.
    attribute_assigns: list[tuple[cst.CSTNode, cst.Attribute]] = field(default_factory=list)
    # Expression statements `x.requires_grad == value`.
    discarded_comparisons: list[cst.Expr] = field(default_factory=list)
    # `model.parameters` used as an iterable without the call.
    uncalled_methods: list[cst.Attribute] = field(default_factory=list)
    # `k[7:]` / `k[len('module.'):]` with no startswith guard around it: (node, prefix).
    prefix_slices: list[tuple[cst.Subscript, str]] = field(default_factory=list)
    # `k.replace('module.', '')` and `k.lstrip('module.')`: (call, prefix, method).
    prefix_strips: list[tuple[cst.Call, str, str]] = field(default_factory=list)
    # Every node of the types the rules asked for (`@rule(..., visits=(cst.Call,))`), in
    # source order: a model-free rule reads its own nodes and needs no field here.
    nodes: dict[type, list[cst.CSTNode]] = field(default_factory=dict)


class _Collector:
    def __init__(self, visits: frozenset[type] = frozenset()) -> None:
        self.facts = SyntaxFacts()
        self.visits = visits
        # The nodes recorded (and what a fix may replace inside them), in the order they
        # were met: the caller places them in their top-level statement (`owner`).
        self.owned: list[cst.CSTNode] = []
        # Tests of the enclosing ifs, conditional expressions and comprehension filters:
        # a prefix slice under a test that mentions the prefix is guarded.
        self.guards: list[cst.BaseExpression] = []
        # Names bound to dict keys by enclosing loops over `.items()` / `.keys()`: only a
        # slice of such a key reads as stripping a checkpoint prefix.
        self.key_names: list[dict[str, str | None]] = []

    def handlers(self) -> tuple[dict[type, Handler], dict[type, Handler]]:
        """What to call on entering and on leaving each node type."""
        comps = (cst.DictComp, cst.ListComp, cst.SetComp, cst.GeneratorExp)
        enter: dict[type, Handler] = {
            cst.If: self.visit_If, cst.IfExp: self.visit_IfExp, cst.For: self.visit_For,
            cst.Subscript: self.visit_Subscript, cst.Assign: self.visit_Assign,
            cst.AugAssign: self.visit_AugAssign, cst.AnnAssign: self.visit_AnnAssign,
            cst.Expr: self.visit_Expr, cst.CompFor: self.visit_CompFor,
            cst.Call: self.visit_Call, cst.DictElement: self.visit_DictElement,
            **dict.fromkeys(comps, self._push_comp),
        }
        leave: dict[type, Handler] = {
            cst.If: self.leave_If, cst.IfExp: self.leave_IfExp, cst.For: self.leave_For,
            **dict.fromkeys(comps, self._pop_comp),
        }
        for kind in self.visits:
            enter[kind] = self._recorder(kind, enter.get(kind))
        return enter, leave  # type: ignore[return-value]

    def _recorder(self, kind: type, then: Handler | None) -> Handler:
        """Record every node of `kind` (a rule's `visits`), then run the pass's own handler."""
        found = self.facts.nodes.setdefault(kind, [])

        def record(node: cst.CSTNode) -> None:
            found.append(node)
            self.owned.append(node)
            if then is not None:
                then(node)
        return record

    def _own(self, node: cst.CSTNode) -> None:
        """Remember which top-level statement a recorded node (and what a fix may replace
        inside it) sits in."""
        self.owned.extend(walk(node))

    def visit_If(self, node: cst.If) -> None:
        self.guards.append(node.test)

    def leave_If(self, _: cst.If) -> None:
        self.guards.pop()

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self.guards.append(node.test)

    def leave_IfExp(self, _: cst.IfExp) -> None:
        self.guards.pop()

    def _push_comp(self, node: cst.BaseComp) -> None:
        clause: cst.CompFor | None = node.for_in
        tests: list[cst.BaseExpression] = []
        keys: dict[str, str | None] = {}
        while clause is not None:
            tests.extend(c.test for c in clause.ifs)
            keys |= _key_targets(clause.target, clause.iter)
            clause = clause.inner_for_in
        self.guards.append(cst.Tuple([cst.Element(t) for t in tests]) if tests else cst.Name("_"))
        self.key_names.append(keys)

    def _pop_comp(self, _: cst.BaseComp) -> None:
        self.guards.pop()
        self.key_names.pop()

    def leave_For(self, _: cst.For) -> None:
        self.key_names.pop()


    def visit_Subscript(self, node: cst.Subscript) -> None:
        if not isinstance(node.value, cst.Name) or len(node.slice) != 1:
            return
        sl = node.slice[0].slice
        if not isinstance(sl, cst.Slice) or sl.upper is not None or sl.step is not None:
            return
        prefix = _slice_prefix(sl.lower)
        name = node.value.value
        if prefix is None or not any(name in keys for keys in self.key_names):
            return
        if not self._guarded(name, prefix):
            self.facts.prefix_slices.append((node, prefix))
            self._own(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._attribute_target(node, target.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._attribute_target(node, node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._attribute_target(node, node.target)

    def _attribute_target(self, stmt: cst.CSTNode, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute):
            self.facts.attribute_assigns.append((stmt, target))
            self._own(stmt)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._attribute_target(stmt, element.value)

    def visit_Expr(self, node: cst.Expr) -> None:
        value = node.value
        if (isinstance(value, cst.Comparison) and isinstance(value.left, cst.Attribute)
                and value.left.attr.value == "requires_grad" and len(value.comparisons) == 1
                and isinstance(value.comparisons[0].operator, cst.Equal)):
            self.facts.discarded_comparisons.append(node)
            self._own(node)

    def visit_For(self, node: cst.For) -> None:
        self._uncalled(node.iter)
        self.key_names.append(_key_targets(node.target, node.iter))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._uncalled(node.iter)

    def visit_Call(self, node: cst.Call) -> None:
        self._prefix_strip(node)
        func = node.func
        name = func.value if isinstance(func, cst.Name) else (
            func.attr.value if isinstance(func, cst.Attribute) else "")
        if name in CONSUMERS:
            for arg in node.args:
                self._uncalled(arg.value)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if isinstance(node.key, cst.SimpleString) and node.key.evaluated_value == "params":
            self._uncalled(node.value)

    def _prefix_strip(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in {"replace", "lstrip"}:
            return
        if not node.args or not isinstance(node.args[0].value, cst.SimpleString):
            return
        prefix = node.args[0].value.evaluated_value
        if prefix not in KNOWN_PREFIXES:
            return
        if func.attr.value == "replace" and not (
                len(node.args) == 2 and isinstance(node.args[1].value, cst.SimpleString)
                and node.args[1].value.evaluated_value == ""):
            return  # a count (`replace('encoder.', '', 1)`) says the author chose how many
        if func.attr.value == "replace" and prefix == "_orig_mod.":
            # Every `_orig_mod.` is a torch.compile wrapper, inner ones too (a submodule
            # compiled in place): removing them all is what loading needs.
            return
        receiver = func.value
        if func.attr.value == "replace" and not (
                isinstance(receiver, cst.Name)
                and any(receiver.value in keys for keys in self.key_names)):
            # Only a checkpoint's keys: a chain of replaces on names (`.replace('original_',
            # '').replace('module.', '')`) means the inner occurrences.
            return
        self.facts.prefix_strips.append((node, str(prefix), func.attr.value))
        self._own(node)

    def _guarded(self, name: str, prefix: str) -> bool:
        """True when an enclosing test checks that `name` has the prefix:
        `name.startswith(prefix)`, `prefix in name` or `name[:n] == prefix`; or that the
        keys of the dict `name` comes from have it (`next(iter(sd))[0].startswith('module')`,
        open_clip's guard)."""
        sources = {keys[name] for keys in self.key_names if keys.get(name)}
        return any(_checks_prefix(sub, name, prefix) or _checks_keys_of(sub, sources, prefix)
                   for test in self.guards for sub in walk(test))

    def _uncalled(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Attribute) and node.attr.value in ITERATOR_METHODS:
            self.facts.uncalled_methods.append(node)
            self._own(node)


def _slice_prefix(lower: cst.BaseExpression | None) -> str | None:
    """The wrapper prefix a slice start stands for: `7` or `len('module.')`."""
    if isinstance(lower, cst.Integer):
        return PREFIX_BY_LENGTH.get(int(lower.value)) if lower.value.isdigit() else None
    if (isinstance(lower, cst.Call) and isinstance(lower.func, cst.Name)
            and lower.func.value == "len" and len(lower.args) == 1
            and isinstance(lower.args[0].value, cst.SimpleString)):
        value = lower.args[0].value.evaluated_value
        return value if value in KNOWN_PREFIXES else None
    return None


def _checks_prefix(node: cst.CSTNode, name: str, prefix: str) -> bool:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
            and node.func.attr.value == "startswith" \
            and isinstance(node.func.value, cst.Name) and node.func.value.value == name:
        return True
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
        right = node.comparisons[0].comparator
        operator = node.comparisons[0].operator
        left = node.left
        literal = (isinstance(left, cst.SimpleString) and left.evaluated_value == prefix)
        if literal and isinstance(operator, cst.In) and isinstance(right, cst.Name) \
                and right.value == name:
            return True
        sides = (left, right)
        has_literal = any(isinstance(x, cst.SimpleString) and x.evaluated_value == prefix
                          for x in sides)
        sliced = any(isinstance(x, cst.Subscript) and isinstance(x.value, cst.Name)
                     and x.value.value == name for x in sides)
        return has_literal and sliced and isinstance(operator, cst.Equal)
    return False


def _checks_keys_of(node: cst.CSTNode, sources: set[str | None], prefix: str) -> bool:
    """`X.startswith('module')` (the prefix, with or without its dot) where X reads the
    dict the keys come from: a test of its keys."""
    if not (sources and isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "startswith" and node.args
            and isinstance(node.args[0].value, cst.SimpleString)
            and node.args[0].value.evaluated_value in (prefix, prefix.rstrip("."))):
        return False
    return any(isinstance(sub, cst.Name) and sub.value in sources
               for sub in walk(node.func.value))


def _key_targets(target: cst.BaseExpression, iterable: cst.BaseExpression
                 ) -> dict[str, str | None]:
    """`k` in `for k, v in sd.items()` / `for k in sd.keys()`, with the dict's name (`sd`)
    when it is a plain name."""
    if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute)
            and iterable.func.attr.value in {"items", "keys"}):
        return {}
    source = iterable.func.value.value if isinstance(iterable.func.value, cst.Name) else None
    if isinstance(target, cst.Name):
        return {target.value: source}
    if isinstance(target, cst.Tuple) and target.elements \
            and isinstance(target.elements[0].value, cst.Name):
        return {target.elements[0].value.value: source}
    return {}


# What one top-level statement gives: its facts and the nodes it places.
Part = tuple[SyntaxFacts, list[cst.CSTNode]]


def statement_syntax(statement: cst.CSTNode, visits: frozenset[type] = frozenset(),
                     memo: dict[int, tuple[cst.CSTNode, frozenset[type], Part]] | None = None
                     ) -> Part:
    """The syntactic facts of one top-level statement (nothing the pass keeps crosses a
    top-level statement), remembered in `memo` for the statement object, which an editor's
    statement cache reuses while its text is unchanged."""
    remembered = memo.get(id(statement)) if memo is not None else None
    if remembered is not None and remembered[0] is statement and remembered[1] == visits:
        return remembered[2]
    collector = _Collector(visits)
    enter, leave = collector.handlers()
    traverse(statement, enter, leave)
    part = (collector.facts, collector.owned)
    if memo is not None:
        memo[id(statement)] = (statement, visits, part)
    return part


def collect_syntax(module: cst.Module, owner: dict[cst.CSTNode, int],
                   visits: frozenset[type] = frozenset(),
                   memo: dict[int, tuple[cst.CSTNode, frozenset[type], Part]] | None = None
                   ) -> SyntaxFacts:
    """The syntactic facts of `module`, plus every node of the `visits` types; each node
    recorded is placed in `owner` under its top-level statement."""
    facts = SyntaxFacts()
    nodes = facts.nodes
    for kind in visits:
        nodes[kind] = []
    for index, statement in enumerate(module.body):
        part, owned = statement_syntax(statement, visits, memo)
        facts.attribute_assigns += part.attribute_assigns
        facts.discarded_comparisons += part.discarded_comparisons
        facts.uncalled_methods += part.uncalled_methods
        facts.prefix_slices += part.prefix_slices
        facts.prefix_strips += part.prefix_strips
        for kind, found in part.nodes.items():
            nodes[kind] += found
        for node in owned:
            owner[node] = index
    return facts

"""Syntactic facts gathered in one pass over the whole tree, for the rules that need no model
(typos, discarded comparisons, uncalled methods, size attributes).

One CSTVisitor pass, not one matcher search per rule: `libcst.matchers.findall` walks the
whole tree each time it is called, which costs seconds on a 5,000-line file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

ITERATOR_METHODS = frozenset({"parameters", "named_parameters", "modules", "named_modules",
                              "children", "named_children", "buffers", "named_buffers"})
CONSUMERS = frozenset({"filter", "list", "tuple", "enumerate", "sorted", "set", "map", "zip",
                       "sum", "clip_grad_norm_", "clip_grad_value_", "SGD", "Adam", "AdamW",
                       "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS"})


@dataclass
class SyntaxFacts:
    # (statement, target attribute) for every assignment to an attribute.
    attribute_assigns: list[tuple[cst.CSTNode, cst.Attribute]] = field(default_factory=list)
    # Expression statements `x.requires_grad == value`.
    discarded_comparisons: list[cst.Expr] = field(default_factory=list)
    # `model.parameters` used as an iterable without the call.
    uncalled_methods: list[cst.Attribute] = field(default_factory=list)


class _Collector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.facts = SyntaxFacts()

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
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._attribute_target(stmt, element.value)

    def visit_Expr(self, node: cst.Expr) -> None:
        value = node.value
        if (isinstance(value, cst.Comparison) and isinstance(value.left, cst.Attribute)
                and value.left.attr.value == "requires_grad" and len(value.comparisons) == 1
                and isinstance(value.comparisons[0].operator, cst.Equal)):
            self.facts.discarded_comparisons.append(node)

    def visit_For(self, node: cst.For) -> None:
        self._uncalled(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._uncalled(node.iter)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.value if isinstance(func, cst.Name) else (
            func.attr.value if isinstance(func, cst.Attribute) else "")
        if name in CONSUMERS:
            for arg in node.args:
                self._uncalled(arg.value)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if isinstance(node.key, cst.SimpleString) and node.key.evaluated_value == "params":
            self._uncalled(node.value)

    def _uncalled(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Attribute) and node.attr.value in ITERATOR_METHODS:
            self.facts.uncalled_methods.append(node)


def collect_syntax(module: cst.Module) -> SyntaxFacts:
    collector = _Collector()
    module.visit(collector)
    return collector.facts

"""FZL104, FZL105, FZL106, FZL110, FZL111: statements that look like they change a model
and change nothing. FZL105, FZL106, FZL110 and FZL111 need no model; FZL104 does."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

import libcst as cst
import libcst.matchers as m

from freezelint.checks.base import Context, Finding, examples, fix, plural, rule
from freezelint.diagnostics import Safety

_ITERATOR_METHODS = {"parameters", "named_parameters", "modules", "named_modules", "children",
                     "named_children", "buffers", "named_buffers"}
_CONSUMERS = {"filter", "list", "tuple", "enumerate", "sorted", "set", "map", "zip", "sum",
              "clip_grad_norm_", "clip_grad_value_", "SGD", "Adam", "AdamW", "RMSprop",
              "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS"}
_SIZE_ATTRS = {"out_features", "in_features", "out_channels", "in_channels", "num_features"}


@rule("FZL104")
def module_requires_grad_attribute(ctx: Context) -> Iterator[Finding]:
    for fact in ctx.facts.module_grad_attrs.values():
        params = [p.name for p in fact.model.manifest.parameters_under(fact.path)]
        info = fact.model.manifest.module(fact.path)
        what = f"the {info.type} `{fact.path}`" if info and fact.path else f"`{fact.model.label}`"
        message = (f"`requires_grad` on a Module is a plain attribute: setting it on {what} "
                   f"changes nothing, its {plural(len(params), 'parameter')} "
                   f"({examples(params, 2)}) keep their requires_grad; call "
                   f"`requires_grad_()` instead")
        call = cst.Expr(cst.Call(
            func=cst.Attribute(value=fact.target.value, attr=cst.Name("requires_grad_")),
            args=[cst.Arg(fact.value)]))
        fixes = ()
        if isinstance(fact.node, cst.Assign) and len(fact.node.targets) == 1:
            fixes = (fix("Call requires_grad_()", Safety.SAFE, (fact.node, call)),)
        yield Finding(fact.node, message, fixes=fixes)


def _is_typo(attr: str) -> bool:
    if attr == "requires_grad" or "grad" not in attr.lower():
        return False
    if attr == "requires_grad_":
        return True
    return difflib.SequenceMatcher(None, attr.lower(), "requires_grad").ratio() >= 0.8


@rule("FZL105")
def requires_grad_typo(ctx: Context) -> Iterator[Finding]:
    for node in m.findall(ctx.module, m.Assign() | m.AugAssign() | m.AnnAssign()):
        targets = ([t.target for t in node.targets] if isinstance(node, cst.Assign)
                   else [node.target])
        for target in targets:
            if not isinstance(target, cst.Attribute) or not _is_typo(target.attr.value):
                continue
            attr = target.attr.value
            if attr == "requires_grad_":
                message = ("assigning to `requires_grad_` replaces the method on this object "
                           "and freezes nothing; assign `requires_grad` instead")
            else:
                message = (f"`{attr}` is not `requires_grad`: this creates a new attribute "
                           f"and freezes nothing")
            yield Finding(target.attr, message, fixes=(
                fix("Rename to requires_grad", Safety.SAFE,
                    (target.attr, cst.Name("requires_grad"))),))


@rule("FZL106")
def requires_grad_comparison_statement(ctx: Context) -> Iterator[Finding]:
    pattern = m.Expr(value=m.Comparison(
        left=m.Attribute(attr=m.Name("requires_grad")),
        comparisons=[m.ComparisonTarget(operator=m.Equal())]))
    for node in m.findall(ctx.module, pattern):
        comparison = node.value
        assert isinstance(comparison, cst.Comparison)
        assignment = cst.Assign(targets=[cst.AssignTarget(comparison.left)],
                                value=comparison.comparisons[0].comparator)
        yield Finding(node, "`==` compares and throws the result away: this statement "
                            "changes nothing; use `=` to set requires_grad",
                      fixes=(fix("Use assignment", Safety.SAFE, (node, assignment)),))


@rule("FZL110")
def parameters_not_called(ctx: Context) -> Iterator[Finding]:
    uncalled = m.Attribute(attr=m.OneOf(*(m.Name(n) for n in _ITERATOR_METHODS)))
    places: list[cst.BaseExpression] = []
    for loop in m.findall(ctx.module, m.For(iter=uncalled) | m.CompFor(iter=uncalled)):
        places.append(loop.iter)
    for call in m.findall(ctx.module, m.Call()):
        if _callee_name(call.func) in _CONSUMERS:
            places.extend(a.value for a in call.args if m.matches(a.value, uncalled))
    for element in m.findall(ctx.module, m.DictElement(key=m.SimpleString(), value=uncalled)):
        if element.key.evaluated_value == "params":
            places.append(element.value)
    for node in places:
        assert isinstance(node, cst.Attribute)
        method = node.attr.value
        called = cst.Call(func=node)
        yield Finding(node, f"`{method}` is the method itself, not its result: call "
                            f"`{method}()` (iterating the method raises TypeError)",
                      fixes=(fix(f"Call {method}()", Safety.SAFE, (node, called)),))


def _callee_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


@rule("FZL111")
def out_features_mutated(ctx: Context) -> Iterator[Finding]:
    for node in m.findall(ctx.module, m.Assign()):
        for target in node.targets:
            attr = target.target
            if isinstance(attr, cst.Attribute) and attr.attr.value in _SIZE_ATTRS:
                name = attr.attr.value
                yield Finding(node, f"setting `{name}` changes an attribute, not the layer: "
                                    f"the weight keeps its shape; replace the layer with a new "
                                    f"one of the size you want")

"""Syntax helpers of the checkpoint flow (analysis/checkpoint_flow.py): dotted names, source
text, statement bodies and branches, the names a statement binds, and the key a state-dict
filter tests.

They read libcst nodes only, never the pass's values, so the pass and its records share them
without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libcst as cst

from freezelint.analysis.walk import children, walk


# -- syntax helpers ---------------------------------------------------------------------------
def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    return ""


def _code(module: cst.Module, node: cst.CSTNode) -> str:
    return module.code_for_node(node)


def _args_code(module: cst.Module, node: cst.Call) -> str:
    return ", ".join(module.code_for_node(a).rstrip(", ") for a in node.args)


def _body(node: cst.CSTNode) -> Any:
    body = getattr(node, "body", None)
    return getattr(body, "body", ()) if body is not None else ()


def _blocks(statement: cst.CSTNode) -> Iterator[Any]:
    """The statement lists of an if/for/while/try, in order."""
    yield _body(statement)
    if isinstance(statement, cst.Try):
        for handler in statement.handlers:
            yield _body(handler)
        if statement.orelse is not None:
            yield _body(statement.orelse)
        if statement.finalbody is not None:
            yield _body(statement.finalbody)
        return
    orelse = getattr(statement, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            yield _body(orelse)
            orelse = orelse.orelse
        else:
            yield _body(orelse)
            orelse = None


def _is_main_guard(statement: cst.CSTNode) -> bool:
    """`if __name__ == '__main__':`: the script's own run, not a branch."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    test = statement.test
    return isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) \
        and test.left.value == "__name__" and len(test.comparisons) == 1 \
        and isinstance(test.comparisons[0].operator, cst.Equal) \
        and isinstance(test.comparisons[0].comparator, cst.SimpleString) \
        and test.comparisons[0].comparator.evaluated_value == "__main__"


def _params(function: cst.FunctionDef) -> list[str]:
    params = function.params
    names = [p.name.value for p in (*params.posonly_params, *params.params,
                                     *params.kwonly_params)]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    return names


# The nodes that bind names. _targets_of runs on every node of a function, and isinstance()
# on libcst's classes goes through ABCMeta: the exact type is tested first (libcst's node
# classes are final).
_BINDERS = frozenset({cst.Assign, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor,
                      cst.AsName, cst.FunctionDef, cst.ClassDef})


def _targets_of(node: cst.CSTNode) -> Iterator[str]:
    """Names a statement or loop header binds."""
    if type(node) not in _BINDERS:
        return
    targets: list[cst.BaseExpression] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor)):
        targets = [node.target]
    elif isinstance(node, cst.AsName):
        targets = [node.name]
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        yield node.name.value
        return
    for target in targets:
        for sub in walk(target):
            if isinstance(sub, cst.Name) and not _inside_attribute(target, sub):
                yield sub.value


def _inside_attribute(target: cst.BaseExpression, name: cst.Name) -> bool:
    return not isinstance(target, (cst.Name, cst.Tuple, cst.List, cst.StarredElement))


def _bound_names(statement: cst.CSTNode) -> Iterator[str]:
    """Names a top-level statement binds in the module scope (not inside its functions)."""
    stack = [statement]
    while stack:
        node = stack.pop()
        yield from _targets_of(node)
        if not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(children(node))


def _is_simple(statement: cst.CSTNode) -> bool:
    return isinstance(statement, (cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef))


def tested_key(comp: cst.DictComp) -> cst.BaseExpression | None:
    """In `{k: v for k, v in sd.items() if k[7:] in model_dict}`, the expression `k[7:]`:
    the key the filter checked, which is the one that should be kept."""
    key = comp.key
    if not isinstance(key, cst.Name) or comp.for_in.inner_for_in is not None:
        return None
    for clause in comp.for_in.ifs:
        test = clause.test
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
                and isinstance(test.comparisons[0].operator, cst.In) \
                and not (isinstance(test.left, cst.Name) and test.left.value == key.value) \
                and any(isinstance(sub, cst.Name) and sub.value == key.value
                        for sub in walk(test.left)):
            return test.left
    return None

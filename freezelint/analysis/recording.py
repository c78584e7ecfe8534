"""The recording of name tests: which literal in the code was compared with which real names.

A loop over `named_parameters()` hands the code real names (RealName); every comparison of
one with a literal (`==`, `in`, `startswith`, a regex) is evaluated for real and recorded as
a NameTest: what it tested, what it matched. FZL101/FZL102 and the hover read these. A test
by position (`i < 100` over `enumerate(model.parameters())`, a slice of the parameter list)
is an IndexTest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import facts as F
from freezelint.analysis.values import (
    UNKNOWN,
    EnumIndex,
    LitStr,
    ParamObj,
    PositionalList,
    RealName,
)

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator


def comparison(it: Evaluator, left: Any, kind: type, right: Any) -> None:
    """Record what `left <op> right` tests, before it is evaluated."""
    if kind in (cst.Equal, cst.NotEqual):
        _record_equal(it, left, right)
        _record_equal(it, right, left)
    elif kind in (cst.In, cst.NotIn):
        if isinstance(left, LitStr) and isinstance(right, RealName):
            record(it, left, right, "substring", left in right)
        elif isinstance(left, RealName) and isinstance(right, (list, tuple, set, dict)):
            for item in right:
                _record_equal(it, left, item)
    elif kind in (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual):
        for side in (left, right):
            if isinstance(side, EnumIndex):
                it.facts.index_tests.setdefault(side.node, F.IndexTest(side.node, side.model))


def affix_test(it: Evaluator, name: RealName, method: str, argument: Any) -> Any:
    """`name.startswith('fc.')`, `name.endswith(('bias', 'norm'))`."""
    kind = "prefix" if method == "startswith" else "suffix"
    options = argument if isinstance(argument, tuple) else (argument,)
    hit = False
    for option in options:
        if isinstance(option, LitStr):
            matched = getattr(str(name), method)(option)
            record(it, option, name, kind, matched)
            hit = hit or matched
        elif not isinstance(option, str):
            return UNKNOWN
        else:
            hit = hit or getattr(str(name), method)(option)
    return hit


def regex(it: Evaluator, function: str, pattern: Any, subject: Any) -> Any:
    """`re.match(pattern, name)` and its siblings."""
    if not isinstance(pattern, str) or not isinstance(subject, str):
        return UNKNOWN
    try:
        compiled = re.compile(pattern)
    except re.error:
        return UNKNOWN
    matched = getattr(compiled, function.rpartition(".")[2])(str(subject)) is not None
    if isinstance(pattern, LitStr) and isinstance(subject, RealName):
        record(it, pattern, subject, "regex", matched)
    return True if matched else None


def positional_slice(it: Evaluator, params: list[ParamObj], part: slice,
                     node: cst.Subscript) -> PositionalList:
    """`list(model.parameters())[:-2]`: parameters chosen by position."""
    it.facts.index_tests.setdefault(node, F.IndexTest(node, params[0].model))
    return PositionalList(params[part])


def _record_equal(it: Evaluator, name: Any, literal: Any) -> None:
    if isinstance(name, RealName) and isinstance(literal, LitStr):
        record(it, literal, name, "equal", literal == name)


def record(it: Evaluator, literal: LitStr, name: RealName, kind: str, matched: bool) -> None:
    test = it.facts.name_tests.get(literal.node)
    if test is None:
        test = F.NameTest(literal.node, str(literal), kind, name.domain, name.model)
        it.facts.name_tests[literal.node] = test
    test.tested.add(str(name))
    if matched:
        test.matched.add(str(name))

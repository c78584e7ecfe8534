"""Comprehensions, run for real: `[n for n, p in model.named_parameters() if 'fc' in n]`
evaluates its condition once per real name (so every name test in it is recorded), and
yields what the loop would. A condition the analysis cannot decide makes the result unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis.scope import MAX_ITERATIONS, Frame
from freezelint.analysis.values import UNKNOWN, ModelState, ParamIter

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator


def run(it: Evaluator, node: cst.BaseComp, frame: Frame,
        produce: Callable[[Frame], Any]) -> tuple[list[Any] | None, Any, Any]:
    """Run a comprehension for real. Returns its values (None when unknown), the model
    whose parameters it iterates (so an empty result still knows its model), and what
    its first `for` iterates."""
    results: list[Any] = []
    local = Frame(parent=frame)
    source_model: list[ModelState] = []
    first_iterable: list[Any] = []

    def loop(clause: cst.CompFor | None) -> bool:
        if clause is None:
            results.append(produce(local))
            return True
        iterable = it.eval(clause.iter, local)
        if not first_iterable:
            first_iterable.append(iterable)
        if isinstance(iterable, ParamIter) and not source_model:
            source_model.append(iterable.model)
        elements = it.iterate(iterable, clause.iter)
        if elements is None:
            return False
        for element in elements:
            if len(results) > MAX_ITERATIONS:
                return False
            it.assign(clause.target, element, local)
            keep: Any = True
            for cond in clause.ifs:
                truth = it.truth(it.eval(cond.test, local))
                if truth is None:
                    keep = UNKNOWN
                elif truth is False:
                    keep = False
            if keep is UNKNOWN:
                return False
            if keep and not loop(clause.inner_for_in):
                return False
        return True

    complete = loop(node.for_in)
    return ((results if complete else None), (source_model[0] if source_model else None),
            first_iterable[0] if first_iterable else None)

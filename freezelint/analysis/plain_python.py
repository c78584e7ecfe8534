"""Plain Python the evaluator computes for real, apart from the Evaluator class itself.

Which values are plain enough to compare or format for real (a container holding something
unknown is not), how a list or set grows when the code appends to it, and the statements of
a compound statement. Kept out of evaluator.py so that module stays one class of readable
length; `body_of` and `plain` are still importable from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis.values import UNKNOWN, is_unknown

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator


# Methods that add to a list or a set: run for real; what cannot be evaluated is added as
# UNKNOWN, so that a consumer of the container sees an unknown member rather than a
# container that looks complete (nanoGPT's `decay.add(fpn)` sets of parameter names).
_GROWING: dict[type, frozenset[str]] = {list: frozenset({"append", "extend", "insert"}),
                                         set: frozenset({"add", "update"})}


def _grow(it: Evaluator, receiver: list[Any] | set[Any], name: str, args: list[Any],
          node: cst.CSTNode) -> Any:
    if name in {"extend", "update"}:
        items = it.iterate(args[0], node) if len(args) == 1 else None
    else:
        items = [args[-1]] if args and (name != "insert" or len(args) == 2) else None
    if items is None:
        items = [UNKNOWN]
    try:
        if isinstance(receiver, set):
            receiver.update(items)
        else:
            receiver.extend(items)
    except TypeError:  # an unhashable member: the set's content is no longer known
        receiver.add(UNKNOWN)  # type: ignore[union-attr]
    return None


def body_of(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """The statements of a compound statement, a one-line suite included."""
    inner = node.body  # type: ignore[attr-defined]
    if isinstance(inner, cst.IndentedBlock):
        return inner.body
    if isinstance(inner, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=inner.body)]
    return inner if isinstance(inner, Sequence) else []


def plain(value: Any) -> bool:
    """A Python value compared for real: not a container holding something unknown
    (`n in [UNKNOWN]` is not False)."""
    if isinstance(value, (list, tuple, set)):
        return not any(is_unknown(v) for v in value)
    if isinstance(value, dict):
        return not any(is_unknown(k) or is_unknown(v) for k, v in value.items())
    return isinstance(value, (str, int, float, bool)) or value is None


def _plain_value(value: Any) -> Any:
    return str(value) if isinstance(value, str) else value

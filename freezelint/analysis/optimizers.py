"""Optimizers and their param groups: which real parameters each optimizer updates.

`torch.optim.AdamW(model.parameters())` captures the parameters it is given, at that point
of the program: an OptimizerBuilt fact records its groups and the trainable state at
construction, so the rules can see a freeze that comes too late, a frozen parameter the
optimizer still holds, or a new head it never got.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import facts as F
from freezelint.analysis import modules
from freezelint.analysis.values import UNKNOWN, OptimizerObj, ParamGroup, ParamIter, ParamObj

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator


def build(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call,
          kind: str = "") -> Any:
    source = kwargs.get("params", args[0] if args else UNKNOWN)
    groups: list[ParamGroup] = []
    explicit_groups = False
    if isinstance(source, (list, tuple)) and source and all(isinstance(g, dict) for g in source):
        explicit_groups = True
        written = _written_groups(node, len(source))
        groups = [_group(it, g, node, written[i]) for i, g in enumerate(source)]
    else:
        groups = [_group(it, source, node)]
    model = next((g.model for g in groups if g.model is not None), None)
    defaults = {k: v for k, v in kwargs.items() if k != "params"}
    optimizer = OptimizerObj(node, model, groups, explicit_groups, it.seq, kind, defaults)
    it.optimizers.append(optimizer)
    last_freeze = None
    if model is not None:
        freezes = [f for f in it.facts.grad_assigns.values() if f.model is model]
        last_freeze = max(freezes, key=lambda f: f.seq) if freezes else None
    it.facts.optimizers.append(F.OptimizerBuilt(
        optimizer, dict(model.trainable) if model else {}, last_freeze))
    return optimizer


def method(it: Evaluator, optimizer: OptimizerObj, name: str, args: list[Any],
           node: cst.Call) -> Any:
    """`optimizer.add_param_group({...})` adds a group; other methods change no membership."""
    if name == "add_param_group" and args:
        group = _group(it, args[0], node, node)
        group.added = True
        optimizer.groups.append(group)
        it.facts.add_param_group_seqs.append(it.seq)
    return UNKNOWN


def _written_groups(node: cst.Call, count: int) -> list[cst.CSTNode | None]:
    """The dict literal each group was written as, when the groups are a list literal in the
    call itself (a rule points at the group)."""
    first = node.args[0].value if node.args and node.args[0].keyword is None else None
    if isinstance(first, (cst.List, cst.Tuple)) and len(first.elements) == count:
        return [e.value for e in first.elements]
    return [None] * count


def _group(it: Evaluator, source: Any, node: cst.CSTNode,
           written: cst.CSTNode | None = None) -> ParamGroup:
    group = _members(it, source, node)
    if isinstance(source, dict):
        group.options = {k: v for k, v in source.items() if k != "params"}
    group.node = written
    return group


def _members(it: Evaluator, source: Any, node: cst.CSTNode) -> ParamGroup:
    if isinstance(source, dict):
        source = source.get("params", UNKNOWN)
    if isinstance(source, ParamIter):
        modules.consume(it, source, node)
        return ParamGroup(source.names, source.model, source=source.node)
    if isinstance(source, ParamObj):
        return ParamGroup([source.name], source.model)
    if isinstance(source, (list, tuple)) and source \
            and all(isinstance(p, ParamObj) for p in source):
        return ParamGroup([p.name for p in source], source[0].model)
    if isinstance(source, (list, tuple)) and not source:
        return ParamGroup([], None)
    return ParamGroup(None, None)

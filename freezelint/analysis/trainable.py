"""What trains: requires_grad per real parameter, and train/eval mode per BatchNorm.

`ModelState.trainable` maps every parameter to True, False or None (unknown: set inside a
branch the analysis could not decide, or handed to code it cannot follow). Each statement
that sets requires_grad becomes one GradAssign fact naming the parameters it touched; a
`train()` that puts BatchNorm layers frozen earlier back into train mode becomes a
BatchNormUndone fact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import facts as F
from freezelint.analysis.nn_modules import BATCHNORM_TYPES, NewModule
from freezelint.analysis.peft_configs import PeftConfig
from freezelint.analysis.values import (
    UNKNOWN,
    ClassSelf,
    ModelState,
    ModuleObj,
    ParamIter,
    ParamObj,
)

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator


def set_grad(it: Evaluator, model: ModelState, names: Iterable[str], value: Any,
             node: cst.CSTNode) -> None:
    flag: bool | None = value if isinstance(value, bool) else None
    if it.uncertain:
        flag = None
    fact = it.facts.grad_assigns.get(node)
    if fact is None:
        fact = F.GradAssign(node, model, it.seq,
                            after_wrap=model.wrap_node,
                            optimizers_before=[o for o in it.optimizers if o.model is model])
        it.facts.grad_assigns[node] = fact
    fact.by_index = fact.by_index or it.index_context[-1]
    if it.uncertain:
        fact.conditional = True
    written = value if isinstance(value, bool) else None
    for name in names:
        if name not in model.trainable:
            continue
        fact.values[name] = flag
        fact.written[name] = written
        old = model.trainable[name]
        model.trainable[name] = flag if flag is not None or old is None else (
            None if old != value else old)


def carry_model_state(values: Iterable[Any]) -> bool:
    """Whether any of `values` holds what `escape` would make unknown: a model, its
    parameters, a layer built from torch.nn, a PEFT config, the script's `self`."""
    for value in values:
        if isinstance(value, (list, tuple, set)):
            if carry_model_state(value):
                return True
        elif isinstance(value, dict):
            if carry_model_state(value.values()):
                return True
        elif isinstance(value, (ModuleObj, ParamObj, ParamIter, NewModule, PeftConfig,
                                ClassSelf)):
            return True
    return False


def escape(values: Iterable[Any]) -> None:
    """`values` go to code the analysis cannot follow, which may set requires_grad on
    whatever parameters they reach: those become unknown, so no rule reports on them.
    (`carry_model_state` above asks whether any of them is there: a kind added here is
    added there.)"""
    for value in values:
        if isinstance(value, (list, tuple, set)):
            escape(value)
        elif isinstance(value, dict):
            escape(value.values())
        elif isinstance(value, ModuleObj):
            for tensor in value.model.manifest.parameters_under(value.path):
                value.model.trainable[tensor.name] = None
        elif isinstance(value, ParamObj):
            value.model.trainable[value.name] = None
        elif isinstance(value, ParamIter):
            names = value.names if value.names is not None else list(value.model.trainable)
            for name in names:
                value.model.trainable[name] = None
        elif isinstance(value, NewModule):  # built from torch.nn, not yet used as a model
            if value.adopted is not None:
                escape([value.adopted])
            else:
                value.escaped = True
        elif isinstance(value, PeftConfig):  # a PEFT config it may change
            value.changed = True
        elif isinstance(value, ClassSelf):  # `self` of a class of the script
            value.escaped = True
            escape([v for v in value.attrs.values() if isinstance(v, ModuleObj)])
            if value.module is not None:
                escape([value.module])


def unseen_call(args: list[Any], kwargs: dict[str, Any]) -> Any:
    """A call into code the analysis does not follow (a callee it cannot resolve, a class or
    function of the project it does not read, a builtin it does not model): what it is
    handed may come back changed in any way (`escape`), and what it returns is unknown."""
    escape([*args, *kwargs.values()])
    return UNKNOWN


def set_mode(it: Evaluator, module: ModuleObj, training: bool, node: cst.CSTNode,
             by: str = "") -> None:
    model = module.model
    base = module.path + "." if module.path else ""
    under = [p for p in model.bn_eval if p == module.path or p.startswith(base)]
    if not module.path:
        model.in_eval = None if training or it.uncertain else node
        model.in_train = node if training and not it.uncertain else None
    if not training:
        if module.type_name in BATCHNORM_TYPES:
            model.bn_eval[module.path] = node
            _cancel_batchnorm_undone(it, model, [module.path])
        else:
            for path in under:
                model.bn_eval.pop(path, None)
        return
    frozen = _frozen_batchnorm(it, model, module.path)
    causes = {p: model.bn_eval[p] for p in under}
    causes.update({p: n for p, n in frozen.items() if p not in causes})
    if causes and not it.uncertain:
        first_cause = next(iter(causes.values()))
        it.facts.batchnorm_undone.setdefault(
            node, F.BatchNormUndone(node, model, sorted(causes), first_cause, by))
    for path in under:
        model.bn_eval.pop(path, None)


def _cancel_batchnorm_undone(it: Evaluator, model: ModelState, paths: list[str]) -> None:
    for key, fact in list(it.facts.batchnorm_undone.items()):
        if fact.model is model:
            fact.paths = [p for p in fact.paths if p not in paths]
            if not fact.paths:
                del it.facts.batchnorm_undone[key]


def _frozen_batchnorm(it: Evaluator, model: ModelState, under: str) -> dict[str, cst.CSTNode]:
    """BatchNorm modules whose parameters a BatchNorm-only freeze froze: their running
    statistics still move in train mode. A freeze of a whole backbone does not count
    (that is the official tutorial's pattern)."""
    owners = {m.path: m.type for m in model.manifest.modules}
    result: dict[str, cst.CSTNode] = {}
    for fact in it.facts.grad_assigns.values():
        if fact.model is not model:
            continue
        frozen = [n for n, v in fact.values.items() if v is False]
        if not frozen:
            continue
        bn_owned = [n for n in frozen if owners.get(n.rpartition(".")[0]) in BATCHNORM_TYPES]
        if len(bn_owned) == len(frozen):
            for name in bn_owned:
                owner = name.rpartition(".")[0]
                if not under or owner == under or owner.startswith(under + "."):
                    result.setdefault(owner, fact.node)
    return result

"""FZL206-FZL208: param groups checked as the name tests they are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libcst as cst

from freezelint.analysis.values import OptimizerObj, ParamGroup, is_unknown
from freezelint.checks.base import Context, Finding, examples, plural, rule
from freezelint.checks.layer_kinds import is_norm as _is_norm

# torch.optim's default weight_decay per class (AdamW decays unless told otherwise).
_DEFAULT_DECAY = {"AdamW": 0.01, "SGD": 0.0, "Adam": 0.0, "RMSprop": 0.0, "Adagrad": 0.0,
                  "Adamax": 0.0, "NAdam": 0.0, "RAdam": 0.0, "Adadelta": 0.0, "ASGD": 0.0}
_MISSING: Any = object()


@rule("FZL207", reads=("optimizers",))
def param_in_two_groups(ctx: Context) -> Iterator[Finding]:
    for built in ctx.facts.optimizers:
        optimizer = built.optimizer
        owner: dict[tuple[int, str], int] = {}
        for index, group in enumerate(optimizer.groups):
            if group.names is None or group.model is None:
                continue
            shared = [n for n in group.names if (id(group.model), n) in owner]
            if shared:
                first = owner[(id(group.model), shared[0])]
                yield _two_groups(optimizer, group, first, index, shared)
                break
            for name in group.names:
                owner[(id(group.model), name)] = index


def _two_groups(optimizer: OptimizerObj, group: ParamGroup, first: int, second: int,
                shared: list[str]) -> Finding:
    label = group.model.label if group.model else "the model"
    message = (f"{plural(len(shared), 'parameter')} of `{label}` ({examples(shared, 2)}) "
               f"{'is' if len(shared) == 1 else 'are'} in param group {first} and again in "
               f"group {second}: torch raises ValueError \"some parameters appear in more than "
               f"one parameter group\"")
    node = group.node if group.added and group.node is not None else optimizer.node
    earlier = optimizer.groups[first].node
    related = ((earlier, f"group {first}"),) if earlier is not None else ()
    return Finding(node, message, related=related)


@rule("FZL206", reads=("optimizers",))
def norm_weight_decay_split(ctx: Context) -> Iterator[Finding]:
    for built in ctx.facts.optimizers:
        optimizer = built.optimizer
        model = optimizer.model
        if not optimizer.explicit_groups or model is None or model.manifest.holes \
                or model.opaque or not model.manifest.modules:
            continue
        decay: dict[str, Any] = {}
        for group in optimizer.groups:
            if group.names is None or group.model is not model:
                break
            value = _weight_decay(optimizer, group)
            for name in group.names:
                decay[name] = _MISSING if name in decay else value
        else:
            # Only what trains: a frozen norm's weight decay changes nothing.
            if any(built.trainable.get(n) is None for n in decay):
                continue
            yield from _splits(optimizer, {n: v for n, v in decay.items() if built.trainable[n]})


def _weight_decay(optimizer: OptimizerObj, group: ParamGroup) -> Any:
    if "weight_decay" in group.options:
        return group.options["weight_decay"]
    if "weight_decay" in optimizer.defaults:
        return optimizer.defaults["weight_decay"]
    return _DEFAULT_DECAY.get(optimizer.kind, _MISSING)


def _splits(optimizer: OptimizerObj, decay: dict[str, Any]) -> Iterator[Finding]:
    model = optimizer.model
    assert model is not None
    manifest = model.manifest
    kinds: dict[tuple[str, str], list[str]] = {}
    for tensor in manifest.parameters:
        info = manifest.module(tensor.module)
        if info is None or not _is_norm(info.type) or tensor.name not in decay:
            continue
        leaf = tensor.name.rpartition(".")[2]
        kinds.setdefault((info.type, leaf), []).append(tensor.name)
    for (type_name, leaf), names in kinds.items():
        values = [decay[n] for n in names]
        if any(v is _MISSING for v in values):
            continue
        zero = [n for n in names if _is_zero(decay[n])]
        decayed = [n for n in names if not _is_zero(decay[n]) and _decays(decay[n])]
        if not zero or not decayed or len(zero) + len(decayed) != len(names):
            continue
        shown = _value(decay[decayed[0]])
        parts = sorted({n.rpartition(".")[0].rpartition(".")[2] for n in decayed})
        yield Finding(optimizer.node,
                      f"the {type_name} {leaf}s of `{model.label}` get two weight decays: "
                      f"{_count(zero)} in a group without decay, {_count(decayed)} in a group "
                      f"with weight_decay {shown}; the names that pick the no-decay group "
                      f"miss the {type_name} layers named {examples(parts, 3)}")


def _count(names: list[str]) -> str:
    if len(names) == 1:
        return f"`{names[0]}` is"
    return f"{len(names)} ({examples(names, 2)}) are"


def _is_zero(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def _decays(value: Any) -> bool:
    """A value that is not zero: a non-zero number, or an expression the analysis could not
    evaluate where the script sets a weight decay apart from the zero group."""
    return is_unknown(value) or (isinstance(value, (int, float)) and value != 0)


def _value(value: Any) -> str:
    return "set by the script" if is_unknown(value) else f"{value:g}"


@rule("FZL208", reads=("optimizers", "name_tests"))
def empty_param_group(ctx: Context) -> Iterator[Finding]:
    for built in ctx.facts.optimizers:
        optimizer = built.optimizer
        if not optimizer.explicit_groups:
            continue
        for index, group in enumerate(optimizer.groups):
            model = group.model
            if group.names != [] or model is None or model.manifest.holes or model.opaque \
                    or not _selects_by_name(group.source) or _unmatched_literal(ctx, model):
                continue
            settings = ", ".join(f"{k}={_value(v)}" for k, v in group.options.items()
                                 if isinstance(v, (int, float)) and not isinstance(v, bool))
            head = model.manifest.head
            applies = f"its {settings} applies" if settings else "its settings apply"
            message = (f"param group {index} is empty: the names it tests select none of the "
                       f"{len(model.trainable)} parameters of `{model.label}`, so {applies} "
                       f"to nothing")
            if head is not None:
                message += f"; the model's head is `{head}`"
            yield Finding(group.node or optimizer.node, message)


def _selects_by_name(source: object) -> bool:
    """A comprehension over `named_parameters()` that keeps parameters by their names only,
    not by `requires_grad` (a group emptied by freezing is the freezing's business)."""
    if not isinstance(source, (cst.ListComp, cst.GeneratorExp)):
        return False
    loop = source.for_in
    call = loop.iter
    if loop.inner_for_in is not None or not loop.ifs or not isinstance(call, cst.Call) \
            or not isinstance(call.func, cst.Attribute) \
            or call.func.attr.value != "named_parameters":
        return False
    finder = _RequiresGrad()
    for condition in loop.ifs:
        condition.visit(finder)
    return not finder.requires_grad


def _unmatched_literal(ctx: Context, model: object) -> bool:
    """A literal tested against this model's names matched nothing: FZL101 reports it, and
    the group it empties (wherever the literal was written) is that same mistake."""
    return any(t.model is model and not t.matched and t.tested
               for t in ctx.facts.name_tests.values())


class _RequiresGrad(cst.CSTVisitor):
    def __init__(self) -> None:
        self.requires_grad = False

    def visit_Name(self, node: cst.Name) -> None:
        self.requires_grad = self.requires_grad or node.value == "requires_grad"

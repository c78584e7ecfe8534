"""FZL201-FZL205: what the optimizer holds compared with what the model trains."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.analysis.values import OptimizerObj
from freezelint.checks.base import (
    Context,
    Finding,
    FixSpec,
    examples,
    fix,
    parameters_argument,
    plural,
    rule,
)
from freezelint.common.diagnostics import Safety


@rule("FZL201", reads=("optimizers", "grad_assigns"))
def optimizer_includes_frozen(ctx: Context) -> Iterator[Finding]:
    for built in ctx.facts.optimizers:
        names = built.optimizer.names
        model = built.optimizer.model
        if names is None or model is None:
            continue
        frozen = [n for n, state in built.trainable.items() if n in names and state is False]
        trained = [n for n, state in built.trainable.items() if n in names and state is True]
        if frozen and trained:
            yield Finding(built.optimizer.node,
                          f"the optimizer receives {plural(len(frozen), 'frozen parameter')} "
                          f"({examples(frozen, 2)}); harmless since they get no gradient, but "
                          f"passing only trainable ones keeps its state and param groups honest",
                          fixes=_filter_fix(built.optimizer))
    for assign in ctx.facts.grad_assigns.values():
        now_frozen = {n for n, v in assign.values.items() if v is False}
        for optimizer in assign.optimizers_before:
            held = optimizer.names
            if held is None or not now_frozen & held:
                continue
            affected = [n for n in assign.model.trainable if n in now_frozen and n in held]
            yield Finding(assign.node,
                          f"freezes {plural(len(affected), 'parameter')} "
                          f"({examples(affected, 2)}) after the optimizer was built with them: "
                          f"they stop updating only because they get no gradient",
                          related=((optimizer.node, "the optimizer that still holds them"),))
            break


def _filter_fix(optimizer: OptimizerObj) -> tuple:  # type: ignore[type-arg]
    source = parameters_argument(optimizer.node)
    if source is None:
        return ()
    comprehension = cst.ListComp(
        elt=cst.Name("p"),
        for_in=cst.CompFor(target=cst.Name("p"), iter=source, ifs=[
            cst.CompIf(test=cst.Attribute(value=cst.Name("p"), attr=cst.Name("requires_grad")))]))
    return (fix("Pass only trainable parameters", Safety.SAFE, (source, comprehension)),)


@rule("FZL202", reads=("replacements",))
def optimizer_stale(ctx: Context) -> Iterator[Finding]:
    for replaced in ctx.facts.replacements:
        if not replaced.stale_optimizers:
            continue
        optimizer = replaced.stale_optimizers[0]
        message = (f"`{replaced.path}` is replaced after the optimizer was built: the "
                   f"optimizer still holds the old parameters, and the new "
                   f"{plural(len(replaced.new_names), 'parameter')} "
                   f"({examples(replaced.new_names, 2)}) are never trained; build the "
                   f"optimizer after changing the model")
        yield Finding(replaced.node, message,
                      related=((optimizer.node, "the optimizer built before the change"),))


@rule("FZL203", reads=("optimizers", "grad_assigns", "add_param_group_seqs"))
def trainable_not_optimized(ctx: Context) -> Iterator[Finding]:
    for built in ctx.facts.optimizers:
        optimizer = built.optimizer
        names = optimizer.names
        if not optimizer.explicit_groups or names is None or optimizer.model is None:
            continue
        if any(v is None for v in built.trainable.values()):
            continue
        missing = [n for n, v in built.trainable.items() if v and n not in names]
        if missing:
            modules = _top_modules(missing)
            yield Finding(optimizer.node,
                          f"the param groups leave out {plural(len(missing), 'trainable parameter')} "
                          f"of `{optimizer.model.label}` (in {examples(modules, 3)}): they get "
                          f"gradients but are never updated; freeze them or add a group")
    later_optimizers = [(b.optimizer.model, b.optimizer.seq) for b in ctx.facts.optimizers]
    for assign in ctx.facts.grad_assigns.values():
        unfrozen = {n for n, v in assign.written.items() if v is True}
        if not unfrozen or not assign.optimizers_before:
            continue
        if any(seq > assign.seq for seq in ctx.facts.add_param_group_seqs):
            continue
        if any(model is assign.model and seq > assign.seq for model, seq in later_optimizers):
            continue
        held: set[str] = set()
        for optimizer in assign.optimizers_before:
            if optimizer.names is None:
                held = set(unfrozen)
                break
            held |= optimizer.names
        outside = [n for n in assign.model.trainable if n in unfrozen and n not in held]
        if outside:
            yield Finding(assign.node,
                          f"unfreezes {plural(len(outside), 'parameter')} "
                          f"({examples(outside, 2)}) that no optimizer holds: they get "
                          f"gradients but never update; call `optimizer.add_param_group(...)` "
                          f"or build a new optimizer",
                          related=((assign.optimizers_before[-1].node,
                                    "the optimizer built before"),))


def _top_modules(names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name.split(".")[0], None)
    return list(seen)


@rule("FZL204", reads=("reused",))
def iterator_reused(ctx: Context) -> Iterator[Finding]:
    for fact in ctx.facts.reused.values():
        fixes: tuple[FixSpec, ...] = ()
        if isinstance(fact.source, cst.Call):
            wrapped = cst.Call(func=cst.Name("list"), args=[cst.Arg(fact.source)])
            fixes = (fix("Materialise the parameters once with list(...)", Safety.SAFE,
                         (fact.source, wrapped)),)
        yield Finding(fact.node, "this iterator of parameters was already used up by an earlier "
                                 "consumer: here it yields nothing",
                      related=((fact.first, "consumed here first"),
                               (fact.source, "the iterator is made here")),
                      fixes=fixes)


@rule("FZL205", reads=("grad_assigns",))
def freeze_after_wrap(ctx: Context) -> Iterator[Finding]:
    for assign in ctx.facts.grad_assigns.values():
        if assign.after_wrap is None:
            continue
        wrapper = assign.model.wrapped_by or "the wrapper"
        yield Finding(assign.node,
                      f"requires_grad changes after {wrapper} wrapped the model: it registered "
                      f"its gradient hooks for the parameters trainable at wrap time, so this "
                      f"change breaks gradient reduction; freeze before wrapping",
                      related=((assign.after_wrap, "wrapped here"),))

"""FZL103, FZL107, FZL112: what the freezing leaves trainable."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.analysis.facts import GradAssign
from freezelint.analysis.values import ModelState
from freezelint.checks.base import Context, Finding, examples, plural, rule


@rule("FZL103", reads=("optimizers", "models", "grad_assigns", "name_tests"))
def nothing_trainable(ctx: Context) -> Iterator[Finding]:
    models_with_optimizer: set[int] = set()
    for built in ctx.facts.optimizers:
        optimizer = built.optimizer
        model = optimizer.model
        names = optimizer.names
        if names is None:
            continue
        if model is not None:
            models_with_optimizer.add(id(model))
        states = [built.trainable.get(n) for n in names]
        if any(s is None for s in states) or any(states):
            continue
        if model is None and names:
            continue
        related: tuple[tuple[cst.CSTNode, str], ...] = ()
        if built.last_freeze is not None:
            related = ((built.last_freeze.node, "the parameters are frozen here"),)
        if model is None:
            message = "the optimizer receives an empty parameter list"
        elif not names:
            total = len(model.trainable)
            message = (f"the optimizer receives no parameters: all {total} parameters of "
                       f"`{model.label}` are frozen, so torch raises \"optimizer got an empty "
                       f"parameter list\"")
        else:
            message = (f"every parameter the optimizer receives is frozen "
                       f"({plural(len(names), 'parameter')} of `{model.label}`): it trains "
                       f"nothing")
        yield Finding(optimizer.node, message, related=related)
    for model in ctx.facts.models:
        if id(model) in models_with_optimizer:
            continue
        finding = _all_frozen_at_end(ctx, model)
        if finding is not None:
            yield finding


def _all_frozen_at_end(ctx: Context, model: ModelState) -> Finding | None:
    """No optimizer in sight, yet the script leaves nothing trainable, although it meant to
    train some of it: it tested the parameters' names to choose what to freeze, or it
    trains the model afterwards (`model.train()`, or a trainer that calls it). A model
    frozen whole on purpose is a feature extractor, a teacher or an EMA copy (the Lightning
    tutorials' pretrained ResNet, a distiller's teacher), which nothing is meant to train."""
    assigns = [a for a in ctx.facts.grad_assigns.values() if a.model is model]
    if not assigns or not model.trainable or any(v is not False for v in model.trainable.values()) \
            or model.manifest.holes:
        return None
    chose = any(test.model is model for test in ctx.facts.name_tests.values())
    if not chose and model.in_train is None:
        return None
    last = max(assigns, key=lambda a: a.seq)
    return Finding(last.node, f"after this, none of the {len(model.trainable)} parameters of "
                              f"`{model.label}` is trainable")


@rule("FZL107", reads=("grad_assigns", "optimizers"))
def freeze_undone(ctx: Context) -> Iterator[Finding]:
    by_model: dict[int, list[GradAssign]] = {}
    for assign in ctx.facts.grad_assigns.values():
        by_model.setdefault(id(assign.model), []).append(assign)
    optimizer_seqs = [(b.optimizer.model, b.optimizer.seq) for b in ctx.facts.optimizers]
    for assigns in by_model.values():
        assigns.sort(key=lambda a: a.seq)
        for later_index, later in enumerate(assigns):
            value = _wholesale_value(later)
            if value is None:
                continue
            for earlier in assigns[:later_index]:
                if not _selective(earlier):
                    continue
                if any(m is later.model and earlier.seq < s < later.seq for m, s in optimizer_seqs):
                    continue
                undone = [n for n, v in earlier.values.items() if v is not None and v != value]
                if not undone:
                    continue
                verb = "re-enables" if value else "re-freezes"
                message = (f"this sets requires_grad={value} on all "
                           f"{len(later.values)} parameters of `{later.model.label}` and "
                           f"{verb} the {plural(len(undone), 'parameter')} the earlier "
                           f"selective freeze set ({examples(undone)})")
                yield Finding(later.node, message,
                              related=((earlier.node, "the selective freeze it undoes"),))
                break


def _wholesale_value(assign: GradAssign) -> bool | None:
    values = set(assign.values.values())
    if assign.conditional or len(values) != 1 or None in values:
        return None
    if set(assign.values) != set(assign.model.trainable):
        return None
    return next(iter(values))


def _selective(assign: GradAssign) -> bool:
    known = {n: v for n, v in assign.values.items() if v is not None}
    if not known:
        return False
    return set(known) != set(assign.model.trainable) or len(set(known.values())) > 1


@rule("FZL112", reads=("index_tests", "grad_assigns"))
def freeze_by_index(ctx: Context) -> Iterator[Finding]:
    for test in ctx.facts.index_tests.values():
        model = test.model
        names = [p.name for p in model.manifest.parameters]
        assigns = [a for a in ctx.facts.grad_assigns.values() if a.model is model and a.by_index]
        frozen = {n for a in assigns for n, v in a.values.items() if v is False}
        message = ("freezing by position in `parameters()` treats parameters as layers: "
                   "the index counts tensors (weights and biases), not layers, and shifts "
                   "when the architecture changes")
        cut = _cut(names, frozen)
        if cut is not None:
            before, after = cut
            module_before, module_after = before.rpartition(".")[0], after.rpartition(".")[0]
            if module_before == module_after:
                message += (f"; here the cut splits `{module_before}`: `{before}` is frozen "
                            f"but `{after}` is not")
            else:
                message += f"; here it falls between `{before}` and `{after}`"
            message += f" ({len(frozen)} of {len(names)} parameters frozen). Name the modules instead"
        yield Finding(test.node, message)


def _cut(names: list[str], frozen: set[str]) -> tuple[str, str] | None:
    """The last frozen and first trainable name when the frozen set is a prefix or suffix."""
    flags = [n in frozen for n in names]
    if not frozen or all(flags):
        return None
    changes = [i for i in range(1, len(flags)) if flags[i] != flags[i - 1]]
    if len(changes) != 1:
        return None
    i = changes[0]
    return (names[i - 1], names[i]) if flags[i - 1] else (names[i], names[i - 1])

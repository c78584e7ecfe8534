"""FZL108 and FZL109: the model's modules, their names and their train/eval mode."""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.checks.base import Context, Finding, examples, rule


@rule("FZL108", reads=("batchnorm_undone",))
def frozen_batchnorm_train_mode(ctx: Context) -> Iterator[Finding]:
    for fact in ctx.facts.batchnorm_undone.values():
        count = len(fact.paths)
        layers = "BatchNorm layer" if count == 1 else f"{count} BatchNorm layers"
        caller = fact.by or "`train()`"
        advice = ("put them back in eval() after calling train()" if not fact.by else
                  "replace them with torchvision.ops.FrozenBatchNorm2d, which has no training "
                  "mode, or keep them trainable")
        message = (f"{caller} puts the {layers} frozen earlier ({examples(fact.paths, 2)}) "
                   f"back in training mode: their running mean and variance keep updating "
                   f"from each batch; {advice}")
        yield Finding(fact.node, message, related=((fact.cause, "frozen here"),))


@rule("FZL109", reads=("missing",))
def missing_submodule(ctx: Context) -> Iterator[Finding]:
    for fact in ctx.facts.missing.values():
        manifest = fact.model.manifest
        label = f"`{fact.model.label}`"
        head = manifest.head
        parent, _, leaf = fact.path.rpartition(".")
        where = f"`{parent}` of {label}" if parent else label
        hint = f"; its classifier head is `{head}`" if head else ""
        if fact.assigned:
            message = (f"{where} has no submodule `{leaf}`: assigning it adds a new module "
                       f"that the model's forward() never calls, so it is never trained or "
                       f"used{hint}")
        else:
            message = f"{where} has no submodule `{leaf}` (AttributeError at run time){hint}"
        yield Finding(fact.node, message)

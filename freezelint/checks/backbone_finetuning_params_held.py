"""FZL209 backbone-finetuning-params-held: `configure_optimizers` gives the optimizer the
backbone that Lightning's `BackboneFinetuning` froze (rules/FZL209-* says what it costs)."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

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


@rule("FZL209", reads=("finetuning_held",), triggers=(r"BackboneFinetuning",))
def backbone_finetuning_params_held(ctx: Context) -> Iterator[Finding]:
    for fact in ctx.facts.finetuning_held:
        epoch = f"epoch {fact.epoch}" if isinstance(fact.epoch, int) else "the unfreeze epoch"
        yield Finding(
            fact.node,
            f"`BackboneFinetuning` freezes `backbone` before `configure_optimizers`, but this "
            f"optimizer already holds its {plural(len(fact.held), 'frozen parameter')} "
            f"({examples(fact.held, 2)}): at {epoch} the callback skips them instead of "
            f"adding the backbone's param group, so the backbone trains at this group's "
            f"learning rate and the callback's backbone schedule is applied to the wrong "
            f"group; pass only `filter(lambda p: p.requires_grad, ...)`",
            related=((fact.callback, "the callback that freezes `backbone` first"),
                     (fact.fit, "trained here")),
            fixes=_filter_fix(fact.node))


def _filter_fix(node: cst.CSTNode) -> tuple[FixSpec, ...]:
    source = parameters_argument(node)
    if source is None:
        return ()
    trainable = cst.Lambda(
        params=cst.Parameters(params=[cst.Param(cst.Name("p"))]),
        body=cst.Attribute(value=cst.Name("p"), attr=cst.Name("requires_grad")))
    filtered = cst.Call(func=cst.Name("filter"), args=[
        cst.Arg(trainable, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
        cst.Arg(source)])
    return (fix("Pass only the parameters that require gradients", Safety.UNSAFE,
                (source, filtered)),)

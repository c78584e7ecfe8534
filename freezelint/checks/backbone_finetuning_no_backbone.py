"""FZL210 backbone-finetuning-no-backbone: Lightning's `BackboneFinetuning` on a
LightningModule without `backbone` (rules/FZL210-* says what happens)."""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.checks.base import Context, Finding, examples, rule


@rule("FZL210", reads=("finetuning_no_backbone",), triggers=(r"BackboneFinetuning",))
def backbone_finetuning_no_backbone(ctx: Context) -> Iterator[Finding]:
    for fact in ctx.facts.finetuning_no_backbone:
        has = f" (its submodules: {examples(fact.children, 4)})" if fact.children else ""
        yield Finding(
            fact.node,
            f"`BackboneFinetuning` freezes `pl_module.backbone`, and `{fact.class_name}` has "
            f"no `backbone`{has}: `trainer.fit` fails at setup with AttributeError; name "
            f"the pretrained part `self.backbone`, or subclass `BaseFinetuning` to freeze "
            f"the module you mean",
            related=((fact.fit, "trained here"),))

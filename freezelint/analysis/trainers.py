"""Trainers that run the training loop for the script: what they do to the model.

The Hugging Face `Trainer` reads the model it is given and changes no `requires_grad`; it
builds its own optimizer from the parameters that require gradients when `train()` starts
(unless `optimizers=(optimizer, scheduler)` hands it one), and it calls `model.train()` at
every training step (`Trainer.training_step`, transformers 4.x and 5.x), which puts
BatchNorm layers the script set to eval mode back in training mode (FZL108).

Lightning's `Trainer` restores each submodule's own train/eval mode around validation
(`_ModuleMode`), so it is not modelled as calling `train()`. Lightning's finetuning helpers
are: `BaseFinetuning.freeze(modules, train_bn=True)` freezes every parameter under
`modules` except, by default, the BatchNorm layers' (it makes those trainable), and
`BaseFinetuning.make_trainable(modules)` unfreezes them (lightning 2.x,
`callbacks/finetuning.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import trainable
from freezelint.analysis.nn_modules import BATCHNORM_TYPES
from freezelint.analysis.values import UNKNOWN, ModuleObj

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator

# transformers' trainers that take the model as given (trl's trainers may wrap it with PEFT).
HF_TRAINERS = frozenset({
    "transformers.Trainer", "transformers.trainer.Trainer", "transformers.Seq2SeqTrainer",
    "transformers.trainer_seq2seq.Seq2SeqTrainer",
})


@dataclass(eq=False)
class HFTrainer:
    """`Trainer(model=model, ...)` over a model the analysis knows."""

    node: cst.Call
    model: ModuleObj
    optimizers_given: bool


def call(it: Evaluator, name: str, args: list[Any], kwargs: dict[str, Any],
         node: cst.Call) -> Any:
    model = kwargs.get("model", args[0] if args else None)
    if not isinstance(model, ModuleObj) or "model_init" in kwargs:
        trainable.escape([*args, *kwargs.values()])
        return UNKNOWN
    return HFTrainer(node, model, "optimizers" in kwargs)


def method(it: Evaluator, trainer: HFTrainer, name: str, args: list[Any],
           kwargs: dict[str, Any], node: cst.Call) -> Any:
    if name == "train":
        trainable.set_mode(it, trainer.model, True, node,
                           by="the Trainer calls `model.train()` at every training step: it")
    return UNKNOWN


_LIGHTNING = ("lightning.pytorch.callbacks", "pytorch_lightning.callbacks")
_FINETUNING_METHODS = ("BaseFinetuning.freeze", "BaseFinetuning.make_trainable")


def is_finetuning_helper(name: str) -> bool:
    return name.startswith(_LIGHTNING) and name.endswith(_FINETUNING_METHODS)


def finetuning_helper(it: Evaluator, name: str, args: list[Any], kwargs: dict[str, Any],
                      node: cst.Call) -> Any:
    """`BaseFinetuning.freeze(self.backbone, train_bn=False)` on modules the analysis knows."""
    given = kwargs.get("modules", args[0] if args else UNKNOWN)
    modules = given if isinstance(given, (list, tuple)) else [given]
    if not modules or not all(isinstance(m, ModuleObj) and not m.prefix
                              and not m.model.manifest.hole_under(m.path) for m in modules):
        trainable.escape([*args, *kwargs.values()])
        return None
    if name.endswith("make_trainable"):
        for module in modules:
            trainable.set_grad(it, module.model, _under(module), True, node)
        return None
    train_bn = kwargs.get("train_bn", args[1] if len(args) > 1 else True)
    for module in modules:
        manifest = module.model.manifest
        names = _under(module)
        batchnorm = [n for n in names if _type_of(manifest, n) in BATCHNORM_TYPES]
        others = [n for n in names if n not in set(batchnorm)]
        trainable.set_grad(it, module.model, others, False, node)
        if batchnorm:
            value = train_bn if isinstance(train_bn, bool) else UNKNOWN
            trainable.set_grad(it, module.model, batchnorm, value, node)
    return None


def _under(module: ModuleObj) -> list[str]:
    return [p.name for p in module.model.manifest.parameters_under(module.path)]


def _type_of(manifest: Any, name: str) -> str:
    info = manifest.module(name.rpartition(".")[0])
    return info.type if info is not None else "?"

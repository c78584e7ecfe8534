"""Trainers that run the training loop for the script: what they do to the model.

The Hugging Face `Trainer` reads the model it is given and changes no `requires_grad`; it
builds its own optimizer from the parameters that require gradients when `train()` starts
(unless `optimizers=(optimizer, scheduler)` hands it one), and it calls `model.train()` at
every training step (`Trainer.training_step`, transformers 4.x and 5.x), which puts
BatchNorm layers the script set to eval mode back in training mode (FZL108).

Lightning's `Trainer` restores each submodule's own train/eval mode around validation
(`_ModuleMode`), so it is not modelled as calling `train()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import trainable
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
        trainable.set_mode(it, trainer.model, True, node)
    return UNKNOWN

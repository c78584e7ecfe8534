"""FZL209: configure_optimizers hands the optimizer the backbone BackboneFinetuning froze."""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import lint
from freezelint.prefilter import worth_linting

MODULE = """
import torch
import torch.nn as nn
import torchvision
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BackboneFinetuning


class TransferLearningModel(LightningModule):
    def __init__(self, num_classes=10):
        super().__init__()
        self.backbone = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        self.backbone.fc = nn.Identity()
        self.head = nn.Linear(2048, num_classes)

    def configure_optimizers(self):
        return torch.optim.Adam(PARAMS, lr=1e-3)


model = TransferLearningModel()
trainer = Trainer(TRAINER)
trainer.fit(model)
"""
CALLBACK = "callbacks=[BackboneFinetuning(unfreeze_backbone_at_epoch=5)]"


def run(params: str, trainer: str = CALLBACK) -> list[tuple[str, str]]:
    code = MODULE.replace("PARAMS", params).replace("TRAINER", trainer)
    return [(d.rule, d.message) for d in lint(textwrap.dedent(code))]


def test_all_parameters_include_the_frozen_backbone():
    found = run("self.parameters()")
    assert [rule for rule, _ in found] == ["FZL209"]
    # resnet50's 53 convolutions; its BatchNorm layers stay trainable under freeze(train_bn=True)
    assert "53 frozen parameters (`backbone.conv1.weight`, `backbone.layer1.0.conv1.weight`" \
        in found[0][1]
    assert "at epoch 5" in found[0][1]
    assert worth_linting(MODULE, explicit_model=False)


def test_a_group_that_mixes_backbone_and_head_is_reported():
    found = run("[{'params': self.parameters(), 'weight_decay': 0.0}]")
    assert [rule for rule, _ in found] == ["FZL209"]


def test_a_backbone_group_of_its_own_is_quiet():
    # The callback skips it (with a warning) and its schedule drives that last group.
    assert run("[{'params': self.head.parameters()}, "
               "{'params': self.backbone.parameters(), 'lr': 1e-4}]") == []


def test_only_what_requires_grad_or_the_head_is_quiet():
    assert run("filter(lambda p: p.requires_grad, self.parameters())") == []
    assert run("[p for p in self.parameters() if p.requires_grad]") == []
    assert run("self.head.parameters()") == []


def test_no_callback_or_one_that_never_unfreezes_is_quiet():
    assert run("self.parameters()", "max_epochs=3") == []
    assert run("self.parameters()",
               "max_epochs=3, callbacks=[BackboneFinetuning(unfreeze_backbone_at_epoch=5)]") == []


def test_callbacks_not_known_are_quiet():
    assert run("self.parameters()", "callbacks=make_callbacks()") == []


def test_the_fix_filters_on_requires_grad():
    code = MODULE.replace("PARAMS", "self.parameters()").replace("TRAINER", CALLBACK)
    found = lint(code)
    assert found[0].fixes and "filter(lambda p: p.requires_grad, self.parameters())" \
        in found[0].fixes[0].edits[0].text


def test_a_module_built_with_other_arguments_is_not_judged_by_its_defaults():
    code = MODULE.replace("PARAMS", "self.parameters()").replace("TRAINER", CALLBACK)
    code = code.replace("def __init__(self, num_classes=10):", "def __init__(self, deep=True):")
    code = code.replace('self.backbone = torchvision.models.resnet50(weights="IMAGENET1K_V2")',
                        'self.backbone = torchvision.models.resnet50() if deep '
                        'else torchvision.models.resnet18()')
    code = code.replace("nn.Linear(2048, num_classes)", "nn.Linear(2048, 10)")
    assert [d.rule for d in lint(code)] == ["FZL209"]
    assert lint(code.replace("TransferLearningModel()", "TransferLearningModel(deep=False)")) == []


def test_a_module_with_its_own_setup_is_quiet():
    # Lightning runs the callback's freeze, then the module's setup, then
    # configure_optimizers: a setup that changes requires_grad is not replayed in that order.
    code = MODULE.replace("PARAMS", "self.parameters()").replace("TRAINER", CALLBACK)
    code = code.replace("    def configure_optimizers(self):",
                        "    def setup(self, stage=None):\n"
                        "        self.backbone.requires_grad_(True)\n\n"
                        "    def configure_optimizers(self):")
    assert lint(code) == []


def test_a_fit_in_a_loop_is_reported_once():
    code = MODULE.replace("PARAMS", "self.parameters()").replace("TRAINER", CALLBACK)
    code = code.replace("trainer.fit(model)", "for fold in range(3):\n    trainer.fit(model)")
    assert [d.rule for d in lint(code)] == ["FZL209"]

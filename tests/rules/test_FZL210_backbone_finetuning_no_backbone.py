"""FZL210: BackboneFinetuning on a LightningModule without `backbone`."""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import lint
from freezelint.prefilter import worth_linting

CODE = """
import torch
import torch.nn as nn
import torchvision
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BackboneFinetuning


class Classifier(LightningModule):
    def __init__(self, num_classes=10):
        super().__init__()
        self.encoder = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        self.encoder.fc = nn.Identity()
        self.head = nn.Linear(2048, num_classes)

    def configure_optimizers(self):
        return torch.optim.Adam(self.head.parameters(), lr=1e-3)


model = Classifier()
EXTRA
trainer = Trainer(callbacks=[BackboneFinetuning()])
trainer.fit(model)
"""


def run(extra: str = "") -> list[tuple[str, str]]:
    return [(d.rule, d.message) for d in lint(textwrap.dedent(CODE.replace("EXTRA", extra)))]


def test_a_module_without_backbone_is_reported():
    found = run()
    assert [rule for rule, _ in found] == ["FZL210"]
    assert "`Classifier` has no `backbone` (its submodules: `encoder`, `head`)" in found[0][1]
    assert worth_linting(CODE, explicit_model=False)


def test_a_backbone_added_some_other_way_is_quiet():
    assert run("model.backbone = model.encoder") == []
    assert run('setattr(model, "backbone", model.encoder)') == []
    assert run("prepare(model)") == []  # code not followed may add it


def test_a_backbone_is_quiet():
    code = CODE.replace("EXTRA", "").replace("encoder", "backbone")
    assert lint(code) == []

"""A LightningModule that freezes in `__init__` (or `setup`) and builds its optimizer over
`self.parameters()` in `configure_optimizers`: the freezes are replayed on the whole module,
read from its class, so the optimizer rules see the real names (analysis/class_self.py)."""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import lint

HEADER = """
import torch
import torch.nn as nn
import torchvision
import lightning.pytorch as pl

"""


def found(code: str) -> list[tuple[str, str]]:
    return [(d.rule, d.message) for d in lint(HEADER + textwrap.dedent(code))]


FROZEN_RESNET = """
class Classifier(pl.LightningModule):
    def __init__(self, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.backbone = torchvision.models.resnet18(weights="DEFAULT")
        for p in self.backbone.parameters():
            p.requires_grad = False
        self.backbone.fc = nn.Linear(512, num_classes)

    def configure_optimizers(self):
        return torch.optim.Adam(OPTIMIZED, lr=1e-3)
"""


def test_optimizer_over_self_parameters_sees_the_freeze_of_init():
    result = found(FROZEN_RESNET.replace("OPTIMIZED", "self.parameters()"))
    assert [rule for rule, _ in result] == ["FZL201"]
    assert "60 frozen parameters" in result[0][1]
    assert "`backbone.conv1.weight`" in result[0][1]  # resnet18's real name, under `backbone`


def test_only_trainable_parameters_are_quiet():
    assert found(FROZEN_RESNET.replace(
        "OPTIMIZED", "filter(lambda p: p.requires_grad, self.parameters())")) == []
    assert found(FROZEN_RESNET.replace("OPTIMIZED", "self.backbone.fc.parameters()")) == []


def test_groups_that_leave_out_what_init_left_trainable():
    code = """
        class Classifier(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.backbone = torchvision.models.resnet18(weights="DEFAULT")
                for name, p in self.backbone.named_parameters():
                    p.requires_grad = name.startswith(("layer4.", "fc."))

            def configure_optimizers(self):
                return torch.optim.SGD([{"params": GROUPS, "lr": 1e-2}], lr=1e-3)
    """
    result = found(code.replace("GROUPS", "self.backbone.fc.parameters()"))
    assert [rule for rule, _ in result] == ["FZL203"]
    assert "15 trainable parameters of `Classifier` (in `backbone`)" in result[0][1]
    both = "[*self.backbone.layer4.parameters(), *self.backbone.fc.parameters()]"
    assert found(code.replace("GROUPS", both)) == []


def test_freeze_in_setup_counts_before_configure_optimizers():
    # Lightning calls setup("fit"), configure_model(), then configure_optimizers().
    code = """
        class Classifier(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.backbone = torchvision.models.resnet18(weights="DEFAULT")

            def setup(self, stage=None):
                self.backbone.requires_grad_(False)
                self.backbone.fc.requires_grad_(True)

            def configure_optimizers(self):
                return torch.optim.AdamW(self.parameters(), lr=1e-3)
    """
    result = found(code)
    assert [rule for rule, _ in result] == ["FZL201"]
    assert "60 frozen parameters" in result[0][1]


def test_a_backbone_class_read_from_the_script():
    code = """
        class Backbone(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 16, 3)
                self.bn = nn.BatchNorm2d(16)
                self.proj = nn.Linear(16, 32)

        class Model(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.encoder = Backbone()
                self.encoder.conv.requires_grad_(False)
                self.head = nn.Linear(32, 4)

            def configure_optimizers(self):
                return torch.optim.Adam([{"params": self.head.parameters()}], lr=1e-3)
    """
    result = found(code)
    assert [rule for rule, _ in result] == ["FZL203"]
    assert "4 trainable parameters of `Model` (in `encoder`)" in result[0][1]


def test_a_module_that_freezes_nothing_is_unchanged():
    assert found(FROZEN_RESNET.replace(
        "        for p in self.backbone.parameters():\n            p.requires_grad = False\n",
        "").replace("OPTIMIZED", "self.parameters()")) == []


def test_self_handed_to_code_not_followed_makes_everything_unknown():
    # LightningModule.freeze() / a loop over self.parameters() before the module exists /
    # a helper given `self`: what they froze is not known, so no group is called incomplete.
    for freeze in ("self.freeze()",
                   "for p in self.parameters():\n            p.requires_grad = False",
                   "freeze_all(self)"):
        code = f"""
class Model(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.backbone = torchvision.models.resnet18(weights="DEFAULT")
        {freeze}
        self.head = nn.Linear(1000, 10)

    def configure_optimizers(self):
        return torch.optim.Adam([{{"params": self.head.parameters()}}], lr=1e-3)
"""
        assert found(code) == [], freeze


def test_a_backbone_built_from_arguments_and_frozen_is_unknown():
    # The interpreter cannot build `timm.create_model(arch)` with `arch` an argument, so
    # the loop that freezes it goes unseen: the class reader's default build must not
    # stand in for it as all trainable.
    assert found("""
        import timm

        class Model(pl.LightningModule):
            def __init__(self, arch="resnet50"):
                super().__init__()
                self.backbone = timm.create_model(arch, pretrained=True, num_classes=0)
                for p in self.backbone.parameters():
                    p.requires_grad = False
                self.head = nn.Linear(2048, 10)

            def configure_optimizers(self):
                return torch.optim.Adam([{"params": self.head.parameters()}], lr=1e-3)
    """) == []


def test_setup_of_a_plain_module_is_not_assumed_to_run_first():
    # Only Lightning calls `setup` before `configure_optimizers`; a plain nn.Module's `setup`
    # runs when its user calls it, so what it unfreezes is not assumed in `get_optimizer`.
    code = """
        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = torchvision.models.resnet18(weights="DEFAULT")

            def setup(self):
                self.backbone.requires_grad_(False)

            def get_optimizer(self):
                return torch.optim.AdamW(self.parameters(), lr=1e-3)
    """
    assert found(code) == []
    assert [r for r, _ in found(code.replace("(nn.Module)", "(pl.LightningModule)"))] \
        == ["FZL103"]  # everything it receives is frozen

"""The runtime audit on real models: the AST architecture (tiny variant, CPU and meta), a
ResNet-style CNN with BatchNorm and a TransformerEncoder classifier built from torch.nn.

Every check has a failing case (the problem is reported, and where cheap the test shows the
silent failure itself: a frozen weight that moves, a new head that never trains, running
statistics that drift) and a passing one (the fixed code is clean).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402

import freezelint  # noqa: E402
from freezelint.cli.main import main  # noqa: E402
from freezelint.common.diagnostics import Diagnostic, Severity  # noqa: E402
from freezelint.models.architectures.ast_model import ASTModel  # noqa: E402
from freezelint.runtime import (  # noqa: E402
    AuditReport,
    FreezelintAuditError,
    FreezelintWarning,
    audit,
)

pytestmark = pytest.mark.torch

REPO = Path(__file__).resolve().parents[1]


# -- real models ---------------------------------------------------------------------------


def tiny_ast(label_dim: int = 10, device: str = "cpu") -> ASTModel:
    """The AST reference architecture at its smallest width (5.8M parameters, 159 tensors)."""
    torch.manual_seed(0)
    with torch.device(device):
        return ASTModel(label_dim=label_dim, input_fdim=32, input_tdim=32,
                        model_size="tiny224", imagenet_pretrain=False,
                        audioset_pretrain=False)


def freeze(module: nn.Module) -> None:
    for param in module.parameters():
        param.requires_grad = False


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: two 3x3 convs with BatchNorm and a shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class SmallResNet(nn.Module):
    """A ResNet with torchvision's names (conv1, bn1, layer1..2, fc), 10 BatchNorm layers."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(self.avgpool(x).flatten(1))


class TextClassifier(nn.Module):
    """Embedding + torch.nn.TransformerEncoder + a linear head."""

    def __init__(self, num_classes: int = 5) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(32, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens)).mean(1))


def rules(report: AuditReport) -> list[str]:
    return sorted(d.rule for d in report.diagnostics)


def only(report: AuditReport, rule: str) -> Diagnostic:
    found = [d for d in report.diagnostics if d.rule == rule]
    assert len(found) == 1, report.lines()
    return found[0]


def spectrogram_batch() -> torch.Tensor:
    return torch.randn(2, 32, 32)


# -- FZL103 nothing trainable ------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_everything_frozen_and_optimizer_trains_nothing(device: str) -> None:
    model = tiny_ast(device=device)
    freeze(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    report = audit(model, optimizer, on_problem="return")
    assert rules(report) == ["FZL103"]
    diagnostic = only(report, "FZL103")
    assert diagnostic.name == "nothing-trainable" and diagnostic.severity is Severity.ERROR
    assert diagnostic.message == ("every parameter the optimizer holds is frozen (all 159 "
                                  "parameters of `ASTModel`): it trains nothing")
    assert report.headline == "0 of 5.8M parameters train"


def test_nothing_trainable_without_optimizer() -> None:
    model = tiny_ast()
    freeze(model)
    report = audit(model, on_problem="return")
    assert only(report, "FZL103").message == "none of the 159 parameters of `ASTModel` is trainable"


def test_optimizer_over_the_frozen_part_only() -> None:
    """The head is trainable but the param groups hold the frozen backbone."""
    model = tiny_ast()
    freeze(model.v)
    report = audit(model, torch.optim.SGD(model.v.parameters(), lr=0.1), on_problem="return")
    assert rules(report) == ["FZL103", "FZL203"]
    assert only(report, "FZL103").message == ("every parameter the optimizer holds is frozen "
                                              "(155 parameters of `ASTModel`): it trains nothing")
    assert "(in `mlp_head`)" in only(report, "FZL203").message


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_head_finetuning_is_clean(device: str) -> None:
    model = tiny_ast(device=device)
    freeze(model.v)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    report = audit(model, optimizer, on_problem="raise")
    assert report.diagnostics == [] and report.ok
    assert report.headline == "2.3K of 5.8M parameters train (0.04%)"


# -- FZL203 trainable, not optimized -----------------------------------------------------


def test_unfrozen_block_left_out_of_the_param_groups() -> None:
    """Gradual unfreezing: the last block is unfrozen, the optimizer holds only the head. The
    block gets gradients and never changes."""
    model = tiny_ast()
    freeze(model.v)
    model.v.blocks[11].requires_grad_(True)
    optimizer = torch.optim.SGD(model.mlp_head.parameters(), lr=0.1)
    report = audit(model, optimizer, on_problem="return")
    diagnostic = only(report, "FZL203")
    assert diagnostic.severity is Severity.WARNING
    assert diagnostic.message == (
        "the param groups leave out 12 trainable parameters of `ASTModel` (in `v.blocks.11`): "
        "they get gradients but are never updated; freeze them or add a group")
    assert diagnostic.data["names"][0] == "v.blocks.11.norm1.weight"

    before = model.v.blocks[11].mlp.fc1.weight.detach().clone()
    model(spectrogram_batch()).sum().backward()
    optimizer.step()
    assert model.v.blocks[11].mlp.fc1.weight.grad is not None
    assert torch.equal(model.v.blocks[11].mlp.fc1.weight, before)  # the silent failure


def test_unfrozen_block_with_its_own_group_is_clean() -> None:
    model = tiny_ast()
    freeze(model.v)
    model.v.blocks[11].requires_grad_(True)
    optimizer = torch.optim.SGD([{"params": model.v.blocks[11].parameters(), "lr": 1e-4},
                                 {"params": model.mlp_head.parameters()}], lr=0.1)
    assert audit(model, optimizer, on_problem="return").diagnostics == []


def test_several_optimizers_count_together() -> None:
    """Lightning's `trainer.optimizers`: parameters split over two optimizers are held."""
    model = tiny_ast()
    optimizers = [torch.optim.SGD(model.v.parameters(), lr=0.1),
                  torch.optim.Adam(model.mlp_head.parameters())]
    assert audit(model, optimizers, on_problem="return").diagnostics == []
    report = audit(model, optimizers[:1], on_problem="return")
    assert "(in `mlp_head`)" in only(report, "FZL203").message


# -- FZL201 frozen parameters in the optimizer, stale gradients and state -----------------


def test_frozen_parameters_in_the_optimizer_are_information_only() -> None:
    """The official tutorials pass `model.parameters()` after freezing: reported, never
    raised, never warned."""
    model = tiny_ast()
    freeze(model.v)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = audit(model, optimizer, on_problem="raise")
    diagnostic = only(report, "FZL201")
    assert diagnostic.severity is Severity.INFO and report.ok
    assert diagnostic.message.startswith(
        "the optimizer holds 155 frozen parameters (`v.cls_token`, `v.pos_embed` and 153 "
        "more); harmless while they get no gradient")


def test_stale_gradients_keep_moving_frozen_weights() -> None:
    """Trained a step, `zero_grad(set_to_none=False)`, then frozen: SGD with momentum still
    updates the "frozen" backbone at every step."""
    model = tiny_ast()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(spectrogram_batch()).sum().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    freeze(model.v)

    report = audit(model, optimizer, on_problem="return")
    stale = [d for d in report.diagnostics if "`.grad`" in d.message]
    assert len(stale) == 1 and stale[0].rule == "FZL201"
    assert stale[0].severity is Severity.WARNING and not report.ok
    assert stale[0].message.startswith(
        "151 frozen parameters still hold a `.grad` from before the freeze (`v.cls_token`, "
        "`v.pos_embed` and 149 more) and the optimizer holds them: `step()` skips only "
        "parameters whose `.grad` is None")
    # 155 frozen: `v.head` and `v.head_dist` are unused in AST's forward and got no gradient
    with pytest.raises(FreezelintAuditError, match="FZL201"):
        audit(model, optimizer, on_problem="raise")

    before = model.v.patch_embed.proj.weight.detach().clone()
    model(spectrogram_batch()).sum().backward()
    optimizer.step()
    assert not torch.equal(model.v.patch_embed.proj.weight, before)  # frozen, yet it moved


def test_gradients_dropped_after_freezing_are_clean() -> None:
    model = tiny_ast()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(spectrogram_batch()).sum().backward()
    optimizer.step()
    freeze(model.v)
    optimizer.zero_grad()  # set_to_none=True
    report = audit(model, optimizer, on_problem="return")
    assert not any("`.grad`" in d.message for d in report.diagnostics)
    assert not any("keeps state" in d.message for d in report.diagnostics)  # plain SGD


def test_stale_gradient_outside_the_optimizer_is_information() -> None:
    model = tiny_ast()
    model(spectrogram_batch()).sum().backward()
    freeze(model.v)
    optimizer = torch.optim.SGD(model.mlp_head.parameters(), lr=0.1)
    diagnostic = only(audit(model, optimizer, on_problem="return"), "FZL201")
    assert diagnostic.severity is Severity.INFO
    assert "memory kept for nothing" in diagnostic.message


def test_optimizer_state_kept_for_frozen_parameters() -> None:
    model = tiny_ast()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model(spectrogram_batch()).sum().backward()
    optimizer.step()
    freeze(model.v)
    optimizer.zero_grad()
    messages = [d.message for d in audit(model, optimizer, on_problem="return").diagnostics
                if d.rule == "FZL201"]
    assert any(m.startswith("the optimizer keeps state (`exp_avg`, `exp_avg_sq`) for 151 "
                            "frozen parameters") for m in messages), messages

    fresh = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    assert audit(model, fresh, on_problem="return").diagnostics == []


# -- FZL202 optimizer holds replaced parameters ------------------------------------------


def test_head_replaced_after_the_optimizer_was_built() -> None:
    model = TextClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.head = nn.Linear(32, 3)
    report = audit(model, optimizer, on_problem="return")
    assert rules(report) == ["FZL202", "FZL203"]
    assert only(report, "FZL202").message == (
        "the optimizer holds 2 parameters that are no longer in `TextClassifier` (`[5, 32]`, "
        "`[5]`) and misses 2 trainable ones that are (`head.weight`, `head.bias`): a module "
        "was replaced after the optimizer was built, so "
        "`step()` updates the old tensors and the new ones are never trained; build the "
        "optimizer after changing the model")

    before = model.head.weight.detach().clone()
    model(torch.randint(0, 100, (4, 7))).sum().backward()
    optimizer.step()
    assert torch.equal(model.head.weight, before)  # the new head never trains

    rebuilt = torch.optim.Adam(model.parameters(), lr=1e-3)
    assert audit(model, rebuilt, on_problem="return").diagnostics == []


def test_parameters_of_another_module_are_not_called_replaced() -> None:
    model = TextClassifier()
    criterion_weights = nn.Linear(5, 5)
    optimizer = torch.optim.SGD([*model.parameters(), *criterion_weights.parameters()], lr=0.1)
    diagnostic = only(audit(model, optimizer, on_problem="return"), "FZL202")
    assert "that are not in `TextClassifier` (`[5, 5]`, `[5]`)" in diagnostic.message
    assert "or pass every module it trains to `audit()`" in diagnostic.message


# -- FZL108 frozen BatchNorm in train mode -----------------------------------------------


def freeze_batchnorm(model: nn.Module) -> list[nn.Module]:
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for layer in layers:
        layer.requires_grad_(False)
    return layers


def test_frozen_batchnorm_in_train_mode() -> None:
    model = SmallResNet()
    layers = freeze_batchnorm(model)
    model.train()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)

    assert audit(model, optimizer, on_problem="return").diagnostics == []  # off by default
    report = audit(model, optimizer, on_problem="return", frozen_bn="eval")
    diagnostic = only(report, "FZL108")
    assert diagnostic.name == "frozen-batchnorm-train-mode"
    assert diagnostic.message.startswith(
        "10 BatchNorm layers with frozen parameters are in training mode (`bn1`, "
        "`layer1.0.bn1`, `layer1.0.bn2` and 7 more): they update their running mean")
    assert "10/10" in report.table()

    before = layers[0].running_mean.clone()
    model(torch.randn(4, 3, 16, 16))
    assert not torch.equal(layers[0].running_mean, before)  # the statistics drift


def test_frozen_batchnorm_in_eval_mode_is_clean() -> None:
    model = SmallResNet()
    layers = freeze_batchnorm(model)
    model.train()
    for layer in layers:
        layer.eval()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    report = audit(model, optimizer, on_problem="raise", frozen_bn="eval")
    assert report.diagnostics == []
    assert "0/10" in report.table()
    before = layers[0].running_mean.clone()
    model(torch.randn(4, 3, 16, 16))
    assert torch.equal(layers[0].running_mean, before)


def test_trainable_batchnorm_in_train_mode_is_clean() -> None:
    model = SmallResNet().train()
    freeze(model.conv1)
    report = audit(model, torch.optim.SGD(model.parameters(), lr=0.1), frozen_bn="eval",
                   on_problem="return")
    assert "FZL108" not in rules(report)


# -- FZL301 prefix mismatch, FZL306 shape mismatch ---------------------------------------


def dataparallel_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """What `torch.save(nn.DataParallel(model).state_dict(), ...)` writes."""
    return nn.DataParallel(model).state_dict()


def test_checkpoint_saved_under_dataparallel(tmp_path: Path) -> None:
    """The released AudioSet AST checkpoint carries `module.` on all 159 keys."""
    path = tmp_path / "audioset.pth"
    torch.save(dataparallel_state(tiny_ast()), path)
    model = tiny_ast()
    for checkpoint in (path, str(path), torch.load(path)):
        diagnostic = only(audit(model, checkpoint=checkpoint, on_problem="return"), "FZL301")
        assert diagnostic.severity is Severity.ERROR
        assert "159 of the 159 keys of" in diagnostic.message
        assert ("carry `module.` (`module.v.cls_token`, `module.v.pos_embed` and 157 more; "
                "saved from a wrapped model) and `ASTModel`'s keys do not") in diagnostic.message
        assert diagnostic.message.endswith("strip it with `k.removeprefix('module.')`")
    assert "`audioset.pth`" in only(audit(model, checkpoint=path, on_problem="return"),
                                    "FZL301").message


def test_strict_false_load_result_with_prefixed_keys() -> None:
    model = tiny_ast()
    result = model.load_state_dict(dataparallel_state(tiny_ast()), strict=False)
    diagnostic = only(audit(model, checkpoint=result, on_problem="return"), "FZL301")
    assert "with `strict=False` they were skipped, and 159 of the 159 keys" in diagnostic.message

    fixed = {k.removeprefix("module."): v for k, v in dataparallel_state(tiny_ast()).items()}
    clean = model.load_state_dict(fixed, strict=False)
    assert audit(model, checkpoint=clean, on_problem="return").diagnostics == []


def test_wrapped_model_and_bare_checkpoint() -> None:
    wrapped = nn.DataParallel(tiny_ast())
    diagnostic = only(audit(wrapped, checkpoint=tiny_ast().state_dict(), on_problem="return"),
                      "FZL301")
    assert diagnostic.message.startswith("`DataParallel` is wrapped: its keys start with "
                                         "`module.`")
    assert "(`model.module.load_state_dict(...)`)" in diagnostic.message


def test_matching_checkpoint_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"state_dict": tiny_ast().state_dict(), "epoch": 3}, path)
    model = tiny_ast()
    assert audit(model, checkpoint=path, on_problem="raise").diagnostics == []
    assert audit(model, checkpoint=torch.load(path), on_problem="raise").diagnostics == []


def test_pretrained_head_shape_mismatch(tmp_path: Path) -> None:
    pretrained = tiny_ast(label_dim=527).state_dict()
    model = tiny_ast(label_dim=10)
    diagnostic = only(audit(model, checkpoint=pretrained, on_problem="return"), "FZL306")
    assert diagnostic.message == (
        "size mismatch for 2 keys: `mlp_head.1.weight` is [527, 192] in this state dict but "
        "[10, 192] in `ASTModel` (also `mlp_head.1.bias`); `load_state_dict` raises even with "
        "`strict=False`: drop those keys before loading")
    with pytest.raises(RuntimeError, match=r"size mismatch for mlp_head\.1\.weight"):
        model.load_state_dict(pretrained, strict=False)  # what the audit predicted

    path = tmp_path / "audioset.pth"
    torch.save({f"module.{k}": v for k, v in pretrained.items()}, path)
    assert rules(audit(model, checkpoint=path, on_problem="return")) == ["FZL301", "FZL306"]

    kept = {k: v for k, v in pretrained.items() if not k.startswith("mlp_head.1.")}
    assert audit(model, checkpoint=kept, on_problem="return").diagnostics == []


def test_checkpoint_on_the_meta_device() -> None:
    model = tiny_ast(device="meta")
    state = {f"module.{k}": v for k, v in tiny_ast(label_dim=527, device="meta").state_dict().items()}
    assert rules(audit(model, checkpoint=state, on_problem="return")) == ["FZL301", "FZL306"]


# -- on_problem ----------------------------------------------------------------------------


def test_warn_points_at_the_callers_line() -> None:
    model = tiny_ast()
    freeze(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(FreezelintWarning) as record:
        report = audit(model, optimizer); line = inspect.currentframe().f_lineno  # noqa: E702
    assert len(record) == 1 and issubclass(FreezelintWarning, UserWarning)
    warning = record[0]
    assert warning.filename == __file__ and warning.lineno == line
    assert str(warning.message).startswith("FZL103 nothing-trainable: every parameter")
    diagnostic = only(report, "FZL103")
    assert diagnostic.span.start.line == line and diagnostic.data["path"] == __file__
    assert report.lines()[0].startswith(f"{__file__}:{line}: FZL103 nothing-trainable [error]")


def test_warn_skips_information_and_return_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny_ast()
    freeze(model.v)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        audit(model, optimizer)  # FZL201 information: no warning
        freeze(model)
        audit(model, optimizer, on_problem="return")
    assert record == []
    assert capsys.readouterr() == ("", "")


def test_raise_lists_the_problems() -> None:
    model = tiny_ast()
    freeze(model)
    with pytest.raises(FreezelintAuditError) as info:
        audit(model, torch.optim.SGD(model.parameters(), lr=0.1), on_problem="raise")
    assert str(info.value).splitlines()[0] == "freezelint audit of `ASTModel` found 1 problem:"
    assert "FZL103 nothing-trainable: every parameter" in str(info.value)
    assert [d.rule for d in info.value.diagnostics] == ["FZL103"]


def test_bad_arguments() -> None:
    model = tiny_ast()
    with pytest.raises(ValueError, match="on_problem"):
        audit(model, on_problem="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="frozen_bn"):
        audit(model, frozen_bn="freeze")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"needs a torch\.nn\.Module"):
        audit(model.state_dict())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="checkpoint must be"):
        audit(model, checkpoint=42)


# -- the summary table ---------------------------------------------------------------------


def test_table_rows_per_top_level_module(monkeypatch: pytest.MonkeyPatch) -> None:
    model = SmallResNet()
    freeze(model)
    model.fc.requires_grad_(True)
    report = audit(model, torch.optim.SGD(model.parameters(), lr=0.1), on_problem="return")
    assert [row.name for row in report.rows] == ["conv1", "bn1", "layer1", "layer2", "fc"]
    fc = report.rows[-1]
    assert (fc.tensors, fc.elements, fc.trainable, fc.optimized) == (2, 330, 330, 330)
    assert report.rows[2].bn_layers == 4 and report.rows[2].bn_train == 4
    assert report.headline == "330 of 43.2K parameters train (0.76%)"

    rich_text = report.table()
    monkeypatch.setitem(sys.modules, "rich", None)  # rich not importable: plain text
    plain = report.table()
    assert report.table(plain=True) == plain != rich_text
    for text in (rich_text, plain):
        lines = text.splitlines()
        assert lines[0].split() == ["module", "type", "tensors", "parameters", "trainable",
                                    "in", "optimizer", "BN", "train"]
        rows = {line.split()[0]: line.split()[1:] for line in lines[1:] if line.strip()}
        assert rows["layer2"] == ["Sequential", "15", "33.1K", "0", "33.1K", "5/5"]
        assert rows["fc"] == ["Linear", "2", "330", "330", "330", "-"]
        assert rows["total"] == ["32", "43.2K", "330", "43.2K", "10/10"]
        assert "relu" not in rows and "avgpool" not in rows  # no parameters, no BatchNorm
        assert lines[-1] == "330 of 43.2K parameters train (0.76%)"
    assert report.render().endswith("no problems found (1 note)\n")


def test_table_counts_own_parameters_and_no_optimizer() -> None:
    """Parameters registered on the model itself get a row of their own."""
    model = nn.Module()
    model.scale = nn.Parameter(torch.ones(3))
    model.body = nn.Linear(4, 4)
    report = audit(model, on_problem="return")
    assert [(r.name, r.tensors) for r in report.rows] == [("(own)", 1), ("body", 2)]
    assert report.table().splitlines()[2].split()[-2:] == ["-", "-"]
    assert "FZL" not in report.render() and report.render().endswith("no problems found\n")


# -- what static analysis cannot see -----------------------------------------------------

CONFIG_DRIVEN = '''\
"""Fine-tune AST; what to freeze comes from a config, as in many training repositories."""
import torch

from freezelint.models.architectures.ast_model import ASTModel

CONFIG = {"freeze": ["v", "mlp_head"], "lr": 0.01}


def apply_freeze(model, names):
    for name in names:
        for param in getattr(model, name).parameters():
            param.requires_grad = False


def build():
    model = ASTModel(label_dim=10, input_fdim=32, input_tdim=32, model_size="tiny224",
                     imagenet_pretrain=False, audioset_pretrain=False)
    apply_freeze(model, CONFIG["freeze"])
    optimizer = torch.optim.SGD(model.parameters(), lr=CONFIG["lr"], momentum=0.9)
    return model, optimizer
'''

VISIBLE = '''\
import torch

from freezelint.models.architectures.ast_model import ASTModel

model = ASTModel(label_dim=10, input_fdim=32, input_tdim=32, model_size="tiny224",
                 imagenet_pretrain=False, audioset_pretrain=False)
for param in model.parameters():
    param.requires_grad = False
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
'''


def load_script(path: Path) -> dict[str, object]:
    import runpy

    return runpy.run_path(str(path))


@pytest.mark.parametrize("model_args", [[], ["--model", "ast",
                                             "--model-arg", "label_dim=10"]])
def test_config_driven_freezing_is_invisible_statically_and_found_live(
        tmp_path: Path, model_args: list[str]) -> None:
    script = tmp_path / "train_from_config.py"
    script.write_text(CONFIG_DRIVEN, encoding="utf-8")
    visible = tmp_path / "train_visible.py"
    visible.write_text(VISIBLE, encoding="utf-8")

    static = CliRunner().invoke(main, ["check", str(script), *model_args])
    assert static.exit_code == 0 and "FZL" not in static.output, static.output
    control = CliRunner().invoke(main, ["check", str(visible), *model_args])
    assert control.exit_code == 1 and "FZL103" in control.output  # the rule itself works

    build: Callable[[], tuple[nn.Module, torch.optim.Optimizer]] = load_script(script)["build"]
    model, optimizer = build()
    report = audit(model, optimizer, on_problem="return")
    assert rules(report) == ["FZL103"]
    assert only(report, "FZL103").message == ("every parameter the optimizer holds is frozen "
                                              "(all 159 parameters of `ASTModel`): it trains "
                                              "nothing")


# -- packaging -----------------------------------------------------------------------------


def test_import_freezelint_stays_light_and_audit_is_lazy() -> None:
    code = textwrap.dedent("""
        import sys
        import freezelint
        assert "torch" not in sys.modules, "import freezelint imported torch"
        assert "audit" in dir(freezelint)
        audit = freezelint.audit
        assert callable(audit) and "torch" in sys.modules
        import freezelint.runtime.callbacks
        assert freezelint.audit is audit
        for heavy in ("lightning", "pytorch_lightning", "transformers"):
            assert heavy not in sys.modules, heavy
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


def test_top_level_names() -> None:
    assert freezelint.audit is audit
    assert freezelint.FreezelintWarning is FreezelintWarning
    with pytest.raises(AttributeError):
        _ = freezelint.no_such_name  # type: ignore[attr-defined]


# -- callbacks -----------------------------------------------------------------------------


@pytest.fixture
def fresh_callback_classes() -> object:
    """The framework classes are built once per process; tests that fake a framework must
    not leave their class behind."""
    from freezelint.runtime import callbacks

    callbacks._lightning_class.cache_clear()
    callbacks._transformers_class.cache_clear()
    yield callbacks
    callbacks._lightning_class.cache_clear()
    callbacks._transformers_class.cache_clear()


def test_callbacks_need_their_framework(monkeypatch: pytest.MonkeyPatch,
                                        fresh_callback_classes: object) -> None:
    from freezelint.runtime.callbacks import (
        FreezelintLightningCallback,
        FreezelintTrainerCallback,
    )

    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "transformers"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'freezelint\[lightning\]'"):
        FreezelintLightningCallback()
    with pytest.raises(ImportError, match=r"pip install 'freezelint\[transformers\]'"):
        FreezelintTrainerCallback()


def fake_framework(monkeypatch: pytest.MonkeyPatch, name: str, base: str) -> type:
    """A stand-in package exposing a callback base class, for the wiring only; the real
    frameworks are exercised below when installed."""
    import types

    callback_base = type(base, (), {})
    module = types.ModuleType(name)
    setattr(module, base, callback_base)
    monkeypatch.setitem(sys.modules, name, module)
    return callback_base


def test_lightning_callback_wiring(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str],
                                   fresh_callback_classes: object) -> None:
    import pickle
    import types

    from freezelint.runtime.callbacks import FreezelintLightningCallback

    fake_framework(monkeypatch, "lightning", "Callback")
    base = fake_framework(monkeypatch, "lightning.pytorch", "Callback")
    callback = FreezelintLightningCallback(on_problem="return", every_epoch=True)
    assert isinstance(callback, base) and isinstance(callback, FreezelintLightningCallback)
    assert type(callback).__name__ == "FreezelintLightningCallback"

    model = tiny_ast()
    freeze(model.v)
    model.v.blocks[11].requires_grad_(True)
    trainer = types.SimpleNamespace(optimizers=[torch.optim.SGD(model.mlp_head.parameters(),
                                                                lr=0.1)],
                                    is_global_zero=True, current_epoch=0)
    callback.on_train_start(trainer, model)
    callback.on_train_epoch_start(trainer, model)  # epoch 0: already audited at train start
    trainer.current_epoch = 1
    trainer.is_global_zero = False  # other ranks audit but do not print
    callback.on_train_epoch_start(trainer, model)
    assert [rules(r) for r in callback.reports] == [["FZL203"], ["FZL203"]]
    err = capsys.readouterr().err
    assert err.count("freezelint: audit of `ASTModel` at train start") == 1
    assert "FZL203 trainable-not-optimized [warning]" in err

    copy = pickle.loads(pickle.dumps(callback))  # spawn strategies pickle callbacks
    assert isinstance(copy, base) and copy.every_epoch and len(copy.reports) == 2


def test_trainer_callback_wiring(monkeypatch: pytest.MonkeyPatch,
                                 fresh_callback_classes: object) -> None:
    import types

    from freezelint.runtime.callbacks import FreezelintTrainerCallback

    base = fake_framework(monkeypatch, "transformers", "TrainerCallback")
    callback = FreezelintTrainerCallback(print_report=False)
    assert isinstance(callback, base)
    model = tiny_ast()
    freeze(model)
    state = types.SimpleNamespace(epoch=0, is_world_process_zero=True)
    with pytest.warns(FreezelintWarning, match="FZL103"):
        callback.on_train_begin(None, state, None, model=model,
                                optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    callback.on_train_begin(None, state, None)  # no model passed: nothing to audit
    assert len(callback.reports) == 1


def test_real_lightning_trainer(tmp_path: Path, fresh_callback_classes: object) -> None:
    pl = pytest.importorskip("lightning.pytorch")
    from torch.utils.data import DataLoader, TensorDataset

    from freezelint.runtime.callbacks import FreezelintLightningCallback

    class HeadOnly(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = tiny_ast()
            freeze(self.model.v)
            self.model.v.blocks[11].requires_grad_(True)

        def training_step(self, batch: list[torch.Tensor], index: int) -> torch.Tensor:
            return self.model(batch[0]).sum()

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.model.mlp_head.parameters(), lr=0.1)

    callback = FreezelintLightningCallback(print_report=False)
    trainer = pl.Trainer(max_steps=1, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[callback],
                         default_root_dir=tmp_path)
    with pytest.warns(FreezelintWarning, match="FZL203"):
        trainer.fit(HeadOnly(), DataLoader(TensorDataset(torch.randn(4, 32, 32)), batch_size=2))
    assert rules(callback.reports[0]) == ["FZL203"]


def test_real_transformers_callback(fresh_callback_classes: object) -> None:
    transformers = pytest.importorskip("transformers")
    from freezelint.runtime.callbacks import FreezelintTrainerCallback

    callback = FreezelintTrainerCallback(on_problem="return", print_report=False)
    assert isinstance(callback, transformers.TrainerCallback)
    model = tiny_ast()
    freeze(model)
    callback.on_train_begin(None, transformers.TrainerState(), transformers.TrainerControl(),
                            model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert rules(callback.reports[0]) == ["FZL103"]

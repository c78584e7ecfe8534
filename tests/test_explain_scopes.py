"""Issue 13: `freezelint explain` draws one tree per analysed scope, labelled with the scope
and the model, and never the same tree twice."""

from __future__ import annotations

import textwrap
from pathlib import Path

from helpers import invoke

SCRIPT = """\
    import torchvision


    def linear_probe():
        model = torchvision.models.resnet18(weights=None)
        for p in model.parameters():
            p.requires_grad = False
        for p in model.fc.parameters():
            p.requires_grad = True


    def probe_again():
        model = torchvision.models.resnet18(weights=None)
        for p in model.parameters():
            p.requires_grad = False
        for p in model.fc.parameters():
            p.requires_grad = True


    def full_finetune():
        model = torchvision.models.resnet18(weights=None)
        model.train()


    class Distiller:
        def __init__(self):
            self.teacher = torchvision.models.resnet50(weights=None)
            self.teacher.requires_grad_(False)
    """


def test_each_scope_is_labelled_and_identical_trees_are_folded(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    result = invoke("explain", str(path))
    assert result.exit_code == 0, result.stderr
    titles = [line for line in result.stdout.splitlines() if line.startswith(f"{path}: ")]
    assert titles == [
        f"{path}: resnet18 (ResNet) in linear_probe() and probe_again() (the same tree)",
        f"{path}: resnet18 (ResNet) in full_finetune()",
        f"{path}: resnet50 (ResNet) in Distiller.__init__()",
    ]
    assert result.stdout.count("513.0K of 11.7M parameters train (2 of 62 tensors)") == 1
    assert "11.7M of 11.7M parameters train (62 of 62 tensors)" in result.stdout
    assert "0 of 25.6M parameters train (0 of 161 tensors)" in result.stdout


def test_a_script_at_top_level_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text("import torchvision\nmodel = torchvision.models.resnet18(weights=None)\n"
                    "model.requires_grad_(False)\n", encoding="utf-8")
    result = invoke("explain", str(path))
    assert result.stdout.splitlines()[0] == f"{path}: resnet18 (ResNet) after the script"

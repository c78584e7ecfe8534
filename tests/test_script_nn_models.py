"""A model built from torch.nn in the script itself (`model = nn.Sequential(...)`,
`torch.nn.Linear(20, 1)` in the DDP tutorials, an `nn.LSTM`): once the script uses it as a
model its names are the ones torch gives it, from the table generated from torch, and the
rules check them. A module built first as a head stays a head."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.cli.main import main

torch = pytest.importorskip("torch")


def _findings(tmp_path: Path, text: str) -> list[dict]:
    script = tmp_path / "train.py"
    script.write_text(text)
    result = CliRunner().invoke(main, ["check", str(script), "--no-cache", "--output-format",
                                       "json"])
    return [f for f in json.loads(result.stdout) if f.get("rule")]


def _live_names(build: str) -> list[str]:
    namespace: dict = {"torch": torch, "nn": torch.nn}
    with torch.device("meta"):
        exec(f"model = {build}", namespace)
    return [n for n, _ in namespace["model"].named_parameters()]


FREEZE = """
import torch
from torch import nn

model = {build}
for name, param in model.named_parameters():
    if not name.startswith({prefix!r}):
        param.requires_grad = False
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
"""

BUILDS = [
    "nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 4))",
    "torch.nn.Linear(20, 1)",
    "nn.LSTM(8, 16, num_layers=2, bidirectional=True)",
    "nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 2)]))",
    "nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32), num_layers=2)",
]


@pytest.mark.parametrize("build", BUILDS)
def test_a_wrong_prefix_is_reported_with_torchs_count(tmp_path: Path, build: str) -> None:
    findings = _findings(tmp_path, FREEZE.format(build=build, prefix="classifier"))
    [dead] = [f for f in findings if f["rule"] == "FZL101"]
    count = int(re.search(r"\((\d+) parameters?\)", dead["message"]).group(1))
    assert count == len(_live_names(build))
    assert "FZL103" in [f["rule"] for f in findings]  # every parameter frozen


@pytest.mark.parametrize("build", BUILDS)
def test_a_real_prefix_is_quiet(tmp_path: Path, build: str) -> None:
    last = _live_names(build)[-1]
    prefix = last.rpartition(".")[0] + "." if "." in last else last
    assert _findings(tmp_path, FREEZE.format(build=build, prefix=prefix)) == []


def test_a_head_built_first_stays_a_head(tmp_path: Path) -> None:
    """The head is used (its weight initialised) before the model exists: it is not taken
    for the model the script trains."""
    text = """
import torch
import torchvision
from torch import nn

head = nn.Linear(2048, 10)
nn.init.zeros_(head.bias)
head.weight.data.normal_(0, 0.01)
model = torchvision.models.resnet50(weights=None)
model.fc = head
for name, param in model.named_parameters():
    param.requires_grad = name.startswith('fc.')
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
"""
    assert _findings(tmp_path, text) == []
    wrong = text.replace("name.startswith('fc.')", "name.startswith('classifier.')")
    assert "FZL101" in [f["rule"] for f in _findings(tmp_path, wrong)]


def test_handed_to_code_not_followed_it_is_unknown(tmp_path: Path) -> None:
    text = """
import torch
from torch import nn

from helpers import freeze_some

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
freeze_some(model)
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
"""
    assert _findings(tmp_path, text) == []  # freeze_some may have frozen anything


def test_a_layer_registered_twice_is_unknown(tmp_path: Path) -> None:
    """torch lists a shared parameter once, under its first name: no manifest of names can
    say that, so the model stays unknown."""
    text = FREEZE.format(build="nn.Sequential(shared, nn.ReLU(), shared)", prefix="classifier")
    text = text.replace("model = ", "shared = nn.Linear(4, 4)\nmodel = ", 1)
    assert _findings(tmp_path, text) == []


def test_a_head_of_unknown_width_keeps_its_names(tmp_path: Path) -> None:
    """`nn.Linear(model.fc.in_features, args.num_classes)`: the width is unknown, the names
    `fc.weight` and `fc.bias` are not, so a test for another architecture's head is caught."""
    text = """
import argparse

import torch
import torchvision
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument('--num-classes', type=int, required=True)
args = parser.parse_args()
model = torchvision.models.resnet18(weights=None)
model.fc = nn.Linear(model.fc.in_features, args.num_classes)
for name, param in model.named_parameters():
    if 'classifier' not in name:
        param.requires_grad = False
"""
    findings = _findings(tmp_path, text)
    [dead] = [f for f in findings if f["rule"] == "FZL101"]
    assert "did you mean 'fc'" in dead["message"]


def test_add_module_is_applied_with_buffers(tmp_path: Path) -> None:
    """`nn.Sequential()` grown with `add_module`: the names and the state dict keys (the
    BatchNorm's running statistics) are torch's."""
    build = """
model = nn.Sequential()
model.add_module('conv', nn.Conv2d(3, 8, 3))
model.add_module('bn', nn.BatchNorm2d(8))
model.add_module('head', nn.Linear(8, 2))
"""
    namespace: dict = {"torch": torch, "nn": torch.nn}
    exec(build, namespace)
    live = namespace["model"]
    keys = list(live.state_dict())
    text = "import torch\nfrom torch import nn\n" + build + (
        "sd = model.state_dict()\n" + "".join(f"print(sd[{k!r}])\n" for k in keys)
        + "for name, p in model.named_parameters():\n"
          "    p.requires_grad = name.startswith('fc')\n")
    findings = _findings(tmp_path, text)
    assert "FZL307" not in [f["rule"] for f in findings]  # every state dict key is found
    [dead] = [f for f in findings if f["rule"] == "FZL101"]  # 'fc' names nothing
    assert f"({len(list(live.parameters()))} parameters)" in dead["message"]
    assert "did you mean 'head'" in dead["message"]


def test_a_submodule_added_by_code_not_followed_is_not_missing(tmp_path: Path) -> None:
    """timm's attention2d: `self.output = nn.Sequential()` then
    `self.output.add_module('proj', create_conv2d(...))`: `self.output.proj` exists."""
    text = """
import torch
import torchvision
from torch import nn

from layers import create_conv2d

output = nn.Sequential()
output.add_module('proj', create_conv2d(8, 8, kernel_size=1))
nn.init.xavier_uniform_(output.proj.weight)
model = torchvision.models.resnet18(weights=None)
model.add_module('extra', create_conv2d(8, 8, kernel_size=1))
nn.init.zeros_(model.extra.weight)
"""
    assert _findings(tmp_path, text) == []


def test_a_layers_settings_and_a_replaced_parameter_are_not_submodules(tmp_path: Path) -> None:
    """dinov2's PatchMerging reads its nn.Unfold's settings (`self.sampler.padding[0]`) and
    Deformable DETR's attention replaces a parameter (`self.sampling_offsets.bias =
    nn.Parameter(...)`): neither is a missing submodule. A module another architecture
    names (`classifier` on resnet18) still is."""
    text = (Path(__file__).parent / "fixtures" / "torch_layer_settings.py").read_text()
    assert _findings(tmp_path, text) == []
    wrong = text + "\nmodel = torchvision.models.resnet18(weights=None)\nmodel.classifier = nn.Linear(512, 10)\n"
    assert [f["rule"] for f in _findings(tmp_path, wrong)] == ["FZL109"]


def test_isinstance_tells_parameters_from_modules(tmp_path: Path) -> None:
    """open_clip's `_set_group_requires_grad`: a group mixes modules and Parameters, and
    `m.requires_grad = ...` runs only for the Parameters (isinstance). Setting it on the
    module itself, outside the test, is still FZL104."""
    text = """
import torch
from torch import nn

emb = nn.Embedding(10, 4)
pos = nn.Parameter(torch.zeros(4))
head = nn.Linear(4, 2)
for m in [emb, pos, head]:
    if isinstance(m, nn.Parameter):
        m.requires_grad = False
    else:
        for p in m.parameters():
            p.requires_grad = False
"""
    assert _findings(tmp_path, text) == []
    findings = _findings(tmp_path, text + "emb.requires_grad = False\n")
    assert [(f["rule"], f["range"]["start"]["line"]) for f in findings] == [("FZL104", 14)]

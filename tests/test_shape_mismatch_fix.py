"""FZL306's fix, judged by running the code: a replaced head makes `load_state_dict` raise
"size mismatch" (strict or not). The fix drops the head's keys, loads non-strictly and checks
that only those keys are missing; the fixed script must then really load every other tensor.
The model is a ResNet-style class defined in the script, read statically by freezelint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.cli.main import main

torch = pytest.importorskip("torch")

SCRIPT = '''\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, num_classes)


pretrained = Net().state_dict()
model = Net()
model.fc = nn.Linear(model.fc.in_features, 10)
model.load_state_dict(pretrained{strict})
'''


def _check(path: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(main, ["check", str(path), "--output-format", "json", *args])
    return json.loads(result.stdout)  # a run that printed no JSON fails here, not silently


def _fixed(tmp_path: Path, strict: str) -> tuple[Path, str]:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT.replace("{strict}", strict))
    assert [d["rule"] for d in _check(path, "--select", "FZL306")] == ["FZL306"]
    CliRunner().invoke(main, ["check", str(path), "--select", "FZL306", "--fix", "--unsafe-fixes"])
    return path, path.read_text()


def _run(text: str) -> dict:
    namespace: dict = {"__name__": "train"}
    exec(compile(text, "train.py", "exec"), namespace)
    return namespace


def test_the_original_raises_even_without_strict():
    for strict in ("", ", strict=False"):
        with pytest.raises(RuntimeError, match="size mismatch"):
            _run(SCRIPT.replace("{strict}", strict))


def test_the_fixed_strict_load_loads_everything_but_the_head(tmp_path):
    _, text = _fixed(tmp_path, "")
    assert "strict=False" in text and "load_result.missing_keys" in text
    namespace = _run(text)
    model, pretrained = namespace["model"], namespace["pretrained"]
    for key, value in model.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(value, pretrained[key]), key
    assert set(namespace["load_result"].missing_keys) == {"fc.weight", "fc.bias"}


def test_the_fixed_script_is_clean(tmp_path):
    path, _ = _fixed(tmp_path, "")
    assert _check(path) == []


def test_a_non_strict_load_keeps_its_form(tmp_path):
    _, text = _fixed(tmp_path, ", strict=False")
    assert "load_result" not in text and "k not in {'fc.weight', 'fc.bias'}" in text
    _run(text)  # loads: the mismatched keys are gone

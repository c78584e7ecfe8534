"""`freezelint check train.py` on a script whose model is the project's own class: the names
come from the class's source, read statically, with no --model, nothing imported from the
project and no torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from freezelint.engine.lint import LintConfig, lint
from tests.helpers import chdir, invoke

FIXTURES = Path(__file__).parent / "fixtures" / "static_models"

# A fine-tuning script for nanoGPT's model (the class is in models.py, a copy of the
# fixture gpt.py, which writes models.ran next to itself if it ever runs).
TRAIN_GPT = """\
import torch
from models import GPT, GPTConfig

config = GPTConfig(n_layer=2)
config.n_head = 2
model = GPT(config)
for name, p in model.named_parameters():
    if name.startswith("transformer.h.5."):
        p.requires_grad = False
model.lm_head.requires_grad = False
for p in model.parameters():
    p.requires_grad = False
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
"""

# The same kinds of mistakes with the model class in the script itself (a ResNet-style
# classifier written out by hand, as tutorials do).
SAME_FILE = """\
import torch
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self, num_classes=10, width=32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width * 2, 3, padding=1), nn.BatchNorm2d(width * 2), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width * 2, num_classes)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


model = Classifier(num_classes=5)
for name, p in model.named_parameters():
    if not name.startswith("fc."):
        p.requires_grad = False
model.features.requires_grad = False
for p in model.classifier.parameters():
    p.requires_grad = True
optimizer = torch.optim.SGD([{"params": model.features[0].parameters(), "lr": 1e-4}], lr=1e-2)
"""


def _project(tmp_path: Path, script: str, models: str | None = "gpt.py") -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    if models is not None:
        shutil.copy(FIXTURES / models, tmp_path / "models.py")
    train = tmp_path / "train.py"
    train.write_text(textwrap.dedent(script))
    return train


def _rules(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for d in lint(path.read_text(), LintConfig(path=path)):
        found.setdefault(d.rule, []).append(d.message)
    return found


def test_model_class_imported_from_a_project_module(tmp_path: Path) -> None:
    train = _project(tmp_path, TRAIN_GPT)
    found = _rules(train)
    assert not (tmp_path / "models.ran").exists(), "linting ran the project's module"
    # The prefix names a layer the model does not have: 2 layers, as the script configured.
    (fzl101,) = found["FZL101"]
    assert "'transformer.h.5.'" in fzl101 and "GPT (models.py)" in fzl101
    assert "transformer.h.1" in fzl101
    # lm_head's weight is tied to the embedding: the attribute freezes nothing.
    (fzl104,) = found["FZL104"]
    assert "`lm_head`" in fzl104 and "transformer.wte.weight" in fzl104
    (fzl103,) = found["FZL103"]
    assert "all 28 parameters of `GPT (models.py)`" in fzl103


def test_model_class_in_the_script_itself(tmp_path: Path) -> None:
    train = _project(tmp_path, SAME_FILE, models=None)
    found = _rules(train)
    (fzl101,) = found["FZL101"]
    assert "'fc.'" in fzl101 and "`Classifier`" in fzl101 and "classifier" in fzl101
    (fzl104,) = found["FZL104"]
    assert "`features`" in fzl104
    # classifier is trainable again, features.0 is frozen: the group leaves classifier out.
    (fzl203,) = found["FZL203"]
    assert "2 trainable parameters" in fzl203 and "classifier" in fzl203


def test_check_needs_no_torch_and_imports_nothing_from_the_project(tmp_path: Path) -> None:
    """The real command line, in a process where importing torch (or the project) fails."""
    _project(tmp_path, TRAIN_GPT)
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(textwrap.dedent("""\
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in {"torch", "models"}:
                    raise ImportError(f"{name} is blocked in this test")
                return None

        sys.meta_path.insert(0, Block())
    """))
    env = {"PYTHONPATH": f"{blocker}:{Path(__file__).parents[1]}", "PATH": "/usr/bin:/bin",
           "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "freezelint", "check", "--no-cache",
                             "--output-format", "json", "train.py"],
                            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert "Traceback" not in result.stderr
    rules = sorted({d["rule"] for d in json.loads(result.stdout) if d.get("rule")})
    assert rules == ["FZL101", "FZL103", "FZL104"]
    assert not (tmp_path / "models.ran").exists()


def test_params_reads_the_class_statically(tmp_path: Path) -> None:
    _project(tmp_path, TRAIN_GPT)
    with chdir(tmp_path):
        result = invoke("params", "--model", "models.py:GPTSmall(n_layer=3)", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["source"] == "static"
    names = [p["name"] for p in doc["parameters"]]
    assert names[:2] == ["transformer.wte.weight", "transformer.wpe.weight"]
    assert "transformer.h.2.mlp.c_fc.weight" in names
    assert not any(n.startswith("transformer.h.3.") for n in names)
    assert not (tmp_path / "models.ran").exists()


def test_a_hole_keeps_rules_silent(tmp_path: Path) -> None:
    """A layer built from a value the reader cannot know: names under it are unknown."""
    script = """\
        import os
        import torch.nn as nn
        from somewhere_else import make_backbone


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = make_backbone(os.environ["ARCH"])
                self.head = nn.Linear(512, 10)


        model = Net()
        for name, p in model.named_parameters():
            if name.startswith("backbone.layer4"):
                p.requires_grad = False
            if name == "head.weights":
                p.requires_grad = False
    """
    train = _project(tmp_path, script, models=None)
    messages = [m for ms in _rules(train).values() for m in ms]
    assert not any("backbone" in m for m in messages)


@pytest.mark.parametrize("layout", ["src", "package"])
def test_project_layouts(tmp_path: Path, layout: str) -> None:
    """`src/` layouts and relative imports inside a package resolve to the project's files."""
    (tmp_path / "pyproject.toml").write_text("")
    if layout == "src":
        package = tmp_path / "src" / "demo"
        script_dir = tmp_path / "scripts"
        import_line = "from demo.nets import GPT"
    else:
        package = tmp_path / "demo"
        script_dir = package
        import_line = "from .nets import GPT"
    package.mkdir(parents=True)
    script_dir.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    shutil.copy(FIXTURES / "gpt.py", package / "nets.py")
    train = script_dir / "train.py"
    train.write_text(f"{import_line}\nmodel = GPT()\n"
                     "for n, p in model.named_parameters():\n"
                     "    p.requires_grad = n.startswith('transformer.h.7')\n")
    (fzl101,) = _rules(train)["FZL101"]
    assert "GPT (nets.py)" in fzl101


BACKBONE_MODEL = """\
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, dim=16, depth=2):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(dim, dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)


class Net(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.encoder = Encoder()
        self.head = nn.Linear(16, num_classes)

    def freeze_encoder(self):
        for name, p in self.named_parameters():
            if name.startswith("backbone."):
                p.requires_grad = False

    def freeze_all(self):
        for p in self.parameters():
            p.requires_grad = False
"""


def test_methods_of_the_class_run_with_the_instance_names(tmp_path: Path) -> None:
    """`model.freeze_all()` is the class's own method: what it freezes is what the optimizer
    then gets. Its name tests are reported where the method is: in the script when the class
    is there (a finding in nets.py cannot be shown in train.py)."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "nets.py").write_text(BACKBONE_MODEL)
    calls = """\
        model = Net(num_classes=5)
        model.freeze_encoder()
        model.freeze_all()
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    """
    train = tmp_path / "train.py"
    train.write_text("import torch\nfrom nets import Net\n\n" + textwrap.dedent(calls))
    found = _rules(train)
    assert sorted(found) == ["FZL103"]
    assert "all 8 parameters of `Net (nets.py)`" in found["FZL103"][0]

    same_file = tmp_path / "same.py"
    same_file.write_text("import torch\n" + BACKBONE_MODEL + "\n\n" + textwrap.dedent(calls))
    found = _rules(same_file)
    (fzl101,) = found["FZL101"]
    assert "'backbone.' starts no parameter name of `Net` (8 parameters)" in fzl101
    assert "all 8 parameters of `Net`" in found["FZL103"][0]


def test_configured_source_roots(tmp_path: Path) -> None:
    """`source-roots` names folders outside the usual places where the model's module is."""
    (tmp_path / "pyproject.toml").write_text('[tool.freezelint]\nsource-roots = ["third_party/nets"]\n')
    nets = tmp_path / "third_party" / "nets"
    nets.mkdir(parents=True)
    shutil.copy(FIXTURES / "gpt.py", nets / "nanogpt.py")
    train = tmp_path / "scripts" / "train.py"
    train.parent.mkdir()
    train.write_text("from nanogpt import GPT\nmodel = GPT()\n"
                     "for n, p in model.named_parameters():\n"
                     "    p.requires_grad = n.startswith('transformer.h.7')\n")
    (fzl101,) = _rules(train)["FZL101"]
    assert "GPT (nanogpt.py)" in fzl101
    (tmp_path / "pyproject.toml").write_text("[tool.freezelint]\n")
    assert "FZL101" not in _rules(train)  # without the setting the module is not found


def test_source_roots_must_be_a_list_of_folders(tmp_path: Path) -> None:
    from freezelint.engine.config import ConfigError, load_config

    config = tmp_path / "freezelint.toml"
    config.write_text('source-roots = "lib"\n')
    with pytest.raises(ConfigError, match="'source-roots' must be a list of folder paths"):
        load_config(config)
    config.write_text('source-roots = ["lib"]\n')
    assert load_config(config).source_roots == ("lib",)


def test_configured_model_class_needs_no_trust_when_read_statically(tmp_path: Path) -> None:
    """`model = "models.py:GPT"` in pyproject.toml: the class is read from its source, so
    nothing of the project runs and no trust is needed."""
    _project(tmp_path, "for n, p in model.named_parameters():\n"
                       "    p.requires_grad = n.startswith('transformer.h.9')\n")
    (tmp_path / "pyproject.toml").write_text('[tool.freezelint]\nmodel = "models.py:GPT"\n')
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "train.py")
    assert result.exit_code == 1, result.output
    assert "FZL101" in result.output and "models.py:GPT" in result.output
    assert not (tmp_path / "models.ran").exists()

"""A project that vendors a library: the static reader reads a bounded part of what the
linted script imports. A model defined before the budget runs out is still read and checked;
one that lies beyond it is unknown and said to be unchecked, never reported with wrong
names."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from freezelint.analysis.classes.project import MAX_PROJECT_FILES
from freezelint.cli.main import main

NET = '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
        self.head = nn.Linear(8, 10)
'''

SCRIPT = '''
import torch

from vendored.models import Net

model = Net()
for name, param in model.named_parameters():
    if not name.startswith('classifier'):
        param.requires_grad = False
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
'''


def _project(tmp_path: Path, net_at_the_end: bool, reexported: bool = True) -> Path:
    """`vendored/models.py` imports a chain of more modules than one lint reads; Net is in
    models.py after those imports, or in the chain's last module. `reexported`: each module
    of the chain re-exports Net from the next one (`from .m1 import Net`), so finding it
    means reading the whole chain; otherwise models.py imports it from the last module
    directly, and the chain's other names are never used."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    package = tmp_path / "vendored"
    package.mkdir()
    (package / "__init__.py").write_text("")
    count = MAX_PROJECT_FILES + 10
    for i in range(count):
        imports = f"from .m{i + 1} import Layer{i + 1}\n" if i + 1 < count else ""
        if reexported and i + 1 < count and net_at_the_end:
            imports += f"from .m{i + 1} import Net\n"
        body = f"import torch.nn as nn\n{imports}\nclass Layer{i}(nn.Module):\n    pass\n"
        if i + 1 == count and net_at_the_end:
            body += NET
        (package / f"m{i}.py").write_text(body)
    models = "import torch.nn as nn\n\nfrom .m0 import Layer0\n"
    if net_at_the_end:
        models += "from .m0 import Net\n" if reexported else f"from .m{count - 1} import Net\n"
    else:
        models += NET
    (package / "models.py").write_text(models)
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return script


def _check(script: Path) -> list[dict]:
    result = CliRunner().invoke(main, ["check", str(script), "--no-cache", "--output-format",
                                       "json"])
    return json.loads(result.stdout)


def test_a_model_read_before_the_budget_is_spent_is_checked(tmp_path: Path) -> None:
    findings = _check(_project(tmp_path, net_at_the_end=False))
    [finding] = [f for f in findings if f.get("rule") == "FZL101"]
    assert "did you mean 'head'" in finding["message"]  # 'classifier' names nothing


def test_a_model_beyond_the_budget_is_unknown_not_wrong(tmp_path: Path) -> None:
    findings = _check(_project(tmp_path, net_at_the_end=True))
    assert [f for f in findings if f.get("rule")] == []
    assert any(f.get("kind") == "not-checked" for f in findings)


def test_imports_a_module_never_uses_are_not_read(tmp_path: Path) -> None:
    # models.py imports a chain of modules longer than the budget but takes Net straight from
    # the last one: only the modules whose names are used are read, so Net is known.
    findings = _check(_project(tmp_path, net_at_the_end=True, reexported=False))
    [finding] = [f for f in findings if f.get("rule") == "FZL101"]
    assert "did you mean 'head'" in finding["message"]


def test_layers_registered_past_the_call_depth_are_unknown_not_missing(tmp_path: Path) -> None:
    # `__init__` reaches its head through a chain of helper methods deeper than the reader
    # follows: the helper it stops at may register anything, so the model has a hole there
    # (it was read with `backbone` only, and 'head' reported as no parameter name).
    from freezelint.analysis.scope import MAX_CALL_DEPTH

    chain = "".join(f"    def m{i}(self):\n        self.m{i + 1}()\n\n"
                    for i in range(MAX_CALL_DEPTH + 1))
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.backbone = nn.Linear(2, 2)\n"
        f"        self.m0()\n\n{chain}"
        f"    def m{MAX_CALL_DEPTH + 1}(self):\n        self.head = nn.Linear(2, 2)\n")
    script = tmp_path / "train.py"
    script.write_text("from models import Net\n\nmodel = Net()\n"
                      "for name, p in model.named_parameters():\n"
                      "    if not name.startswith('head'):\n"
                      "        p.requires_grad = False\n")
    result = CliRunner().invoke(main, ["check", str(script), "--no-cache",
                                       "--output-format", "json"])
    assert json.loads(result.output) == []

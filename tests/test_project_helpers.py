"""Helpers and factories of the project's own modules, imported by name.

`from utils import freeze` ... `freeze(model)` is followed like `utils.freeze(model)`: what the
helper does to the model it is handed is read (issue 13, class 10: handing the model to an
ordinary helper must not make every parameter unknown), and a factory whose result the file
uses as a model (`model = build_model()` ... `model.named_parameters()`) gives the model it
builds. A call into the project runs at most MAX_PROJECT_CALL_DATA_BODIES bodies that build no
module (a package's data builders run thousands), none longer than MAX_PROJECT_DATA_BODY_CHARS:
past that, what it returns is unknown, never a model half read; a model's own modules are read
whatever their number."""

from __future__ import annotations

from pathlib import Path

import pytest

from freezelint.analysis.scope import MAX_PROJECT_CALL_DATA_BODIES, MAX_PROJECT_DATA_BODY_CHARS
from freezelint.engine.lint import Analysis, LintConfig, lint_result

MODELS = '''import torch.nn as nn


class Net(nn.Module):
    """A body of two layers and a head."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8))
        self.head = nn.Linear(8, 2)


class Options:
    def __init__(self, index):
        self.index = index


def build_model():
    return Net()


def freeze_after(model, count):
    options = [Options(i) for i in range(count)]
    freeze(model)


def freeze(model):
    for p in model.parameters():
        p.requires_grad = False


def describe(model):
    return str(model)
'''

RESNET = "import torch\nimport torchvision\n\nmodel = torchvision.models.resnet18()\n"
OPTIMIZER = "opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)\n"
FREEZE_BUT_FC = ("for name, p in model.named_parameters():\n"
                 "    if not name.startswith('fc'):\n"
                 "        p.requires_grad = False\n")


def _lint(tmp_path: Path, script: str) -> Analysis:
    (tmp_path / "models.py").write_text(MODELS)
    path = tmp_path / "train.py"
    path.write_text(script)
    return lint_result(script, LintConfig(path=path))


def _rules(analysis: Analysis) -> list[str]:
    return [d.rule for d in analysis.diagnostics]


@pytest.mark.parametrize("imported", [
    "from models import freeze\n",
    "from models import freeze as freeze_all\n",
    "import models\n",
])
def test_a_helper_handed_the_model_is_followed(tmp_path: Path, imported: str) -> None:
    call = {"from models import freeze\n": "freeze(model)\n",
            "from models import freeze as freeze_all\n": "freeze_all(model)\n",
            "import models\n": "models.freeze(model)\n"}[imported]
    analysis = _lint(tmp_path, imported + RESNET + call + OPTIMIZER)
    assert _rules(analysis) == ["FZL103"]  # every parameter frozen: the optimizer gets none
    assert "all 62 parameters of `resnet18` are frozen" in analysis.diagnostics[0].message


def test_a_helper_that_only_reads_the_model_leaves_it_trainable(tmp_path: Path) -> None:
    analysis = _lint(tmp_path, "from models import describe\n" + RESNET
                     + "print(describe(model))\n" + OPTIMIZER)
    assert _rules(analysis) == []
    assert analysis.coverage.checked == analysis.coverage.sites  # known, not escaped


@pytest.mark.parametrize("imported, call", [
    ("from models import build_model\n", "build_model()"),
    ("import models\n", "models.build_model()"),
])
def test_a_factory_gives_the_model_it_builds(tmp_path: Path, imported: str, call: str) -> None:
    analysis = _lint(tmp_path, f"{imported}\nmodel = {call}\n" + FREEZE_BUT_FC)
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message and "Net (models.py)" in finding.message


def test_a_factory_kept_in_an_attribute_gives_the_model_it_builds(tmp_path: Path) -> None:
    # a LightningModule's or a trainer's model, used in another method
    analysis = _lint(tmp_path, "from models import build_model\n\n\nclass Task:\n"
                     "    def __init__(self):\n        self.net = build_model()\n\n"
                     "    def setup(self):\n"
                     "        for name, p in self.net.named_parameters():\n"
                     "            if not name.startswith('fc'):\n"
                     "                p.requires_grad = False\n")
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message and "Net (models.py)" in finding.message


@pytest.mark.parametrize("count, followed", [
    (MAX_PROJECT_CALL_DATA_BODIES // 2, True),
    (MAX_PROJECT_CALL_DATA_BODIES + 10, False),
])
def test_one_call_into_the_project_is_bounded(tmp_path: Path, count: int,
                                              followed: bool) -> None:
    # each Options(i) runs a plain body: past the bound, freeze(model) is not followed, and
    # the model it was handed is unknown (not trainable, not frozen)
    analysis = _lint(tmp_path, "from models import freeze_after\n" + RESNET
                     + f"freeze_after(model, {count})\n" + OPTIMIZER)
    assert (_rules(analysis) == ["FZL103"]) is followed
    assert (analysis.coverage.checked == analysis.coverage.sites) is followed


@pytest.mark.parametrize("chars, read", [
    (MAX_PROJECT_DATA_BODY_CHARS // 2, True),
    (MAX_PROJECT_DATA_BODY_CHARS + 1000, False),
])
def test_a_table_of_data_past_the_bound_is_not_read(tmp_path: Path, chars: int,
                                                     read: bool) -> None:
    # a helper that freezes the model, then looks it up in a table (transformers'
    # conversion mappings: one function of 135 KB): a table past the bound is not parsed, a
    # function the analysis cannot see, and the model handed to it is unknown after it
    rows = "".join(f"        'layer{i}': ('{i}', {i}),\n" for i in range(chars // 40))
    rows += " " * (chars - len(rows)) + "\n"  # the table's text: `chars` long
    (tmp_path / "tables.py").write_text(
        "from models import freeze\n\n\ndef table(model):\n    return {\n" + rows
        + "    }\n\n\ndef prepare(model):\n    freeze(model)\n    return table(model)\n")
    analysis = _lint(tmp_path, "from tables import prepare\n" + RESNET + "prepare(model)\n"
                     + OPTIMIZER)
    assert (_rules(analysis) == ["FZL103"]) is read
    assert (analysis.coverage.checked == analysis.coverage.sites) is read


def test_a_model_of_many_modules_is_read_whatever_their_number(tmp_path: Path) -> None:
    # 2 modules' __init__ per block: far more module bodies than the bound on plain ones
    blocks = MAX_PROJECT_CALL_DATA_BODIES
    (tmp_path / "deep.py").write_text(
        "import torch.nn as nn\n\n\nclass Inner(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.proj = nn.Linear(2, 2)\n\n\n"
        "class Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.inner = Inner()\n        self.out = nn.Linear(2, 2)\n\n\n"
        "class Deep(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        f"        self.blocks = nn.ModuleList([Block() for _ in range({blocks})])\n"
        "        self.head = nn.Linear(2, 2)\n")
    analysis = _lint(tmp_path, "from deep import Deep\n\nmodel = Deep()\n" + FREEZE_BUT_FC)
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message
    assert f"({4 * blocks + 2} parameters)" in finding.message  # every block read


def test_a_helper_star_imported_is_followed(tmp_path: Path) -> None:
    analysis = _lint(tmp_path, "from models import *\n" + RESNET + "freeze(model)\n" + OPTIMIZER)
    assert _rules(analysis) == ["FZL103"]


def test_a_factory_star_imported_gives_the_model_it_builds(tmp_path: Path) -> None:
    analysis = _lint(tmp_path, "from models import *\n\nmodel = build_model()\n" + FREEZE_BUT_FC)
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message


@pytest.mark.parametrize("exported", ["__all__ = ['describe']\n", "__all__ = names()\n"])
def test_a_star_import_binds_only_what_all_lists(tmp_path: Path, exported: str) -> None:
    # `freeze` is not exported (or what is, is unknown): the call is one into unseen code,
    # and the model it is handed is unknown afterwards, never taken for untouched
    (tmp_path / "models.py").write_text(MODELS + "\n\n" + exported)
    path = tmp_path / "train.py"
    script = "from models import *\n" + RESNET + "freeze(model)\n" + OPTIMIZER
    path.write_text(script)
    analysis = lint_result(script, LintConfig(path=path))
    assert _rules(analysis) == []
    assert analysis.coverage.sites and not analysis.coverage.checked


def test_a_star_import_leaves_the_modules_own_imports_alone(tmp_path: Path) -> None:
    # models.py imports torch.nn as nn too: the script's `nn` stays torch's
    analysis = _lint(tmp_path, "import torch.nn as nn\nfrom models import *\n\n"
                     "model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))\n" + FREEZE_BUT_FC)
    assert "FZL101" in _rules(analysis)


@pytest.mark.parametrize("script", [
    # a factory's model moved before it is kept: module methods return the module
    "from models import build_model\n\nmodel = build_model().to('cpu').train()\n",
    "import models\n\nmodel = models.build_model().cuda()\n",
    # a factory's model returned by a function of the script, kept where it is called
    "from models import build_model\n\n\ndef make():\n    return build_model()\n\n\n"
    "model = make()\n",
    "import models\n\n\ndef make(device):\n    return models.build_model().to(device)\n\n\n"
    "model = make('cpu')\n",
    "from models import build_model\n\n\ndef inner():\n    return build_model()\n\n\n"
    "def outer():\n    return inner()\n\n\nmodel = outer()\n",
])
def test_a_factory_reached_through_the_script_gives_the_model_it_builds(
        tmp_path: Path, script: str) -> None:
    analysis = _lint(tmp_path, script + FREEZE_BUT_FC)
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message and "Net (models.py)" in finding.message


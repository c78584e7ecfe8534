"""What a lint reads of the project's own modules: only what could change a finding.

A script that imports from the project but uses no model the way a rule judges reads nothing
there (its result cannot depend on those files, so neither does its cache entry); a script
that trains the imported model reads the model's module, and of it only what it uses."""

from __future__ import annotations

from pathlib import Path

from freezelint.engine.lint import LintConfig, lint_result

MODELS = '''import torch.nn as nn

from .helpers import unused_helper


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)
'''


def _project(tmp_path: Path, script: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    (package / "helpers.py").write_text("def unused_helper():\n    return 1\n")
    path = package / "train.py"
    path.write_text(script)
    return path


def test_a_script_without_a_model_use_reads_no_project_module(tmp_path: Path) -> None:
    script = _project(tmp_path, "from .models import Net\n\nnet = Net()\nprint(net)\n")
    analysis = lint_result(script.read_text(), LintConfig(path=script, prefilter=False))
    assert analysis.dependencies == []


def test_a_script_that_trains_the_model_reads_its_module_only(tmp_path: Path) -> None:
    script = _project(tmp_path, "from .models import Net\n\nmodel = Net()\n"
                                "for name, p in model.named_parameters():\n"
                                "    if not name.startswith('classifier'):\n"
                                "        p.requires_grad = False\n")
    analysis = lint_result(script.read_text(), LintConfig(path=script))
    assert [p.name for p in analysis.dependencies] == ["models.py"]  # not helpers.py
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message


def test_an_editor_reads_the_model_before_the_script_uses_it(tmp_path: Path) -> None:
    # `model.` being typed: hover and completion need the names before any model use exists
    from freezelint.engine.lint import analyze

    script = _project(tmp_path, "from .models import Net\n\nmodel = Net()\n")
    analysis = analyze(script.read_text(), LintConfig(path=script))
    assert [m.name for m in analysis.models] == ["Net (models.py)"]
    assert "head.weight" in {p.name for p in analysis.models[0].parameters}

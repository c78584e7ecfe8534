"""What a lint reads of the project's own modules: only what could change a finding.

A script that imports from the project but uses no model the way a rule judges reads nothing
there (its result cannot depend on those files, so neither does its cache entry); a script
that trains the imported model reads the model's module, and of it only what it uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from freezelint.engine.lint import Analysis, LintConfig, lint_result

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


# A function of a script that uses a model elsewhere (engine/model_free.py). The pre-filter
# is off: what is tested is what the engine reads, not which files it analyses.
def _freeze_all_but_classifier(model: str, indent: str) -> str:
    """A freeze loop over `model` whose name test matches nothing of Net (FZL101)."""
    return (f"{indent}for name, p in {model}.named_parameters():\n"
            f"{indent}    if not name.startswith('classifier'):\n"
            f"{indent}        p.requires_grad = False\n")


FREEZE = "\ndef freeze(model):\n" + _freeze_all_but_classifier("model", "    ")


def _lint(tmp_path: Path, script: str) -> Analysis:
    path = _project(tmp_path, "from .models import Net\n\n" + script)
    return lint_result(path.read_text(), LintConfig(path=path, prefilter=False))


def _did_you_mean_head(analysis: Analysis) -> bool:
    return any(d.rule == "FZL101" and "did you mean 'head" in d.message
               for d in analysis.diagnostics)


def test_a_function_without_a_model_use_reads_no_project_module(tmp_path: Path) -> None:
    # `describe` only prints the model it builds: nothing there could be judged on its names
    analysis = _lint(tmp_path, FREEZE + "\n\ndef describe():\n    net = Net()\n    print(net)\n")
    assert analysis.dependencies == []


def test_a_function_that_hands_its_model_to_one_that_freezes_it_reads_it(
        tmp_path: Path) -> None:
    # `main` holds no model use itself, but what it builds reaches `freeze`, which has one
    analysis = _lint(tmp_path, FREEZE + "\n\ndef main():\n    net = Net()\n    freeze(net)\n")
    assert [p.name for p in analysis.dependencies] == ["models.py"]
    assert _did_you_mean_head(analysis)


def test_a_factory_without_a_model_use_is_read_where_a_function_calls_it(
        tmp_path: Path) -> None:
    # `build` alone uses no model; called from `train`, what it returns is the model trained
    analysis = _lint(tmp_path, "def build():\n    return Net()\n\n\ndef train():\n"
                               "    model = build()\n" + _freeze_all_but_classifier("model", "    "))
    assert _did_you_mean_head(analysis)


def test_a_method_reached_through_an_instance_reads_the_project(tmp_path: Path) -> None:
    # `run` names neither `Trainer` nor a model use, but the instance it finds brings
    # Trainer.fit, which builds the model from the project's class on the branch `run` takes
    # (the module-level call takes the other one, and fit has no run of its own)
    analysis = _lint(tmp_path, "class Trainer:\n    def fit(self, name):\n"
                               "        if name == 'net':\n            model = Net()\n"
                               + _freeze_all_but_classifier("model", "            ")
                               + "\n\ntrainer = Trainer()\ntrainer.fit('other')\n"
                               "\n\ndef run():\n    trainer.fit('net')\n")
    assert _did_you_mean_head(analysis)


def test_a_file_whose_definitions_cannot_be_told_apart_reads_as_before(tmp_path: Path) -> None:
    # a docstring line at the first column that reads like a definition: no function of the
    # file is set apart, and `describe` reads the project as the whole file does
    analysis = _lint(tmp_path, '"""Usage:\ndef example():\n"""\n' + FREEZE
                     + "\n\ndef describe():\n    net = Net()\n    print(net)\n")
    assert [p.name for p in analysis.dependencies] == ["models.py"]


def test_a_method_without_a_model_use_reads_no_project_module(tmp_path: Path) -> None:
    # the class freezes in one method; `describe` only prints a model it builds
    analysis = _lint(tmp_path, "class Runner:\n" + FREEZE.replace("\n", "\n    ")
                     .replace("def freeze(model)", "def freeze(self, model)")
                     + "\n    def describe(self):\n        net = Net()\n        print(net)\n")
    assert analysis.dependencies == []


def test_a_method_that_hands_its_model_to_a_method_that_freezes_it_reads_it(
        tmp_path: Path) -> None:
    analysis = _lint(tmp_path, "class Runner:\n" + FREEZE.replace("\n", "\n    ")
                     .replace("def freeze(model)", "def freeze(self, model)")
                     + "\n    def main(self):\n        net = Net()\n        self.freeze(net)\n")
    assert _did_you_mean_head(analysis)


def test_init_builds_what_the_other_methods_use(tmp_path: Path) -> None:
    # `__init__` holds no model use, but what it builds is the model `freeze` trains
    analysis = _lint(tmp_path, "class Runner:\n    def __init__(self):\n"
                               "        self.net = Net()\n\n    def freeze(self):\n"
                               + _freeze_all_but_classifier("self.net", "        "))
    assert _did_you_mean_head(analysis)


# A name the script imports from the project and calls is read only when it may be a class:
# one bound by plain `def` statements alone is a function, known as such from Python's tree
# of the module, without parsing or running it. Any other binding of the same name (a class
# defined after it, an assignment, a decorator that may return anything) is read as before.
FREEZE_HEAD = ("from .layers import Net\n\nmodel = Net()\n"
               "for name, p in model.named_parameters():\n"
               "    if not name.startswith('fc'):\n"
               "        p.requires_grad = False\n")
NET = ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
       "        self.body = nn.Linear(4, 8)\n        self.head = nn.Linear(8, 2)\n")


@pytest.mark.parametrize("layers", [
    "import torch.nn as nn\n\n\ndef Net():\n    return None\n\n\n" + NET,
    "import torch.nn as nn\n\n\n" + NET + "\n\ndef make():\n    return Net\n\n\nNet2 = Net\n",
    "import torch.nn as nn\n\n\ndef _net():\n    return None\n\n\nNet = _net\n\n\n" + NET,
])
def test_a_class_bound_beside_a_function_of_the_same_name_is_read(
        tmp_path: Path, layers: str) -> None:
    script = _project(tmp_path, FREEZE_HEAD)
    (script.parent / "layers.py").write_text(layers)
    analysis = lint_result(script.read_text(), LintConfig(path=script))
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message


@pytest.mark.parametrize("layers", [
    "def Net():\n    return None\n",
    "import functools\n\n\n@functools.lru_cache\ndef Net():\n    return None\n",
])
def test_a_function_called_as_a_model_leaves_it_unknown(tmp_path: Path, layers: str) -> None:
    script = _project(tmp_path, FREEZE_HEAD)
    (script.parent / "layers.py").write_text(layers)
    analysis = lint_result(script.read_text(), LintConfig(path=script))
    assert analysis.diagnostics == []
    assert analysis.coverage.sites and not analysis.coverage.checked
    assert [p.name for p in analysis.dependencies] == ["layers.py"]


# `if settings is None: settings = Settings()`: after the if, `settings` is the new object or
# the value it held, and the analysis cannot tell which, so it is unknown whatever Settings
# builds; it is not built (a project read for nothing: transformers' Trainer spends a tenth of
# a second on its TrainingArguments there). Where the value survives the join, or the
# construction is handed the model, it is built as before.
SETTINGS = "class Settings:\n    def __init__(self, *handed, debug=False):\n        self.debug = debug\n"
FREEZE_ALL_BUT_CLASSIFIER = ("model = Net()\n"
                             "for name, p in model.named_parameters():\n"
                             "    if not name.startswith('classifier'):\n"
                             "        p.requires_grad = False\n")


def _built_with_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         branch: str) -> list[str]:
    """The project classes the lint of a script with `branch` builds."""
    from freezelint.analysis.classes import link

    built: list[str] = []
    construct = link.construct

    def spy(it: Any, klass: Any, *rest: Any) -> Any:
        built.append(klass.name)
        return construct(it, klass, *rest)

    monkeypatch.setattr(link, "construct", spy)
    script = _project(tmp_path, "import json\n\nfrom .models import Net\n"
                                "from .settings import Settings\n\n" + branch
                                + FREEZE_ALL_BUT_CLASSIFIER)
    (script.parent / "settings.py").write_text(SETTINGS)
    analysis = lint_result(script.read_text(), LintConfig(path=script))
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message
    return built


def test_a_default_built_in_a_branch_and_thrown_away_is_not_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = _built_with_settings(tmp_path, monkeypatch,
                                 "settings = json.load(open('s.json'))\n"
                                 "if settings is None:\n"
                                 "    print('defaults')\n"
                                 "    settings = Settings(debug=True)\n")
    assert built == ["Net"]


@pytest.mark.parametrize("branch", [
    # the else side may leave the same kind of value: the join is not known beforehand
    "if json.load(open('s.json')):\n    settings = Settings()\n"
    "else:\n    settings = Settings(debug=True)\n",
    # nothing held before: after the if, `settings` is what it built
    "if json.load(open('s.json')):\n    settings = Settings()\n",
    # used on its own side after it is built
    "settings = None\nif json.load(open('s.json')):\n    settings = Settings()\n"
    "    print(settings.debug)\n",
    # handed the model: what it does to it counts, whatever becomes of its own value
    "early = Net()\nsettings = None\nif json.load(open('s.json')):\n"
    "    settings = Settings(early)\n",
])
def test_a_construction_whose_value_or_effect_survives_the_branch_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, branch: str) -> None:
    built = _built_with_settings(tmp_path, monkeypatch, branch)
    assert "Settings" in built


# A package's `__init__` that re-exports a helper (`from .helpers import is_ready`): a call
# of it that the lint need not run is told a function from the modules' statements alone,
# through the re-export, without defining it; one whose definition may be anything (a
# decorator) is read, as before.
@pytest.mark.parametrize(("helpers", "read"), [
    ("def is_ready():\n    return True\n", False),
    ("import functools\n\n\n@functools.cache\ndef is_ready():\n    return True\n", True),
])
def test_a_reexported_helper_is_told_a_function_without_reading_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helpers: str, read: bool) -> None:
    from freezelint.analysis.classes.instantiate import InstantiatingReader

    looked_up: list[str] = []
    project_name = InstantiatingReader._project_name

    def spy(self: Any, module: str, name: str, importer: Any) -> Any:
        looked_up.append(name)
        return project_name(self, module, name, importer)

    monkeypatch.setattr(InstantiatingReader, "_project_name", spy)
    script = _project(tmp_path, "from .models import Net\nfrom .tools import is_ready\n\n"
                                "if is_ready():\n    print('ready')\n"
                                + FREEZE_ALL_BUT_CLASSIFIER)
    tools = script.parent / "tools"
    tools.mkdir()
    (tools / "__init__.py").write_text("from .helpers import is_ready\n")
    (tools / "helpers.py").write_text(helpers)
    analysis = lint_result(script.read_text(), LintConfig(path=script))
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "did you mean 'head" in finding.message
    assert ("is_ready" in looked_up) is read


def test_a_script_named_from_its_own_folder_finds_the_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `freezelint check train.py` run inside scripts/ walks up to the project's root as
    # `freezelint check scripts/train.py` does: the model is read either way
    script = _project(tmp_path, "")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "train.py").write_text("from app.models import Net\n\n"
                                      + FREEZE_ALL_BUT_CLASSIFIER)
    assert script.parent.name == "app"
    monkeypatch.chdir(scripts)
    for named in (Path("train.py"), scripts / "train.py"):
        analysis = lint_result(named.read_text(), LintConfig(path=named))
        [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
        assert "did you mean 'head" in finding.message


# lit-llama: `with lora(r=8): model = LLaMA(config)`, where the project's context manager
# swaps the attention class the model is built with, so its names gain `lora_` weights the
# class read does not have. A model built under the project's own context manager is
# unknown; under a library's (`torch.no_grad()`) it is read as before.
LORA_FREEZE = ("import torch\n\nfrom .models import Net\nfrom .patches import lora\n\n"
               "with {context}:\n    model = Net()\n"
               "for name, p in model.named_parameters():\n"
               "    if 'lora_' not in name:\n        p.requires_grad = False\n"
               "optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)\n")


@pytest.mark.parametrize(("context", "known"), [("lora(r=8)", False),
                                                ("torch.no_grad()", True)])
def test_a_model_built_under_the_projects_context_manager_is_unknown(
        tmp_path: Path, context: str, known: bool) -> None:
    script = _project(tmp_path, LORA_FREEZE.format(context=context))
    (script.parent / "patches.py").write_text(
        "from contextlib import contextmanager\n\nfrom . import models\n\n\n"
        "@contextmanager\ndef lora(r):\n    original = models.Net\n"
        "    models.Net = LoRANet\n    yield\n    models.Net = original\n")
    analysis = lint_result(script.read_text(), LintConfig(path=script))
    assert ("FZL103" in [d.rule for d in analysis.diagnostics]) is known
    assert bool(analysis.coverage.checked) is known

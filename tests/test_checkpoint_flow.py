"""Issue 17: checkpoints followed through the code, with or without the model's names.

Each scenario is a real script run with real torch: the flagged version fails the way torch
fails (RuntimeError with missing/unexpected keys, or a strict=False load that loads nothing),
freezelint reports it without knowing the model, and the version its --fix gives (or the
corrected one, where no fix is certain) runs and really restores the saved weights, and is
quiet. The model is a small network in the project's own `nets.py`.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from freezelint.engine.fixes import fix_text
from freezelint.engine.lint import LintConfig, lint

pytestmark = pytest.mark.torch

NETS = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.bn(self.conv(x))).flatten(1))
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory with `nets.py`, importable, as the working directory."""
    pytest.importorskip("torch")
    (tmp_path / "nets.py").write_text(NETS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "nets", raising=False)
    return tmp_path


def run(text: str) -> dict:
    """Run a script for real; its namespace afterwards."""
    import torch

    torch.manual_seed(0)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(text, "train.py", "exec"), namespace)
    return namespace


def same_weights(a, b) -> bool:
    import torch

    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def check(project: Path, text: str) -> list:
    script = project / "train.py"
    script.write_text(text)
    return lint(text, LintConfig(path=script, prefilter=False))


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def reported(diagnostics, rules: set[str], line: int) -> bool:
    return any(d.rule in rules and d.span.start.line == line for d in diagnostics)


PREFIX_RULES = {"FZL301", "FZL308"}  # FZL301 when the model's keys are known, else FZL308


def assert_fails_then_fixed(project: Path, flagged: str, rules: set[str], needle: str,
                            restored: str = "restored", saved: str = "model") -> str:
    """The flagged script raises torch's own error at the load, freezelint reports that
    line, and its fix gives a script that runs, restores the saved weights and is quiet."""
    flagged = textwrap.dedent(flagged)
    with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict"):
        run(flagged)
    diagnostics = check(project, flagged)
    assert reported(diagnostics, rules, line_of(flagged, needle)), \
        [(d.rule, d.span.start.line, d.message) for d in diagnostics]
    fixed = fix_text(flagged, LintConfig(path=project / "train.py", prefilter=False)).text
    assert fixed != flagged
    namespace = run(fixed)
    inner = namespace[saved]
    inner = getattr(inner, "module", getattr(inner, "_orig_mod", inner))
    assert same_weights(getattr(namespace[restored], "module", namespace[restored]), inner)
    assert check(project, fixed) == []
    return fixed


# -- a wrapper's prefix -----------------------------------------------------------------------
def test_data_parallel_save_loaded_into_the_bare_model(project):
    fixed = assert_fails_then_fixed(project, """
        import torch
        from torch import nn

        from nets import Net

        model = Net()
        model = nn.DataParallel(model)
        torch.save(model.state_dict(), 'best.pth')

        restored = Net()
        restored.load_state_dict(torch.load('best.pth'))
        """, PREFIX_RULES, "restored.load_state_dict")
    assert "k.removeprefix('module.')" in fixed


def test_the_advice_is_portable_where_the_project_supports_python_3_8(project):
    """The message says how to strip the prefix in the form the fix writes: a project that
    supports Python 3.8 has no `str.removeprefix`."""
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.8"\n')
    text = textwrap.dedent("""
        import torch
        from torch import nn

        from nets import Net

        model = nn.DataParallel(Net())
        torch.save(model.state_dict(), 'best.pth')
        restored = Net()
        restored.load_state_dict(torch.load('best.pth'))
        """)
    [diagnostic] = [d for d in check(project, text) if d.rule in PREFIX_RULES]
    assert "removeprefix" not in diagnostic.message
    assert "(k[len('module.'):] if k.startswith('module.') else k)" in diagnostic.message
    fixed = fix_text(text, LintConfig(path=project / "train.py", prefilter=False)).text
    assert "removeprefix" not in fixed and "k.startswith('module.')" in fixed


def test_dict_wrapped_save_with_an_fstring_path(project):
    """`torch.save({'state_dict': sd, 'epoch': e}, f'{out_dir}/last.pth')` and the entry read
    back: the path is followed through the f-string, the entry through the dict."""
    (project / "runs").mkdir()
    assert_fails_then_fixed(project, """
        import os

        import torch
        from torch.nn.parallel import DataParallel as DP

        from nets import Net

        out_dir = 'runs'
        model = DP(Net(num_classes=5))
        epoch = 3
        torch.save({'state_dict': model.state_dict(), 'epoch': epoch}, f'{out_dir}/last.pth')

        restored = Net(num_classes=5)
        checkpoint = torch.load(os.path.join(out_dir, 'last.pth'))
        restored.load_state_dict(checkpoint['state_dict'])
        """, PREFIX_RULES, "restored.load_state_dict")


def test_compiled_model_save_loaded_into_the_bare_model(project):
    fixed = assert_fails_then_fixed(project, """
        import torch

        from nets import Net

        model = Net()
        compiled = torch.compile(model)
        torch.save(compiled.state_dict(), 'compiled.pth')

        restored = Net()
        restored.load_state_dict(torch.load('compiled.pth'))
        """, PREFIX_RULES, "restored.load_state_dict")
    assert "k.removeprefix('_orig_mod.')" in fixed


def test_bare_save_loaded_into_a_wrapped_model(project):
    fixed = assert_fails_then_fixed(project, """
        import torch
        from torch import nn

        from nets import Net

        model = Net()
        torch.save(model.state_dict(), 'model.pth')

        restored = nn.DataParallel(Net())
        restored.load_state_dict(torch.load('model.pth'))
        """, PREFIX_RULES, "restored.load_state_dict")
    assert "restored.module.load_state_dict" in fixed


def test_submodule_compiled_in_place(project):
    """`model.fc = torch.compile(model.fc)` saves `fc._orig_mod.weight`: no certain rewrite
    of the load, the message says to compile with `.compile()`, which keeps the names."""
    flagged = textwrap.dedent("""
        import torch

        from nets import Net

        model = Net()
        model.fc = torch.compile(model.fc)
        torch.save(model.state_dict(), 'net.pth')

        restored = Net()
        restored.load_state_dict(torch.load('net.pth'))
        """)
    with pytest.raises(RuntimeError, match=r'Unexpected key.*"fc._orig_mod.weight"'):
        run(flagged)
    diagnostics = check(project, flagged)
    assert [d.rule for d in diagnostics] == ["FZL308"]
    assert "`fc`" in diagnostics[0].message and ".compile()" in diagnostics[0].message
    corrected = flagged.replace("model.fc = torch.compile(model.fc)", "model.fc.compile()")
    namespace = run(corrected)
    assert same_weights(namespace["restored"], namespace["model"])
    assert check(project, corrected) == []


def test_whole_checkpoint_dict_loaded(project):
    assert_fails_then_fixed(project, """
        import torch

        from nets import Net

        model = Net()
        torch.save({'state_dict': model.state_dict(), 'epoch': 10}, 'last.pth')

        restored = Net()
        restored.load_state_dict(torch.load('last.pth'))
        """, {"FZL309"}, "restored.load_state_dict")


def test_wrapped_on_one_branch_only_is_not_reported(project):
    """Whether the keys carry `module.` depends on the machine: not certain, not reported."""
    text = textwrap.dedent("""
        import torch
        from torch import nn

        from nets import Net

        model = Net()
        if torch.cuda.device_count() > 1:
            model = nn.DataParallel(model)
        torch.save(model.state_dict(), 'best.pth')

        restored = Net()
        restored.load_state_dict(torch.load('best.pth'))
        """)
    assert not [d for d in check(project, text) if d.rule == "FZL308"]


def test_path_unknown_or_saved_twice_is_not_reported(project):
    text = textwrap.dedent("""
        import sys

        import torch
        from torch import nn

        from nets import Net

        model = nn.DataParallel(Net())
        torch.save(model.state_dict(), sys.argv[1])
        torch.save(model.module.state_dict(), 'best.pth')

        restored = Net()
        restored.load_state_dict(torch.load('best.pth'))
        """)
    assert not [d for d in check(project, text) if d.rule == "FZL308"]


# -- Lightning --------------------------------------------------------------------------------
LIGHTNING = """
import lightning as L
import torch
from torch import nn

from nets import Net


class Classifier(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.model = Net(num_classes=2)
        self.loss = nn.CrossEntropyLoss()

    def training_step(self, batch, batch_idx):
        x, y = batch
        return self.loss(self.model(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


data = torch.utils.data.TensorDataset(torch.randn(8, 3, 8, 8), torch.randint(0, 2, (8,)))
classifier = Classifier()
trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False)
trainer.fit(classifier, torch.utils.data.DataLoader(data, batch_size=4))
trainer.save_checkpoint('final.ckpt')
model = classifier.model

restored = Net(num_classes=2)
checkpoint = torch.load('final.ckpt')
restored.load_state_dict(checkpoint['state_dict'])
"""


def test_lightning_checkpoint_loaded_into_the_network(project):
    pytest.importorskip("lightning")
    fixed = assert_fails_then_fixed(project, LIGHTNING, {"FZL308"},
                                    "restored.load_state_dict")
    assert "if k.startswith('model.')" in fixed


# -- bugs on every model ----------------------------------------------------------------------
@pytest.fixture
def pretrained(project):
    """A checkpoint saved under DataParallel by some other script: every key has `module.`."""
    import torch
    from nets import Net

    torch.manual_seed(1)
    source = Net()
    torch.save(torch.nn.DataParallel(source).state_dict(), project / "pretrained.pth")
    return source


def test_filter_tests_the_stripped_key_and_keeps_the_other(project, pretrained):
    flagged = textwrap.dedent("""
        import torch

        from nets import Net

        model = Net()
        model_dict = model.state_dict()
        pretrained = torch.load('pretrained.pth')
        pretrained = {k: v for k, v in pretrained.items() if k[7:] in model_dict}
        model_dict.update(pretrained)
        model.load_state_dict(model_dict)
        """)
    with pytest.raises(RuntimeError, match=r'Unexpected key.*"module.conv.weight"'):
        run(flagged)
    diagnostics = check(project, flagged)
    assert reported(diagnostics, {"FZL305"}, line_of(flagged, "if k[7:] in model_dict"))
    fixed = fix_text(flagged, LintConfig(path=project / "train.py", prefilter=False)).text
    assert "{k.removeprefix('module.'): v" in fixed
    assert same_weights(run(fixed)["model"], pretrained)
    assert check(project, fixed) == []


def test_discarded_non_strict_result(project, pretrained, capsys):
    """strict=False loads nothing from a `module.` checkpoint and says nothing: reported
    without knowing the model; the fix prints what was skipped."""
    flagged = textwrap.dedent("""
        import torch

        from nets import Net

        model = Net()
        model.load_state_dict(torch.load('pretrained.pth'), strict=False)
        """)
    assert not same_weights(run(flagged)["model"], pretrained)  # silently not loaded
    assert capsys.readouterr().out == ""
    # Model unknown: the discarded result alone is the finding.
    assert [d.rule for d in lint(flagged, LintConfig(prefilter=False))] == ["FZL304"]
    # Read from the project, the model's keys show the cause too (FZL301: `module.`).
    assert {d.rule for d in check(project, flagged)} == {"FZL301", "FZL304"}
    fixed = fix_text(flagged, LintConfig(path=project / "train.py", prefilter=False)).text
    run(fixed)
    assert "missing keys: ['conv.weight'" in capsys.readouterr().out
    assert lint(fixed, LintConfig(prefilter=False)) == []


def test_keys_renamed_in_place_or_by_a_helper_are_not_reported(project):
    """Once the loaded dict is changed in place or handed to other code, its format is no
    longer known: the renamed load below works in real torch and nothing claims otherwise."""
    text = textwrap.dedent("""
        import torch
        from torch import nn

        from nets import Net


        def strip(state):
            for k in list(state):
                state[k.removeprefix('module.')] = state.pop(k)


        model = nn.DataParallel(Net())
        torch.save(model.state_dict(), 'best.pth')

        restored = Net()
        sd = torch.load('best.pth')
        for k in list(sd):
            sd[k.removeprefix('module.')] = sd.pop(k)
        restored.load_state_dict(sd)

        other = Net()
        sd2 = torch.load('best.pth')
        strip(sd2)
        other.load_state_dict(sd2)
        """)
    namespace = run(text)
    assert same_weights(namespace["restored"], namespace["model"].module)
    assert same_weights(namespace["other"], namespace["model"].module)
    assert not [d for d in check(project, text) if d.rule in {"FZL308", "FZL309"}]


def test_saved_by_another_script_of_the_project(project):
    """train.py saves under DataParallel, evaluate.py beside it loads into the bare model."""
    train = textwrap.dedent("""
        import torch
        from torch import nn

        from nets import Net

        torch.manual_seed(123)
        model = nn.DataParallel(Net())
        torch.save({'model': model.state_dict(), 'epoch': 5}, 'checkpoints/best.pth')
        """)
    evaluate = textwrap.dedent("""
        import torch

        from nets import Net

        restored = Net()
        checkpoint = torch.load('checkpoints/best.pth')
        restored.load_state_dict(checkpoint['model'])
        """)
    (project / "checkpoints").mkdir()
    (project / "train.py").write_text(train)
    trained = run(train)["model"].module
    with pytest.raises(RuntimeError, match=r'Unexpected key.*"module.conv.weight"'):
        run(evaluate)
    script = project / "evaluate.py"
    script.write_text(evaluate)
    config = LintConfig(path=script, prefilter=False)
    diagnostics = lint(evaluate, config)
    assert [d.rule for d in diagnostics] == ["FZL308"]
    assert "saved by `train.py`" in diagnostics[0].message
    fixed = fix_text(evaluate, config).text
    assert same_weights(run(fixed)["restored"], trained)
    assert lint(fixed, config) == []
    # Without the project around it (the editor's unsaved buffer), nothing is claimed.
    assert lint(evaluate, LintConfig(prefilter=False)) == []


def test_what_may_not_run_is_not_a_fact(project):
    """A submodule compiled on one branch, a load whose failure a `try` handles: silent. The
    script's own `if __name__ == '__main__':` is no branch."""
    text = textwrap.dedent("""
        import os

        import torch
        from torch import nn

        from nets import Net

        model = Net()
        if os.environ.get('COMPILE_HEAD_FOR_A_TEST_THAT_NEVER_SETS_IT'):
            model.fc = torch.compile(model.fc)
        torch.save(model.state_dict(), 'net.pth')
        restored = Net()
        restored.load_state_dict(torch.load('net.pth'))

        wrapped = nn.DataParallel(Net())
        torch.save(wrapped.state_dict(), 'dp.pth')
        bare = Net()
        try:
            bare.load_state_dict(torch.load('dp.pth'))
        except RuntimeError:
            bare.load_state_dict({k.removeprefix('module.'): v
                                  for k, v in torch.load('dp.pth').items()})
        """)
    run(text)
    assert not [d for d in check(project, text) if d.rule in {"FZL308", "FZL309"}]
    main = textwrap.dedent("""
        import torch
        from torch import nn

        from nets import Net

        if __name__ == '__main__':
            model = nn.DataParallel(Net())
            torch.save(model.state_dict(), 'dp.pth')
            restored = Net()
            restored.load_state_dict(torch.load('dp.pth'))
        """)
    assert [d.rule for d in check(project, main)] == ["FZL308"]


def test_lightning_best_model_path_and_the_attribute_loaded(project):
    """`ModelCheckpoint.best_model_path` after `trainer.fit(classifier)` is the fitted
    LightningModule's checkpoint; loading its state dict into `classifier.model` needs the
    attribute path `model.` stripped (the same torch error as above: the test with a real
    Trainer shows it)."""
    text = LIGHTNING.replace(
        "trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False,",
        "best = ModelCheckpoint(monitor=None)\n"
        "trainer = L.Trainer(max_epochs=1, logger=False, callbacks=[best],").replace(
        "import lightning as L\n", "import lightning as L\n"
        "from lightning.pytorch.callbacks import ModelCheckpoint\n").replace(
        "trainer.save_checkpoint('final.ckpt')\n", "").replace(
        "checkpoint = torch.load('final.ckpt')", "checkpoint = torch.load(best.best_model_path)"
    ).replace("restored = Net(num_classes=2)", "restored = Classifier().model")
    diagnostics = check(project, text)
    assert [d.rule for d in diagnostics] == ["FZL308"]
    fixed = fix_text(text, LintConfig(path=project / "train.py", prefilter=False)).text
    assert "if k.startswith('model.')" in fixed


# -- paths built from settings (`args.output_dir`) ------------------------------------------
ARGS_SCRIPT = """
    import argparse
    import os

    import torch
    from torch import nn

    from nets import Net


    def train(args):
        model = nn.DataParallel(Net())
        torch.save(model.state_dict(), os.path.join(args.output_dir, 'best.pth'))
        return model


    def evaluate(args):
        restored = Net()
        restored.load_state_dict(torch.load(os.path.join(args.output_dir, 'best.pth')))
        return restored


    parser = argparse.ArgumentParser()
    parser.add_argument('--output_dir', default='.')
    args = parser.parse_args([])
    model = train(args)
    restored = evaluate(args)
    """


def test_a_path_built_from_args_is_followed_from_save_to_load(project):
    """`args.output_dir` is unknown, but the same at the save and at the load: the file
    saved under DataParallel is the one loaded into the bare model."""
    fixed = assert_fails_then_fixed(project, ARGS_SCRIPT, PREFIX_RULES,
                                    "restored.load_state_dict")
    assert "removeprefix('module.')" in fixed


@pytest.mark.parametrize("change", [
    # the setting is written to between the save and the load
    ("    restored = Net()\n", "    args.output_dir = 'other'\n    restored = Net()\n"),
    # another save's path is built from another setting: it may be the same file
    ("    return model\n",
     "    torch.save(model.module.state_dict(), args.export)\n    return model\n"),
    # the function rebinds its parameter
    ("    restored = Net()\n", "    args = parser.parse_args(['--output_dir', 'x'])\n"
                               "    restored = Net()\n"),
    # a method is called on the settings object (yacs' merge_from_file, dict.update, ...)
    ("model = train(args)\n", "vars(args).update(output_dir='x')\nmodel = train(args)\n"),
])
def test_a_setting_that_may_change_or_alias_is_not_followed(project, change):
    old, new = change
    text = textwrap.dedent(ARGS_SCRIPT)
    assert old in text
    text = text.replace(old, new, 1)
    assert not [d for d in check(project, text) if d.rule in PREFIX_RULES]


def test_settings_of_another_script_are_not_matched(project):
    """A sibling script's `args.output_dir` is its own: only literal paths are matched
    across the project's scripts."""
    saver = textwrap.dedent(ARGS_SCRIPT).split("def evaluate")[0]
    (project / "save.py").write_text(saver + "\ntrain(argparse.Namespace(output_dir='.'))\n")
    loader = textwrap.dedent("""
        import argparse
        import os

        import torch

        from nets import Net


        def evaluate(args):
            restored = Net()
            restored.load_state_dict(torch.load(os.path.join(args.output_dir, 'best.pth')))
        """)
    assert not [d for d in check(project, loader) if d.rule in PREFIX_RULES]

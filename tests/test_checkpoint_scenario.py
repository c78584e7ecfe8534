"""Issue #3's scenario, judged by behaviour: the AST fine-tuning script merges the AudioSet
checkpoint (saved under DataParallel, `module.` on every key) with `k[7:]` and keeps the
prefixed keys. freezelint reports it, and the code its --fix produces really loads every
pretrained tensor into a real AST model."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.cli.main import main
from freezelint.engine.lint import LintConfig, lint

EXAMPLE = Path(__file__).parent.parent / "examples" / "ast_checkpoint_merge.py"
CHECKPOINT_NAME = "audioset_10_10_0.4593.pth"
TINY = {"model_size": "tiny224", "input_fdim": 32, "input_tdim": 32}


def tiny_script() -> str:
    """The example at a size that trains on a CPU in a test: same code, smaller AST."""
    text = EXAMPLE.read_text()
    tiny = (text.replace("input_fdim=128, input_tdim=1024", "input_fdim=32, input_tdim=32")
                .replace("model_size='base384'", "model_size='tiny224'"))
    assert tiny.count("32") >= 2 and "tiny224" in tiny
    return tiny


def _rules(path: Path, *args: str) -> list[str]:
    result = CliRunner().invoke(main, ["check", str(path), "--output-format", "json", *args])
    import json

    return [d["rule"] for d in json.loads(result.stdout)]


def test_the_merge_is_reported_without_a_checkpoint():
    # The keys are inferred from the popped literal 'module.mlp_head.1.weight'.
    assert sorted(_rules(EXAMPLE)) == ["FZL302", "FZL305"]


def test_the_fix_gives_a_clean_script(tmp_path):
    script = tmp_path / "train.py"
    shutil.copy(EXAMPLE, script)
    result = CliRunner().invoke(main, ["check", str(script), "--fix"])
    assert result.exit_code == 0, result.output
    assert "k.removeprefix('module.'): v" in script.read_text()
    assert lint(script.read_text()) == []


@pytest.fixture
def audioset_checkpoint(tmp_path, monkeypatch):
    """A real (tiny) AST trained 'on AudioSet' and saved under DataParallel, and the
    `src.models` module the script imports ASTModel from."""
    torch = pytest.importorskip("torch")
    from freezelint.models.architectures.ast_model import ASTModel

    torch.manual_seed(0)
    pretrained = ASTModel(label_dim=527, imagenet_pretrain=False, audioset_pretrain=False,
                          **TINY)
    wrapped = torch.nn.DataParallel(pretrained)
    torch.save(wrapped.state_dict(), tmp_path / CHECKPOINT_NAME)

    package = types.ModuleType("src")
    models = types.ModuleType("src.models")
    models.ASTModel = ASTModel
    monkeypatch.setitem(sys.modules, "src", package)
    monkeypatch.setitem(sys.modules, "src.models", models)
    monkeypatch.chdir(tmp_path)
    return pretrained.state_dict()


def _run_script(text: str) -> dict:
    namespace: dict = {"__name__": "__main__"}
    exec(compile(text, "train.py", "exec"), namespace)
    return namespace


def test_the_original_script_fails_to_load(audioset_checkpoint):
    with pytest.raises(RuntimeError, match="Unexpected key"):
        _run_script(tiny_script())


def test_the_fixed_script_loads_every_pretrained_tensor(audioset_checkpoint, tmp_path):
    import torch

    script = tmp_path / "train.py"
    script.write_text(tiny_script())
    # The checkpoint lies next to the script: freezelint reads its header for the check.
    result = CliRunner().invoke(main, ["check", str(script), "--fix"])
    assert result.exit_code == 0, result.output
    namespace = _run_script(script.read_text())
    model = namespace["model"]
    loaded = model.state_dict()
    reused = [k for k in audioset_checkpoint if not k.startswith("mlp_head.1.")]
    assert len(reused) == 157
    for key in reused:
        assert torch.equal(loaded[key], audioset_checkpoint[key]), key
    assert loaded["mlp_head.1.weight"].shape == (10, 192)


def test_with_the_checkpoint_its_keys_come_from_the_file(audioset_checkpoint, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(tiny_script())
    # The literal path next to the script is read from its header...
    assert sorted(_rules(script)) == ["FZL301", "FZL302", "FZL305"]
    # ...and so is --checkpoint when the code's path cannot be resolved.
    other = tmp_path / "other.py"
    other.write_text(tiny_script().replace(CHECKPOINT_NAME, "missing.pth"))
    assert sorted(_rules(other, "--checkpoint", str(tmp_path / CHECKPOINT_NAME))) == [
        "FZL301", "FZL302", "FZL305"]


def test_checkpoint_of_another_model_size_is_a_size_mismatch(audioset_checkpoint, tmp_path):
    script = tmp_path / "train.py"
    # base384 code, tiny checkpoint: every tensor differs in width.
    script.write_text(EXAMPLE.read_text().replace(
        "model_dict.update(pretrained)",
        "pretrained = {k.removeprefix('module.'): v for k, v in pretrained.items()}\n"
        "model_dict.update(pretrained)"))
    diagnostics = lint(script.read_text(), LintConfig(path=script))
    mismatch = [d for d in diagnostics if d.rule == "FZL306"]
    assert len(mismatch) == 1
    assert "`v.cls_token` is [1, 1, 192] in the state dict but [1, 1, 768]" in mismatch[0].message


def test_key_popped_with_the_wrong_prefix_is_not_found(audioset_checkpoint, tmp_path):
    from freezelint.models.checkpoint import read_checkpoint

    text = (
        "import torch\n"
        "from src.models import ASTModel\n"
        "model = ASTModel(label_dim=10, model_size='tiny224', input_fdim=32, input_tdim=32)\n"
        f"sd = torch.load('{CHECKPOINT_NAME}')\n"
        "sd.pop('mlp_head.1.weight')\n"
    )
    diagnostics = lint(text, LintConfig(path=tmp_path / "train.py"))
    assert [d.rule for d in diagnostics] == ["FZL307"]
    assert "did you mean 'module.mlp_head.1.weight'" in diagnostics[0].message
    assert read_checkpoint(tmp_path / CHECKPOINT_NAME).parameters[0].name == "module.v.cls_token"

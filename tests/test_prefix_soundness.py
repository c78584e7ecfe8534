"""Issue 13, classes 7 and 8, from real repositories: prefix guards the analysis did not
see (open_clip), and FZL303 fixes that changed what the code meant or could not run on the
project's Python (PEFT's example notebook, litgpt, accelerate, dinov2).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from helpers import invoke

from freezelint.engine.fixes import fix_text
from freezelint.engine.lint import LintConfig, lint

# Keys as real checkpoints carry them: DataParallel's prefix, PEFT's modules_to_save wrapper
# (`original_module.`), a submodule wrapped on its own (`encoder.module.`).
KEYS = ["module.encoder.layer.0.weight", "module.classifier.original_module.weight",
        "classifier.bias", "module.encoder.module.proj.weight"]


def rules(code: str, config: LintConfig | None = None) -> list[str]:
    return [d.rule for d in lint(textwrap.dedent(code), config)]


def test_a_slice_under_a_test_of_the_dicts_first_key_is_guarded() -> None:
    """open_clip/factory.py: the keys are known to carry `module.` before `k[7:]`."""
    guarded = """\
        import torch
        state_dict = torch.load('ckpt.pt', map_location='cpu')
        if next(iter(state_dict.items()))[0].startswith('module'):
            state_dict = {k[7:]: v for k, v in state_dict.items()}
        """
    assert rules(guarded) == []
    assert rules(guarded.replace("if next(iter(state_dict.items()))[0].startswith('module'):\n",
                                 "if True:\n")) == ["FZL302"]
    # A test of another dict's keys guards nothing.
    other = guarded.replace("next(iter(state_dict.items()))", "next(iter(other.items()))")
    assert rules(other) == ["FZL302"]


def test_orig_mod_replace_is_not_reported() -> None:
    """litgpt's convert_pretrained_checkpoint.py, accelerate's fsdp_utils.py: every
    `_orig_mod.` is a torch.compile wrapper, inner ones too."""
    assert rules("""\
        import torch
        sd = torch.load('ckpt.pt')
        sd = {k.replace('_orig_mod.', ''): v for k, v in sd.items()}
        """) == []


def test_a_chain_of_replaces_on_parameter_names_is_not_reported() -> None:
    """PEFT's multilayer_perceptron_lora.ipynb maps PEFT names back to the base model's:
    `.replace('original_', '').replace('module.', '')` means the inner `module.`."""
    assert rules("""\
        for name, param in peft_model.base_model.named_parameters():
            before = name.partition('.')[-1].replace('original_', '').replace('module.', '')
        """) == []


REPLACE = """\
    import torch
    sd = torch.load('ckpt.pt', map_location='cpu')
    sd = {k.replace('module.', ''): v for k, v in sd.items()}
    """


def _keys_after(code: str) -> list[str]:
    """Run the dict comprehension of `code` on KEYS (plain Python: no torch needed)."""
    line = next(line for line in code.splitlines() if line.startswith("sd = {"))
    scope: dict[str, object] = {"sd": dict.fromkeys(KEYS, 0)}
    exec(line, scope)  # the fixed line of our own snippet
    return list(scope["sd"])  # type: ignore[call-overload]


def test_replace_is_reported_and_its_fix_is_unsafe() -> None:
    code = textwrap.dedent(REPLACE)
    (diagnostic,) = lint(code)
    assert diagnostic.rule == "FZL303"
    assert "head.original_module.weight` becomes `head.original_weight`" in diagnostic.message
    assert fix_text(code, LintConfig()).text == code  # --fix alone changes nothing
    fixed = fix_text(code, LintConfig(), unsafe=True).text
    assert "k.removeprefix('module.')" in fixed
    # What the fix changes: the wrapper prefix goes, `original_module.` stays intact, and
    # (why it is unsafe) the inner `encoder.module.` is kept.
    assert _keys_after(code) == ["encoder.layer.0.weight", "classifier.original_weight",
                                 "classifier.bias", "encoder.proj.weight"]
    assert _keys_after(fixed) == ["encoder.layer.0.weight", "classifier.original_module.weight",
                                  "classifier.bias", "encoder.module.proj.weight"]


def test_the_fix_is_portable_where_the_project_supports_python_3_8(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.8"\n',
                                             encoding="utf-8")
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(REPLACE), encoding="utf-8")
    invoke("check", "--no-cache", "--fix", "--unsafe-fixes", str(script))
    fixed = script.read_text(encoding="utf-8")
    assert "removeprefix" not in fixed
    assert "(k[len('module.'):] if k.startswith('module.') else k)" in fixed
    assert _keys_after(fixed) == ["encoder.layer.0.weight", "classifier.original_module.weight",
                                  "classifier.bias", "encoder.module.proj.weight"]


def test_ruff_target_version_counts_too(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text('target-version = "py38"\n', encoding="utf-8")
    script = tmp_path / "train.py"
    script.write_text("import torch\nsd = torch.load('a.pt')\n"
                      "sd = {k[7:]: v for k, v in sd.items()}\n", encoding="utf-8")
    result = invoke("check", "--no-cache", "--output-format", "concise", str(script))
    assert "FZL302" in result.stdout and "use `.removeprefix" not in result.stdout
    invoke("check", "--no-cache", "--fix", str(script))
    assert "(k[len('module.'):] if k.startswith('module.') else k)" in script.read_text(
        encoding="utf-8")


CONVERSION = """\
    import torch
    import torchvision

    model = torchvision.models.resnet18(weights=None)
    original = torch.load('original.ckpt', map_location='cpu')
    converted = {{
        "fc.weight": original["{first}fc.weight"],
        "layer1.0.conv1.weight": original["{key}"],
    }}
    model.load_state_dict(converted)
    """


def test_a_checkpoint_known_by_one_key_is_not_judged_on_the_others() -> None:
    """diffusers' conversion scripts: an original checkpoint is read key by key; the first
    key also names the converted model's tensor, so the checkpoint was taken for that
    model's state dict, and each original key the model does not have was reported as
    missing from it (FZL307, 17 false findings in convert_kandinsky_to_diffusers.py). Its
    keys are guessed from that one: another key's absence proves nothing."""
    other = "stages.0.block.0.conv_a.weight"
    assert "FZL307" not in rules(CONVERSION.format(first="", key=other))
    # under a holder's name (`encoder.`, `model.`: module names too), the same guess
    assert "FZL307" not in rules(CONVERSION.format(first="encoder.", key="encoder." + other))
    # a wrapper's prefix is on every key it saves: that checkpoint is the wrapped model's
    assert "FZL307" in rules(CONVERSION.format(first="module.", key="module." + other))
    # a state dict whose keys are known (the model's own) is still judged
    own = CONVERSION.replace("torch.load('original.ckpt', map_location='cpu')",
                             "model.state_dict()")
    assert "FZL307" in rules(own.format(first="", key=other))

"""`freezelint params` (the module tree) and `freezelint explain` (the tree after a
script's freezing), through the real CLI: counts from the manifest, identical blocks
collapsed, colour only on a terminal without NO_COLOR."""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from freezelint.cli.main import main
from freezelint.models.zoo import load_zoo

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/ast_head_finetune.py"
ANSI = re.compile(r"\x1b\[")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("NO_COLOR", raising=False)


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def script(tmp_path: Path, body: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


# -- params ----------------------------------------------------------------------------------


def test_params_draws_the_ast_tree_with_counts() -> None:
    result = run("params", "--model", "ast")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    manifest = load_zoo("ast")
    assert lines[0] == "ast  ASTModel  88.1M in 159 tensors"
    assert "├── v  DistilledVisionTransformer  87.7M in 155 tensors" in lines
    assert "│   ├── pos_embed  [1, 1214, 768]  932.4K" in lines
    # Twelve identical blocks are one node, with their per-block size.
    blocks = [line for line in lines if "v.blocks.0-11  Block x12" in line]
    assert blocks == ["│   │   └── v.blocks.0-11  Block x12  85.1M in 144 tensors (7.1M each)"]
    assert any(line.endswith("v.blocks.0-11.attn.qkv  Linear  1.8M in 2 tensors")
               for line in lines)
    assert not any("v.blocks.3" in line or "v.pos_drop" in line for line in lines)
    assert "        ├── weight  [527, 768]  404.7K" in lines
    assert lines[-1] == f"159 parameters, {manifest.total_numel / 1e6:.1f}M elements"
    assert not ANSI.search(result.stdout)  # not a terminal: plain text


def test_the_tree_counts_add_up() -> None:
    """Every module's total is the sum of its tensors: the blocks are 12 x one block."""
    manifest = load_zoo("ast")
    block = sum(p.numel for p in manifest.parameters if p.name.startswith("v.blocks.0."))
    every = sum(p.numel for p in manifest.parameters if p.name.startswith("v.blocks."))
    assert every == 12 * block
    line = next(line for line in run("params", "--model", "ast").stdout.splitlines()
                if "v.blocks  Sequential" in line)
    assert f"{every / 1e6:.1f}M in 144 tensors" in line


def test_params_tree_with_buffers_and_a_different_first_block() -> None:
    """resnet50: layer1.0 has a downsample branch, layer1.1 and layer1.2 are alike; the
    BatchNorm running statistics are counted as buffers, not listed."""
    lines = run("params", "--model", "resnet50").stdout.splitlines()
    assert lines[0] == "resnet50  ResNet  25.6M in 161 tensors"
    assert any(re.search(r"── layer1\.0  Bottleneck  75\.0K in 12 tensors$", line) for line in lines)
    assert any(re.search(r"── layer1\.1-2  Bottleneck x2  ", line) for line in lines)
    assert any(re.search(r"── bn1  BatchNorm2d  128 in 2 tensors  \+3 buffers$", line)
               for line in lines)
    assert not any("running_mean" in line for line in lines)
    assert lines[-1].startswith("161 parameters, 25.6M elements, 159 buffers")


def test_params_flat_and_json_are_unchanged() -> None:
    flat = run("params", "--model", "ast", "--flat").stdout.splitlines()
    assert flat[0].split() == ["v.cls_token", "[1,", "1,", "768]", "float32"]
    assert run("params", "--model", "ast", "--json").stdout == load_zoo("ast").dumps()


# -- explain ---------------------------------------------------------------------------------


def _readme_block(command: str) -> tuple[list[str], list[str]]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"```\n(\$ freezelint {command} .*?)```", readme, re.S)
    assert block is not None, f"no `$ freezelint {command}` example in the README"
    first, *output = block.group(1).rstrip("\n").split("\n")
    return shlex.split(first[2:])[1:], output


def test_explain_the_example_shows_that_nothing_trains() -> None:
    """The README's example, run: the freeze loop written for ResNet freezes all of AST."""
    args, output = _readme_block("explain")
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == output
    assert "0 of 87.7M parameters train (0 of 159 tensors)" in result.stdout
    assert f"optimizer at {EXAMPLE}:23:13: updates 0 of 87.7M parameters" in result.stdout


def test_explain_opens_only_where_frozen_meets_trainable(tmp_path: Path) -> None:
    path = script(tmp_path, """\
        import torch
        from src.models import ASTModel

        model = ASTModel(label_dim=10)
        for name, p in model.named_parameters():
            if not name.startswith(("mlp_head", "v.blocks.10", "v.blocks.11", "v.norm")):
                p.requires_grad = False
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
        """)
    result = run("explain", path)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "ast  ASTModel  87.7M in 159 tensors  trains 14.2M of 87.7M (30 of 159 tensors)"
    assert "│   │   ├── v.blocks.0-9  Block x10  70.9M in 120 tensors (7.1M each)  frozen" in lines
    assert "│   │   └── v.blocks.10-11  Block x2  14.2M in 24 tensors (7.1M each)  trains" in lines
    assert "│   ├── v.patch_embed  PatchEmbed  197.4K in 2 tensors  frozen" in lines
    assert "└── mlp_head  Sequential  9.2K in 4 tensors  trains" in lines
    assert not any("v.patch_embed.proj" in line for line in lines)  # all frozen: one line
    assert "14.2M of 87.7M parameters train (30 of 159 tensors)" in lines
    assert f"optimizer at {path}:8:13: updates 14.2M of 87.7M parameters (30 of 159 tensors)" \
        in lines
    assert "problem" not in result.stdout


def test_explain_says_unknown_when_the_analysis_cannot_tell(tmp_path: Path) -> None:
    path = script(tmp_path, """\
        from src.models import ASTModel

        model = ASTModel()
        for name, p in model.named_parameters():
            if should_freeze(name):
                p.requires_grad = False
        """)
    result = run("explain", path)
    assert result.exit_code == 0
    assert "ast  ASTModel  88.1M in 159 tensors  unknown" in result.stdout
    assert "0 of 88.1M parameters train for certain" in result.stdout
    assert "159 of 159 tensors unknown" in result.stdout


def test_explain_with_an_explicit_model(tmp_path: Path) -> None:
    path = script(tmp_path, EXPLICIT_FREEZE)
    result = run("explain", path, "--model", "resnet50")
    assert result.exit_code == 0, result.stderr
    assert "2.0M of 25.6M parameters train (2 of 161 tensors)" in result.stdout
    assert "└── fc  Linear  2.0M in 2 tensors  trains" in result.stdout


EXPLICIT_FREEZE = """\
    model = build_model()
    for p in model.parameters():
        p.requires_grad = False
    for p in model.fc.parameters():
        p.requires_grad = True
    """


def test_explain_takes_the_model_from_the_configuration_as_check_does(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.freezelint]\nmodel = "resnet50"\nper-file-models = { "audio/*" = "ast" }\n')
    (tmp_path / "audio").mkdir()
    vision = run("explain", script(tmp_path, EXPLICIT_FREEZE))
    audio = run("explain", script(tmp_path / "audio", EXPLICIT_FREEZE))
    assert vision.exit_code == audio.exit_code == 0, vision.stderr + audio.stderr
    assert "2.0M of 25.6M parameters train (2 of 161 tensors)" in vision.stdout
    # The per-file AST model has no `fc`: nothing is unfrozen again.
    assert "0 of 88.1M parameters train" in audio.stdout
    # --model still wins over the configuration.
    override = run("explain", tmp_path / "audio" / "train.py", "--model", "resnet50")
    assert "2.0M of 25.6M parameters train (2 of 161 tensors)" in override.stdout


def test_explain_reports_an_unusable_configuration(tmp_path: Path) -> None:
    (tmp_path / "freezelint.toml").write_text('modle = "ast"\n')
    result = run("explain", script(tmp_path, EXPLICIT_FREEZE))
    assert result.exit_code == 2
    assert "unknown key 'modle'" in result.stderr


@pytest.mark.parametrize(("body", "message"), [
    ("x = 1\n", "no model found"),
    (None, "no such file or directory"),
])
def test_explain_input_errors_exit_2(tmp_path: Path, body: str | None, message: str) -> None:
    path = tmp_path / "train.py"
    if body is not None:
        path.write_text(body, encoding="utf-8")
    result = run("explain", path)
    assert result.exit_code == 2
    assert message in result.stderr.lower()


# -- colour ----------------------------------------------------------------------------------


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal; what it printed."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "freezelint", *args], stdout=secondary,
                               stderr=subprocess.DEVNULL, env=env, cwd=REPO)
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([primary], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=30)
    os.close(primary)
    return b"".join(chunks).decode("utf-8")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.pop("FORCE_COLOR", None)
    coloured = _on_a_terminal("explain", EXAMPLE, env=env)
    assert ANSI.search(coloured) and "ASTModel" in coloured
    plain = _on_a_terminal("explain", EXAMPLE, env={**env, "NO_COLOR": "1"})
    assert not ANSI.search(plain)
    assert "0 of 87.7M parameters train" in plain
    assert "├── v  DistilledVisionTransformer" in plain

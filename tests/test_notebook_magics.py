"""Issue 13, class 6: notebooks as IPython runs them, seen in PEFT's and LoRA's notebooks.

A magic inside an indented block, a shell escape continued with backslashes and a cell
ending in an open block are valid notebooks (or one broken cell), never a reason to skip
good cells or to blame the next one; a syntax error's message counts lines within its cell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from freezelint.cli.main import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = (REPO / "examples" / "ast_head_finetune.py").read_text(encoding="utf-8")
SETUP = EXAMPLE[EXAMPLE.index("import torch"):EXAMPLE.index("# Freeze")]
LOOP = EXAMPLE[EXAMPLE.index("# Freeze"):]


def notebook(tmp_path: Path, *sources: str) -> Path:
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": source.splitlines(keepends=True)} for source in sources]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5},
        indent=1) + "\n", encoding="utf-8")
    return path


def check(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "concise",
                                       *map(str, args)])
    assert "Traceback" not in result.output + result.stderr
    return result


def rules(result: Result) -> list[str]:
    return [line.split(": ")[1].split()[0] for line in result.stdout.splitlines()]


def test_a_magic_inside_an_indented_block_keeps_the_cell(tmp_path: Path) -> None:
    """`if IN_COLAB:` + `    %pip install ...` (the cell was skipped as FZL000, and with it
    the freeze loop it holds)."""
    path = notebook(tmp_path, SETUP, "import os\nif os.environ.get('COLAB'):\n"
                                     "    %pip install timm\n    !nvidia-smi\n" + LOOP)
    assert rules(check(path)) == ["FZL101", "FZL101", "FZL103"]


def test_a_shell_escape_continued_with_backslashes_is_one_line(tmp_path: Path) -> None:
    """PEFT's peft_lora_token_cls.ipynb and LoRA's 05-benchmark.ipynb: `! python x.py \\`
    and its indented continuation lines."""
    escape = ("! python preprocess.py --data_dir data/training \\\n"
              "                      --data_split train \\\n"
              "                      --max_len 510\n")
    path = notebook(tmp_path, SETUP, escape + LOOP)
    assert rules(check(path)) == ["FZL101", "FZL101", "FZL103"]


def test_fix_keeps_an_indented_magic(tmp_path: Path) -> None:
    source = ("import torch\nif torch.cuda.is_available():\n    %pip install timm\n"
              "sd = torch.load('x.pt')\nsd = {k.replace('module.', ''): v for k, v in sd.items()}\n")
    path = notebook(tmp_path, source)
    before = check(path)
    assert rules(before) == ["FZL303"]
    check(path, "--fix", "--unsafe-fixes")
    (cell,) = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cell["source"][2] == "    %pip install timm\n"
    assert "replace('module.', '')" not in "".join(cell["source"])


def test_an_open_block_at_a_cell_end_is_that_cells_error(tmp_path: Path) -> None:
    """Python reports `if x:` without a body at the next line it reads, the next cell's
    first: the error is the cell with the `if`, and its message counts lines in that cell."""
    path = notebook(tmp_path, "import torch\nx = 1\nif x:\n", SETUP + LOOP)
    result = check(path)
    first, *rest = result.stdout.splitlines()
    assert first.startswith(f"{path}:cell 1:3:1: FZL000 syntax error: expected an indented "
                            "block after 'if' statement on line 3;")
    assert [line.split(": ")[1].split()[0] for line in rest] == ["FZL101", "FZL101", "FZL103"]

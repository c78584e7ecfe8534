"""`freezelint check nb.ipynb` end to end, through the real CLI: the code cells are linted as
one program (the freeze loop in one cell, the optimizer in another), diagnostics name the
cell as Ruff does (`nb.ipynb:cell 4:2:16`, cells counted from 1 among all cells), magics
and shell escapes are skipped, a cell that does not parse is reported once and the others
are still checked, and `--fix` changes the fixed source lines and no other byte."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from freezelint.cli.main import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = (REPO / "examples" / "ast_head_finetune.py").read_text(encoding="utf-8")


def _between(start: str, end: str) -> str:
    return EXAMPLE[EXAMPLE.index(start):EXAMPLE.index(end)].strip()


# examples/ast_head_finetune.py over six cells: imports and constructor (with an output),
# markdown, the head replacement after a magic and a shell escape, the freeze loop, a cell
# that does not parse, the optimizer.
IMPORTS = _between("import torch", "# New classifier")
HEAD = "%matplotlib inline\n!pip install timm\n" + _between("# New classifier", "# Freeze")
LOOP = _between("for name, p", "optimizer =")
OPTIMIZER = EXAMPLE[EXAMPLE.index("optimizer ="):].strip()
BROKEN = "x = ("


def _code(source: str, outputs: list[Any] | None = None, count: int | None = None) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": count, "metadata": {},
            "outputs": outputs or [], "source": source.splitlines(keepends=True)}


def notebook_doc() -> dict[str, Any]:
    cells = [
        _code(IMPORTS, [{"name": "stdout", "output_type": "stream", "text": ["loaded ✓\n"]}], 1),
        {"cell_type": "markdown", "metadata": {"tags": ["intro"]},
         "source": ["## A new head — 10 classes, café ☕\n", "\n", "Then freeze the rest."]},
        _code(HEAD),
        _code(LOOP),
        _code(BROKEN),
        _code(OPTIMIZER),
    ]
    return {"cells": cells,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python", "version": "3.11.4"}},
            "nbformat": 4, "nbformat_minor": 5}


def jupyter_text(doc: dict[str, Any]) -> str:
    """What Jupyter writes (nbformat.write): sorted keys, indent 1, UTF-8, final newline."""
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


@pytest.fixture
def nb(tmp_path: Path) -> Path:
    path = tmp_path / "nb.ipynb"
    path.write_text(jupyter_text(notebook_doc()), encoding="utf-8")
    return path


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def check(*args: str | Path) -> Result:
    return run("check", "--no-cache", *args)


def located(line: str) -> tuple[str, str]:
    """`nb.ipynb:cell 4:2:16: FZL101 ...` -> ("nb.ipynb:cell 4:2:16", "FZL101")."""
    match = re.match(r"(.*?:cell \d+:\d+:\d+): (FZL\d+) ", line)
    assert match is not None, line
    return match.group(1), match.group(2)


LOOP_CELL = 4  # cells are counted among all cells: the markdown cell is number 2
WEIGHT = f"cell {LOOP_CELL}:2:{LOOP.splitlines()[1].index(repr('fc.weight')) + 1}"
BIAS = f"cell {LOOP_CELL}:2:{LOOP.splitlines()[1].index(repr('fc.bias')) + 1}"


def test_cells_are_linted_together_and_named_like_ruff(nb: Path) -> None:
    result = check(nb, "--output-format", "concise")
    assert result.exit_code == 1
    assert [located(line) for line in result.stdout.splitlines()] == [
        (f"{nb}:{WEIGHT}", "FZL101"),
        (f"{nb}:{BIAS}", "FZL101"),
        (f"{nb}:cell 5:1:5", "FZL000"),
        (f"{nb}:cell 6:1:13", "FZL103"),  # the optimizer's cell, after the loop's
    ]
    assert "this cell is skipped, the others are still checked" in result.stdout
    assert "Found 4 problems" in result.stderr


def test_full_output_frames_the_cell_line_and_points_at_the_loop(nb: Path) -> None:
    result = check(nb)
    assert "2 |     if name != 'fc.weight'" in result.stdout  # the line within its cell
    assert f"{nb}:cell {LOOP_CELL}:3:9: note: the parameters are frozen here" in result.stdout


def test_magics_and_shell_escapes_are_skipped_not_the_cell(nb: Path) -> None:
    """The head replacement after `%matplotlib` and `!pip` is still seen: the new head
    has 10 outputs (7.7K elements), not AudioSet's 527."""
    result = run("explain", nb)
    assert result.exit_code == 0, result.stderr
    assert "mlp_head  Sequential  9.2K in 4 tensors  frozen" in result.stdout
    assert "0 of 87.7M parameters train (0 of 159 tensors)" in result.stdout
    assert f"optimizer at {nb}:cell 6:1:13" in result.stdout
    assert "4 problems found" in result.stdout
    syntax = check(nb, "--select", "FZL000", "--output-format", "concise").stdout
    assert [located(line)[0] for line in syntax.splitlines()] == [f"{nb}:cell 5:1:5"]


def test_json_keeps_the_path_and_adds_the_cell(nb: Path) -> None:
    result = check(nb, "--output-format", "json")
    records = json.loads(result.stdout)
    assert [(r["path"], r["cell"], r["rule"]) for r in records] == [
        (str(nb), 4, "FZL101"), (str(nb), 4, "FZL101"), (str(nb), 5, "FZL000"),
        (str(nb), 6, "FZL103")]
    weight = records[0]
    assert weight["range"]["start"] == {"line": 2, "column": int(WEIGHT.rsplit(":", 1)[1])}
    assert weight["fixes"][0]["edits"][0]["cell"] == 4
    assert weight["fixes"][0]["edits"][0]["range"]["start"]["line"] == 2
    optimizer = records[3]
    assert optimizer["range"]["start"] == {"line": 1, "column": 13}
    assert [(r["cell"], r["range"]["start"]["line"]) for r in optimizer["related"]] == [(4, 3)]


LAYOUTS = {
    "jupyter": dict(indent=1, sort_keys=True, ensure_ascii=False, tail="\n"),
    "indent-2, no final newline": dict(indent=2, sort_keys=False, ensure_ascii=False, tail=""),
    "ascii escapes": dict(indent=1, sort_keys=True, ensure_ascii=True, tail="\n"),
    "crlf": dict(indent=1, sort_keys=True, ensure_ascii=False, tail="\r\n", crlf=True),
}


@pytest.mark.parametrize("string_sources", [False, True], ids=["line-lists", "strings"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_fix_changes_only_the_fixed_source_lines(tmp_path: Path, layout: str,
                                                 string_sources: bool) -> None:
    options = dict(LAYOUTS[layout])
    tail = options.pop("tail")
    crlf = options.pop("crlf", False)
    doc = notebook_doc()
    if string_sources:
        for cell in doc["cells"]:
            cell["source"] = "".join(cell["source"])
    text = json.dumps(doc, **options) + tail  # type: ignore[arg-type]
    if crlf:
        text = text.replace("\n", "\r\n")
    path = tmp_path / "nb.ipynb"
    path.write_bytes(text.encode("utf-8"))

    result = check(path, "--fix", "--unsafe-fixes", "--output-format", "concise")
    assert result.exit_code == 1, result.stderr  # the broken cell is still there
    assert "Fixed 2 problems." in result.stderr
    assert result.stdout.splitlines() == [
        f"{path}:cell 5:1:5: FZL000 syntax error: '(' was never closed; this cell is skipped, "
        "the others are still checked"]
    expected = text.replace("'fc.weight' and name != 'fc.bias'",
                            "'mlp_head.1.weight' and name != 'mlp_head.1.bias'")
    assert expected != text
    assert path.read_bytes() == expected.encode("utf-8")
    assert check(path, "--fix", "--unsafe-fixes").exit_code == 1  # idempotent: FZL000 only
    assert path.read_bytes() == expected.encode("utf-8")


def test_fix_keeps_magics_and_the_broken_cell(nb: Path) -> None:
    before = json.loads(nb.read_text(encoding="utf-8"))
    check(nb, "--fix", "--unsafe-fixes")
    after = json.loads(nb.read_text(encoding="utf-8"))
    changed = [i for i, (a, b) in enumerate(zip(before["cells"], after["cells"], strict=True))
               if a != b]
    assert changed == [3]  # the freeze loop's cell (the fourth), nothing else
    assert after["cells"][2]["source"][:2] == ["%matplotlib inline\n", "!pip install timm\n"]
    assert after["cells"][4]["source"] == [BROKEN]
    assert after["cells"][0]["outputs"] == before["cells"][0]["outputs"]


def test_diff_is_per_cell_and_writes_nothing(nb: Path) -> None:
    original = nb.read_bytes()
    result = check(nb, "--diff", "--unsafe-fixes")
    assert result.exit_code == 1
    assert nb.read_bytes() == original
    assert result.stdout == (
        f"--- {nb}:cell 4\n"
        f"+++ {nb}:cell 4\n"
        "@@ -1,3 +1,3 @@\n"
        " for name, p in model.named_parameters():\n"
        "-    if name != 'fc.weight' and name != 'fc.bias':\n"
        "+    if name != 'mlp_head.1.weight' and name != 'mlp_head.1.bias':\n"
        "         p.requires_grad = False\n")
    assert "Would fix 2 problems." in result.stderr


def test_add_noqa_comments_the_cell_lines(nb: Path) -> None:
    result = run("check", "--no-cache", "--add-noqa", nb)
    assert result.exit_code == 0, result.stderr
    assert "Added 2 noqa directives." in result.stderr  # the syntax error cannot take one
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    assert cells[3]["source"][1].endswith("  # noqa: FZL101\n")
    assert cells[5]["source"][0].endswith("  # noqa: FZL103")
    remaining = check(nb, "--output-format", "concise").stdout.splitlines()
    assert [located(line)[1] for line in remaining] == ["FZL000"]


def test_a_layout_that_cannot_be_reproduced_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "odd.ipynb"
    text = jupyter_text(notebook_doc()).replace('"nbformat": 4', '"nbformat" :  4')
    path.write_text(text, encoding="utf-8")
    result = check(path, "--fix", "--unsafe-fixes")
    assert result.exit_code == 2
    assert "cannot write the fixes back" in result.stderr
    assert path.read_text(encoding="utf-8") == text
    assert check(path, "--diff", "--unsafe-fixes").exit_code == 1  # a diff still works


@pytest.mark.parametrize(("content", "reason"), [
    ("this is not json", "not a Jupyter notebook: invalid JSON"),
    ('{"metadata": {}}', 'not a Jupyter notebook: the JSON has no "cells" list'),
    ('{"cells": [], "nbformat": 3}', "unsupported notebook format (nbformat 3)"),
    ('{"cells": [{"cell_type": "code", "source": 7}], "nbformat": 4}',
     "cell 1 has no source text"),
])
def test_files_that_are_not_notebooks_are_an_input_error(tmp_path: Path, content: str,
                                                          reason: str) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text(content, encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text("x = 1\n", encoding="utf-8")
    result = check(path, good)
    assert result.exit_code == 2
    assert f"{path}: error: " in result.stderr and reason in result.stderr
    assert "Traceback" not in result.stderr


def test_other_languages_are_skipped(tmp_path: Path) -> None:
    doc = notebook_doc()
    doc["metadata"] = {"kernelspec": {"language": "R", "name": "ir"},
                       "language_info": {"name": "R"}}
    path = tmp_path / "r.ipynb"
    path.write_text(jupyter_text(doc), encoding="utf-8")
    assert check(path).exit_code == 0


def test_directories_include_notebooks_but_not_checkpoints(tmp_path: Path, nb: Path) -> None:
    checkpoints = tmp_path / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "nb-checkpoint.ipynb").write_bytes(nb.read_bytes())
    result = check(tmp_path, "--output-format", "concise")
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {str(nb)}


def test_the_cache_keys_on_the_notebook_bytes(tmp_path: Path, nb: Path) -> None:
    cache = tmp_path / "cache"
    first = run("check", "--cache-dir", cache, "--output-format", "json", nb)
    assert list(cache.rglob("*.json")), "nothing was cached"
    assert (cache / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    second = run("check", "--cache-dir", cache, "--output-format", "json", nb)
    assert second.stdout == first.stdout and second.exit_code == first.exit_code == 1
    doc = notebook_doc()
    doc["cells"][3]["source"] = ["for p in model.parameters():\n", "    pass"]
    nb.write_text(jupyter_text(doc), encoding="utf-8")
    third = run("check", "--cache-dir", cache, "--output-format", "json", nb)
    assert [r["rule"] for r in json.loads(third.stdout)] == ["FZL000"]


# -- the README's example, run ---------------------------------------------------------------


def _readme_example() -> tuple[list[str], list[str]]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## Notebooks"):]
    block = re.search(r"```\n(\$ freezelint check .*?)```", section, re.S)
    assert block is not None, "the Notebooks section has no `$ freezelint check` example"
    command, *output = block.group(1).rstrip("\n").split("\n")
    return shlex.split(command[2:])[1:], output


def test_the_readme_notebook_example_is_what_the_cli_prints(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.chdir(REPO)
    args, output = _readme_example()
    assert any(a.endswith(".ipynb") for a in args)
    result = run(*args, "--no-cache")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == output


def test_the_shipped_example_notebook_is_the_example_script() -> None:
    """examples/ast_head_finetune.ipynb holds the example script's code (plus a magic and
    a shell escape), so both lint the same."""
    doc = json.loads((REPO / "examples" / "ast_head_finetune.ipynb").read_text("utf-8"))
    code = "\n".join("".join(c["source"]) for c in doc["cells"] if c["cell_type"] == "code")
    lines = [line for line in code.splitlines() if line.strip()
             and not line.startswith(("%", "!", "#"))]
    script = [line for line in EXAMPLE.split('"""', 2)[2].splitlines()
              if line.strip() and not line.startswith("#")]
    assert lines == script


def test_github_and_sarif_count_lines_within_the_cell(nb: Path) -> None:
    """Formats without cells: the line within the cell, and the cell named in the message."""
    github = check(nb, "--output-format", "github").stdout.splitlines()
    assert github[0].startswith(f"::warning file={nb},line=2,col=16,endLine=2,endColumn=27,")
    assert github[0].split("::")[2].startswith("cell 4: 'fc.weight' matches no parameter")
    sarif = json.loads(check(nb, "--output-format", "sarif").stdout)
    results = sarif["runs"][0]["results"]
    optimizer = next(r for r in results if r["ruleId"] == "FZL103")
    assert optimizer["message"]["text"].startswith("cell 6: the optimizer receives")
    assert optimizer["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    (related,) = optimizer["relatedLocations"]
    assert related["physicalLocation"]["region"]["startLine"] == 3
    assert related["message"]["text"].startswith("cell 4: ")

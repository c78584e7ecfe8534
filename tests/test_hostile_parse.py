"""Hostile input to the parser (issue 18): texts nested deeper than libcst can take.

A flat `or` chain of 10,000 terms is valid Python that kills libcst's native parser with
SIGSEGV; a 500-branch elif chain makes libcst's code generation raise RecursionError whose
str() recurses. Each must become a per-file error naming the file, with every other file's
results still reported, at any -j, in `explain` and in the language server. Inputs are
generated here; every command runs as a subprocess, so a crash shows as an exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from freezelint.engine.fixes import fix_text
from freezelint.engine.lint import lint
from freezelint.inputs.nesting import MAX_DEPTH, TooDeep, check_nesting, nesting_depth

MODEL = "import torchvision\n\nmodel = torchvision.models.resnet50(weights=None)\n"
FINDING = "model.layer1.requires_grad = False\n"  # FZL104


def or_chain(terms: int) -> str:
    return MODEL + FINDING + "y = " + " or ".join(f"x{i}" for i in range(terms)) + "\n"


def elif_chain(branches: int) -> str:
    return (MODEL + "if x == 0:\n    " + FINDING
            + "".join(f"elif x == {i}:\n    {FINDING}" for i in range(1, branches)))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "freezelint", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Six ordinary files with a finding each, and the two hostile ones."""
    for index in range(6):
        (tmp_path / f"ok{index}.py").write_text(MODEL + FINDING, encoding="utf-8")
    (tmp_path / "orchain.py").write_text(or_chain(10_000), encoding="utf-8")
    (tmp_path / "elifs.py").write_text(elif_chain(500), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_a_text_too_deep_for_the_parser_is_a_per_file_error(project: Path, jobs: str) -> None:
    result = run("check", "--no-cache", "-j", jobs, "--output-format", "concise", ".",
                 cwd=project)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for name in ("orchain.py", "elifs.py"):
        line = next(line for line in result.stderr.splitlines() if line.startswith(name))
        assert "error: code nested too deeply" in line and f"takes {MAX_DEPTH}" in line
    for index in range(6):  # every other file's finding is still reported
        assert f"ok{index}.py:4:" in result.stdout
    assert len(result.stderr) < 5000


def test_explain_says_it_in_one_line(project: Path) -> None:
    for name in ("orchain.py", "elifs.py"):
        result = run("explain", name, cwd=project)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
        assert f"{name}: code nested too deeply" in result.stderr


def test_fixes_never_hand_the_parser_a_text_too_deep() -> None:
    with pytest.raises(TooDeep):
        fix_text(elif_chain(500))


@pytest.mark.parametrize("shape", ["or", "attr", "call", "str", "not", "lambda", "paren",
                                   "elif", "comp", "ifexp", "fstring"])
def test_every_text_within_the_bound_lints_and_fixes(shape: str) -> None:
    """The bound is sound: for each construct that nests, the deepest text the check lets
    through lints and fixes without reaching Python's recursion limit, and one more level
    is refused."""

    def text(n: int) -> str:
        body = {
            "or": lambda: " or ".join(f"x{i}" for i in range(n)),
            "attr": lambda: "x" + ".a" * n,
            "call": lambda: "x" + "()" * n,
            "str": lambda: " ".join(["'a'"] * n),
            "not": lambda: "not " * n + "x",
            "lambda": lambda: "lambda: " * n + "x",
            "paren": lambda: "(" * n + "x" + ")" * n,
            "comp": lambda: "[x " + " ".join(f"for a{i} in b" for i in range(n)) + "]",
            "ifexp": lambda: " ".join(f"{i} if x else" for i in range(n)) + " 0",
            "fstring": lambda: "f'{" + " or ".join(f"x{i}" for i in range(n)) + "}'",
        }
        if shape == "elif":
            return elif_chain(n)
        return MODEL + "model.layer1.requires_grad = " + body[shape]() + "\n"

    n = 1
    while nesting_depth(text(n * 2))[0] <= MAX_DEPTH:
        n *= 2
    low, high = n, n * 2  # the largest n within the bound, by bisection
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if nesting_depth(text(middle))[0] <= MAX_DEPTH else (low, middle)
    deepest = text(low)
    check_nesting(deepest)
    assert any(d.rule == "FZL104" for d in lint(deepest))
    fix_text(deepest)
    with pytest.raises(TooDeep):
        check_nesting(text(high))


def test_real_code_is_far_within_the_bound() -> None:
    """The deepest statement of a real training script measures a small part of the bound
    (the module docstring gives the figures for whole site-packages trees)."""
    example = (Path(__file__).resolve().parents[1] / "examples" / "ast_head_finetune.py")
    depth, _ = nesting_depth(example.read_text(encoding="utf-8"))
    assert depth < MAX_DEPTH // 4


@pytest.mark.parametrize("uses_the_deep_statement", [False, True], ids=["unused", "used"])
def test_an_imported_statement_too_deep_for_the_parser_is_not_parsed(
        tmp_path: Path, uses_the_deep_statement: bool) -> None:
    """The static class reader parses the project's modules a script imports, one top-level
    statement when a name it binds is used: as untrusted as the script itself (a whole module
    once segfaulted the linter through `from models import Net`). A statement too deep for
    libcst is never handed to it: unused, Net is read without it; used, what it binds is
    unknown, and so is the model."""
    condition = "Y" if uses_the_deep_statement else "True"
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        f"        super().__init__()\n        self.fc = nn.Linear(4, 2) if {condition} "
        "else nn.Linear(4, 3)\n\n\n"
        "Y = " + " or ".join(f"x{i}" for i in range(10_000)) + "\n", encoding="utf-8")
    (tmp_path / "train.py").write_text(
        "from models import Net\n\nmodel = Net()\nfor name, p in model.named_parameters():\n"
        "    if name != 'fcc.weight':\n        p.requires_grad = False\n", encoding="utf-8")
    result = run("check", "--no-cache", "train.py", cwd=tmp_path)
    if uses_the_deep_statement:
        assert result.returncode == 0, result.stderr[-2000:]  # model unknown: nothing reported
        assert "not checked: model unknown" in result.stderr
    else:
        assert result.returncode == 1, result.stderr[-2000:]
        assert "FZL101" in result.stdout and "did you mean 'fc.weight'" in result.stdout


def test_a_worker_that_dies_takes_down_only_its_own_file(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever else may crash natively in a worker (the nesting check covers the parser's
    known crashes): the pool breaks, and every file but the one that crashed is checked
    again and reported."""
    from freezelint.cli import batch
    from freezelint.cli.job import GroupConfig

    files = []
    for index in range(6):
        path = tmp_path / f"f{index}.py"
        path.write_text(MODEL + FINDING, encoding="utf-8")
        files.append(str(path))
    crashing = files[2]
    monkeypatch.setenv(CRASH_VARIABLE, crashing)
    monkeypatch.setattr(batch, "_worker_check", crashing_worker_check)  # workers fork with it
    outcomes = list(batch.check_all(files, GroupConfig(), jobs=2))
    assert [o.target for o in outcomes] == files
    for outcome in outcomes:
        if outcome.target == crashing:
            assert outcome.result is None
            assert outcome.messages == [f"{crashing}: error: the process checking this file "
                                        "died (a crash in native code); it was not checked"]
        else:
            assert outcome.result is not None
            assert [d.rule for d in outcome.result.diagnostics] == ["FZL104"]


CRASH_VARIABLE = "FREEZELINT_TEST_CRASH_ON"


def crashing_worker_check(target: str) -> object:
    """batch._worker_check, except that the file named in CRASH_VARIABLE kills its worker
    the way a native crash does (module level: the pool pickles it by name)."""
    from freezelint.cli import batch

    if target == os.environ.get(CRASH_VARIABLE):
        os._exit(139)
    assert batch._WORKER_SETTINGS is not None
    return batch.check_file(target, batch._WORKER_SETTINGS)


# `return` outside a function, `break`/`continue` outside a loop: libcst parses them, Python
# does not compile them. Half-written code in an editor has them; the analysis must end that
# statement there and go on (the findings elsewhere are still reported), never fail the file.
MISPLACED = {
    "return at the top": "return model\n",
    "break at the top": "break\n",
    "continue in a function": "def f(m):\n    m.eval()\n    continue\nf(model)\n",
    "break in a method": "class A:\n    def go(self, m):\n        break\nA().go(model)\n",
    "return in an if at the top": "if model is not None:\n    return\n",
}


@pytest.mark.parametrize("name", list(MISPLACED))
def test_a_jump_outside_its_block_ends_the_statement_not_the_lint(name: str) -> None:
    text = MODEL + MISPLACED[name] + FINDING
    assert [d.rule for d in lint(text)] == ["FZL104"]


def test_a_jump_outside_its_block_in_a_project_module(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\n"
        "def width(n):\n    continue\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.body = nn.Linear(4, 4)\n        self.head = nn.Linear(4, width(2))\n",
        encoding="utf-8")
    script = tmp_path / "train.py"
    script.write_text("from models import Net\n\nmodel = Net()\n"
                      "for n, p in model.named_parameters():\n"
                      "    if n != 'head.weightt':\n        p.requires_grad = False\n",
                      encoding="utf-8")
    result = run("check", "--no-cache", "--output-format", "concise", "train.py", cwd=tmp_path)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "train.py:5:13: FZL101 'head.weightt' matches no parameter name of `Net (models.py)`" \
        in result.stdout, result.stdout

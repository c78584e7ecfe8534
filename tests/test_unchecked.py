"""Issue 13: the linter says plainly what it did not check.

A freeze loop, an optimizer or a checkpoint load in a script whose model is unknown is not
"All checks passed!": the summary, the machine formats and the editor say how many sites
went unchecked and how to name the model; `--statistics` says at how many the model was
known.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import libcst as cst
import pytest
from helpers import LOOP_WITHOUT_MODEL, invoke, position

from freezelint.analysis.interpreter import Interpreter
from freezelint.common.rule_docs import all_rule_docs
from freezelint.engine.lint import LintConfig, analyze, lint_result, zoo_resolver
from freezelint.engine.sites import analysed_sites, unanalysed_sites

REPO = Path(__file__).resolve().parent.parent
HEAD = REPO / "examples" / "ast_head_finetune.py"
HINT = "name one with --model or a `# freezelint: model=` comment"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check(*args: str):
    return invoke("check", "--no-cache", *args)


def test_a_run_that_checked_nothing_does_not_say_passed(tmp_path: Path) -> None:
    script = write(tmp_path / "train.py", LOOP_WITHOUT_MODEL)
    result = check(str(script))
    assert result.exit_code == 0  # nothing was found: not a failure, but not a pass either
    assert "All checks passed" not in result.stderr
    assert result.stderr.strip() == (
        "No problems found; 1 name test, 1 freeze, 1 optimizer in 1 file were not "
        f"checked: model unknown ({HINT}).")
    # Naming the model checks them all: then the run has passed.
    named = check(str(script), "--model", "resnet50")
    assert (named.exit_code, named.stderr.strip()) == (0, "All checks passed!")


def test_the_directive_names_the_model_too(tmp_path: Path) -> None:
    script = write(tmp_path / "train.py", "# freezelint: model=resnet50\n" + LOOP_WITHOUT_MODEL)
    assert check(str(script)).stderr.strip() == "All checks passed!"


def test_findings_and_unchecked_sites_in_one_summary(tmp_path: Path) -> None:
    loose = write(tmp_path / "b_other.py", LOOP_WITHOUT_MODEL)
    result = check(str(HEAD), str(loose))
    assert result.exit_code == 1
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("Found 3 problems")
    assert summary.endswith("; 1 name test, 1 freeze, 1 optimizer in 1 file were not "
                            f"checked: model unknown ({HINT}).")


def test_json_sarif_and_github_carry_the_counts(tmp_path: Path) -> None:
    script = write(tmp_path / "train.py", LOOP_WITHOUT_MODEL)
    records = json.loads(check(str(script), "--output-format", "json").stdout)
    (record,) = records
    assert record["kind"] == "not-checked" and record["rule"] is None
    assert record["severity"] == "info"
    assert record["coverage"] == {"sites": {"name test": 1, "freeze": 1, "optimizer": 1},
                                  "checked": {}}
    line, column = position(LOOP_WITHOUT_MODEL, "name != 'fc.weight'")
    assert record["range"]["start"] == {"line": line, "column": column}

    sarif = json.loads(check(str(script), "--output-format", "sarif").stdout)
    run = sarif["runs"][0]
    assert run["results"] == []  # nothing was found: a notification, not a result
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "note" and "not checked: model unknown" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == line
    assert run["properties"]["coverage"] == {
        "sites": {"name test": 1, "freeze": 1, "optimizer": 1}, "checked": {}}

    github = check(str(script), "--output-format", "github").stdout
    assert github.startswith(f"::notice file={script},line={line},col={column},")
    assert "not checked: model unknown" in github


def test_statistics_say_how_many_sites_were_checked(tmp_path: Path) -> None:
    loose = write(tmp_path / "train.py", LOOP_WITHOUT_MODEL)
    result = check(str(HEAD), str(loose), "--statistics")
    assert ("model known at 4 of 7 sites (name tests 2/3, freezes 1/2, optimizers 1/2)"
            in result.stderr.splitlines())


def test_a_warm_run_says_the_same(tmp_path: Path) -> None:
    script = write(tmp_path / "train.py", LOOP_WITHOUT_MODEL)
    cache = str(tmp_path / "cache")
    cold = invoke("check", "--cache-dir", cache, str(script))
    warm = invoke("check", "--cache-dir", cache, str(script))
    assert "not checked: model unknown" in cold.stderr
    assert warm.stderr == cold.stderr


def test_a_notebook_names_the_cell(tmp_path: Path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
              "source": source} for source in ("import torch\n", LOOP_WITHOUT_MODEL)]
    notebook = write(tmp_path / "nb.ipynb", json.dumps({
        "cells": cells, "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    (record,) = json.loads(check(str(notebook), "--output-format", "json").stdout)
    line, _ = position(LOOP_WITHOUT_MODEL, "name != 'fc.weight'")
    assert (record["cell"], record["range"]["start"]["line"]) == (2, line)


def test_the_editor_gets_one_lens_at_the_first_unchecked_site() -> None:
    from freezelint.lsp.lens import unchecked_title

    analysis = analyze(LOOP_WITHOUT_MODEL)
    assert analysis.diagnostics == []  # never a warning
    first = analysis.coverage.first_unchecked
    assert first is not None
    assert (first.start.line, first.start.column + 1) == position(
        LOOP_WITHOUT_MODEL, "name != 'fc.weight'")
    assert unchecked_title(analysis.coverage.unchecked()) == (
        "freezelint: 1 name test, 1 freeze, 1 optimizer in this document not checked: "
        "model unknown (set freezelint.model or add a `# freezelint: model=...` comment)")


# -- the two readers agree ------------------------------------------------------------------


def _texts() -> list[tuple[str, str]]:
    texts = [(path.name, path.read_text(encoding="utf-8"))
             for path in sorted((REPO / "examples").glob("*.py"))]
    for doc in all_rule_docs().values():
        for heading in ("Example", "Use instead"):
            code = doc.example(heading)
            if code is not None:
                texts.append((f"{doc.id} {heading}", code))
    texts.append(("loop", LOOP_WITHOUT_MODEL))
    texts.append(("shapes", """\
for i, (n, p) in enumerate(model.named_parameters()):
    if n.startswith(('a', 'b')) or re.match('x', n) or n in ['c']:
        p.requires_grad_(False)
groups = [{'params': [p for n, p in net.named_parameters() if 'bias' not in n]}]
opt = torch.optim.AdamW(groups)
net.load_state_dict(sd)
a.requires_grad, b.requires_grad = False, False
"""))
    return texts


@pytest.mark.parametrize(("name", "text"), _texts(), ids=lambda value: str(value)[:30])
def test_the_two_readers_count_the_same_sites(name: str, text: str) -> None:
    """A file the pre-filter skips is counted on Python's ast, an analysed one on libcst:
    the counts must not depend on which."""
    try:
        tree = ast.parse(text)
        module = cst.parse_module(text)
    except (SyntaxError, cst.ParserSyntaxError):
        pytest.skip("not Python")
    facts = Interpreter(module, zoo_resolver, None, text=text).run()
    analysed, _ = analysed_sites(module, facts, text, {})
    assert analysed.sites == unanalysed_sites(tree).sites


def test_sites_in_a_skipped_file_are_counted() -> None:
    """The pre-filter skips a file that names no model: its sites are still reported."""
    text = "def freeze(net):\n    for p in net.parameters():\n        p.requires_grad = False\n"
    assert lint_result(text).coverage.unchecked() == {"freeze": 1}
    assert lint_result(text, LintConfig(prefilter=False)).coverage.unchecked() == {"freeze": 1}


# -- loads the checkpoint rules checked without a model ----------------------------------------

SAVED_WRAPPED = """\
import torch
import torch.nn as nn
from mylib import Net

model = Net()
wrapped = nn.DataParallel(model)
torch.save(wrapped.state_dict(), "ckpt.pt")
model.load_state_dict(torch.load("ckpt.pt"))
"""

LOADED_LOOSELY = """\
import torch
from mylib import Net

model = Net()
model.load_state_dict(torch.load("ckpt.pt"), strict=False)
"""

LOADED_PLAINLY = """\
import torch
from mylib import Net

model = Net()
model.load_state_dict(torch.load(args.checkpoint))
"""


@pytest.mark.parametrize(("text", "rule"), [(SAVED_WRAPPED, "FZL308"),
                                            (LOADED_LOOSELY, "FZL304")])
def test_a_load_a_checkpoint_rule_judged_without_the_model_counts_as_checked(
        text: str, rule: str) -> None:
    """FZL308 (the key format of a checkpoint the script saves) and FZL304 (a loose load
    whose result is thrown away) check a load without knowing the model: where they
    reported it, the load is not also called 'not checked'."""
    analysis = lint_result(text)
    assert [d.rule for d in analysis.diagnostics] == [rule]
    assert analysis.coverage.sites == {"checkpoint load": 1}
    assert analysis.coverage.checked == {"checkpoint load": 1}
    assert analysis.coverage.unchecked() == {}
    assert analysis.coverage.first_unchecked is None
    # Without those rules nothing checked the load: it is not checked.
    ignored = lint_result(text, LintConfig(ignore=frozenset({rule})))
    assert ignored.coverage.unchecked() == {"checkpoint load": 1}


def test_a_load_no_rule_could_judge_stays_unchecked() -> None:
    analysis = lint_result(LOADED_PLAINLY, LintConfig(prefilter=False))
    assert analysis.diagnostics == []
    assert analysis.coverage.unchecked() == {"checkpoint load": 1}


# A skipped file's sites are counted by walking only the statements around the words a site
# needs; a comparison deep inside a loop over named_parameters() is a site all the same.
SKIPPED_SITES = (
    "def freeze(model):\n"
    "    for name, param in model.named_parameters():\n"
    "        print(name)\n\n"
    "        if 'encoder' in name:\n"
    "            frozen.append(param)\n"
    "    for param in frozen:\n"
    "        param.requires_grad = False\n"
    "    opt = torch.optim.AdamW(\n"
    "        model.parameters(), lr=1e-4)\n"
    "    model.load_state_dict(\n"
    "        torch.load(path))\n")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_skipped_files_sites_are_all_counted(newline: str) -> None:
    from freezelint.common.coverage import FREEZE, LOAD, NAME_TEST, OPTIMIZER
    from freezelint.engine.sites import unanalysed_sites

    text = "import torch\n\n\nX = 1\n\n\n" + SKIPPED_SITES + "\n\ndef unrelated():\n    return 2\n"
    text = text.replace("\n", newline)
    coverage = unanalysed_sites(ast.parse(text), text)
    assert coverage.sites == unanalysed_sites(ast.parse(text)).sites
    assert coverage.sites == {NAME_TEST: 1, FREEZE: 1, OPTIMIZER: 1, LOAD: 1}
    assert coverage.first_unchecked is not None and coverage.first_unchecked.start.line == 11


ANALYSED_WITH_UNCHECKED = (
    "import torchvision\n\n"
    "model = torchvision.models.resnet18()\n"
    "model.layer1.requires_grad_(False)\n\n\n"
    "def freeze(m):\n"
    "    for name, p in m.named_parameters():\n"
    "        if name != 'fc.weight':\n"
    "            p.requires_grad = False\n")


def test_a_text_run_does_not_place_the_first_unchecked_site_and_json_still_does(
        tmp_path: Path) -> None:
    """The text reports count the sites not checked; placing the first one is left to the
    formats that show it, and a cache filled by a text run does not hand them a result
    without it."""
    script = write(tmp_path / "train.py", ANALYSED_WITH_UNCHECKED)
    cache = str(tmp_path / "cache")
    text = invoke("check", "--cache-dir", cache, str(script))
    assert text.exit_code == 0, text.output
    assert text.stderr.strip().endswith(
        f"1 name test, 1 freeze in 1 file were not checked: model unknown ({HINT}).")
    line, column = position(ANALYSED_WITH_UNCHECKED, "name != 'fc.weight'")
    for _ in range(2):  # cold for the JSON report, then warm from its own entry
        records = json.loads(invoke("check", "--cache-dir", cache, str(script),
                                    "--output-format", "json").stdout)
        (record,) = records
        assert record["kind"] == "not-checked"
        assert record["range"]["start"] == {"line": line, "column": column}
    analysis = lint_result(ANALYSED_WITH_UNCHECKED, LintConfig(locate_unchecked=False))
    assert analysis.coverage.unchecked() and analysis.coverage.first_unchecked is None

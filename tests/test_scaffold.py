"""Adding a rule takes its module and its page, nothing else: the scaffold creates both in a
copy of the repository, the TODOs are filled in as CONTRIBUTING.md says, and the rule-example
tests pass there. The README's rule table is written from the catalog by the same script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import new_rule  # noqa: E402

# A real mistake no rule catches yet: `torch.no_grad()` as a statement of its own disables
# nothing (it is a context manager or a decorator).
RULE = '''"""FZL199 bare-no-grad: `torch.no_grad()` as a statement of its own."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.checks.base import Context, Finding, rule


@rule("FZL199", triggers=(r"no_grad\\(\\)",), visits=(cst.Expr,))
def bare_no_grad(ctx: Context) -> Iterator[Finding]:
    for node in ctx.nodes(cst.Expr):
        call = node.value
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \\
                and call.func.attr.value == "no_grad" and not call.args:
            yield Finding(node, "`torch.no_grad()` on its own line disables nothing: use it "
                                "in a `with` statement")
'''

EXAMPLE = """import torch

torch.no_grad()
features = backbone(batch)
"""
FIXED = """import torch

with torch.no_grad():
    features = backbone(batch)
"""


def _copy_repository(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".freezelint_cache")
    for name in ("freezelint", "rules", "scripts"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    (dest / "tests").mkdir()
    for name in ("conftest.py", "helpers.py", "test_rule_examples.py"):
        shutil.copy2(ROOT / "tests" / name, dest / "tests" / name)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)


def _fill(text: str, todo: str, value: str) -> str:
    assert todo in text, todo
    return text.replace(todo, value, 1)


def test_a_scaffolded_rule_passes_the_rule_example_tests(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _copy_repository(repo)
    made = subprocess.run([sys.executable, "scripts/new_rule.py", "FZL199", "bare-no-grad"],
                          cwd=repo, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    module = repo / "freezelint" / "checks" / "bare_no_grad.py"
    page = repo / "rules" / "FZL199-bare-no-grad.md"
    assert module.is_file() and page.is_file()
    created = {line.split()[-1] for line in made.stdout.splitlines()
               if line.startswith("created")}
    assert created == {"freezelint/checks/bare_no_grad.py", "rules/FZL199-bare-no-grad.md"}

    # Only these two files are filled in.
    module.write_text(RULE, encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    text = _fill(text, "TODO: a script the rule reports, exactly once\n", EXAMPLE)
    text = _fill(text, "TODO: the same script, fixed\n", FIXED)
    page.write_text(text, encoding="utf-8")

    env = {**os.environ, "PYTHONPATH": str(repo)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                          "-p", "no:randomly", "tests/test_rule_examples.py",
                          "-k", "FZL199 or every_rule_is_documented"],
                         cwd=repo, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    passed = [line for line in run.stdout.splitlines() if "FZL199" in line and "PASSED" in line]
    assert len(passed) >= 3  # flagged, fixed, no fix offered


def test_the_scaffold_refuses_a_taken_id_or_a_bad_name(tmp_path: Path) -> None:
    checks, rules = tmp_path / "checks", tmp_path / "rules"
    checks.mkdir()
    rules.mkdir()
    (rules / "FZL101-name-matches-nothing.md").write_text("---\n---\n")
    with pytest.raises(ValueError, match="FZL101 is taken"):
        new_rule.scaffold("FZL101", "other", model="resnet50", severity="warning",
                          checks=checks, rules=rules)
    with pytest.raises(ValueError, match="kebab-case"):
        new_rule.scaffold("FZL199", "Bad_Name", model="resnet50", severity="warning",
                          checks=checks, rules=rules)
    assert list(checks.iterdir()) == []


def test_sync_readme_writes_the_catalog_into_the_rule_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n| id | name | severity | fix |\n|---|---|---|---|\n"
                      "| FZL000 | old | error | |\n\nafter\n", encoding="utf-8")
    assert new_rule.sync_readme(readme)
    text = readme.read_text(encoding="utf-8")
    assert new_rule.readme_table() in text and "| FZL000 | old |" not in text
    assert text.endswith("\n\nafter\n")
    assert "| FZL105 | requires-grad-typo | warning | safe |\n" in text
    assert "| FZL000 | syntax-error | error | |\n" in text
    assert not new_rule.sync_readme(readme)

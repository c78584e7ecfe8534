"""The layers of the README's Layout hold: front ends -> engine -> checks -> analysis ->
models -> inputs -> common, each importing only from the layers below it. The contract is in
pyproject.toml ([tool.importlinter]) and import-linter (the dev extra) checks it; an import
that goes up fails it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                "lint_imports_command()"]


def _lint_imports(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run([*LINT_IMPORTS, "--no-cache"], cwd=repo, env=env,
                          capture_output=True, text=True)


def _copy(dest: Path) -> None:
    shutil.copytree(ROOT / "freezelint", dest / "freezelint",
                    ignore=shutil.ignore_patterns("__pycache__", "*.json.gz", "*.json"))
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")


def test_the_package_keeps_its_layers() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 1 kept, 0 broken." in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    _copy(tmp_path)
    # Shared vocabulary reaching up into the engine: the kind of import that tangles layers.
    (tmp_path / "freezelint" / "common" / "upward.py").write_text(
        '"""An import that goes up."""\n\nfrom freezelint.engine.lint import lint  # noqa: F401\n')
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    assert "freezelint.common is not allowed to import freezelint.engine" in done.stdout
    assert "freezelint.common.upward -> freezelint.engine.lint" in done.stdout

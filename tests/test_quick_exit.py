"""`check` ends without Python's teardown (startup.main, `os._exit`) and without garbage
collection for its first file (cli/batch.py): the output, the exit code and the profilers
that report after the program returns must not notice."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from freezelint.cli.main import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "ast_head_finetune.py"


def _check(tmp_path: Path, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *prefix, "-m", "freezelint", "check",
                           "--cache-dir", str(tmp_path / "cache"), *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_piped_output_is_whole_and_the_status_kept(tmp_path: Path) -> None:
    # stdout is a pipe, block-buffered: ending without a flush would lose the report.
    result = _check(tmp_path, str(REPO / "examples"), "--output-format", "json")
    assert result.returncode == 1
    records = json.loads(result.stdout)
    assert {r["rule"] for r in records} >= {"FZL101", "FZL103"}
    assert _check(tmp_path, str(EXAMPLE), "--model", "ast", "--exit-zero").returncode == 0


def test_a_profiler_still_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "profile.out"
    result = _check(tmp_path, str(EXAMPLE), "--model", "ast",
                    prefix=("-m", "cProfile", "-o", str(out)))
    assert "Found 3 problems" in result.stderr  # (cProfile itself exits 0 after SystemExit)
    assert out.stat().st_size > 0


def test_check_in_process_leaves_the_collector_on(tmp_path: Path) -> None:
    assert gc.isenabled()
    for paths in ([str(EXAMPLE)], [str(EXAMPLE), str(REPO / "examples" / "ast_checkpoint_merge.py")]):
        result = CliRunner().invoke(main, ["check", "--no-cache", "--model", "ast", *paths])
        assert result.exit_code == 1, result.output
        assert gc.isenabled()


def test_the_collector_is_off_for_the_first_file_only(tmp_path: Path, monkeypatch) -> None:
    from freezelint.cli import batch
    from freezelint.engine import lint

    seen: list[bool] = []
    real = lint.lint_result

    def recording(*args: object, **kwargs: object) -> lint.Analysis:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lint, "lint_result", recording)
    monkeypatch.setattr(batch, "_LINTED", 0)
    paths = []
    for index in range(3):
        copy = tmp_path / f"train_{index}.py"
        copy.write_text(EXAMPLE.read_text())
        paths.append(str(copy))
    result = CliRunner().invoke(main, ["check", "--no-cache", "--jobs", "1", "--model", "ast",
                                       *paths])
    assert result.exit_code == 1, result.output
    assert seen == [False, True, True]
    assert gc.isenabled()

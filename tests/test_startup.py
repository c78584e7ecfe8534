"""The start-up cache of compiled dataclass methods: same classes, same CLI output, faster.

The cache only pays off if a second process really reuses what the first compiled, and it
must never change what a class does or turn a bad cache file into a failed run."""

from __future__ import annotations

import dataclasses
import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from freezelint import startup
from freezelint.startup import _load, compiled_dataclass_cache

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/ast_head_finetune.py"


def _freezelint(cache_home: Path, *extra_env: tuple[str, str]) -> subprocess.CompletedProcess:
    """The installed console script, as a user runs it, with its own user cache."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "NO_COLOR": "1"}
    env.pop(startup.DISABLE_VARIABLE, None)
    env.update(extra_env)
    script = shutil.which("freezelint", path=str(Path(sys.executable).parent))
    assert script is not None, "the freezelint console script is not installed"
    return subprocess.run([script, "check", EXAMPLE, "--model", "ast", "--no-cache",
                           "--output-format", "json"],
                          capture_output=True, text=True, cwd=REPO, env=env, check=False)


def _cache_file(cache_home: Path, package: str = "libcst") -> Path:
    files = list((cache_home / "freezelint" / "startup").glob(f"*/{package}.marshal"))
    assert len(files) == 1, files
    return files[0]


def test_second_run_reuses_the_first_runs_code_and_reports_the_same(tmp_path: Path) -> None:
    uncached = _freezelint(tmp_path / "off", (startup.DISABLE_VARIABLE, "1"))
    assert not (tmp_path / "off" / "freezelint" / "startup").exists()

    first = _freezelint(tmp_path / "home")
    cache = _cache_file(tmp_path / "home")
    codes = _load(cache)
    # libcst's node classes are what the cache is for: their methods must all be in it.
    assert any("def __init__(self" in text and "whitespace_before" in text for text in codes)
    assert len(codes) > 500
    assert len(_load(_cache_file(tmp_path / "home", "freezelint"))) > 20
    written = {file: file.stat().st_mtime_ns for file in cache.parent.iterdir()}

    second = _freezelint(tmp_path / "home")
    assert {file: file.stat().st_mtime_ns for file in cache.parent.iterdir()} == written, \
        "the second run compiled something new"

    for run in (uncached, first, second):
        assert run.returncode == 1, run.stderr
        assert "Traceback" not in run.stderr
    findings = [json.loads(run.stdout) for run in (uncached, first, second)]
    assert findings[0] == findings[1] == findings[2]
    assert {f["rule"] for f in findings[0]} == {"FZL101", "FZL103"}


@pytest.mark.parametrize("garbage", [b"", b"\x00not marshal", marshal.dumps([1, 2, 3]),
                                     marshal.dumps({"def f(): pass": 42})])
def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path: Path, garbage: bytes) -> None:
    _freezelint(tmp_path)
    cache = _cache_file(tmp_path)
    cache.write_bytes(garbage)

    run = _freezelint(tmp_path)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert json.loads(run.stdout)[0]["rule"] == "FZL101"
    assert len(_load(cache)) > 500


def test_an_unwritable_cache_location_costs_nothing_but_speed(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory would go")

    run = _freezelint(blocker)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert json.loads(run.stdout)[0]["rule"] == "FZL101"


def _define() -> type:
    @dataclasses.dataclass(frozen=True, order=True)
    class Layer:
        name: str
        shape: tuple[int, ...] = (1,)
        tags: list[str] = dataclasses.field(default_factory=list, compare=False)

    return Layer


def _behaviour(cls: type) -> dict[str, object]:
    a, b = cls("fc.weight", (10, 768)), cls("fc.weight", (10, 768), ["head"])
    try:
        a.name = "other"
        frozen = False
    except dataclasses.FrozenInstanceError:
        frozen = True
    return {"repr": repr(b), "eq": a == b, "hash": hash(a) == hash(b), "order": a < cls("z"),
            "default": cls("x").shape, "factory": cls("x").tags, "frozen": frozen}


def test_classes_built_from_cached_code_behave_like_freshly_compiled_ones(
        tmp_path: Path) -> None:
    expected = _behaviour(_define())
    package = __name__.partition(".")[0]

    with compiled_dataclass_cache(tmp_path) as compiled:
        fresh = _define()
    assert compiled is not None and compiled.packages()[package], "nothing was cached"
    assert list(tmp_path.iterdir()) == [tmp_path / f"{package}.marshal"]

    with compiled_dataclass_cache(tmp_path) as loaded:
        assert loaded is not None and loaded.packages() == {}, "read before it was needed"
        cached = _define()
        assert set(loaded.packages()) == {package}
    assert loaded.packages()[package].keys() == compiled.packages()[package].keys(), \
        "code for this class should have come from the file"

    assert _behaviour(fresh) == _behaviour(cached) == expected
    assert "exec" not in vars(dataclasses), "dataclasses was left patched"


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(startup.DISABLE_VARIABLE, "1")
    with compiled_dataclass_cache(tmp_path) as cache:
        _define()
    assert cache is None
    assert list(tmp_path.iterdir()) == []

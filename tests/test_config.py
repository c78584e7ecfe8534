"""Configuration files through the real CLI: `[tool.freezelint]` in pyproject.toml and
freezelint.toml, found per file (nearest wins), `--config`, `--isolated`, every key, errors
that name the key and the file, and the command line overriding the file."""

from __future__ import annotations

import json
import shutil
import struct
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import chdir, invoke

import freezelint.cli.main
from freezelint.cli.main import main
from freezelint.engine.config import (
    ConfigError,
    ProjectConfig,
    WatchedConfigs,
    find_config,
    load_config,
    matches,
)

REPO = Path(__file__).resolve().parents[1]
HEAD = REPO / "examples" / "ast_head_finetune.py"

# A freeze loop whose model comes from configuration (nothing to auto-detect): its name test
# is right for a ResNet and wrong for AST.
LOOP = textwrap.dedent("""\
    import torch

    model = build_model()
    for name, p in model.named_parameters():
        if name != 'fc.weight':
            p.requires_grad = False
""")


def run(*args: str, cwd: Path) -> Result:
    """`freezelint check ARGS` run from `cwd` (configuration is found from the files)."""
    with chdir(cwd):
        return invoke("check", "--no-cache", *args)




def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def findings(result: Result) -> list[tuple[str, str]]:
    """(path, rule) of each line of concise output."""
    rows = []
    for line in result.stdout.splitlines():
        location, rule = line.split(" ")[0], line.split(" ")[1]
        rows.append((location.split(":")[0], rule))
    return rows


def rules_by_file(result: Result) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for record in json.loads(result.stdout):
        out.setdefault(Path(record["path"]).as_posix(), []).append(record["rule"])
    return out


# -- discovery -----------------------------------------------------------------------------


def test_nearest_configuration_wins(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
        [project]
        name = "demo"

        [tool.freezelint]
        ignore = ["FZL101"]
        """)
    write(tmp_path / "sub" / "freezelint.toml", 'ignore = ["FZL103"]\n')
    shutil.copy(HEAD, tmp_path / "top.py")
    (tmp_path / "sub" / "deeper").mkdir()
    shutil.copy(HEAD, tmp_path / "sub" / "deeper" / "low.py")
    result = run(".", "--output-format", "json", cwd=tmp_path)
    assert result.exit_code == 1
    assert rules_by_file(result) == {"sub/deeper/low.py": ["FZL101", "FZL101"],
                                     "top.py": ["FZL103"]}


def test_freezelint_toml_beats_pyproject_in_the_same_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.freezelint]\nignore = ["FZL101"]\n')
    write(tmp_path / "freezelint.toml", 'ignore = ["FZL103"]\n')
    shutil.copy(HEAD, tmp_path / "train.py")
    assert find_config(tmp_path / "train.py") == tmp_path / "freezelint.toml"
    result = run("train.py", "--output-format", "json", cwd=tmp_path)
    assert rules_by_file(result) == {"train.py": ["FZL101", "FZL101"]}


def test_pyproject_without_our_table_is_passed_by(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.freezelint]\nignore = ["FZL101"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[tool.ruff]\nline-length = 100\n')
    shutil.copy(HEAD, tmp_path / "pkg" / "train.py")
    assert find_config(tmp_path / "pkg" / "train.py") == tmp_path / "pyproject.toml"
    result = run("pkg", "--output-format", "json", cwd=tmp_path)
    assert rules_by_file(result) == {"pkg/train.py": ["FZL103"]}


def test_a_broken_pyproject_of_another_tool_is_not_read(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "this is [not toml\n")
    shutil.copy(HEAD, tmp_path / "train.py")
    assert find_config(tmp_path / "train.py") is None
    assert run("train.py", cwd=tmp_path).exit_code == 1


def test_the_language_servers_finder_agrees_and_sees_edits(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.freezelint]\nignore = ["FZL101"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[tool.ruff]\nline-length = 100\n')
    write(tmp_path / "pkg" / "sub" / "freezelint.toml", 'ignore = ["FZL103"]\n')
    files = [tmp_path / "train.py", tmp_path / "pkg" / "train.py",
             tmp_path / "pkg" / "sub" / "train.py"]
    watched = WatchedConfigs()
    for file in files:
        found = watched.for_path(file)
        assert found is not None and found.path == find_config(file)
    inner = tmp_path / "pkg" / "sub" / "freezelint.toml"
    assert watched.for_path(files[2]).ignore == {"FZL103"}

    write(inner, 'ignore = ["FZL103", "FZL205"]\n')  # an edit (the size changes)
    assert watched.for_path(files[2]).ignore == {"FZL103", "FZL205"}
    write(inner, 'ignroe = ["FZL103"]\n')
    with pytest.raises(ConfigError, match="unknown key 'ignroe'"):
        watched.for_path(files[2])
    inner.unlink()
    assert watched.for_path(files[2]).path == tmp_path / "pyproject.toml"


def test_explicit_config_applies_to_every_file(tmp_path: Path) -> None:
    write(tmp_path / "project" / "freezelint.toml", 'ignore = ["FZL103"]\n')
    shutil.copy(HEAD, tmp_path / "project" / "train.py")
    write(tmp_path / "elsewhere" / "strict.toml", 'select = ["FZL103"]\n')
    result = run("project", "--config", "elsewhere/strict.toml", "--output-format", "json",
                 cwd=tmp_path)
    assert rules_by_file(result) == {"project/train.py": ["FZL103"]}


def test_isolated_ignores_every_config(tmp_path: Path) -> None:
    write(tmp_path / "freezelint.toml", 'ignore = ["FZL"]\nunknown-key = 1\n')
    shutil.copy(HEAD, tmp_path / "train.py")
    result = run("train.py", "--isolated", "--output-format", "json", cwd=tmp_path)
    assert result.exit_code == 1
    assert rules_by_file(result) == {"train.py": ["FZL101", "FZL101", "FZL103"]}


def test_config_and_isolated_together_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "freezelint.toml", "")
    result = run("x.py", "--isolated", "--config", "freezelint.toml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "--isolated" in result.stderr


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    shutil.copy(HEAD, tmp_path / "train.py")
    result = run("train.py", "--config", "nope.toml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "nope.toml" in result.stderr


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("pyproject.toml", "[tool.freezelint]\nmodle = 'ast'\n",
     "pyproject.toml [tool.freezelint]: unknown key 'modle'; did you mean 'model'?"),
    ("freezelint.toml", "model_args = {}\n",
     "freezelint.toml: unknown key 'model_args'; did you mean 'model-args'?"),
    ("freezelint.toml", "colour = true\n", "freezelint.toml: unknown key 'colour'"),
    ("freezelint.toml", "select = 'FZL101'\n",
     "freezelint.toml: 'select' must be a list of rule codes, got str 'FZL101'"),
    ("freezelint.toml", "select = ['FZL1O1']\n",
     "freezelint.toml: unknown rule code 'FZL1O1'; did you mean FZL101"),
    ("freezelint.toml", "unsafe-fixes = 'yes'\n", "'unsafe-fixes' must be true or false"),
    ("freezelint.toml", "jobs = 0\n", "'jobs' must be a positive integer"),
    ("freezelint.toml", "[per-file-ignores]\n'a/*.py' = 'FZL101'\n",
     "'per-file-ignores.\"a/*.py\"' must be a list of rule codes"),
    ("freezelint.toml", "[per-file-models]\n'a/*.py' = 3\n",
     "'per-file-models.\"a/*.py\"' must be a model spec string"),
    ("freezelint.toml", "model-args = {label_dim = 3}\n", "'model-args' needs 'model'"),
    ("freezelint.toml", "select = [\n", "freezelint.toml: invalid TOML"),
])
def test_bad_configuration_exits_2_naming_file_and_key(tmp_path: Path, name: str, text: str,
                                                        expected: str) -> None:
    write(tmp_path / name, text)
    shutil.copy(HEAD, tmp_path / "train.py")
    result = run("train.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert expected in result.stderr
    assert str(tmp_path / name) in result.stderr
    assert result.stderr.count("\n") == 1  # one line, no traceback, no usage text


def test_load_config_reads_every_key(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", """\
        [tool.freezelint]
        select = ["FZL1", "fzl201"]
        extend-select = ["FZL900"]
        ignore = ["FZL102"]
        model = "ast"
        model-args = { label_dim = 10, model_size = "base384" }
        checkpoint = "ckpt/best.pth"
        unsafe-fixes = true
        trust-local-models = true
        cache-dir = ".cache"
        jobs = 3

        [tool.freezelint.per-file-ignores]
        "legacy/*.py" = ["FZL101"]

        [tool.freezelint.per-file-models]
        "vision/**" = "resnet50"
        "audio/*.py" = "ast(label_dim=5)"
        """)
    config = load_config(path)
    assert config == ProjectConfig(
        path=path, select=frozenset({"FZL1", "FZL201"}), extend_select=frozenset({"FZL900"}),
        ignore=frozenset({"FZL102"}),
        per_file_ignores=(("legacy/*.py", frozenset({"FZL101"})),),
        model="ast",
        per_file_models=(("vision/**", "resnet50"), ("audio/*.py", "ast(label_dim=5)")),
        checkpoint="ckpt/best.pth", unsafe_fixes=True, trust_local_models=True,
        cache_dir=".cache", jobs=3)
    assert config.model_args == {"label_dim": 10, "model_size": "base384"}
    assert config.model_for(tmp_path / "audio" / "a.py") == ("ast(label_dim=5)", {})
    assert config.model_for(tmp_path / "vision" / "deep" / "v.py") == ("resnet50", {})
    assert config.model_for(tmp_path / "train.py") == ("ast", dict(config.model_args))
    assert config.ignores_for(tmp_path / "legacy" / "old.py") == {"FZL101"}
    assert config.ignores_for(tmp_path / "legacy" / "deep" / "old.py") == {"FZL101"}
    assert config.ignores_for(tmp_path / "old.py") == frozenset()
    assert config.resolve_path("ckpt/best.pth") == tmp_path / "ckpt" / "best.pth"


def test_globs() -> None:
    base = Path("/project")
    assert matches("vision/**", Path("/project/vision/a/b.py"), base)
    assert matches("vision/*", Path("/project/vision/a/b.py"), base)  # fnmatch: * crosses /
    assert not matches("vision/*", Path("/project/audio/vision.py"), base)
    assert matches("test_*.py", Path("/project/deep/test_x.py"), base)  # no '/': the name
    assert not matches("deep/test_*.py", Path("/project/other/deep/test_x.py"), base)
    assert matches("./scripts/*.py", Path("/project/scripts/a.py"), base)


def test_a_missing_table_in_an_explicit_pyproject_is_an_empty_config(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert load_config(path) == ProjectConfig(path=path)
    write(tmp_path / "bad" / "pyproject.toml", "[tool]\nfreezelint = 3\n")
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(tmp_path / "bad" / "pyproject.toml")


# -- select / ignore / per-file-ignores ------------------------------------------------------


def test_per_file_ignores_are_relative_to_the_config(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "pyproject.toml", """\
        [tool.freezelint.per-file-ignores]
        "legacy/*.py" = ["FZL101"]
        "test_*.py" = ["FZL103"]
        """)
    for name in ("legacy/old.py", "new.py", "deep/test_it.py"):
        (tmp_path / "proj" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HEAD, tmp_path / "proj" / name)
    shutil.copy(HEAD, tmp_path / "legacy.py")
    result = run("proj", "--output-format", "json", cwd=tmp_path)  # cwd is not the config's
    assert rules_by_file(result) == {
        "proj/deep/test_it.py": ["FZL101", "FZL101"],
        "proj/legacy/old.py": ["FZL103"],
        "proj/new.py": ["FZL101", "FZL101", "FZL103"],
    }


def test_command_line_select_and_ignore_override_the_file(tmp_path: Path) -> None:
    write(tmp_path / "freezelint.toml", 'select = ["FZL101"]\nignore = ["FZL103"]\n')
    shutil.copy(HEAD, tmp_path / "train.py")

    def rules(*args: str) -> list[str]:
        return rules_by_file(run("train.py", "--output-format", "json", *args, cwd=tmp_path)
                             ).get("train.py", [])

    assert rules() == ["FZL101", "FZL101"]
    assert rules("--select", "FZL103") == ["FZL103"]  # replaces select and ignore
    assert rules("--ignore", "FZL101") == []  # adds to ignore
    assert rules("--extend-select", "FZL103") == ["FZL101", "FZL101"]  # ignore still wins
    assert rules("--isolated") == ["FZL101", "FZL101", "FZL103"]


def test_extend_select_turns_on_the_opt_in_rule(tmp_path: Path) -> None:
    write(tmp_path / "freezelint.toml", 'extend-select = ["FZL900"]\n')
    write(tmp_path / "train.py", "x = 1  # noqa: FZL101\n")
    result = run("train.py", "--output-format", "concise", cwd=tmp_path)
    assert result.exit_code == 1
    assert findings(result) == [("train.py", "FZL900")]
    assert run("train.py", "--isolated", cwd=tmp_path).exit_code == 0


def test_select_all_keeps_opt_in_rules_off(tmp_path: Path) -> None:
    write(tmp_path / "freezelint.toml", 'select = ["ALL"]\n')
    write(tmp_path / "train.py", "x = 1  # noqa: FZL101\n")
    assert run("train.py", cwd=tmp_path).exit_code == 0


# -- models --------------------------------------------------------------------------------


def test_per_path_models_give_different_findings(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
        [tool.freezelint.per-file-models]
        "audio/*.py" = "ast"
        "vision/**" = "resnet50"
        """)
    write(tmp_path / "audio" / "train.py", LOOP)
    write(tmp_path / "vision" / "cls" / "train.py", LOOP)
    write(tmp_path / "other" / "train.py", LOOP)
    result = run(".", "--output-format", "json", cwd=tmp_path)
    assert result.exit_code == 1
    records = json.loads(result.stdout)
    # AST has no `fc`: everything is frozen (FZL101, FZL103); ResNet-50 and the
    # auto-detected nothing are fine.
    assert [(r["path"], r["rule"]) for r in records if r["rule"]] == [
        ("audio/train.py", "FZL101"), ("audio/train.py", "FZL103")]
    assert "of `ast` (159 parameters)" in records[0]["message"]
    # No model for other/: its loop was not checked, and the report says so (issue 13).
    assert [(r["path"], r["kind"]) for r in records if not r["rule"]] == [
        ("other/train.py", "not-checked")]

    # The same content the other way round: a name AST has and ResNet-50 has not.
    flipped = LOOP.replace("'fc.weight'", "'mlp_head.1.weight'")
    write(tmp_path / "audio" / "train.py", flipped)
    write(tmp_path / "vision" / "cls" / "train.py", flipped)
    result = run(".", "--output-format", "json", cwd=tmp_path)
    records = json.loads(result.stdout)
    assert [(r["path"], r["rule"]) for r in records if r["rule"]] == [
        ("vision/cls/train.py", "FZL101"), ("vision/cls/train.py", "FZL103")]
    assert "of `resnet50`" in records[0]["message"]


def test_model_and_model_args_from_the_config(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
        [tool.freezelint]
        model = "ast"
        model-args = { label_dim = 10 }
        """)
    write(tmp_path / "train.py", LOOP)
    result = run("train.py", "--output-format", "concise", cwd=tmp_path)
    assert result.exit_code == 1
    assert "of `ast" in result.stdout

    write(tmp_path / "pyproject.toml", """\
        [tool.freezelint]
        model = "ast"
        model-args = { no_such_argument = 10 }
        """)
    result = run("train.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert str(tmp_path / "pyproject.toml") in result.stderr
    assert "no_such_argument" in result.stderr


def test_command_line_model_overrides_the_config(tmp_path: Path) -> None:
    write(tmp_path / "freezelint.toml", 'model = "ast"\n')
    write(tmp_path / "train.py", LOOP)
    assert run("train.py", cwd=tmp_path).exit_code == 1
    assert run("train.py", "--model", "resnet50", cwd=tmp_path).exit_code == 0


def safetensors(path: Path, tensors: dict[str, list[int]]) -> Path:
    """A safetensors file with these names and shapes (zeros): what a checkpoint reader
    sees, without torch."""
    header: dict[str, object] = {}
    offset = 0
    for name, shape in tensors.items():
        size = 4
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + bytes(offset))
    return path


def test_model_file_in_config_is_relative_to_the_config(tmp_path: Path) -> None:
    safetensors(tmp_path / "proj" / "weights" / "tiny.safetensors",
                {"backbone.weight": [4, 4], "head.weight": [2, 4], "head.bias": [2]})
    write(tmp_path / "proj" / "freezelint.toml", 'model = "weights/tiny.safetensors"\n')
    write(tmp_path / "proj" / "src" / "train.py", LOOP)
    result = run("proj", "--output-format", "concise", cwd=tmp_path)  # another cwd
    assert result.exit_code == 1
    assert "'fc.weight' matches no parameter name" in result.stdout
    assert "'head.weight'" in result.stdout


def test_checkpoint_in_config_is_read_relative_to_it(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "freezelint.toml", 'checkpoint = "ckpt/missing.safetensors"\n')
    write(tmp_path / "proj" / "train.py", LOOP)
    result = run("proj", cwd=tmp_path)
    assert result.exit_code == 2
    assert str(tmp_path / "proj" / "freezelint.toml") in result.stderr
    assert "checkpoint" in result.stderr

    safetensors(tmp_path / "proj" / "ckpt" / "missing.safetensors", {"fc.weight": [2, 2]})
    assert run("proj", cwd=tmp_path).exit_code == 0


def test_each_model_is_resolved_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "freezelint.toml", """\
        model = "ast"

        [per-file-ignores]
        "b_*.py" = ["FZL102"]
        """)
    for name in ("a_1.py", "a_2.py", "b_1.py", "b_2.py"):
        write(tmp_path / name, LOOP)
    calls: list[str] = []
    real = freezelint.cli.main.resolve_model

    def counting(spec: str, *args: object, **kwargs: object) -> object:
        calls.append(spec)
        return real(spec, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(freezelint.cli.main, "resolve_model", counting)
    result = run(".", "-j", "1", cwd=tmp_path)  # two groups (per-file-ignores), one model
    assert result.exit_code == 1
    assert calls == ["ast"]


USER_MODEL = textwrap.dedent("""\
    from pathlib import Path

    Path(__file__).with_name("ran.marker").write_text("the model code ran")

    import os

    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Linear(4, 4)
            # A width read at run time: the class cannot be read statically, only built.
            self.head = nn.Linear(4, int(os.environ.get("HEAD_WIDTH", "2")))
""")


def test_user_model_from_config_does_not_run_without_trust(tmp_path: Path) -> None:
    write(tmp_path / "net.py", USER_MODEL)
    write(tmp_path / "pyproject.toml", '[tool.freezelint]\nmodel = "net.py:Net"\n')
    write(tmp_path / "train.py", LOOP)
    result = run("train.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert "trust-local-models = true" in result.stderr
    assert str(tmp_path / "pyproject.toml") in result.stderr
    assert not (tmp_path / "ran.marker").exists()
    # The command line's default trust applies to --model only, not to the file.
    result = run("train.py", "--no-trust-local-models", cwd=tmp_path)
    assert result.exit_code == 2
    assert not (tmp_path / "ran.marker").exists()


def test_user_model_from_config_runs_with_trust(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust from the user's own configuration file (issue 18: a project's own
    `trust-local-models = true` no longer grants it, see test_hostile_trust.py)."""
    pytest.importorskip("torch")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a real build
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    write(tmp_path / "user-config" / "freezelint" / "config.toml", "trust-local-models = true\n")
    write(tmp_path / "net.py", USER_MODEL)
    write(tmp_path / "pyproject.toml", """\
        [tool.freezelint]
        model = "net.py:Net"
        """)
    write(tmp_path / "train.py", LOOP)
    result = run("train.py", "--output-format", "concise", cwd=tmp_path)
    assert (tmp_path / "ran.marker").exists()
    assert result.exit_code == 1
    assert "'fc.weight' matches no parameter name of `net.py:Net`" in result.stdout


# -- unsafe-fixes, cache-dir, jobs -----------------------------------------------------------


def test_unsafe_fixes_from_the_config(tmp_path: Path) -> None:
    write(tmp_path / "freezelint.toml", "unsafe-fixes = true\n")
    shutil.copy(HEAD, tmp_path / "train.py")
    result = run("train.py", "--fix", cwd=tmp_path)
    assert "'mlp_head.1.weight'" in (tmp_path / "train.py").read_text(encoding="utf-8")
    assert result.exit_code == 0

    shutil.copy(HEAD, tmp_path / "train.py")
    run("train.py", "--fix", "--no-unsafe-fixes", cwd=tmp_path)  # the command line wins
    assert (tmp_path / "train.py").read_text(encoding="utf-8") == HEAD.read_text(encoding="utf-8")


def test_cache_dir_from_the_config_and_invalidation(tmp_path: Path) -> None:
    write(tmp_path / "freezelint.toml", 'cache-dir = "build/lint-cache"\njobs = 1\n')
    shutil.copy(HEAD, tmp_path / "train.py")
    runner = CliRunner()
    with chdir(tmp_path):
        cold = runner.invoke(main, ["check", "train.py", "--output-format", "json"])
        assert (tmp_path / "build" / "lint-cache").is_dir()
        warm = runner.invoke(main, ["check", "train.py", "--output-format", "json"])
        assert warm.stdout == cold.stdout
        # Changing the configuration changes the cache key: never a stale result.
        write(tmp_path / "freezelint.toml",
              'cache-dir = "build/lint-cache"\n[per-file-ignores]\n"train.py" = ["FZL101"]\n')
        changed = runner.invoke(main, ["check", "train.py", "--output-format", "json"])
    assert [r["rule"] for r in json.loads(changed.stdout)] == ["FZL103"]

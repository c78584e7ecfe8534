"""Trust comes only from the user (issue 18): a repository's own pyproject.toml or
freezelint.toml cannot make freezelint run its code, in the CLI or in the editor; only
--trust-local-models, the user's own ~/.config/freezelint/config.toml or the editor's
setting can. Hostile configuration files (deep TOML, unreadable tables) are clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import chdir, invoke

from freezelint.engine.config import user_config_path
from freezelint.lsp.settings import EditorSettings, ModelCache, lint_setup

NET = textwrap.dedent("""\
    from pathlib import Path

    Path(__file__).with_name("ran.marker").write_text("the repository's code ran")

    import os

    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            # A width read at run time: only building the model (running it) can tell.
            self.head = nn.Linear(4, int(os.environ.get("HEAD_WIDTH", "2")))
""")
LOOP = ("for name, p in model.named_parameters():\n"
        "    if name != 'fc.weight':\n        p.requires_grad = False\n")


def repository(root: Path, config_name: str) -> Path:
    """A cloned repository whose own configuration names its code and 'trusts' it."""
    (root / "net.py").write_text(NET, encoding="utf-8")
    table = "[tool.freezelint]\n" if config_name == "pyproject.toml" else ""
    (root / config_name).write_text(
        f'{table}model = "net.py:Net"\ntrust-local-models = true\n', encoding="utf-8")
    (root / "train.py").write_text(LOOP, encoding="utf-8")
    return root


@pytest.mark.parametrize("config_name", ["pyproject.toml", "freezelint.toml"])
def test_a_repository_cannot_trust_its_own_code(tmp_path: Path, config_name: str) -> None:
    root = repository(tmp_path, config_name)
    with chdir(root):
        result = invoke("check", "--no-cache", "train.py")
    assert result.exit_code == 2
    assert not (root / "ran.marker").exists()
    assert "The project's own `trust-local-models = true` cannot grant that" in result.stderr
    assert "--trust-local-models" in result.stderr and str(user_config_path()) in result.stderr


@pytest.mark.parametrize("config_name", ["pyproject.toml", "freezelint.toml"])
def test_the_editor_never_builds_a_repositorys_code_on_its_word(tmp_path: Path,
                                                                config_name: str) -> None:
    root = repository(tmp_path, config_name)
    config, notices = lint_setup(EditorSettings(), root / "train.py", root, ModelCache())
    assert config.model is None and not (root / "ran.marker").exists()
    assert any("freezelint.trustLocalModels" in n.message
               and "a project's own configuration cannot grant it" in n.message
               for n in notices)


def test_no_trust_flag_against_a_user_who_trusts_says_one_thing(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    user = tmp_path / "user"
    (user / "freezelint").mkdir(parents=True)
    (user / "freezelint" / "config.toml").write_text("trust-local-models = true\n",
                                                     encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user))
    (tmp_path / "repo").mkdir()
    root = repository(tmp_path / "repo", "pyproject.toml")
    with chdir(root):
        result = invoke("check", "--no-cache", "--no-trust-local-models", "train.py")
    assert result.exit_code == 2
    assert not (root / "ran.marker").exists()
    assert "--no-trust-local-models forbids building it" in result.stderr
    assert "set `trust-local-models = true`" not in result.stderr  # no contradiction


def test_the_user_config_holds_only_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    (tmp_path / "freezelint").mkdir()
    (tmp_path / "freezelint" / "config.toml").write_text('model = "ast"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "repo").mkdir()
    root = repository(tmp_path / "repo", "pyproject.toml")
    with chdir(root):
        result = invoke("check", "--no-cache", "train.py")
    assert result.exit_code == 2
    assert "unknown key 'model' (this file holds only trust-local-models" in result.stderr


def test_a_deeply_nested_toml_value_is_a_clear_error(tmp_path: Path) -> None:
    depth = 5000
    (tmp_path / "freezelint.toml").write_text(
        "select = " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    (tmp_path / "train.py").write_text(LOOP, encoding="utf-8")
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "train.py")
    assert result.exit_code == 2
    assert f"{tmp_path / 'freezelint.toml'}: invalid TOML: a value nested too deeply" \
        in result.stderr


def test_an_unreadable_tool_freezelint_table_is_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(
        b'[tool.freezelint]\nignore = ["FZL101"]\n# caf\xe9\n')  # Latin-1, not UTF-8
    (tmp_path / "train.py").write_text(LOOP, encoding="utf-8")
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "train.py")
    assert result.exit_code == 2
    assert f"{tmp_path / 'pyproject.toml'}: cannot read [tool.freezelint]: not valid UTF-8" \
        in result.stderr


def test_a_fifo_named_pyproject_does_not_hang(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pyproject.toml")
    (tmp_path / "train.py").write_text(LOOP, encoding="utf-8")
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "train.py")
    # it returned (reading it would block forever); a FIFO is no configuration file
    assert result.exit_code in (0, 1) and "Traceback" not in result.stderr

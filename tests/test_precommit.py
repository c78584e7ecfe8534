"""The pre-commit hooks, run by the real pre-commit against temporary git repositories: the
hook fails on the AST example and passes a clean file, its environment has no torch, the
fix hook fixes, and the README's two configurations work as written.

pre-commit installs a hook from a git revision, so the hooks are installed from a commit of
this working tree (tracked files and new ones that are not ignored), made in a temporary
repository: the test does not depend on what is committed here yet. Installing the hook's
environment takes PyPI and some seconds (libcst, click, pygls, rich; no torch)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")  # a dependency of pre-commit
pytest.importorskip("pre_commit")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = (REPO / "examples" / "ast_head_finetune.py").read_text(encoding="utf-8")
CLEAN = "import torch\n\nmodel = torch.nn.Linear(4, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
# A safe fix (FZL105): the typo'd attribute freezes nothing.
TYPO = """\
import torchvision

model = torchvision.models.resnet50()
for name, p in model.named_parameters():
    if not name.startswith("fc."):
        p.require_grad = False
"""
# Not needed to install the package, and large.
LEFT_OUT = ("editor-integrations/", "bench/")


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", "-c", "user.name=freezelint tests",
                           "-c", "user.email=tests@freezelint.invalid",
                           "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def _working_tree_files() -> list[str]:
    if (REPO / ".git").exists():
        listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=REPO)
        names = [n for n in listed.split("\0") if n]
    else:  # an unpacked source tree
        names = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file()
                 and not any(part.startswith(".") or part in {"__pycache__", "node_modules"}
                             for part in p.relative_to(REPO).parts[:-1])]
    return [n for n in names if not n.startswith(LEFT_OUT) and (REPO / n).is_file()]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(path, revision) of a git repository holding this working tree."""
    root = tmp_path_factory.mktemp("freezelint-hooks")
    for name in _working_tree_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "freezelint under test", cwd=root)
    return root, git("rev-parse", "HEAD", cwd=root).strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pre-commit's store (cloned hook repositories and their environments), shared by the
    tests of this module so that the environment is installed once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    """A git repository with `files` staged (pre-commit lints what git knows)."""
    root = tmp_path / "project"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return root


def pre_commit(*args: str, cwd: Path, home: Path,
               path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never",
           "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "pre_commit", *args, "--color", "never"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_hooks_file_declares_both_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"freezelint", "freezelint-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "jupyter"]
        assert hook["entry"].startswith("freezelint check")
        assert hook["require_serial"] is True
        assert hook["minimum_pre_commit_version"]
    assert hooks["freezelint-fix"]["entry"] == "freezelint check --fix"


def test_try_repo_fails_on_the_example_and_passes_a_clean_file(
        tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    repo, _ = hook_repo
    root = project(tmp_path, {"train.py": EXAMPLE, "clean.py": CLEAN})
    result = pre_commit("try-repo", str(repo), "freezelint", "--all-files", cwd=root,
                        home=pre_commit_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r"^freezelint\.+Failed$", result.stdout, re.M), output
    assert "train.py:20:16: FZL101 'fc.weight' matches no parameter name" in output
    assert "train.py:23:13: FZL103 the optimizer receives no parameters" in output
    assert "clean.py" not in output
    assert not (root / ".freezelint_cache").exists() or git(
        "status", "--porcelain", "--untracked-files=all", cwd=root).splitlines() == [
        "A  clean.py", "A  train.py"]  # the result cache ignores itself


def _readme_yaml() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## pre-commit")
    section = readme[start:readme.index("\n## ", start + 1)]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def _hook_env_python(home: Path) -> Path:
    found = sorted(home.glob("repo*/py_env-*/bin/python"))
    assert found, f"no hook environment under {home}"
    return found[0]


def test_the_readme_config_runs_without_torch(
        tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    repo, revision = hook_repo
    config = _readme_yaml()[0]
    assert "repo: https://github.com/freezelint/freezelint" in config
    config = re.sub(r"repo: \S+", f"repo: {repo}", config, count=1)
    config = re.sub(r"rev: \S+", f"rev: {revision}", config, count=1)
    ids = [h["id"] for r in yaml.safe_load(config)["repos"] for h in r["hooks"]]
    assert ids == ["freezelint"]
    root = project(tmp_path, {".pre-commit-config.yaml": config, "train.py": EXAMPLE,
                              "clean.py": CLEAN})

    result = pre_commit("run", "--all-files", cwd=root, home=pre_commit_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "FZL101" in output and "FZL103" in output
    clean = pre_commit("run", "--files", "clean.py", cwd=root, home=pre_commit_home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"^freezelint\.+Passed$", clean.stdout, re.M)

    python = _hook_env_python(pre_commit_home)
    probe = subprocess.run([str(python), "-c", "import importlib.util as u, freezelint; "
                            "print(u.find_spec('torch') is None)"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "True", "the hook environment has torch"


def test_the_fix_hook_fixes_scripts_and_notebooks(
        tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    repo, revision = hook_repo
    config = yaml.safe_dump({"repos": [{"repo": str(repo), "rev": revision,
                                        "hooks": [{"id": "freezelint-fix"}]}]})
    notebook = (REPO / "examples" / "ast_head_finetune.ipynb").read_text(encoding="utf-8")
    root = project(tmp_path, {".pre-commit-config.yaml": config, "train.py": TYPO,
                              "nb.ipynb": notebook})
    first = pre_commit("run", "--all-files", cwd=root, home=pre_commit_home)
    output = first.stdout + first.stderr
    assert first.returncode == 1, output
    assert "files were modified by this hook" in output
    assert "p.requires_grad = False" in (root / "train.py").read_text(encoding="utf-8")
    # The notebook's findings have unsafe fixes only: reported, the file left as it was.
    assert "nb.ipynb:cell 6:1:13: FZL103" in output
    assert (root / "nb.ipynb").read_text(encoding="utf-8") == notebook
    second = pre_commit("run", "--files", "train.py", cwd=root, home=pre_commit_home)
    assert second.returncode == 0, second.stdout + second.stderr


def test_the_readme_system_hook_uses_the_projects_own_model(tmp_path: Path,
                                                            pre_commit_home: Path) -> None:
    """`language: system`: the project's environment (here the one running the tests, with
    torch) builds the project's own model; a name it does not have is reported."""
    pytest.importorskip("torch")
    local = _readme_yaml()[1]
    spec = re.search(r"--model (\S+)", local)
    assert spec is not None and "language: system" in local
    model_file, _, cls = spec.group(1).partition(":")
    model = (f"import torch.nn as nn\n\n\nclass {cls}(nn.Module):\n"
             "    def __init__(self):\n        super().__init__()\n"
             "        self.body = nn.Linear(8, 8)\n        self.classifier = nn.Linear(8, 2)\n")
    train = (f"from {model_file[:-3].replace('/', '.')} import {cls}\n\nmodel = {cls}()\n"
             "for name, p in model.named_parameters():\n"
             "    if not name.startswith('fc.'):\n        p.requires_grad = False\n")
    root = project(tmp_path, {".pre-commit-config.yaml": "repos:\n" + local,
                              model_file: model, "train.py": train})
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = pre_commit("run", "--files", "train.py", cwd=root, home=pre_commit_home, path=path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"train.py:5:28: FZL101 'fc.' starts no parameter name of `{spec.group(1)}`" \
        in output, output
    assert "did you mean 'classifier.'?" in output

"""The VS Code extension builds from its lock file: `npm ci`, a strict type-check, the esbuild
bundle and `vsce package`, in a copy of editor-integrations/vscode (the work tree is left
alone). The .vsix is then unzipped and its manifest read.

The real-editor test (code-server + headless Chromium) is
editor-integrations/vscode/e2e/test_code_server.py, opt-in with FREEZELINT_E2E_VSCODE=1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXTENSION = REPO / "editor-integrations" / "vscode"
SOURCES = ["package.json", "package-lock.json", "tsconfig.json", ".vscodeignore",
           "README.md", "CHANGELOG.md", "LICENSE", "src"]
SETTINGS = {"enable", "interpreter", "args", "model", "modelArgs", "lintOn",
            "trustLocalModels", "trace.server"}
COMMANDS = {"freezelint.restart", "freezelint.fixAll", "freezelint.showLogs"}

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm are needed to build the VS Code extension (apt-get install nodejs npm)")


def run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def vsix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("vscode")
    for name in SOURCES:
        source = EXTENSION / name
        if source.is_dir():
            shutil.copytree(source, work / name)
        else:
            shutil.copy2(source, work / name)
    run(["npm", "ci", "--prefer-offline", "--no-fund", "--no-audit"], work)
    run(["npx", "--no-install", "tsc", "--noEmit", "-p", "."], work)
    run(["npm", "run", "build"], work)
    run(["npm", "run", "package"], work)
    return work / "freezelint.vsix"


def test_vsix_contains_the_bundle_and_the_manifest(vsix: Path) -> None:
    assert vsix.is_file()
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    assert "extension/dist/extension.js" in names
    assert not [n for n in names if "node_modules/" in n or n.startswith("extension/src/")
                or n.endswith((".ts", ".log", ".map"))], sorted(names)
    assert manifest["main"] == "./dist/extension.js"
    properties = manifest["contributes"]["configuration"]["properties"]
    assert {f"freezelint.{key}" for key in SETTINGS} <= set(properties)
    assert properties["freezelint.lintOn"]["enum"] == ["type", "save"]
    assert properties["freezelint.interpreter"]["type"] == "array"
    assert {c["command"] for c in manifest["contributes"]["commands"]} == COMMANDS
    assert {"onLanguage:python", "onNotebook:jupyter-notebook"} <= set(manifest["activationEvents"])


def test_bundle_is_self_contained(vsix: Path) -> None:
    """vsce ran with --no-dependencies: the language client must be inside the bundle, and
    only `vscode` may stay external."""
    with zipfile.ZipFile(vsix) as archive:
        bundle = archive.read("extension/dist/extension.js").decode()
    assert 'require("vscode")' in bundle
    assert 'require("vscode-languageclient' not in bundle
    assert '"-m","freezelint","lsp"' in bundle  # the server command, from src/server.ts

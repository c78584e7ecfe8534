"""The README's Configuration, Suppressing findings and CI snippets, run as written: the
TOML becomes a project's pyproject.toml, the suppression example is linted, and the
freezelint command lines of the CI workflow run in a project holding the AST example."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result
from helpers import chdir

from freezelint.cli.main import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
HEAD = REPO / "examples" / "ast_head_finetune.py"
SCHEMA = json.loads((REPO / "tests" / "fixtures" / "sarif-schema-2.1.0.json").read_text())


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)




def freezelint(command: str, cwd: Path) -> Result:
    """A `freezelint ...` command line from the README, run by the real CLI in `cwd`."""
    argv = shlex.split(command)
    assert argv[0] == "freezelint"
    with chdir(cwd):
        result = CliRunner().invoke(main, argv[1:])
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result


# -- Configuration ---------------------------------------------------------------------------

# A name test that is right for AST and wrong for ResNet-50.
AST_LOOP = textwrap.dedent("""\
    import torch

    model = build_model()
    for name, p in model.named_parameters():
        if name != 'mlp_head.1.weight':
            p.requires_grad = False
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
""")


def test_configuration_snippet(tmp_path: Path) -> None:
    (snippet,) = blocks(section("Configuration"), "toml")
    (tmp_path / "pyproject.toml").write_text(snippet, encoding="utf-8")
    shutil.copy(HEAD, tmp_path / "train.py")  # ast, from `model`
    (tmp_path / "vision").mkdir()
    (tmp_path / "vision" / "train.py").write_text(AST_LOOP, encoding="utf-8")  # resnet50
    (tmp_path / "stale.py").write_text(AST_LOOP.replace(
        "lr=0.1)", "lr=0.1)  # noqa: FZL203"), encoding="utf-8")  # FZL900 is selected

    result = freezelint("freezelint check . --no-cache --output-format json", tmp_path)
    assert result.exit_code == 1, result.stderr
    found = [(r["path"], r["rule"], r["message"]) for r in json.loads(result.stdout)]
    assert [(path, rule) for path, rule, _ in found] == [
        ("stale.py", "FZL900"),
        ("train.py", "FZL101"), ("train.py", "FZL101"), ("train.py", "FZL103"),
        ("vision/train.py", "FZL101"), ("vision/train.py", "FZL103"),
    ]
    assert "of `ast" in found[1][2]  # `model` with `model-args`
    assert "of `resnet50`" in found[4][2]  # per-file-models

    # ignore = ["FZL201"]: an optimizer over frozen parameters is not reported.
    (tmp_path / "frozen.py").write_text(AST_LOOP.replace(
        "filter(lambda p: p.requires_grad, model.parameters())", "model.parameters()"),
        encoding="utf-8")
    result = freezelint("freezelint check frozen.py --no-cache --output-format json", tmp_path)
    assert json.loads(result.stdout) == []
    result = freezelint("freezelint check frozen.py --no-cache --isolated --model ast "
                        "--output-format json", tmp_path)
    assert [r["rule"] for r in json.loads(result.stdout)] == ["FZL201"]


# -- Suppressing findings --------------------------------------------------------------------


def test_suppression_snippet(tmp_path: Path) -> None:
    (snippet,) = blocks(section("Suppressing findings"), "python")
    header = "from src.models import ASTModel\n\nmodel = ASTModel(label_dim=10)\n"
    (tmp_path / "train.py").write_text(header + snippet, encoding="utf-8")
    result = freezelint("freezelint check train.py --no-cache --output-format json "
                        "--extend-select FZL900", tmp_path)
    assert [r["rule"] for r in json.loads(result.stdout)] == ["FZL103"]  # FZL101 silenced
    bare = re.sub(r"  # freezelint: ignore\[FZL101\]", "", snippet)
    assert bare != snippet
    (tmp_path / "train.py").write_text(header + bare, encoding="utf-8")
    result = freezelint("freezelint check train.py --no-cache --output-format json", tmp_path)
    assert [r["rule"] for r in json.loads(result.stdout)] == ["FZL101", "FZL103"]


# -- CI (GitHub code scanning with SARIF) ----------------------------------------------------


def test_ci_workflow_snippet(tmp_path: Path) -> None:
    ci = section("CI (GitHub code scanning with SARIF)")
    (workflow,) = blocks(ci, "yaml")
    commands = re.findall(r"^\s*- run: (freezelint .*)$", workflow, re.M)
    assert len(commands) == 1, commands
    (command,) = commands
    output = shlex.split(command)[shlex.split(command).index("-o") + 1]
    assert re.search(rf"^\s*sarif_file: {re.escape(output)}$", workflow, re.M)
    assert "github/codeql-action/upload-sarif@" in workflow
    assert "security-events: write" in workflow
    try:
        import yaml
    except ImportError:
        pass
    else:
        steps = yaml.safe_load(workflow)["jobs"]["freezelint"]["steps"]
        assert {"run": command} in steps

    shutil.copy(HEAD, tmp_path / "train.py")
    result = freezelint(command, tmp_path)
    assert result.exit_code == 1  # findings fail the step; the upload runs `if: always()`
    assert result.stdout == ""
    log = json.loads((tmp_path / output).read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["FZL101", "FZL101", "FZL103"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in results} == {"train.py"}


def test_ci_annotations_snippet(tmp_path: Path) -> None:
    (command,) = [line for block in blocks(section("CI (GitHub code scanning with SARIF)"),
                                           "sh") for line in block.splitlines()]
    shutil.copy(HEAD, tmp_path / "train.py")
    result = freezelint(command, tmp_path)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(" ")[0] for line in lines] == ["::warning", "::warning", "::error"]
    assert lines[0].startswith("::warning file=train.py,line=20,col=16,endLine=20,endColumn=27,"
                               "title=FZL101 name-matches-nothing::'fc.weight' matches no")


@pytest.mark.parametrize("title", ["Configuration", "Suppressing findings",
                                   "CI (GitHub code scanning with SARIF)"])
def test_sections_follow_use(title: str) -> None:
    headings = re.findall(r"^## (.*)$", README, re.M)
    assert headings.index(title) > headings.index("Use")

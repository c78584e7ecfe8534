"""Suppression comments, the opt-in FZL900 unused-suppression rule and its fix, and
`--add-noqa`, through `lint()` and the real CLI."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import invoke

from freezelint.cli.main import main
from freezelint.engine.fixes import fix_text
from freezelint.engine.lint import LintConfig, Suppression, lint, suppressions
from freezelint.models.zoo import load_zoo

REPO = Path(__file__).resolve().parents[1]
HEAD = REPO / "examples" / "ast_head_finetune.py"
HEAD_TEXT = HEAD.read_text(encoding="utf-8")
NAME_LINE = "    if name != 'fc.weight' and name != 'fc.bias':"  # FZL101 x2
OPTIMIZER_LINE = next(line for line in HEAD_TEXT.splitlines() if "torch.optim.SGD(" in line)

AST = LintConfig(model=load_zoo("ast"))
WITH_FZL900 = LintConfig(model=load_zoo("ast"), extend_select=frozenset({"FZL900"}))


def run(*args: str) -> Result:
    return invoke("check", "--no-cache", *args)


def head_with(old: str, new: str) -> str:
    assert old in HEAD_TEXT
    return HEAD_TEXT.replace(old, new, 1)


def rules(text: str, config: LintConfig = AST) -> list[str]:
    return [d.rule for d in lint(text, config)]


# -- suppression comments ------------------------------------------------------------------


@pytest.mark.parametrize("comment", [
    "# freezelint: ignore[FZL101]",
    "# freezelint: ignore[fzl101]",
    "# freezelint:ignore[FZL1]",
    "# noqa: FZL101",
    "# noqa:FZL101",
    "# NOQA: E501, FZL101",
    "# noqa: E501 FZL101",
    "# type: ignore  # noqa: FZL101",
])
def test_a_line_comment_silences_its_codes_on_its_line(comment: str) -> None:
    assert rules(head_with(NAME_LINE, f"{NAME_LINE}  {comment}")) == ["FZL103"]


@pytest.mark.parametrize("comment", ["# noqa", "# freezelint: ignore", "# noqa  -- legacy"])
def test_a_bare_comment_silences_every_rule_on_its_line(comment: str) -> None:
    assert rules(head_with(NAME_LINE, f"{NAME_LINE}  {comment}")) == ["FZL103"]
    assert rules(head_with(OPTIMIZER_LINE, f"{OPTIMIZER_LINE}  {comment}")) == \
        ["FZL101", "FZL101"]


def test_other_codes_do_not_silence() -> None:
    for comment in ("# noqa: FZL102", "# noqa: E501", "# freezelint: ignore[FZL2]"):
        assert rules(head_with(NAME_LINE, f"{NAME_LINE}  {comment}")) == \
            ["FZL101", "FZL101", "FZL103"]


def test_the_words_in_a_string_are_not_a_comment() -> None:
    text = head_with(NAME_LINE, "    if name != 'fc.weight' and name != '# noqa: FZL101':")
    assert rules(text) == ["FZL101", "FZL101", "FZL103"]


@pytest.mark.parametrize(("comment", "expected"), [
    ("# freezelint: file-ignore[FZL103]", ["FZL101", "FZL101"]),
    ("# freezelint: file-ignore[FZL101, FZL103]", []),
    ("# freezelint: file-ignore[FZL1]", []),
    ("# freezelint: file-ignore", []),
])
def test_file_ignore(comment: str, expected: list[str]) -> None:
    assert rules(f"{comment}\n{HEAD_TEXT}") == expected
    assert rules(f"{HEAD_TEXT}\n{comment}\n") == expected  # anywhere in the file


def test_suppressions_are_parsed_from_comments() -> None:
    text = "x = 1  # keep  # noqa: E501, FZL101\n# freezelint: file-ignore[FZL2]\n"
    found, exact = suppressions(text)
    assert exact
    assert found == [
        Suppression(line=1, start=15, end=35, kind="noqa", codes=("E501", "FZL101"),
                    codes_start=23, codes_end=35),
        Suppression(line=2, start=0, end=31, kind="file-ignore", codes=("FZL2",),
                    codes_start=26, codes_end=30),
    ]
    assert suppressions("s = '# noqa: FZL101'\n") == ([], True)
    assert suppressions("x = 1  # freezelint: ignored\n") == ([], True)


def test_cli_line_and_file_suppression(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(head_with(NAME_LINE, f"{NAME_LINE}  # noqa: FZL101"), encoding="utf-8")
    result = run(str(script), "--output-format", "json")
    assert [r["rule"] for r in json.loads(result.stdout)] == ["FZL103"]
    script.write_text("# freezelint: file-ignore[FZL103]\n" + HEAD_TEXT, encoding="utf-8")
    result = run(str(script), "--output-format", "json")
    assert [r["rule"] for r in json.loads(result.stdout)] == ["FZL101", "FZL101"]


# -- FZL900 unused-suppression -------------------------------------------------------------

CLEAN = "import torch\n\nx = torch.zeros(3)"


@pytest.mark.parametrize(("before", "message", "after"), [
    (f"{CLEAN}  # noqa: FZL101\n", "no FZL101 finding on this line", f"{CLEAN}\n"),
    (f"{CLEAN}  # freezelint: ignore[FZL101, FZL3]\n", "no FZL101 or FZL3 finding on this line",
     f"{CLEAN}\n"),
    (f"{CLEAN}  # freezelint: ignore\n", "nothing to suppress on this line", f"{CLEAN}\n"),
    (f"{CLEAN}  # noqa: E501, FZL101\n", "no FZL101 finding", f"{CLEAN}  # noqa: E501\n"),
    (f"{CLEAN}  # noqa: FZL101, E501\n", "no FZL101 finding", f"{CLEAN}  # noqa: E501\n"),
    (f"{CLEAN}  # noqa: FZL101  # keep this\n", "no FZL101", f"{CLEAN}  # keep this\n"),
    (f"{CLEAN}  # noqa: FZL101 legacy code\n", "no FZL101", f"{CLEAN}  # legacy code\n"),
    (f"{CLEAN}  # noqa: FZL999\n", "FZL999 is not a freezelint rule", f"{CLEAN}\n"),
    (f"# freezelint: file-ignore[FZL201]\n{CLEAN}\n", "no FZL201 finding in this file",
     f"{CLEAN}\n"),
    (f"{CLEAN}\n# freezelint: file-ignore", "nothing to suppress in this file", CLEAN),
    (f"{CLEAN}\r\n    # noqa: FZL101\r\ny = 2\r\n", "no FZL101", f"{CLEAN}\r\ny = 2\r\n"),
])
def test_unused_suppression_and_its_fix(before: str, message: str, after: str) -> None:
    (finding,) = lint(before, WITH_FZL900)
    assert finding.rule == "FZL900"
    assert finding.name == "unused-suppression"
    assert finding.severity.value == "info"
    assert message in finding.message
    assert finding.fixes[0].safety.value == "safe"
    fixed = fix_text(before, WITH_FZL900)
    assert fixed.text == after
    assert fixed.remaining == []
    assert lint(before, AST) == []  # opt-in: off by default


def test_only_the_unused_code_is_removed() -> None:
    text = head_with(NAME_LINE, f"{NAME_LINE}  # noqa: FZL102, FZL101")
    (finding,) = [d for d in lint(text, WITH_FZL900) if d.rule == "FZL900"]
    assert "no FZL102 finding" in finding.message
    assert fix_text(text, WITH_FZL900).text == head_with(NAME_LINE, f"{NAME_LINE}  # noqa: FZL101")


@pytest.mark.parametrize(("text", "config"), [
    (f"{CLEAN}  # noqa\n", WITH_FZL900),  # may be another linter's
    (f"{CLEAN}  # noqa: E501\n", WITH_FZL900),  # is another linter's
    (f"{CLEAN}  # noqa: FZL101, FZL900\n", WITH_FZL900),  # FZL900 silenced on its line
    (f"{CLEAN}  # noqa: FZL101\n",  # FZL101 did not run: its use is unknown
     LintConfig(select=frozenset({"FZL103", "FZL900"}))),
    (f"{CLEAN}  # noqa: FZL101\n", LintConfig(ignore=frozenset({"FZL101"}),
                                             extend_select=frozenset({"FZL900"}))),
    (f"{CLEAN}  # noqa: FZL101\n", LintConfig(select=frozenset({"FZL"}))),  # opt-in: by name
    (f"{CLEAN}  # noqa: FZL101\n", LintConfig(extend_select=frozenset({"FZL900"}),
                                             ignore=frozenset({"FZL900"}))),
    ("x = (  # noqa: FZL101\n", WITH_FZL900),  # does not parse: only the syntax error
])
def test_no_unused_suppression_reported(text: str, config: LintConfig) -> None:
    assert [d.rule for d in lint(text, config) if d.rule == "FZL900"] == []


def test_a_used_suppression_is_not_reported() -> None:
    text = head_with(NAME_LINE, f"{NAME_LINE}  # freezelint: ignore[FZL101]")
    assert rules(text, WITH_FZL900) == ["FZL103"]
    text = "# freezelint: file-ignore[FZL103]\n" + HEAD_TEXT
    assert rules(text, WITH_FZL900) == ["FZL101", "FZL101"]


def test_prefix_selection_turns_fzl900_on() -> None:
    text = f"{CLEAN}  # noqa: FZL101\n"
    assert rules(text, LintConfig(extend_select=frozenset({"FZL9"}))) == ["FZL900"]


def test_cli_fix_removes_unused_suppressions(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    original = head_with(NAME_LINE, f"{NAME_LINE}  # noqa: FZL101, FZL205")
    script.write_bytes(original.replace("\n", "\r\n").encode())
    result = run(str(script), "--extend-select", "FZL900", "--output-format", "concise")
    assert result.exit_code == 1
    assert "FZL900 unused suppression: no FZL205 finding on this line" in result.stdout
    result = run(str(script), "--extend-select", "FZL900", "--fix")
    expected = head_with(NAME_LINE, f"{NAME_LINE}  # noqa: FZL101").replace("\n", "\r\n")
    assert script.read_bytes() == expected.encode()
    assert result.exit_code == 1  # FZL103 remains
    again = run(str(script), "--extend-select", "FZL900", "--fix")
    assert script.read_bytes() == expected.encode()
    assert "Fixed" not in again.stderr


# -- --add-noqa ----------------------------------------------------------------------------


def test_add_noqa_silences_every_finding_and_is_idempotent(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    shutil.copy(HEAD, script)
    result = run(str(script), "--add-noqa")
    assert result.exit_code == 0
    assert result.stderr == "Added 2 noqa directives.\n"
    expected = (HEAD_TEXT.replace(NAME_LINE, f"{NAME_LINE}  # noqa: FZL101")
                .replace(OPTIMIZER_LINE, f"{OPTIMIZER_LINE}  # noqa: FZL103"))
    assert script.read_text(encoding="utf-8") == expected

    again = run(str(script), "--add-noqa")
    assert (again.exit_code, again.stderr) == (0, "Added 0 noqa directives.\n")
    assert script.read_text(encoding="utf-8") == expected
    assert run(str(script)).exit_code == 0
    assert run(str(script), "--extend-select", "FZL900").exit_code == 0  # all used


def test_add_noqa_keeps_every_other_byte(tmp_path: Path) -> None:
    """CRLF, a Latin-1 coding declaration, non-ASCII comments and other tools' comments
    survive; only the lines with findings get codes."""
    text = ("# -*- coding: latin-1 -*-\n# café\n"
            + head_with(NAME_LINE, f"{NAME_LINE}  # noqa: E501")
            .replace(OPTIMIZER_LINE, f"{OPTIMIZER_LINE}  # freezelint: ignore[FZL102]  # é"))
    script = tmp_path / "train.py"
    script.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    result = run(str(script), "--add-noqa")
    assert result.stderr == "Added 2 noqa directives.\n"
    expected = (text.replace(f"{NAME_LINE}  # noqa: E501", f"{NAME_LINE}  # noqa: E501, FZL101")
                .replace("# freezelint: ignore[FZL102]", "# freezelint: ignore[FZL102, FZL103]"))
    assert script.read_bytes() == expected.replace("\n", "\r\n").encode("latin-1")
    assert run(str(script), "--add-noqa").stderr == "Added 0 noqa directives.\n"
    assert script.read_bytes() == expected.replace("\n", "\r\n").encode("latin-1")


def test_add_noqa_leaves_lines_that_cannot_take_a_comment(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    text = textwrap.dedent('''\
        from src.models import ASTModel

        model = ASTModel(label_dim=10)
        for name, p in model.named_parameters():
            if name not in ('fc.weight', """mlp_head.1.bias
        """):
                p.requires_grad = False
    ''')
    script.write_text(text, encoding="utf-8")
    result = run(str(script), "--add-noqa")
    assert result.exit_code == 0
    assert "Added 1 noqa directive." in result.stderr
    assert "2 findings left without a comment" in result.stderr
    assert script.read_text(encoding="utf-8") == text.replace(
        "        p.requires_grad = False", "        p.requires_grad = False  # noqa: FZL103")


@pytest.mark.parametrize("args", [["--fix"], ["--diff"]])
def test_add_noqa_is_not_combined_with_fixing(args: list[str]) -> None:
    result = run(str(HEAD), "--add-noqa", *args)
    assert result.exit_code == 2


def test_add_noqa_needs_files() -> None:
    result = CliRunner().invoke(main, ["check", "-", "--add-noqa"], input=HEAD_TEXT)
    assert result.exit_code == 2

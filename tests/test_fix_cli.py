"""`freezelint check --fix / --unsafe-fixes / --diff / --show-fixes` on real files.

The inputs are the rules' own examples (rules/*.md) and the AST scenario file; the expected
outputs are the documented fixed examples, so each test reads like the user's session:
"I ran --fix on this file and got that one, with my CRLF endings / Latin-1 comments / BOM /
tabs / permissions intact", or "the write failed and my file is as it was".

Tests run as root in CI, where `os.access(path, os.W_OK)` is true for any file: the
read-only case is a real `chmod 0o444` (freezelint refuses a file with no write bit, even
for root), and an unwritable directory is simulated by making `tempfile.mkstemp` raise the
PermissionError the kernel would.
"""

from __future__ import annotations

import codecs
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import freezelint.engine.fixes as fixes
from freezelint.cli.main import main
from freezelint.common.diagnostics import Diagnostic, Edit, Fix, Safety
from freezelint.common.rule_docs import rule_doc
from freezelint.engine.lint import LintConfig, lint

REPO = Path(__file__).resolve().parents[1]
AST_EXAMPLE = REPO / "examples" / "ast_head_finetune.py"


def run(*args: str, input: bytes | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result


def example(rule_id: str, heading: str = "Example") -> str:
    doc = rule_doc(rule_id)
    assert doc is not None
    code = doc.example(heading)
    assert code is not None
    return code


def fixed(rule_id: str) -> str:
    return example(rule_id, "Use instead")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- what is written ---------------------------------------------------------------------


def test_fix_writes_the_documented_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "train.py", example("FZL105").encode())
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == fixed("FZL105")
    assert "Fixed 1 problem." in result.stderr
    assert "All checks passed!" in result.stderr
    assert result.stdout == ""  # nothing left to report


def test_crlf_file_keeps_crlf_on_every_line(tmp_path: Path) -> None:
    path = write(tmp_path / "train.py", example("FZL106").replace("\n", "\r\n").encode())
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data == fixed("FZL106").replace("\n", "\r\n").encode()
    assert all(line.endswith(b"\r\n") for line in data.splitlines(keepends=True))


def test_crlf_file_with_a_fix_that_adds_a_line(tmp_path: Path) -> None:
    """FZL304's fix inserts a statement: the new line gets the file's CRLF and indentation."""
    code = "if True:\n" + "".join(f"    {line}\n" if line else "\n"
                                 for line in example("FZL304").splitlines())
    path = write(tmp_path / "load.py", code.replace("\n", "\r\n").encode())
    result = run("check", "--fix", "--model", "ast", str(path))
    assert "Fixed 1 problem." in result.stderr, result.output
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") == code.count("\n") + 1
    assert b"\n    print(" in data
    compile(data, "load.py", "exec", dont_inherit=True)


def test_latin1_file_keeps_its_encoding_and_bytes(tmp_path: Path) -> None:
    header = "# -*- coding: latin-1 -*-\n# Modèle gelé, tête entraînée\n"
    path = write(tmp_path / "train.py", (header + example("FZL105")).encode("latin-1"))
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data == (header + fixed("FZL105")).encode("latin-1")
    assert b"Mod\xe8le gel\xe9" in data  # still Latin-1, not re-encoded as UTF-8


def test_utf8_bom_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "train.py", codecs.BOM_UTF8 + example("FZL105").encode())
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == codecs.BOM_UTF8 + fixed("FZL105").encode()


def test_tabs_and_comments_are_kept(tmp_path: Path) -> None:
    def tabbed(code: str) -> str:
        lines = code.replace("    ", "\t").splitlines()
        lines[4] += "  # freeze the backbone"
        return "\n".join(lines) + "\n"

    path = write(tmp_path / "train.py", tabbed(example("FZL106")).encode())
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == tabbed(fixed("FZL106"))
    assert "\tparam.requires_grad = False\n" in path.read_text(encoding="utf-8")


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "train.py", b"#!/usr/bin/env python\n" + example("FZL105").encode())
    path.chmod(0o750)
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 0, result.output
    assert "requires_grad = False" in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o750


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_file_owner_is_kept_when_root_fixes_it(tmp_path: Path) -> None:
    path = write(tmp_path / "train.py", example("FZL105").encode())
    os.chown(path, 4321, 4321)
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 0, result.output
    assert "requires_grad = False" in path.read_text(encoding="utf-8")
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4321)


def test_symlink_is_followed_not_replaced(tmp_path: Path) -> None:
    real = write(tmp_path / "real.py", example("FZL105").encode())
    link = tmp_path / "link.py"
    link.symlink_to(real.name)
    result = run("check", "--fix", "--model", "resnet50", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == fixed("FZL105")
    assert listing(tmp_path) == ["link.py", "real.py"]


# -- what is not written -----------------------------------------------------------------


def _break_every_fix(monkeypatch: pytest.MonkeyPatch, rule: str = "") -> None:
    """Make every fix (of `rule`, or of all rules) produce code that does not parse, as a
    buggy rule would."""
    def broken_lint(text: str, config: LintConfig | None = None) -> list[Diagnostic]:
        return [d if not d.rule.startswith(rule) else
                Diagnostic(d.rule, d.name, d.severity, d.message, d.span, d.related,
                           (Fix("broken", Safety.SAFE, (Edit(d.span, "param.(("),)),))
                for d in lint(text, config)]

    monkeypatch.setattr(fixes, "lint", broken_lint)


def test_fix_that_would_not_parse_is_not_written(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    original = example("FZL105").encode()
    path = write(tmp_path / "train.py", original)
    _break_every_fix(monkeypatch)
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert path.read_bytes() == original
    assert listing(tmp_path) == ["train.py"]
    assert f"{path}: warning: fix discarded: result would not parse" in result.stderr
    assert result.exit_code == 1  # the finding is still there, and reported
    assert "FZL105" in result.stdout
    assert "Fixed" not in result.stderr


def test_a_broken_fix_does_not_stop_the_others(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    code = example("FZL104") + "for p in model.layer2.parameters():\n    p.require_grad = False\n"
    path = write(tmp_path / "train.py", code.encode())
    _break_every_fix(monkeypatch, "FZL104")
    result = run("check", "--fix", "--model", "resnet50", "--output-format", "concise",
                 str(path))
    assert path.read_text(encoding="utf-8") == code.replace("p.require_grad", "p.requires_grad")
    assert f"{path}: warning: fix discarded: result would not parse" in result.stderr
    assert "Fixed 1 problem." in result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["FZL104"]
    assert result.exit_code == 1


def test_diff_does_not_offer_a_fix_that_would_not_parse(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "train.py", example("FZL105").encode())
    _break_every_fix(monkeypatch)
    result = run("check", "--diff", "--model", "resnet50", str(path))
    assert result.stdout == ""
    assert "fix discarded: result would not parse" in result.stderr
    assert result.exit_code == 0


def test_failed_replace_leaves_the_file_intact_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = example("FZL105").encode()
    path = write(tmp_path / "train.py", original)
    other = write(tmp_path / "other.py", example("FZL106").encode())

    real_replace = os.replace

    def failing_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).name == "train.py":
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    result = run("check", "--fix", "--model", "resnet50", str(path), str(other))
    assert result.exit_code == 2
    assert f"{path}: error: cannot write {path}: No space left on device" in result.stderr
    assert path.read_bytes() == original
    assert listing(tmp_path) == ["other.py", "train.py"]  # no temporary file left behind
    assert other.read_text(encoding="utf-8") == fixed("FZL106")  # the rest of the run went on


def test_read_only_file_is_reported_and_untouched(tmp_path: Path) -> None:
    """A real chmod 0o444: refused even when running as root."""
    original = example("FZL105").encode()
    path = write(tmp_path / "train.py", original)
    path.chmod(0o444)
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 2
    assert f"{path}: error: cannot write {path}: the file is read-only" in result.stderr
    assert path.read_bytes() == original
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert listing(tmp_path) == ["train.py"]


def test_unwritable_directory_is_reported_and_loses_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root may write anywhere, so the kernel's refusal to create the temporary file in a
    read-only directory is simulated."""
    original = example("FZL105").encode()
    path = write(tmp_path / "train.py", original)

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 2
    assert f"{path}: error: cannot write {path}: Permission denied" in result.stderr
    assert path.read_bytes() == original
    assert listing(tmp_path) == ["train.py"]


def test_text_the_encoding_cannot_hold_is_reported(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A fix bringing a character a Latin-1 file cannot store is refused, not mangled."""
    original = ("# -*- coding: latin-1 -*-\n" + example("FZL105")).encode("latin-1")
    path = write(tmp_path / "train.py", original)

    def greek_lint(text: str, config: LintConfig | None = None) -> list[Diagnostic]:
        return [Diagnostic(d.rule, d.name, d.severity, d.message, d.span, d.related,
                           (Fix("lambda", Safety.SAFE, (Edit(d.span, "requires_grad_λ"),)),))
                for d in lint(text, config) if d.fixes]

    monkeypatch.setattr(fixes, "lint", greek_lint)
    result = run("check", "--fix", "--model", "resnet50", str(path))
    assert result.exit_code == 2
    assert "cannot encode the fixed text as iso-8859-1" in result.stderr
    assert path.read_bytes() == original


# -- --diff ------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
def test_diff_prints_a_patch_and_writes_nothing(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    original = example("FZL105").encode()
    path = write(tmp_path / "train.py", original)
    before = path.stat().st_mtime_ns
    result = run("check", "--diff", "--model", "resnet50", "train.py")
    assert result.exit_code == 1
    assert path.read_bytes() == original and path.stat().st_mtime_ns == before
    assert result.stdout.startswith("--- a/train.py\n+++ b/train.py\n@@ ")
    changed = [line for line in result.stdout.splitlines()
               if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert changed == ["-    param.require_grad = False", "+    param.requires_grad = False"]
    assert "Would fix 1 problem." in result.stderr

    # The diff is a real patch: applying it gives what --fix would write.
    subprocess.run(["patch", "-p1", "--quiet"], input=result.stdout.encode(), cwd=tmp_path,
                   check=True)
    assert path.read_text(encoding="utf-8") == fixed("FZL105")


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
def test_diff_of_a_crlf_file_applies_cleanly(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "train.py", example("FZL106").replace("\n", "\r\n").encode())
    result = run("check", "--diff", "--model", "resnet50", "train.py")
    assert result.exit_code == 1
    subprocess.run(["patch", "-p1", "--quiet"], input=result.stdout_bytes, cwd=tmp_path,
                   check=True)
    assert path.read_bytes() == fixed("FZL106").replace("\n", "\r\n").encode()


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
@pytest.mark.parametrize("layout", ["no final newline", "form feed"])
def test_diff_of_an_unusual_file_applies_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 layout: str) -> None:
    """A last line without newline gets patch's "\\ No newline at end of file" marker, and
    a form feed (a page break, as in CPython's own sources) does not split a line."""
    monkeypatch.chdir(tmp_path)
    code = example("FZL105")
    if layout == "no final newline":
        code, expected = code.rstrip("\n"), fixed("FZL105").rstrip("\n")
    else:
        code, expected = "\x0c\n" + code, "\x0c\n" + fixed("FZL105")
    path = write(tmp_path / "train.py", code.encode())
    result = run("check", "--diff", "--model", "resnet50", "train.py")
    assert result.exit_code == 1
    if layout == "form feed":  # the fixed line is line 7: context from line 4, not 5
        assert "\n@@ -4,5 +4,5 @@\n" in result.stdout
    subprocess.run(["patch", "-p1", "--quiet"], input=result.stdout_bytes, cwd=tmp_path,
                   check=True)
    assert path.read_text(encoding="utf-8") == expected


def test_diff_exits_0_when_nothing_would_change(tmp_path: Path) -> None:
    clean = write(tmp_path / "clean.py", fixed("FZL105").encode())
    result = run("check", "--diff", "--model", "resnet50", str(clean))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No fixes available." in result.stderr

    # An unsafe fix is not a change --diff would make without --unsafe-fixes.
    unsafe = write(tmp_path / "unsafe.py", example("FZL101").encode())
    assert run("check", "--diff", "--model", "ast", str(unsafe)).exit_code == 0
    assert run("check", "--diff", "--unsafe-fixes", "--model", "ast",
               str(unsafe)).exit_code == 1


# -- exit status and summary -------------------------------------------------------------


MIXED = """\
import torch
import torchvision

model = torchvision.models.resnet50(weights=None)
model.layer1.requires_grad = False
for p in model.parameters():
    p.requires_grad = False
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
"""


def test_fix_exit_status_reflects_what_remains(tmp_path: Path) -> None:
    """FZL104 is fixed; FZL103 (everything frozen) has no fix and is still reported."""
    path = write(tmp_path / "train.py", MIXED.encode())
    result = run("check", "--fix", "--model", "resnet50", "--output-format", "concise",
                 str(path))
    assert result.exit_code == 1
    assert "model.layer1.requires_grad_(False)\n" in path.read_text(encoding="utf-8")
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["FZL103"]
    assert "Fixed 1 problem." in result.stderr
    assert "Found 1 problem." in result.stderr


def test_unsafe_fixes_need_the_flag_and_the_summary_says_so(tmp_path: Path) -> None:
    original = example("FZL101").encode()
    path = write(tmp_path / "train.py", original)
    result = run("check", "--fix", "--model", "ast", str(path))
    assert result.exit_code == 1
    assert path.read_bytes() == original
    assert "Found 2 problems (2 fixable with --unsafe-fixes)." in result.stderr
    assert "Fixed" not in result.stderr

    result = run("check", "--fix", "--unsafe-fixes", "--model", "ast", str(path))
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8") == fixed("FZL101")
    assert "Fixed 2 problems." in result.stderr


def test_show_fixes_lists_what_was_fixed(tmp_path: Path) -> None:
    path = write(tmp_path / "train.py", MIXED.encode())
    result = run("check", "--fix", "--show-fixes", "--model", "resnet50", str(path))
    assert f"{path}: fixed 1 x FZL104" in result.stderr
    result = run("check", "--fix", "--show-fixes", "--model", "resnet50", str(path))
    assert "No fixes applied." in result.stderr


# -- stdin -------------------------------------------------------------------------------


def test_stdin_fix_prints_the_fixed_source(tmp_path: Path) -> None:
    result = run("check", "--fix", "--model", "resnet50", "-", input=example("FZL105").encode())
    assert result.exit_code == 0
    assert result.stdout == fixed("FZL105")
    assert "Fixed 1 problem." in result.stderr


def test_stdin_fix_keeps_stdout_pure_source_when_findings_remain() -> None:
    """An editor or a pipe (`freezelint check --fix - < a.py > b.py`) gets code on stdout;
    the report goes to stderr."""
    result = run("check", "--fix", "--model", "resnet50", "-", input=MIXED.encode())
    assert result.exit_code == 1
    assert result.stdout == MIXED.replace("model.layer1.requires_grad = False",
                                          "model.layer1.requires_grad_(False)")
    assert "FZL103" in result.stderr


def test_stdin_fix_echoes_the_source_when_there_is_nothing_to_fix() -> None:
    code = example("FZL101")
    result = run("check", "--fix", "--model", "ast", "-", input=code.encode())
    assert result.exit_code == 1
    assert result.stdout == code
    assert "FZL101" in result.stderr


def test_stdin_fix_keeps_the_encoding_and_line_endings() -> None:
    source = ("# -*- coding: latin-1 -*-\n# Modèle\n" + example("FZL105")).replace("\n", "\r\n")
    result = run("check", "--fix", "--model", "resnet50", "-", input=source.encode("latin-1"))
    assert result.exit_code == 0
    expected = ("# -*- coding: latin-1 -*-\n# Modèle\n" + fixed("FZL105")).replace("\n", "\r\n")
    assert result.stdout_bytes == expected.encode("latin-1")


# -- the AST scenario --------------------------------------------------------------------


def test_ast_scenario_is_clean_after_unsafe_fixes_and_only_line_20_changes(
        tmp_path: Path) -> None:
    original = AST_EXAMPLE.read_text(encoding="utf-8")
    path = write(tmp_path / "ast_head_finetune.py", original.encode())
    result = run("check", "--fix", "--unsafe-fixes", "--show-fixes", str(path))
    assert result.exit_code == 0, result.output
    assert f"{path}: fixed 2 x FZL101" in result.stderr
    assert "All checks passed!" in result.stderr
    assert run("check", str(path)).exit_code == 0

    before = original.splitlines(keepends=True)
    after = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(after) == len(before)
    changed = [number for number, (old, new) in enumerate(zip(before, after, strict=True), 1)
               if old != new]
    assert changed == [20]
    assert after[19] == "    if name != 'mlp_head.1.weight' and name != 'mlp_head.1.bias':\n"


def test_ast_scenario_diff_touches_only_line_20(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ast_head_finetune.py", AST_EXAMPLE.read_bytes())
    result = run("check", "--diff", "--unsafe-fixes", "ast_head_finetune.py")
    assert result.exit_code == 1
    assert "@@ -17,7 +17,7 @@" in result.stdout  # three lines of context around line 20
    changed = [line for line in result.stdout.splitlines()
               if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert changed == ["-    if name != 'fc.weight' and name != 'fc.bias':",
                       "+    if name != 'mlp_head.1.weight' and name != 'mlp_head.1.bias':"]
    assert (tmp_path / "ast_head_finetune.py").read_bytes() == AST_EXAMPLE.read_bytes()


def test_stdin_fix_passes_undecodable_input_through() -> None:
    data = "label = 'café'\n".encode("latin-1")  # no coding declaration: not valid UTF-8
    result = run("check", "--fix", "-", input=data)
    assert result.exit_code == 2
    assert result.stdout_bytes == data
    assert "-: error: not valid utf-8 text" in result.stderr

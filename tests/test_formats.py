"""Every `--output-format`, `--statistics` and `-o` through the real CLI, on the two AST
scenarios (examples/ast_head_finetune.py: FZL101 x2 + FZL103; examples/ast_checkpoint_merge.py:
FZL305 + FZL302); SARIF validated against the official 2.1.0 schema; colour and progress
checked on a real terminal (a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from click.testing import Result
from helpers import invoke, position

from freezelint import __version__
from freezelint.common.rule_docs import all_rule_docs

REPO = Path(__file__).resolve().parents[1]
HEAD = "examples/ast_head_finetune.py"
MERGE = "examples/ast_checkpoint_merge.py"
HEAD_TEXT = (REPO / HEAD).read_text(encoding="utf-8")
MERGE_TEXT = (REPO / MERGE).read_text(encoding="utf-8")
SCHEMA = json.loads((REPO / "tests" / "fixtures" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("NO_COLOR", raising=False)


def run(*args: str) -> Result:
    return invoke("check", "--no-cache", *args)




def records(*paths: str) -> list[dict]:
    result = run(*paths, "--output-format", "json")
    assert result.exit_code == 1
    return json.loads(result.stdout)


def validate_sarif(log: dict) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA,
                                           format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


# -- concise, json, json-lines ---------------------------------------------------------------


def test_concise_lists_both_scenarios_sorted() -> None:
    result = run(HEAD, MERGE, "--output-format", "concise")
    assert result.exit_code == 1
    rules = [line.split()[1] for line in result.stdout.splitlines()]
    paths = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert rules == ["FZL305", "FZL302", "FZL101", "FZL101", "FZL103"]
    assert paths == [MERGE, MERGE, HEAD, HEAD, HEAD]


def test_json_lines_is_one_json_record_per_line() -> None:
    result = run(HEAD, MERGE, "--output-format", "json-lines")
    assert result.exit_code == 1
    assert result.stderr == ""  # for machines: nothing else
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and all(line.startswith("{") for line in lines)
    assert [json.loads(line) for line in lines] == records(HEAD, MERGE)


def test_json_lines_of_a_clean_file_is_empty(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    result = run(str(tmp_path / "ok.py"), "--output-format", "json-lines")
    assert (result.exit_code, result.stdout) == (0, "")


# -- sarif -----------------------------------------------------------------------------------


def test_sarif_is_valid_and_complete() -> None:
    result = run(HEAD, MERGE, "--output-format", "sarif")
    assert result.exit_code == 1
    assert result.stderr == ""
    log = json.loads(result.stdout)
    validate_sarif(log)
    assert log["version"] == "2.1.0"
    (sarif_run,) = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("freezelint", __version__)
    assert driver["informationUri"].startswith("https://")

    docs = sorted(all_rule_docs().values(), key=lambda d: d.id)
    assert [r["id"] for r in driver["rules"]] == [d.id for d in docs]
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for rule, doc in zip(driver["rules"], docs, strict=True):
        assert rule["name"] == doc.name
        assert rule["shortDescription"]["text"] == doc.summary
        assert rule["fullDescription"]["text"].startswith(doc.summary)
        assert rule["helpUri"] == doc.url
        assert rule["defaultConfiguration"]["level"] == levels[doc.severity.value]

    results = sarif_run["results"]
    assert [r["ruleId"] for r in results] == ["FZL305", "FZL302", "FZL101", "FZL101", "FZL103"]
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    expected = records(HEAD, MERGE)
    for r, record in zip(results, expected, strict=True):
        assert r["message"]["text"] == record["message"]
        assert r["level"] == levels[record["severity"]]
        location = r["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == record["path"]
        assert location["region"] == {
            "startLine": record["range"]["start"]["line"],
            "startColumn": record["range"]["start"]["column"],
            "endLine": record["range"]["end"]["line"],
            "endColumn": record["range"]["end"]["column"],
        }

    weight = results[2]
    line, column = position(HEAD_TEXT, "'fc.weight'")
    assert weight["level"] == "warning"
    assert weight["locations"][0]["physicalLocation"]["region"] == {
        "startLine": line, "startColumn": column,
        "endLine": line, "endColumn": column + len("'fc.weight'")}
    (fix,) = weight["fixes"]
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == HEAD
    assert change["replacements"][0]["insertedContent"]["text"] == "'mlp_head.1.weight'"
    assert "unsafe" in fix["description"]["text"]

    empty = results[4]
    assert empty["level"] == "error"
    frozen_line, frozen_column = position(HEAD_TEXT, "p.requires_grad = False")
    (related,) = empty["relatedLocations"]
    assert related["physicalLocation"]["region"]["startLine"] == frozen_line
    assert related["physicalLocation"]["region"]["startColumn"] == frozen_column
    assert related["message"]["text"]


def test_sarif_of_a_clean_run_is_valid(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    result = run(str(tmp_path / "ok.py"), "--output-format", "sarif")
    assert result.exit_code == 0
    log = json.loads(result.stdout)
    validate_sarif(log)
    assert log["runs"][0]["results"] == []


def test_sarif_uri_is_encoded_and_info_is_a_note(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "my project"
    folder.mkdir()
    (folder / "train.py").write_text(
        "import torchvision\n\nmodel = torchvision.models.resnet50(weights=None)\n"
        "x = 1  # noqa: FZL101\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("my project", "--extend-select", "FZL900", "--output-format", "sarif")
    log = json.loads(result.stdout)
    validate_sarif(log)
    (finding,) = log["runs"][0]["results"]
    assert finding["ruleId"] == "FZL900"
    assert finding["level"] == "note"
    uri = finding["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20project/train.py"


# -- github ----------------------------------------------------------------------------------


def test_github_annotations_are_exact() -> None:
    result = run(HEAD, MERGE, "--output-format", "github")
    assert result.exit_code == 1
    messages = {(r["path"], r["range"]["start"]["line"], r["range"]["start"]["column"]):
                r["message"] for r in records(HEAD, MERGE)}
    weight, bias = position(HEAD_TEXT, "'fc.weight'"), position(HEAD_TEXT, "'fc.bias'")
    optimizer = position(HEAD_TEXT, "torch.optim.SGD(")
    optimizer_end = len(HEAD_TEXT.splitlines()[optimizer[0] - 1]) + 1
    merge = position(MERGE_TEXT, "{k: v for")
    merge_end = position(MERGE_TEXT, "in model_dict}")[1] + len("in model_dict}")
    guard = position(MERGE_TEXT, "if k[7:] in")
    slice_ = (guard[0], guard[1] + len("if "))

    def line(level: str, path: str, start: tuple[int, int], end_column: int, title: str) -> str:
        message = messages[(path, *start)]
        return (f"::{level} file={path},line={start[0]},col={start[1]},endLine={start[0]},"
                f"endColumn={end_column},title={title}::{message}")

    fzl101 = "FZL101 name-matches-nothing"
    assert result.stdout.splitlines() == [
        line("error", MERGE, merge, merge_end, "FZL305 state-dict-merge-mismatch"),
        line("warning", MERGE, slice_, slice_[1] + len("k[7:]"), "FZL302 unguarded-prefix-slice"),
        line("warning", HEAD, weight, weight[1] + len("'fc.weight'"), fzl101),
        line("warning", HEAD, bias, bias[1] + len("'fc.bias'"), fzl101),
        line("error", HEAD, optimizer, optimizer_end, "FZL103 nothing-trainable"),
    ]


def test_github_escapes_what_would_end_a_property(tmp_path: Path) -> None:
    folder = tmp_path / "a,b:c"
    folder.mkdir()
    shutil.copy(REPO / HEAD, folder / "train.py")
    result = run(str(folder / "train.py"), "--select", "FZL103", "--output-format", "github")
    (annotation,) = result.stdout.splitlines()
    assert annotation.startswith("::error file=")
    assert "a%2Cb%3Ac/train.py,line=" in annotation
    assert ",title=FZL103 nothing-trainable::the optimizer receives no parameters" in annotation


def test_github_notice_for_information(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("x = 1  # freezelint: ignore[FZL101]\n", encoding="utf-8")
    result = run(str(tmp_path / "t.py"), "--extend-select", "FZL900", "--output-format", "github")
    assert result.stdout.startswith("::notice file=")


# -- statistics ------------------------------------------------------------------------------


def test_statistics_count_per_rule() -> None:
    result = run(HEAD, MERGE, "--statistics")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "2\tFZL101\t[ ] name-matches-nothing",
        "1\tFZL103\t[ ] nothing-trainable",
        "1\tFZL302\t[*] unguarded-prefix-slice",
        "1\tFZL305\t[*] state-dict-merge-mismatch",
    ]
    # Every site of both scripts was checked against the model (issue 13: --statistics says
    # how many were), on stderr with the summary.
    assert result.stderr.splitlines() == [
        "model known at 5 of 5 sites (name tests 2/2, freezes 1/1, optimizers 1/1, "
        "checkpoint loads 1/1)",
        "Found 5 problems (2 fixable with --fix, 2 more with --unsafe-fixes)."]


def test_statistics_with_unsafe_fixes_and_as_json() -> None:
    unsafe = run(HEAD, "--statistics", "--unsafe-fixes")
    assert unsafe.stdout.splitlines()[0] == "2\tFZL101\t[*] name-matches-nothing"
    as_json = run(HEAD, MERGE, "--statistics", "--output-format", "json")
    assert json.loads(as_json.stdout) == [
        {"code": "FZL101", "name": "name-matches-nothing", "count": 2, "fixable": False},
        {"code": "FZL103", "name": "nothing-trainable", "count": 1, "fixable": False},
        {"code": "FZL302", "name": "unguarded-prefix-slice", "count": 1, "fixable": True},
        {"code": "FZL305", "name": "state-dict-merge-mismatch", "count": 1, "fixable": True},
    ]


def test_statistics_of_a_clean_run_is_empty(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    result = run(str(tmp_path / "ok.py"), "--statistics")
    assert (result.exit_code, result.stdout, result.stderr.strip()) == \
        (0, "", "All checks passed!")


# -- -o / --output-file ----------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["full", "concise", "json", "json-lines", "sarif",
                                           "github"])
def test_output_file_gets_the_report(tmp_path: Path, output_format: str) -> None:
    target = tmp_path / "reports" / f"out.{output_format}"
    result = run(HEAD, "--output-format", output_format, "-o", str(target))
    assert result.exit_code == 1
    assert result.stdout == ""
    direct = run(HEAD, "--output-format", output_format)
    assert target.read_text(encoding="utf-8") == direct.stdout
    if output_format == "sarif":
        validate_sarif(json.loads(target.read_text(encoding="utf-8")))


def test_unwritable_output_file_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = run(HEAD, "-o", str(blocker / "out.txt"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


# -- colour and progress on a real terminal --------------------------------------------------


def run_on_terminal(args: list[str], stream: str, env: dict[str, str] | None = None,
                    cwd: Path = REPO) -> tuple[int, str, str]:
    """Run freezelint with `stream` ("stdout" or "stderr") on a pseudo-terminal; the other
    one is a pipe. Returns (exit code, terminal text, piped text)."""
    controller, terminal = pty.openpty()
    environment = {**os.environ, **(env or {})}
    if env is None or "NO_COLOR" not in env:
        environment.pop("NO_COLOR", None)
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, stream: terminal}
    process = subprocess.Popen([sys.executable, "-m", "freezelint", *args], cwd=cwd,
                               env=environment, stdin=subprocess.DEVNULL, **streams)
    os.close(terminal)
    piped = process.stderr if stream == "stdout" else process.stdout
    assert piped is not None
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    other = piped.read().decode()
    code = process.wait(timeout=60)
    os.close(controller)
    return code, seen.decode(errors="replace"), other


def test_colour_on_a_terminal_unless_no_color() -> None:
    code, shown, _ = run_on_terminal(["check", "--no-cache", HEAD], "stdout")
    assert code == 1
    assert "\x1b[" in shown
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown).replace("\r\n", "\n")
    assert plain == run(HEAD).stdout

    code, shown, _ = run_on_terminal(["check", "--no-cache", HEAD], "stdout",
                                     env={"NO_COLOR": "1"})
    assert code == 1
    assert "\x1b[" not in shown


def test_no_colour_in_a_file_or_a_pipe(tmp_path: Path) -> None:
    code, _, _ = run_on_terminal(["check", "--no-cache", HEAD, "-o", str(tmp_path / "r.txt")],
                                 "stdout")
    assert code == 1
    assert "\x1b[" not in (tmp_path / "r.txt").read_text(encoding="utf-8")
    assert "\x1b[" not in run(HEAD).stdout


def many_files(folder: Path, count: int) -> Path:
    folder.mkdir()
    for i in range(count):
        shutil.copy(REPO / HEAD, folder / f"train_{i:02d}.py")
    return folder


def test_progress_on_a_terminal_for_many_files(tmp_path: Path) -> None:
    folder = many_files(tmp_path / "many", 25)
    code, shown, stdout = run_on_terminal(
        ["check", "--no-cache", "-j", "1", str(folder), "--output-format", "concise"], "stderr")
    assert code == 1
    assert "Checking 25/25 files" in shown
    assert "\rChecking" in shown
    assert "Checking" not in stdout  # never on stdout
    assert len(stdout.splitlines()) == 25 * 3


def test_no_progress_when_few_files_or_not_a_terminal(tmp_path: Path) -> None:
    few = many_files(tmp_path / "few", 5)
    code, shown, _ = run_on_terminal(["check", "--no-cache", str(few)], "stderr")
    assert code == 1
    assert "Checking" not in shown
    many = many_files(tmp_path / "many", 25)
    result = run(str(many), "-j", "1")
    assert "Checking" not in result.stderr

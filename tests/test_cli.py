"""The `freezelint` command end to end: real files, the real CLI (click's runner and a
subprocess), exit codes, positions computed from the file text, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import Result
from helpers import invoke, position

from freezelint import __version__
from freezelint.models.ast_arch import ast_manifest
from freezelint.models.resolve import resolve_model

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/ast_head_finetune.py"
EXAMPLE_TEXT = (REPO / EXAMPLE).read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("NO_COLOR", raising=False)


def run(*args: str, input: str | bytes | None = None) -> Result:
    return invoke(*args, input=input)




def expected_lines(path: str, text: str = EXAMPLE_TEXT) -> list[str]:
    weight = position(text, "'fc.weight'")
    bias = position(text, "'fc.bias'")
    optimizer = position(text, "torch.optim.SGD(")
    return [f"{path}:{weight[0]}:{weight[1]}: FZL101 'fc.weight'",
            f"{path}:{bias[0]}:{bias[1]}: FZL101 'fc.bias'",
            f"{path}:{optimizer[0]}:{optimizer[1]}: FZL103 "]


def assert_example_report(output: str, path: str = EXAMPLE, text: str = EXAMPLE_TEXT) -> None:
    lines = output.splitlines()
    assert len(lines) == 3, output
    for line, start in zip(lines, expected_lines(path, text), strict=True):
        assert line.startswith(start), (line, start)
    assert "'mlp_head.1.weight'" in lines[0]
    assert "'mlp_head.1.bias'" in lines[1]


# -- the example -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [["--model", "ast"], []], ids=["--model ast", "auto-detect"])
def test_example_concise(model: list[str]) -> None:
    result = run("check", EXAMPLE, *model, "--output-format", "concise")
    assert result.exit_code == 1
    assert_example_report(result.stdout)
    assert result.stderr.strip() == "Found 3 problems (2 fixable with --unsafe-fixes)."


def test_example_full_format() -> None:
    result = run("check", EXAMPLE, "--model", "ast")
    assert result.exit_code == 1
    out = result.stdout
    for start in expected_lines(EXAMPLE):
        assert start in out
    line, column = position(EXAMPLE_TEXT, "'fc.weight'")
    source_line = EXAMPLE_TEXT.splitlines()[line - 1]
    gutter = " " * len(str(line))
    assert f"{line} | {source_line}\n" in out
    assert f"{gutter} | {' ' * (column - 1)}{'^' * len(repr('fc.weight'))}\n" in out
    assert "= help: Replace with 'mlp_head.1.weight' (unsafe)" in out
    frozen = position(EXAMPLE_TEXT, "p.requires_grad = False")
    assert f"  {EXAMPLE}:{frozen[0]}:{frozen[1]}: note: " in out
    assert "\x1b[" not in out  # no colour when stdout is not a terminal


def test_colour_only_when_asked() -> None:
    from freezelint.cli.report import FileResult, render_full
    from freezelint.engine.lint import lint

    diagnostics = lint(EXAMPLE_TEXT)
    coloured = render_full([FileResult(EXAMPLE, diagnostics, EXAMPLE_TEXT)], color=True)
    plain = render_full([FileResult(EXAMPLE, diagnostics, EXAMPLE_TEXT)])
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_crlf_file_reports_the_same_positions(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(EXAMPLE_TEXT.replace("\n", "\r\n").encode())
    result = run("check", str(crlf), "--model", "ast", "--output-format", "concise")
    assert result.exit_code == 1
    assert_example_report(result.stdout, str(crlf))


def test_json_output_schema() -> None:
    result = run("check", EXAMPLE, "--model", "ast", "--output-format", "json")
    assert result.exit_code == 1
    assert result.stderr == ""  # no summary: stdout is for machines, stderr stays empty
    records = json.loads(result.stdout)
    assert [r["rule"] for r in records] == ["FZL101", "FZL101", "FZL103"]
    keys = ["path", "rule", "name", "severity", "message", "range", "related", "fixes", "url"]
    for record in records:
        assert list(record) == keys
        assert record["path"] == EXAMPLE
        assert record["severity"] in {"error", "warning", "info"}
        assert set(record["range"]) == {"start", "end"}
        assert set(record["range"]["start"]) == {"line", "column"}
        assert record["url"] is None or record["url"].startswith("https://")
    line, column = position(EXAMPLE_TEXT, "'fc.weight'")
    assert records[0]["range"] == {"start": {"line": line, "column": column},
                                   "end": {"line": line, "column": column + len("'fc.weight'")}}
    fix = records[0]["fixes"][0]
    assert fix["safety"] == "unsafe"
    assert fix["edits"][0]["text"] == "'mlp_head.1.weight'"
    assert records[2]["related"][0]["message"]


def test_clean_file_json_is_an_empty_list(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    result = run("check", str(tmp_path / "ok.py"), "--output-format", "json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


# -- select / ignore / exit-zero -------------------------------------------------------------


def test_select_and_ignore() -> None:
    only = run("check", EXAMPLE, "--select", "FZL103", "--output-format", "concise")
    assert only.exit_code == 1
    assert [line.split()[1] for line in only.stdout.splitlines()] == ["FZL103"]

    prefix = run("check", EXAMPLE, "--select", "fzl1", "--ignore", "FZL103",
                 "--output-format", "concise")
    assert [line.split()[1] for line in prefix.stdout.splitlines()] == ["FZL101", "FZL101"]

    none = run("check", EXAMPLE, "--ignore", "FZL101,FZL103")
    assert none.exit_code == 0
    assert none.stdout == ""
    assert none.stderr.strip() == "All checks passed!"


def test_unknown_rule_code_is_a_usage_error() -> None:
    result = run("check", EXAMPLE, "--select", "FZL1O1")
    assert result.exit_code == 2
    assert "unknown rule code 'FZL1O1'; did you mean FZL101" in result.stderr
    assert result.stdout == ""
    assert run("check", EXAMPLE, "--ignore", "E501").exit_code == 2


def test_exit_zero() -> None:
    result = run("check", EXAMPLE, "--exit-zero", "--output-format", "concise")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3


# -- bad inputs ------------------------------------------------------------------------------


def test_syntax_error_is_a_diagnostic_and_other_files_are_linted(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("x = (\n", encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text(EXAMPLE_TEXT, encoding="utf-8")
    result = run("check", str(broken), str(good), "--output-format", "concise")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{broken}:1:")
    assert " FZL000 syntax error" in lines[0]
    assert_example_report("\n".join(lines[1:]), str(good))


def test_syntax_error_line_matches_python(tmp_path: Path) -> None:
    text = "a = 1\nb = = 2\nc = 3\n"
    (tmp_path / "bad.py").write_text(text, encoding="utf-8")
    with pytest.raises(SyntaxError) as caught:
        compile(text, "bad.py", "exec")
    result = run("check", str(tmp_path / "bad.py"), "--output-format", "concise")
    assert result.stdout.startswith(f"{tmp_path / 'bad.py'}:{caught.value.lineno}:")


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "blob.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "good.py").write_text(EXAMPLE_TEXT, encoding="utf-8")
    result = run("check", str(tmp_path), "--output-format", "concise")
    assert result.exit_code == 2  # an input error wins over findings
    assert f"{tmp_path / 'blob.py'}: error: binary file, not Python source" in result.stderr
    assert len(result.stdout.splitlines()) == 3  # the good file was still linted
    assert "1 file could not be checked" in result.stderr


def test_non_utf8_file_without_declaration(tmp_path: Path) -> None:
    data = "label = 'café'\n".encode("latin-1")
    (tmp_path / "latin.py").write_bytes(data)
    result = run("check", str(tmp_path / "latin.py"))
    assert result.exit_code == 2
    offset = data.index(b"\xe9")
    assert f"not valid utf-8 text (byte 0xe9 at offset {offset})" in result.stderr


def test_latin1_file_with_declaration(tmp_path: Path) -> None:
    text = "# -*- coding: latin-1 -*-\n# Modèle\n" + EXAMPLE_TEXT
    (tmp_path / "latin.py").write_bytes(text.encode("latin-1"))
    result = run("check", str(tmp_path / "latin.py"), "--output-format", "concise")
    assert result.exit_code == 1
    assert_example_report(result.stdout, str(tmp_path / "latin.py"), text)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_bytes(b"")
    result = run("check", str(tmp_path / "empty.py"))
    assert result.exit_code == 0
    assert result.stderr.strip() == "All checks passed!"


def test_missing_path(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope.py"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.py'}: error: no such file or directory" in result.stderr


def test_directory_walk(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "train.py").write_text(EXAMPLE_TEXT, encoding="utf-8")
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bad.py").write_bytes(b"\x00")
    (tmp_path / "notes.txt").write_bytes(b"\x00")
    result = run("check", str(tmp_path), "--output-format", "concise")
    assert result.exit_code == 1
    assert_example_report(result.stdout, str(tmp_path / "b" / "train.py"))


def test_output_is_sorted_by_path(tmp_path: Path) -> None:
    for name in ("z.py", "a.py", "m.py"):
        (tmp_path / name).write_text(EXAMPLE_TEXT, encoding="utf-8")
    result = run("check", str(tmp_path / "z.py"), str(tmp_path), "--output-format", "concise")
    paths = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert paths == sorted(paths)
    assert len(paths) == 9  # z.py given twice is linted once


def test_unknown_model() -> None:
    result = run("check", EXAMPLE, "--model", "asst")
    assert result.exit_code == 2
    assert "unknown zoo model 'asst'; did you mean ast?" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (["--model-arg", "label_dim=10"], "needs --model"),
    (["--model", "ast", "--model-arg", "label_dim"], "expected KEY=VALUE"),
    (["--model", "ast", "--model-arg", "lable_dim=3"], "unexpected argument"),
    (["--model", "missing.pt"], "model file not found: missing.pt"),
    (["--model", "ast", "--output-format", "junit"], "Invalid value for '--output-format'"),
])
def test_bad_model_options(args: list[str], message: str) -> None:
    result = run("check", EXAMPLE, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_no_paths_is_a_usage_error() -> None:
    assert run("check").exit_code == 2


def test_user_model_refused_without_trust(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text("raise SystemExit('ran')\n", encoding="utf-8")
    result = run("check", EXAMPLE, "--model", f"{tmp_path / 'net.py'}:Net",
                 "--no-trust-local-models")
    assert result.exit_code == 2
    assert "--trust-local-models" in result.stderr


def test_internal_error_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import freezelint.engine.lint

    def broken(text: str, config: object = None) -> list[object]:
        raise RuntimeError("rule exploded")

    monkeypatch.setattr(freezelint.engine.lint, "lint_result", broken)
    result = run("check", EXAMPLE, "--no-cache")
    assert result.exit_code == 2
    assert f"{EXAMPLE}: internal error: RuntimeError: rule exploded" in result.stderr


# -- stdin -----------------------------------------------------------------------------------


def test_stdin() -> None:
    result = run("check", "-", "--model", "ast", "--output-format", "concise",
                 input=EXAMPLE_TEXT.encode())
    assert result.exit_code == 1
    assert_example_report(result.stdout, "-")


def test_stdin_binary() -> None:
    result = run("check", "-", input=b"\x00\x01")
    assert result.exit_code == 2
    assert "-: error: binary file" in result.stderr


# -- model specs on check ----------------------------------------------------------------------


def test_manifest_from_params_is_accepted_by_check(tmp_path: Path) -> None:
    dumped = run("params", "--model", "ast", "--json")
    assert dumped.exit_code == 0
    (tmp_path / "ast.json").write_text(dumped.stdout, encoding="utf-8")
    result = run("check", EXAMPLE, "--model", str(tmp_path / "ast.json"),
                 "--output-format", "concise")
    assert result.exit_code == 1
    assert_example_report(result.stdout)


def test_directive_resolves_relative_to_the_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "tiny.json").write_text(ast_manifest(model_size="tiny224").dumps(),
                                       encoding="utf-8")
    text = "# freezelint: model=tiny.json\n" + EXAMPLE_TEXT.replace("from src.models import "
                                                                    "ASTModel", "")
    (project / "train.py").write_text(text, encoding="utf-8")
    result = run("check", str(project / "train.py"), "--output-format", "json")
    records = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [r["rule"] for r in records] == ["FZL101", "FZL101", "FZL103"]


@pytest.mark.torch
def test_checkpoint_with_wrapper_prefix_as_model(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from freezelint.models.architectures.ast_model import ASTModel

    model = ASTModel(label_dim=10, input_fdim=32, input_tdim=32, model_size="tiny224",
                     imagenet_pretrain=False, audioset_pretrain=False)
    wrapped = {f"module.{k}": v for k, v in model.state_dict().items()}
    assert all(k.startswith("module.") for k in wrapped)
    torch.save(wrapped, tmp_path / "audioset.pth")

    params = run("params", "--model", str(tmp_path / "audioset.pth"), "--json")
    assert params.exit_code == 0
    doc = json.loads(params.stdout)
    names = [p["name"] for p in doc["parameters"]]
    assert names == [name for name, _ in model.named_parameters()]
    assert doc["meta"]["stripped_prefix"] == "module."

    result = run("check", EXAMPLE, "--model", str(tmp_path / "audioset.pth"),
                 "--output-format", "concise")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(expected_lines(EXAMPLE)[0])
    assert any(" FZL103 " in line for line in lines)


# -- params --------------------------------------------------------------------------------


def _params_json(*args: str) -> dict[str, object]:
    result = run("params", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_params_json_states_the_design_facts() -> None:
    result = run("params", "--model", "ast", "--json")
    assert result.stdout == resolve_model("ast").dumps()  # exactly manifest.dumps()
    doc = json.loads(result.stdout)
    parameters = doc["parameters"]
    names = [p["name"] for p in parameters]
    shapes = {p["name"]: p["shape"] for p in parameters}
    assert len(names) == 159
    assert doc["buffers"] == []
    assert names[:3] == ["v.cls_token", "v.pos_embed", "v.dist_token"]
    assert names[3:5] == ["v.patch_embed.proj.weight", "v.patch_embed.proj.bias"]
    layers = ["norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"]
    blocks = [f"v.blocks.{i}.{layer}.{kind}"
              for i in range(12) for layer in layers for kind in ("weight", "bias")]
    assert names[5:5 + len(blocks)] == blocks
    assert names[5 + len(blocks):] == [
        "v.norm.weight", "v.norm.bias", "v.head.weight", "v.head.bias",
        "v.head_dist.weight", "v.head_dist.bias", "mlp_head.0.weight", "mlp_head.0.bias",
        "mlp_head.1.weight", "mlp_head.1.bias"]
    assert names[0] == "v.cls_token"
    assert names[-1] == "mlp_head.1.bias"
    assert shapes["v.cls_token"] == [1, 1, 768]
    assert shapes["v.pos_embed"] == [1, 1214, 768]
    assert shapes["v.patch_embed.proj.weight"] == [768, 1, 16, 16]
    assert shapes["v.blocks.11.attn.qkv.weight"] == [3 * 768, 768]
    assert shapes["v.head.weight"] == [1000, 768]
    assert shapes["mlp_head.1.weight"] == [527, 768]


@pytest.mark.parametrize("args", [
    ["--model", "ast", "--model-arg", "label_dim=10", "--model-arg", "input_tdim=512"],
    ["--model", "ast(label_dim=10, input_tdim=512)"],
])
def test_params_with_arguments(args: list[str]) -> None:
    shapes = {p["name"]: p["shape"] for p in _params_json(*args)["parameters"]}  # type: ignore[index]
    assert len(shapes) == 159
    assert shapes["v.pos_embed"] == [1, 602, 768]
    assert shapes["mlp_head.1.weight"] == [10, 768]


def test_params_listing() -> None:
    result = run("params", "--model", "ast", "--flat")  # the tree: tests/test_explain.py
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    manifest = ast_manifest()
    assert len(lines) == 160
    assert lines[1].split() == ["v.pos_embed", "[1,", "1214,", "768]", "float32"]
    total = manifest.total_numel
    assert lines[-1] == f"159 parameters, {total / 1e6:.1f}M elements"


def test_params_needs_a_model() -> None:
    result = run("params")
    assert result.exit_code == 2
    assert "--model" in result.stderr
    assert run("params", "--model", "nope_model").exit_code == 2


# -- models, rule, version ---------------------------------------------------------------------


def test_models_table_and_json() -> None:
    table = run("models")
    assert table.exit_code == 0
    header, first = table.stdout.splitlines()[:2]
    assert header.split()[:3] == ["ID", "LIBRARY", "PARAMS"]
    assert first.split()[:3] == ["ast", "freezelint", "159"]
    entries = json.loads(run("models", "--json").stdout)
    assert entries[0]["id"] == "ast"
    assert {"resnet50", "vit_b_16"} <= {e["id"] for e in entries}


def test_rule() -> None:
    from freezelint.common.rule_docs import all_rule_docs

    docs = all_rule_docs()
    if "FZL101" not in docs:
        pytest.skip("rules/FZL101-*.md not written yet")
    result = run("rule", "FZL101")
    assert result.exit_code == 0
    assert result.stdout.startswith("# FZL101 ")
    assert docs["FZL101"].section("What it does").splitlines()[0] in result.stdout
    assert run("rule", "fzl101").stdout == result.stdout
    every = run("rule", "--all")
    assert every.stdout.count("\n# FZL") + every.stdout.startswith("# FZL") == len(docs)


def test_unknown_rule() -> None:
    result = run("rule", "FZL1O1")
    assert result.exit_code == 2
    assert "unknown rule 'FZL1O1'; did you mean FZL101" in result.stderr
    assert run("rule").exit_code == 2


def test_version() -> None:
    assert run("version").stdout == f"freezelint {__version__}\n"
    assert run("--version").stdout == f"freezelint {__version__}\n"


# -- subprocesses: the real entry point, and no torch --------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}


def test_python_dash_m() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "freezelint", "check", EXAMPLE, "--model", "ast",
         "--output-format", "concise"],
        capture_output=True, text=True, cwd=REPO, env=_env(), check=False)
    assert completed.returncode == 1, completed.stderr
    assert_example_report(completed.stdout)
    assert "Traceback" not in completed.stderr


def test_python_dash_m_bad_input(tmp_path: Path) -> None:
    (tmp_path / "blob.py").write_bytes(b"\x00")
    completed = subprocess.run(
        [sys.executable, "-m", "freezelint", "check", str(tmp_path / "blob.py"),
         str(tmp_path / "missing.py"), "--model", "ast"],
        capture_output=True, text=True, cwd=REPO, env=_env(), check=False)
    assert completed.returncode == 2
    assert "binary file" in completed.stderr
    assert "no such file or directory" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_check_never_imports_torch() -> None:
    code = textwrap.dedent(f"""
        import sys
        from freezelint.cli.main import main
        try:
            main(["check", {EXAMPLE!r}, "--model", "ast", "--output-format", "json"])
        except SystemExit as exit:
            assert exit.code == 1, exit.code
        assert "torch" not in sys.modules, "torch was imported"
        assert "rich" not in sys.modules, "rich was imported for plain output"
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=REPO, env=_env(), check=False)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)[0]["rule"] == "FZL101"


def test_lsp_accepts_the_stdio_flag_clients_pass() -> None:
    # vscode-languageclient appends --stdio; the server must not exit on it.
    result = run("lsp", "--stdio", "--help")
    assert result.exit_code == 0
    assert "--stdio" in result.stdout


def test_rule_json_lists_every_rule_with_its_catalog_entry() -> None:
    import json as json_module

    from freezelint.common.rule_docs import all_rule_docs

    everything = json_module.loads(run("rule", "--all", "--json").stdout)
    assert [r["id"] for r in everything] == sorted(all_rule_docs())
    one = json_module.loads(run("rule", "FZL101", "--json").stdout)
    assert one["name"] == "name-matches-nothing" and one["fix"] == "unsafe"
    assert one["summary"].startswith("Checks every string compared")

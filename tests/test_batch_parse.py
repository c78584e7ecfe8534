"""A run over many files parses each file outside the garbage collector and without libcst's
per-node validation (cli/batch.py): the tree must be the one libcst builds, and nothing
else may lose either (a fix's nodes are validated; the collector runs again)."""

from __future__ import annotations

import gc
from pathlib import Path

import libcst as cst
import pytest

from freezelint.cli.batch import _parse_outside_collection

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ast_head_finetune.py"


def test_the_tree_is_libcsts_own() -> None:
    text = EXAMPLE.read_text()
    tree = _parse_outside_collection(text)
    assert tree.deep_equals(cst.parse_module(text))
    assert tree.code == text


def test_nodes_built_after_it_are_validated_again() -> None:
    _parse_outside_collection("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Comparison(cst.Name("a"), [])  # a comparison needs a comparator


def test_a_text_that_does_not_parse_leaves_validation_and_the_collector_on() -> None:
    enabled = gc.isenabled()
    gc.enable()
    try:
        with pytest.raises(cst.ParserSyntaxError):
            _parse_outside_collection("def (:\n")
        assert gc.isenabled()
        with pytest.raises(cst.CSTValidationError):
            cst.Comparison(cst.Name("a"), [])
    finally:
        if not enabled:
            gc.disable()


PROJECT_SCRIPT = (
    "from models import GPT, GPTConfig\n\n"
    "model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16))\n"
    "for name, p in model.named_parameters():\n"
    "    if not name.startswith('transformer.h.7.'):\n"
    "        p.requires_grad = False\n")


def test_the_projects_chunks_are_parsed_the_same_way_in_a_run_over_many_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The class reader's chunks (each definition of a project module) are parsed without
    validation in such a run too: the model read from them, and so the findings, are the
    same as in a one-file run."""
    from freezelint.analysis.classes import module_index, project
    from freezelint.cli import batch
    from freezelint.engine import lint as engine
    from freezelint.engine.lint import LintConfig, lint

    fixture = Path(__file__).resolve().parent / "fixtures" / "static_models" / "gpt.py"
    (tmp_path / "models.py").write_text(fixture.read_text(), encoding="utf-8")
    script = tmp_path / "train.py"
    script.write_text(PROJECT_SCRIPT, encoding="utf-8")

    def fresh_caches() -> None:  # (each run reads the project anew)
        module_index._STATEMENTS.clear()
        project._PARSED.clear()

    fresh_caches()
    one_file = lint(PROJECT_SCRIPT, LintConfig(path=script))
    assert [d.rule for d in one_file] == ["FZL101", "FZL103"]
    parsed: list[str] = []

    def counted(text: str) -> cst.Module:
        parsed.append(text)
        return batch._parse_unvalidated(text)

    monkeypatch.setattr(engine, "parse_module", engine.parse_module)  # restored after
    monkeypatch.setattr(module_index, "parse_chunk", module_index.parse_chunk)
    batch.parse_outside_collection()
    assert module_index.parse_chunk is batch._parse_unvalidated
    monkeypatch.setattr(module_index, "parse_chunk", counted)
    fresh_caches()
    assert lint(PROJECT_SCRIPT, LintConfig(path=script)) == one_file
    assert any("class GPT" in text for text in parsed)  # the chunks went that way
    for text in parsed:
        assert batch._parse_unvalidated(text).deep_equals(cst.parse_module(text))

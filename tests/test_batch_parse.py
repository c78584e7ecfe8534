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

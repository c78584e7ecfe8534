"""The editor's incremental parse gives exactly the lint results of a whole-file parse, and
after an edit only the changed statement is parsed again."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from freezelint.analysis.incremental import StatementCache
from freezelint.common.rule_docs import all_rule_docs
from freezelint.engine.lint import LintConfig, analyze
from freezelint.models.zoo import load_zoo

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from lsp_latency import training_script  # noqa: E402


def _texts() -> list[tuple[str, str, str | None]]:
    texts = [(f"{d.id}-{k}", d.example(h) or "", d.model) for d in all_rule_docs().values()
             for k, h in (("flagged", "Example"), ("fixed", "Use instead"))]
    texts += [(p.name, p.read_text(), None) for p in sorted((ROOT / "examples").glob("*.py"))]
    texts.append(("training-1000", training_script(1000), None))
    texts.append(("crlf", (ROOT / "examples" / "ast_head_finetune.py").read_text()
                  .replace("\n", "\r\n"), None))
    texts.append(("no-final-newline", "import torchvision\nmodel = torchvision.models."
                  "resnet50()\nmodel.fc.requires_grad = False", None))
    return texts


def _same(a, b) -> None:
    assert a.diagnostics == b.diagnostics
    assert a.name_matches == b.name_matches
    assert a.optimizers == b.optimizers


@pytest.mark.parametrize(("name", "text", "model"), _texts(), ids=[t[0] for t in _texts()])
def test_incremental_parse_gives_the_same_results(name, text, model):
    config = LintConfig(model=load_zoo(model) if model else None)
    cache = StatementCache()
    _same(analyze(text, config, statements=cache), analyze(text, config))
    # Again from the cache: reused statements and remembered positions, same results.
    _same(analyze(text, config, statements=cache), analyze(text, config))


def test_an_edit_reparses_only_the_changed_statement():
    text = training_script(1000)
    cache = StatementCache()
    analyze(text, statements=cache)
    first = cache.parsed
    assert first > 10
    edited = text.replace("lr=1e-3", "lr=2e-3", 1)
    assert edited != text
    _same(analyze(edited, statements=cache), analyze(edited))
    assert cache.parsed == first + 1

"""The editor's incremental parse gives exactly the lint results of a whole-file parse, and
after an edit only the changed statement is parsed again."""

from __future__ import annotations

import ast
import random
import sys
import warnings
from pathlib import Path

import pytest

from freezelint.analysis import incremental
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
    assert a.coverage == b.coverage


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


def _python_lines(text: str) -> list[int] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return [statement.lineno for statement in ast.parse(text).body]
        except SyntaxError:
            return None


# Edits at the seams between top-level statements, where an incremental cut could go wrong:
# lines joined, a clause that continues the statement before, an indented line that does,
# a string opened, a decorator left without its function, a backslash continuation.
SEAMS = [
    ("join two statements", "import os\n", "import os"),
    ("continue an if", "\n\ndef train_epoch_0", "\nelse:\n    pass\n\ndef train_epoch_0"),
    ("indent into the function before", "\n\n@torch.no_grad()\ndef evaluate_0",
     "\n    extra = 1\n\n@torch.no_grad()\ndef evaluate_0"),
    ("open a string", "# New classifier", '"""# New classifier'),
    ("a decorator alone", "def train_epoch_1", "@dec\n\nx = 1\ndef train_epoch_1"),
    ("a backslash at a statement's end", "import time\n", "import time \\\n"),
]


@pytest.mark.parametrize(("name", "old", "new"), SEAMS, ids=[s[0] for s in SEAMS])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_an_edit_at_a_seam_cuts_as_a_whole_parse(name, old, new, newline):
    text = training_script(300)
    assert old in text
    edited = text.replace(old, new, 1).replace("\n", newline)
    cache = StatementCache()
    cache.parse(text.replace("\n", newline))
    assert cache.statement_lines(edited) is None  # nothing cut yet for this text
    try:
        module = cache.parse(edited)
    except Exception as error:  # the whole parse fails the same way
        with pytest.raises(type(error)):
            incremental.cst.parse_module(edited)
        return
    assert module.code == edited
    assert cache.statement_lines(edited) == _python_lines(edited)


def test_random_edits_cut_as_a_whole_parse():
    """Every kind of keystroke, anywhere: the cut of an edited text (its chunks, and the
    line of each statement) is the one Python's parse of the whole text gives."""
    rng = random.Random(7)
    pieces = ["\n", "\r\n", "\r", " ", "    ", "x", "(", ")", "'", '"""', "\\\n", "else:\n",
              "    pass\n", "#", "def f():\n", "@d\n", ";", ":", "\t",
              "from __future__ import annotations\n"]
    texts = [training_script(200), *[t for _, t, _ in _texts() if t.count("\n") > 5][:12]]
    compared = 0
    for text in texts:
        cache = StatementCache()
        current = text
        for _ in range(60):
            at = rng.randrange(len(current) + 1)
            if rng.random() < 0.5:
                edited = current[:at] + rng.choice(pieces) + current[at:]
            else:
                edited = current[:at] + current[at + rng.randint(1, 3):]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cut = cache._cut(edited)
                whole = incremental.Cut.of(edited)
            assert (cut is None) == (whole is None)
            if cut is not None and whole is not None:
                assert (cut.chunks, cut.sizes, cut.starts) == \
                    (whole.chunks, whole.sizes, whole.starts)
                assert cut.lines() == _python_lines(edited)
                current = edited  # go on from a text that parses
                compared += 1
    assert compared > 100


def test_a_keystroke_does_not_parse_the_whole_text_again(monkeypatch):
    """After a one-character edit, Python's parser reads only the chunk it touched."""
    text = training_script(1000)
    cache = StatementCache()
    cache.parse(text)
    parsed: list[int] = []
    real = ast.parse

    def recording(source, *args, **kwargs):
        parsed.append(len(source))
        return real(source, *args, **kwargs)

    edited = text.replace("lr=1e-3", "lr=1e-4", 1)
    whole = analyze(edited)
    monkeypatch.setattr(incremental.ast, "parse", recording)  # (the one `ast` module)
    _same(analyze(edited, statements=cache), whole)
    assert parsed
    assert max(parsed) < len(text) / 20

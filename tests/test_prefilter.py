"""The text pre-filter may skip work, never findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from freezelint.lint import LintConfig, lint
from freezelint.models.zoo import load_zoo
from freezelint.prefilter import worth_linting
from freezelint.rule_docs import all_rule_docs

ROOT = Path(__file__).parent.parent
TEXTS = [
    *[(f"{d.id}-example", d.example("Example"), d.model) for d in all_rule_docs().values()],
    *[(f"{d.id}-fixed", d.example("Use instead"), d.model) for d in all_rule_docs().values()],
    *[(p.name, p.read_text(), None) for p in sorted((ROOT / "examples").glob("*.py"))],
]


@pytest.mark.parametrize("explicit", [False, True], ids=["auto", "explicit-model"])
@pytest.mark.parametrize(("name", "text", "model"), TEXTS, ids=[t[0] for t in TEXTS])
def test_prefilter_never_skips_a_file_with_a_finding(name, text, model, explicit):
    manifest = load_zoo(model) if explicit and model else None
    unfiltered = lint(text, LintConfig(model=manifest, prefilter=False))
    filtered = lint(text, LintConfig(model=manifest))
    assert filtered == unfiltered
    if any(d.rule != "FZL000" for d in unfiltered):  # syntax errors are checked either way
        assert worth_linting(text, explicit_model=manifest is not None)


def test_prefilter_skips_unrelated_code():
    text = "import json\n\ndef load(path):\n    with open(path) as f:\n        return json.load(f)\n"
    assert not worth_linting(text, explicit_model=False)
    assert not worth_linting(text, explicit_model=True)

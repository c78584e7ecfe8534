"""Every rule's documentation is executable: the flagged example raises exactly that rule,
the fixed example is clean, and the rule's fix turns one into the other."""

from __future__ import annotations

import pytest

from freezelint.checks import REGISTRY
from freezelint.fixes import fix_text
from freezelint.lint import lint
from freezelint.rule_docs import all_rule_docs

DOCS = sorted(all_rule_docs().values(), key=lambda d: d.id)


def test_every_rule_is_documented_and_every_document_is_a_rule():
    documented = set(all_rule_docs())
    assert set(REGISTRY) | {"FZL000"} == documented


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.id)
def test_flagged_example_reports_exactly_its_rule(doc, config_for):
    flagged = doc.example("Example")
    assert flagged, f"{doc.file} has no Example block"
    diagnostics = lint(flagged, config_for(doc.model))
    assert {d.rule for d in diagnostics} == {doc.id}, [(d.rule, d.message) for d in diagnostics]
    assert all(d.severity == doc.severity for d in diagnostics)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.id)
def test_fixed_example_is_clean(doc, config_for):
    fixed = doc.example("Use instead")
    assert fixed, f"{doc.file} has no 'Use instead' block"
    diagnostics = lint(fixed, config_for(doc.model))
    assert diagnostics == [], [(d.rule, d.message) for d in diagnostics]


@pytest.mark.parametrize("doc", [d for d in DOCS if d.fix != "none"], ids=lambda d: d.id)
def test_fix_turns_the_example_into_the_fixed_example(doc, config_for):
    result = fix_text(doc.example("Example"), config_for(doc.model), unsafe=doc.fix == "unsafe")
    assert result.text == doc.example("Use instead")


@pytest.mark.parametrize("doc", [d for d in DOCS if d.fix == "unsafe"], ids=lambda d: d.id)
def test_unsafe_fix_is_not_applied_without_unsafe_fixes(doc, config_for):
    flagged = doc.example("Example")
    assert fix_text(flagged, config_for(doc.model)).text == flagged


@pytest.mark.parametrize("doc", [d for d in DOCS if d.fix == "none"], ids=lambda d: d.id)
def test_rules_without_fix_offer_none(doc, config_for):
    diagnostics = lint(doc.example("Example"), config_for(doc.model))
    assert all(not d.fixes for d in diagnostics)

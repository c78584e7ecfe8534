"""Every rule's documentation is executable: the flagged example raises exactly that rule,
the fixed example is clean, and the rule's fix turns one into the other.

An opt-in rule (FZL900) runs only when selected, so its examples are linted with it added
to the default set (`extend_select`), the way a user turns it on."""

from __future__ import annotations

import dataclasses

import pytest

from freezelint.checks import REGISTRY
from freezelint.common.rule_docs import all_rule_docs
from freezelint.engine.fixes import fix_text
from freezelint.engine.lint import ENGINE_RULES, OPT_IN_RULES, lint

DOCS = sorted(all_rule_docs().values(), key=lambda d: d.id)


@pytest.fixture(scope="session")
def config_for(config_for):
    """The shared fixture, plus the doc's own rule when that rule is opt-in."""
    def make(model_id, rule_id=None):
        config = config_for(model_id)
        if rule_id in OPT_IN_RULES:
            config = dataclasses.replace(config, extend_select=frozenset({rule_id}))
        return config

    return make


def test_every_rule_is_documented_and_every_document_is_a_rule():
    """The checks/ rules plus the engine's own: FZL000 (parse stage) and FZL900 (filter
    stage, which alone knows which suppressions were used)."""
    documented = set(all_rule_docs())
    assert set(REGISTRY) | ENGINE_RULES == documented


@pytest.mark.parametrize("doc", [d for d in DOCS if d.id in OPT_IN_RULES], ids=lambda d: d.id)
def test_opt_in_rule_is_off_by_default(doc, config_for):
    assert lint(doc.example("Example"), config_for(doc.model)) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.id)
def test_flagged_example_reports_exactly_its_rule(doc, config_for):
    flagged = doc.example("Example")
    assert flagged, f"{doc.file} has no Example block"
    diagnostics = lint(flagged, config_for(doc.model, doc.id))
    assert {d.rule for d in diagnostics} == {doc.id}, [(d.rule, d.message) for d in diagnostics]
    assert all(d.severity == doc.severity for d in diagnostics)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.id)
def test_fixed_example_is_clean(doc, config_for):
    fixed = doc.example("Use instead")
    assert fixed, f"{doc.file} has no 'Use instead' block"
    diagnostics = lint(fixed, config_for(doc.model, doc.id))
    assert diagnostics == [], [(d.rule, d.message) for d in diagnostics]


@pytest.mark.parametrize("doc", [d for d in DOCS if d.fix != "none"], ids=lambda d: d.id)
def test_fix_turns_the_example_into_the_fixed_example(doc, config_for):
    config = config_for(doc.model, doc.id)
    result = fix_text(doc.example("Example"), config, unsafe=doc.fix == "unsafe")
    assert result.text == doc.example("Use instead")


@pytest.mark.parametrize("doc", [d for d in DOCS if d.fix == "unsafe"], ids=lambda d: d.id)
def test_unsafe_fix_is_not_applied_without_unsafe_fixes(doc, config_for):
    flagged = doc.example("Example")
    assert fix_text(flagged, config_for(doc.model, doc.id)).text == flagged


@pytest.mark.parametrize("doc", [d for d in DOCS if d.fix == "none"], ids=lambda d: d.id)
def test_rules_without_fix_offer_none(doc, config_for):
    diagnostics = lint(doc.example("Example"), config_for(doc.model, doc.id))
    assert all(not d.fixes for d in diagnostics)

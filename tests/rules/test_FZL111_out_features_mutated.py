"""FZL111 out-features-mutated: a size attribute set on a layer, which resizes nothing."""

from __future__ import annotations

import pytest
from helpers import assert_lookalike_silent_and_skipped, assert_model_free_rule_found

RULE = "FZL111"
# Forms the rule reports with no model, which the pre-filter must keep.
FOUND = [
    "model.fc.out_features = 3\n",
    "model.classifier[6].in_features = 10\n",
    "(model.fc).out_features = 3\n",
    "model.fc \\\n    .out_features = 3\n",
]
# Ordinary code that only looks similar: the rule stays silent, so nothing needs parsing.
LOOKALIKES = [
    "class Linear:\n    def __init__(self, n):\n        self.in_features = n\n        self.out_channels = n\n",
]


@pytest.mark.parametrize("text", FOUND)
def test_found_without_a_model_and_never_skipped_by_the_prefilter(text: str) -> None:
    assert_model_free_rule_found(RULE, text)


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_not_reported_nor_parsed(text: str) -> None:
    assert_lookalike_silent_and_skipped(text)

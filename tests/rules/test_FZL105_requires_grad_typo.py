"""FZL105 requires-grad-typo: an assignment to a misspelt `requires_grad` (the text test lives in
checks/attributes.py with the rule)."""

from __future__ import annotations

import pytest
from helpers import assert_lookalike_silent_and_skipped, assert_model_free_rule_found

RULE = "FZL105"
# Forms the rule reports with no model, which the pre-filter must keep.
FOUND = [
    "p.require_grad = False\n",
    "layer.requires_grad_ = False\n",
    "p.requires_grd = False\n",
    "p.Requires_grad = False\n",
]
# Ordinary code that only looks similar: the rule stays silent, so nothing needs parsing.
LOOKALIKES = [
    "def enable(self):\n    self.gradient_checkpointing = True\n    self.grad_scale = 2.0\n",
    # transformers' Whisper/WavLM encoders record that they froze themselves.
    "def _freeze_parameters(self):\n    for param in self.parameters():\n"
    "        param.requires_grad = False\n    self._requires_grad = False\n",
    "self.requires_grad_flag = True\nself.desires = []\n",
]


@pytest.mark.parametrize("text", FOUND)
def test_found_without_a_model_and_never_skipped_by_the_prefilter(text: str) -> None:
    assert_model_free_rule_found(RULE, text)


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_not_reported_nor_parsed(text: str) -> None:
    assert_lookalike_silent_and_skipped(text)

"""FZL110 parameters-not-called: `model.parameters` used without the call."""

from __future__ import annotations

import pytest
from helpers import assert_lookalike_silent_and_skipped, assert_model_free_rule_found

RULE = "FZL110"
# Forms the rule reports with no model, which the pre-filter must keep.
FOUND = [
    "for p in model.parameters:\n    p.requires_grad = False\n",
    "for p in (self.backbone\n        ).parameters:\n    p.requires_grad = False\n",
    "opt = SGD(list(net.named_parameters), lr=0.1)\n",
    "for p in (model).parameters:\n    p.requires_grad = False\n",
]
# Ordinary code that only looks similar: the rule stays silent, so nothing needs parsing.
LOOKALIKES = [
    "import sys\nfor name in sys.modules:\n    print(name)\n",
    "import inspect\nfor p in inspect.signature(f).parameters:\n    print(p)\n",
    "sig = inspect.signature(f)\nnames = list(sig.parameters)\n",
    # a call's result whose argument has a module's name (transformers' generation/utils.py)
    "import inspect\nkeys = set(inspect.signature(encoder_fn).parameters)\n",
    "import inspect\nkeys = set(inspect.signature(\n    self.encoder.forward).parameters)\n",
]


@pytest.mark.parametrize("text", FOUND)
def test_found_without_a_model_and_never_skipped_by_the_prefilter(text: str) -> None:
    assert_model_free_rule_found(RULE, text)


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_not_reported_nor_parsed(text: str) -> None:
    assert_lookalike_silent_and_skipped(text)

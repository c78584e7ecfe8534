"""FZL304 strict-false-unchecked: `load_state_dict(..., strict=False)` with the result thrown
away. The pre-filter keeps every form the rule reports without a model, and skips text whose
`strict=False` belongs to no load."""

from __future__ import annotations

import pytest
from helpers import assert_lookalike_silent_and_skipped, assert_model_free_rule_found

RULE = "FZL304"
FOUND = [
    "import torch\nmodel = build()\nmodel.load_state_dict(torch.load('ckpt.pt'), strict=False)\n",
    "import torch\nsd = torch.load(path)\nnet.load_state_dict(\n    sd,\n    strict = False,\n)\n",
]
# `strict=False` of other calls, or in a comment (transformers' generation/utils.py): no load.
LOOKALIKES = [
    "pairs = list(zip(names, values, strict=False))\n",
    "import json\nconfig = json.loads(text, strict=False)\n",
    "# deepcopy only works with ``strict=False``\nstate = copy.deepcopy(state)\n",
]


@pytest.mark.parametrize("text", FOUND)
def test_found_without_a_model_and_never_skipped_by_the_prefilter(text: str) -> None:
    assert_model_free_rule_found(RULE, text)


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_not_reported_nor_parsed(text: str) -> None:
    assert_lookalike_silent_and_skipped(text)

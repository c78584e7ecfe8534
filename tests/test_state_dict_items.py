"""`sd[key] = value` on a state dict the analysis knows (timm's tests do it to seed a model):
the key holds a tensor, of the value's shape when that is known, and a key the analysis
cannot read makes the keys unknown. Before, the value itself was stored, and FZL306 failed
on it (`'_Unknown' object has no attribute 'shape'`), so no size mismatch was checked."""

from __future__ import annotations

import logging

import pytest

from freezelint.engine.lint import LintConfig, lint

SEEDED = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
other = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 1))
sd = model.state_dict()
sd['0.weight'] = torch.tensor([[-0.2, -0.4], [-0.1, -0.3], [-0.2, 0.6]])
sd['0.bias'] = {value}
model.load_state_dict(sd)
model.requires_grad_(False)
"""


def _lint(text: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    with caplog.at_level(logging.ERROR, logger="freezelint"):
        diagnostics = lint(text, LintConfig())
    assert not [r for r in caplog.records if "failed" in r.getMessage()], caplog.text
    return [d.message for d in diagnostics if d.rule == "FZL306"]


def test_a_tensor_of_unknown_shape_is_no_mismatch(caplog):
    assert _lint(SEEDED.format(value="torch.zeros(3)"), caplog) == []


def test_a_tensor_of_another_models_shape_is_a_mismatch(caplog):
    messages = _lint(SEEDED.format(value="other.state_dict()['0.weight']"), caplog)
    assert len(messages) == 1
    assert "`0.bias` is [3, 4] in the state dict but [3]" in messages[0]


def test_a_key_that_cannot_be_read_makes_the_keys_unknown(caplog):
    text = SEEDED.format(value="other.state_dict()['0.weight']").replace(
        "model.load_state_dict(sd)", "sd[name_of_layer()] = torch.zeros(3)\n"
                                     "model.load_state_dict(sd)")
    # The unread key may be '0.bias' again, with a tensor that fits: nothing is claimed.
    assert _lint(text, caplog) == []

"""Issue 13, checkpoint loads: a load of a state dict the script saves in the key format the
receiver loads (the checkpoint flow judged that it fits, so FZL308/FZL309 have nothing to
report) was checked, and is not reported as "not checked: model unknown". A load the flow
could not judge still is."""

from __future__ import annotations

import pytest

from freezelint.engine.lint import LintConfig, lint_result

# A bare model of the project's own (unknown to the zoo) saved and loaded back into a new
# instance of the same class: the same keys on both sides.
SAVED_AND_LOADED = """\
import torch
from mylib import Net

model = Net()
torch.save(model.state_dict(), "ckpt.pt")

restored = Net()
restored.load_state_dict(torch.load("ckpt.pt"))
"""

# The same load, from a file the script does not save.
FROM_ELSEWHERE = SAVED_AND_LOADED.replace('torch.load("ckpt.pt")', 'torch.load("pretrained.pt")')

# Saved from another class: the flow cannot tell whether the keys fit.
OTHER_CLASS = SAVED_AND_LOADED.replace("model = Net()", "model = Encoder()").replace(
    "from mylib import Net", "from mylib import Encoder, Net")

# Handed to code the flow does not follow before the save, and loaded back into itself: it
# may have been compiled in place there (between the save and the load, too), so the keys
# of neither end are known.
HANDED_ON = """\
import torch
from mylib import Net, train

model = Net()
train(model)
torch.save(model.state_dict(), "ckpt.pt")
train(model)
model.load_state_dict(torch.load("ckpt.pt"))
"""

# A wrapped model saved and loaded through the same wrapper: the same `module.` keys.
WRAPPED_BOTH = """\
import torch
import torch.nn as nn
from mylib import Net

model = nn.DataParallel(Net())
torch.save(model.state_dict(), "ckpt.pt")
model.load_state_dict(torch.load("ckpt.pt"))
"""


@pytest.mark.parametrize("text", [SAVED_AND_LOADED, WRAPPED_BOTH])
def test_a_load_the_flow_found_fitting_counts_as_checked(text: str) -> None:
    analysis = lint_result(text)
    assert analysis.diagnostics == []
    assert analysis.coverage.sites == {"checkpoint load": 1}
    assert analysis.coverage.checked == {"checkpoint load": 1}
    assert analysis.coverage.unchecked() == {}
    assert analysis.coverage.first_unchecked is None
    # Without FZL308 nothing judged the key format: the load is not checked.
    ignored = lint_result(text, LintConfig(ignore=frozenset({"FZL308"})))
    assert ignored.coverage.unchecked() == {"checkpoint load": 1}


@pytest.mark.parametrize("text", [FROM_ELSEWHERE, OTHER_CLASS, HANDED_ON])
def test_a_load_the_flow_could_not_judge_stays_unchecked(text: str) -> None:
    analysis = lint_result(text, LintConfig(prefilter=False))
    assert analysis.diagnostics == []
    assert analysis.coverage.unchecked() == {"checkpoint load": 1}
    assert analysis.coverage.first_unchecked is not None

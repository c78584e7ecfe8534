"""Positions computed per statement equal libcst's whole-module positions, for every node
the analysis can report on, whatever the file's layout."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from freezelint.analysis.interpreter import Interpreter
from freezelint.analysis.positions import StatementPositions
from freezelint.common.rule_docs import all_rule_docs
from freezelint.engine.lint import zoo_resolver
from freezelint.models.zoo import load_zoo

ROOT = Path(__file__).parent.parent
LAYOUT = '''import torch  # a comment
import torchvision; import torch.nn as nn


@torch.no_grad()
@staticmethod
def helper(model):
\tfor name, p in model.named_parameters():
\t\tif name.startswith('fc'):  # tabs
\t\t\tp.requires_grad = False

class Net(nn.Module):
    """doc"""

    def __init__(self):
        super().__init__()
        self.model = torchvision.models.resnet50()
        self.model.fc.requires_grad = False
model = torchvision.models.resnet50(); helper(model)
x = [
    1,
    2,
]
optimizer = torch.optim.SGD(model.parameters, lr=0.1)
'''


def _texts() -> list[tuple[str, str, str | None]]:
    texts = [(d.id, d.example("Example") or "", d.model) for d in all_rule_docs().values()]
    texts += [(p.name, p.read_text(), None) for p in sorted((ROOT / "examples").glob("*.py"))]
    texts.append(("layout", LAYOUT, None))
    texts.append(("layout-crlf", LAYOUT.replace("\n", "\r\n"), None))
    return texts


@pytest.mark.parametrize(("name", "text", "model"), _texts(), ids=[t[0] for t in _texts()])
def test_statement_positions_equal_whole_module_positions(name, text, model):
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        pytest.skip("does not parse")
    manifest = load_zoo(model) if model else None
    facts = Interpreter(module, zoo_resolver, manifest).run()
    assert facts.owner, "the analysis placed no node"
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    lazy = StatementPositions(module, text, facts.owner)
    for node in facts.owner:
        assert lazy[node] == full[node], (name, type(node).__name__)
    assert lazy.full is None, "a placed node needed the whole-module fallback"

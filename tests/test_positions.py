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


# Every kind of block a large statement nests (try/except/else/finally, elif chains,
# for-else, while-else, with, match, one-line bodies, a `;` line, decorators over several
# lines, tabs): the node's range when only the way down to it is rendered.
NESTED = '''
class A:
    """doc"""
    x = 1; y = 2

    @property
    @other(1,
           2)
    def f(self):
        try:
            a = 1
        except ValueError as e:
            b = 2
        except (KeyError,
                TypeError):
            c = 3; d = 4
        else:
            e = 5
        finally:
            f = 6
        if a:
            g = 7
        elif b:
            h = 8
        elif c:
            for i in range(3):
                j = i
            else:
                k = 9
        else:
            while True:
                break
            else:
                pass
        with open(x) as fh, \\
                open(y) as gh:
            m = [1,
    2]
        match a:
            case 1:
                n = 1
            case _:
                o = 2
        if x: p = 1
        def inner():
            q = lambda: r
            return q
class T:
\tdef tabbed(self):
\t\tif x:
\t\t\treturn [1,
\t\t\t  2]
'''


@pytest.mark.parametrize("threshold", ["every statement", "one-off"])
@pytest.mark.parametrize("name", ["nested", "nested-crlf", "interpreter.py"])
def test_a_node_in_a_large_statement_is_placed_as_the_whole_module_places_it(
        name: str, threshold: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from freezelint.analysis import positions
    from freezelint.analysis.walk import walk

    if threshold == "every statement":
        monkeypatch.setattr(positions, "LARGE_STATEMENT", 0)  # every statement takes that way
        monkeypatch.setattr(positions, "ONE_OFF_STATEMENT", 0)
    # else: a lint without a memo (the command line) takes that way from ONE_OFF_STATEMENT
    # lines: the methods of interpreter.py's classes and its long functions
    text = {"nested": NESTED, "nested-crlf": NESTED.replace("\n", "\r\n"),
            "interpreter.py": (ROOT / "freezelint/analysis/interpreter.py").read_text()}[name]
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    owner = {node: index for index, statement in enumerate(module.body)
             for node in walk(statement)}
    step = 1 if name.startswith("nested") else 17  # a sample of the large file's nodes
    for node in list(owner)[::step]:
        # a fresh instance per node: the first node of a statement takes the large way
        assert StatementPositions(module, text, owner)[node] == expected[node], node

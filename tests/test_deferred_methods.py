"""A project class is read without its methods' bodies, a function without its body, each
parsed when first run.

analysis/classes/module_index.py gives libcst a skeleton (long bodies replaced by `...`) and
parses a function's own text when the reader runs it. What the reader sees must be
what a whole parse gives: the skeleton with its bodies read back is the class's text, on real
code and on every layout a method can have. A body libcst cannot parse makes what it could
build unknown, as an unparseable class did before: nothing is reported on a name it might
have registered."""

from __future__ import annotations

import hashlib
from pathlib import Path

import libcst as cst
import pytest

from freezelint.analysis.classes.module_index import ModuleIndex
from freezelint.engine.lint import Analysis, LintConfig, analyze

FIXTURES = Path(__file__).parent / "fixtures" / "static_models"

# Every layout a method's header and body can take, in one class.
LAYOUTS = '''import torch.nn as nn


@decorate(
    "a class decorator spanning lines",
)
class Layouts(nn.Module):
    """A docstring."""

    size = 4  # a class attribute

    def __init__(self, width: int = 4,
                 depth: int = 2) -> None:  # a signature over two lines
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            self.blocks.append(nn.Linear(width, width))

    def one_line(self): return self.fc

    def short(self):
        return 1

    @property
    @decorate(
        "a decorator spanning lines")
    def decorated(self):
        """A docstring first."""
        x = 1
        y = 2
        return x + y

    async def asynchronous(self):
        a = 1; b = 2
        c = 3
        return a + b + c

    def continued(self) \\
            -> int:
        first = 1
        # a comment inside
        second = 2

        return first + second

    class Nested:
        def method(self):
            a = 1
            b = 2
            c = 3
            return a + b + c

    def last(self):
    \tx = 1
    \ty = 2
    \tz = 3
    \treturn x + y + z


@decorate
def module_function(
    a,
    b,
):
    """A function of the module."""
    c = a + b
    d = c * 2
    return d
'''


def _round_trip(text: str) -> int:
    """Assert each class or function chunk, its deferred bodies read back, is its own text;
    return how many chunks had bodies deferred."""
    index = ModuleIndex.of(text, hashlib.sha256(text.encode()).hexdigest())
    assert index is not None
    for chunk in index.deferred:
        first, last = index.spans[chunk]
        whole = "".join(index._lines[first - 1:last])
        statements = list(index.statements(chunk))
        assert cst.parse_module(whole).with_changes(body=statements).code == whole
    return len(index.deferred)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_every_method_layout_reads_back_as_written(newline: str) -> None:
    assert _round_trip(LAYOUTS.replace("\n", newline)) == 2  # the class, the function


def test_real_model_classes_read_back_as_written() -> None:
    files = sorted(FIXTURES.rglob("*.py"))
    assert sum(_round_trip(f.read_text()) for f in files) >= 10


MODEL = '''import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(4, 8)
        self._add_head()
        flag = {flag}

    def _add_head(self):
        width = 8
        classes = 2
        self.head = nn.Linear(width, classes)
        self.norm = make_norm(classes)
        done = {done}


def make_norm(width):
    eps = 1e-5
    affine = True
    norm = nn.LayerNorm(width, eps=eps, elementwise_affine=affine)
    return {built}
'''

SCRIPT = '''from models import Net

model = Net()
for name, p in model.named_parameters():
    if not name.startswith("classifier"):
        p.requires_grad = False
'''

# Python parses a flat chain of 300 `or`s; libcst is not given it (inputs/nesting.py).
TOO_DEEP = " or ".join(["a"] * 300)


def _analyse(tmp_path: Path, flag: str = "True", done: str = "True",
             built: str = "norm") -> Analysis:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "models.py").write_text(MODEL.format(flag=flag, done=done, built=built))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return analyze(SCRIPT, LintConfig(path=script))


def test_methods_read_on_demand_give_the_real_names(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path)
    [model] = analysis.models
    # registered by the method __init__ calls, and built by the module's function it calls
    assert [p.name for p in model.parameters] == [
        "backbone.weight", "backbone.bias", "head.weight", "head.bias", "norm.weight",
        "norm.bias"]
    assert [d.rule for d in analysis.diagnostics] == ["FZL101", "FZL103"]


@pytest.mark.parametrize("where", ["flag", "done", "built"])
def test_an_unreadable_body_leaves_what_it_builds_unknown(tmp_path: Path, where: str) -> None:
    analysis = _analyse(tmp_path, **{where: f"norm if {TOO_DEEP} else norm"})
    assert analysis.diagnostics == []  # not FZL101 and FZL103 on a model partly unknown

"""A project class is read without its methods' bodies, each parsed when first run.

analysis/classes/module_index.py gives libcst a class's skeleton (long method bodies replaced
by `...`) and parses a method's own text when the reader runs it. What the reader sees must be
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
from freezelint.engine.lint import LintConfig, lint_result

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
'''


def _round_trip(text: str) -> int:
    """Assert each class chunk, its deferred bodies read back, is the class's own text;
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
    assert _round_trip(LAYOUTS.replace("\n", newline)) == 1


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
        done = {done}
'''

SCRIPT = '''from models import Net

model = Net()
for name, p in model.named_parameters():
    if not name.startswith("classifier"):
        p.requires_grad = False
'''

# Python parses a flat chain of 300 `or`s; libcst is not given it (inputs/nesting.py).
TOO_DEEP = " or ".join(["a"] * 300)


def _lint(tmp_path: Path, flag: str, done: str) -> list[str]:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "models.py").write_text(MODEL.format(flag=flag, done=done))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    analysis = lint_result(SCRIPT, LintConfig(path=script))
    return [d.message for d in analysis.diagnostics if d.rule == "FZL101"]


def test_methods_read_on_demand_give_the_real_names(tmp_path: Path) -> None:
    [message] = _lint(tmp_path, "True", "True")
    assert "'head" in message  # registered by the helper method __init__ calls


@pytest.mark.parametrize("where", ["__init__", "helper"])
def test_an_unreadable_body_leaves_what_it_builds_unknown(tmp_path: Path, where: str) -> None:
    flag, done = (TOO_DEEP, "True") if where == "__init__" else ("True", TOO_DEEP)
    assert _lint(tmp_path, flag, done) == []

"""Property: a static manifest never claims a name torch does not produce.

Hypothesis writes model classes from the idioms real code uses (layers with flags, nested
Sequential/ModuleList/ModuleDict, loops, setattr with computed names, nn.Parameter,
buffers, tied weights, shared and deleted modules, branches on known and unknown values); each is read statically and
built by torch on the meta device. Every parameter and buffer the static manifest lists must
exist in torch's model with the same shape, in the same relative order; every name torch
produces must be listed or lie in one of the manifest's holes."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from freezelint.analysis.classes import read_class  # noqa: E402

SIZES = st.sampled_from([2, 3, 4, 6, 8])

LAYERS = st.one_of(
    st.builds(lambda i, o, b: f"nn.Linear({i}, {o}, bias={b})", SIZES, SIZES, st.booleans()),
    st.builds(lambda i, o, k, g: f"nn.Conv2d({i * g}, {o * g}, {k}, groups={g})",
              SIZES, SIZES, st.sampled_from([1, 3, (1, 3)]), st.sampled_from([1, 2])),
    st.builds(lambda n, a: f"nn.BatchNorm1d({n}, affine={a})", SIZES, st.booleans()),
    st.builds(lambda n, t: f"nn.LayerNorm({n}, elementwise_affine={t})", SIZES, st.booleans()),
    st.builds(lambda i, h, n, b: f"nn.GRU({i}, {h}, num_layers={n}, bidirectional={b})",
              SIZES, SIZES, st.sampled_from([1, 2]), st.booleans()),
    st.builds(lambda e, kv: f"nn.MultiheadAttention({e * 2}, 2, add_bias_kv={kv})",
              SIZES, st.booleans()),
    st.just("nn.ReLU()"), st.just("nn.Identity()"),
    st.builds(lambda n: f"nn.Embedding(10, {n})", SIZES),
    st.just("make_unknown()"),  # a call the reader cannot follow: a hole
)


@st.composite
def modules(draw: st.DrawFn, depth: int = 0) -> str:
    """An expression that builds a module."""
    if depth >= 2:
        return draw(LAYERS)
    kind = draw(st.sampled_from(["layer", "layer", "sequential", "modulelist", "moduledict"]))
    if kind == "layer":
        return draw(LAYERS)
    items = draw(st.lists(modules(depth + 1), min_size=0, max_size=3))
    if kind == "sequential":
        return f"nn.Sequential({', '.join(items)})"
    if kind == "modulelist":
        if draw(st.booleans()) and items:
            return f"nn.ModuleList([{items[0]} for _ in range({draw(st.integers(0, 3))})])"
        return f"nn.ModuleList([{', '.join(items)}])"
    pairs = ", ".join(f"'k{i}': {item}" for i, item in enumerate(items))
    return f"nn.ModuleDict({{{pairs}}})"


@st.composite
def statements(draw: st.DrawFn) -> list[str]:
    lines: list[str] = []
    for index in range(draw(st.integers(1, 6))):
        form = draw(st.sampled_from(["attr", "attr", "setattr", "param", "buffer", "loop",
                                     "if_known", "if_unknown", "tie", "share", "del", "none"]))
        module = draw(modules())
        if form == "attr":
            lines.append(f"self.m{index} = {module}")
        elif form == "setattr":
            lines.append(f"setattr(self, 'm' + str({index}), {module})")
        elif form == "param":
            lines.append(f"self.p{index} = nn.Parameter(torch.zeros({draw(SIZES)}, 2))")
        elif form == "buffer":
            persistent = draw(st.booleans())
            lines.append(f"self.register_buffer('b{index}', torch.ones({draw(SIZES)}), "
                         f"persistent={persistent})")
        elif form == "loop":
            lines.append(f"self.l{index} = nn.ModuleList()")
            lines.append(f"for i in range({draw(st.integers(0, 3))}):")
            lines.append(f"    self.l{index}.append({module})")
        elif form == "if_known":
            lines.append(f"if {draw(st.booleans())}:")
            lines.append(f"    self.c{index} = {module}")
        elif form == "if_unknown":
            lines.append("if flag:")
            lines.append(f"    self.u{index} = {module}")
        elif form == "tie":
            lines.append(f"self.t{index}a = nn.Linear(4, 4)")
            lines.append(f"self.t{index}b = nn.Linear(4, 4)")
            lines.append(f"self.t{index}b.weight = self.t{index}a.weight")
        elif form == "share":  # one module under two names
            lines.append(f"self.s{index} = {module}")
            lines.append(f"self.r{index} = self.s{index}")
        elif form == "del":
            lines.append(f"self.d{index} = {module}")
            lines.append(f"del self.d{index}")
        else:
            lines.append(f"self.n{index} = None")
    return lines


def _source(body: list[str]) -> str:
    inner = textwrap.indent("\n".join(["super().__init__()", *body]), " " * 8)
    return ("import os\nimport torch\nimport torch.nn as nn\n\n\n"
            "def make_unknown():\n    return nn.Linear(3, int(os.environ.get('N', 5)))\n\n\n"
            "class Model(nn.Module):\n"
            "    def __init__(self, flag=bool(os.environ.get('FLAG'))):\n"
            f"{inner}\n")


def _torch_names(torch, path: Path) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    name = f"_property_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        with torch.device("meta"):
            model = module.Model()
    finally:
        sys.modules.pop(name, None)
    params = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    buffers = [(n, tuple(b.shape)) for n, b in model.named_buffers()]
    return params, buffers


@pytest.mark.torch
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=statements())
def test_static_names_are_torch_names(tmp_path_factory: pytest.TempPathFactory,
                                      body: list[str]) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("model") / "model.py"
    path.write_text(_source(body))
    static = read_class(path, "Model")
    assert static is not None
    params, buffers = _torch_names(torch, path)
    real = dict(params + buffers)
    claimed = [(p.name, p.known_shape) for p in static.parameters] + \
        [(b.name, b.known_shape) for b in static.buffers]
    for name, shape in claimed:
        assert name in real, f"static claims {name}, torch has no such name:\n{path.read_text()}"
        # a shape the reader could not evaluate is unknown (None), never a wrong one
        assert shape is None or tuple(real[name]) == tuple(shape), name
    # In torch's order, as far as the static manifest lists them.
    order = [n for n, _ in params]
    listed = [p.name for p in static.parameters]
    assert listed == [n for n in order if n in set(listed)]
    # Nothing torch produces is missing unless it lies in a hole.
    listed_all = {n for n, _ in claimed}
    for name in real:
        assert name in listed_all or static.in_hole(name), \
            f"torch has {name}, the static manifest neither lists it nor has a hole there"

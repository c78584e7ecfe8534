"""What a `torch.nn` layer registers, as a function of its constructor arguments, without torch.

`nn_table.json` is generated from torch itself (`nn_table_generator.py` builds every
`torch.nn` class on the meta device with varied arguments and infers which names exist under
which flags and which argument each shape dimension comes from). This module evaluates that
table for one call: `nn.LSTM(32, 64, num_layers=2, bidirectional=True)` gives the parameter
names and shapes torch would register, in registration order.

A class the generator could not model, an argument this table does not know, or an argument
whose value the caller could not evaluate gives None: the caller makes that layer a hole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TABLE_FILE = Path(__file__).parent / "nn_table.json"

# Argument kinds, as the generator classifies them:
#   size   an int (or tuple of ints) that shapes depend on
#   count  an int that repeats a block of names (RNN num_layers, TransformerEncoder layers)
#   bool   a flag that adds or removes names (bias, affine, bidirectional...)
#   none   None or a size: whether it is None changes names (MultiheadAttention kdim)
#   zero   0 or a size: whether it is 0 changes names (LSTM proj_size)
#   module a module the layer registers (TransformerEncoder's layer, deep-copied per index)
#   free   changes nothing torch registers (dropout, eps, device, activation...)
#   refused  in the signature, but the class refuses it (GRU and RNNBase's proj_size)
FREE = "free"


class Unknown:
    """Stands for an argument value the caller could not evaluate."""


UNKNOWN_ARG = Unknown()


@dataclass(frozen=True)
class Module:
    path: str  # relative to the layer ('' for the layer itself)
    type: str
    attrs: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Tensor:
    name: str  # relative to the layer
    shape: tuple[int, ...] | None  # None: depends on a size the caller could not evaluate
    buffer: bool = False
    persistent: bool = True


@dataclass(frozen=True)
class Splice:
    """The module passed as argument `arg` is registered at `path` (a copy of it when the
    layer deep-copies, as TransformerEncoder does for each layer)."""

    path: str
    value: Any


Record = Module | Tensor | Splice


@cache
def _table() -> dict[str, Any]:
    return json.loads(TABLE_FILE.read_text(encoding="utf-8"))


def table_version() -> str:
    return str(_table().get("torch", "?"))


def known_class(name: str) -> bool:
    """Whether `torch.nn.<name>` is a layer class of the table (modelled or a hole)."""
    return name in _table()["classes"]


def modelled(name: str) -> bool:
    return _table()["classes"].get(name) is not None


def layer(name: str, args: list[Any], kwargs: dict[str, Any],
          unsized: bool = False) -> list[Record] | None:
    """The records `torch.nn.<name>(*args, **kwargs)` registers, in `named_modules()` order
    (each module followed by its own parameters and buffers), or None when unknown.

    `unsized`: a size argument (kind `size`: a width, a kernel size) may be UNKNOWN_ARG.
    The names do not depend on sizes, so they are still given, with the shapes that depend
    on an unknown size None (and such sizes left out of a module's attributes). A flag, a
    count or a None-or-size switch that is unknown still makes the whole layer unknown."""
    spec = _table()["classes"].get(name)
    return None if spec is None else evaluate(spec, args, kwargs, unsized)


def evaluate(spec: dict[str, Any], args: list[Any], kwargs: dict[str, Any],
             unsized: bool = False) -> list[Record] | None:
    """`layer` for one class description of the table."""
    values = _bind(spec, args, kwargs, unsized)
    if values is None:
        return None
    case = _case(spec, values)
    if case is None:
        return None
    return _expand(case, values)


def _bind(spec: dict[str, Any], args: list[Any], kwargs: dict[str, Any],
          unsized: bool = False) -> dict[str, Any] | None:
    params = spec["params"]
    if spec.get("any_args"):
        return {}  # nn.Identity(*args, **kwargs) ignores them
    if len(args) > len(params):
        return None
    values: dict[str, Any] = {}
    names = [p["name"] for p in params]
    for param, value in zip(params, args, strict=False):
        values[param["name"]] = value
    for key, value in kwargs.items():
        if key not in names or key in values:
            return None
        values[key] = value
    for param in params:
        name, kind = param["name"], param["kind"]
        if name not in values:
            if kind in {FREE, "refused"}:
                continue
            if "default" not in param:
                return None
            values[name] = param["default"]
        value = values[name]
        if kind == "refused":
            return None
        if kind == FREE:
            continue
        if isinstance(value, Unknown) and unsized and kind == "size":
            continue  # names do not depend on it; the shapes that do are unknown
        if isinstance(value, Unknown) or not _valid(kind, value):
            return None
    return values


def _valid(kind: str, value: Any) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "module":
        return value is None or isinstance(value, Module | Splice) or not isinstance(
            value, (int, float, str, bool, tuple, list, dict))
    if kind == "count":
        return _is_int(value) and value >= 1
    if kind == "none" and value is None:
        return True
    if isinstance(value, (tuple, list)):
        return kind == "size" and all(_is_int(v) and v >= 0 for v in value)
    return _is_int(value) and value >= 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _case(spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any] | None:
    same = {p["name"]: p["same_as"] for p in spec["params"] if "same_as" in p}
    if any(isinstance(values.get(other), Unknown) and values.get(arg) is not None
           for arg, other in same.items()):
        return None  # MultiheadAttention(d, h, kdim=64) with d unknown: kdim == d or not?
    for case in spec["cases"]:
        if all(_switch(values[arg], values.get(same.get(arg, ""))) == want
               for arg, want in case["when"].items()):
            return case
    return None


def _switch(value: Any, same_as: Any = None) -> bool:
    """The state of a switch argument: a flag's value, `is not None`, `!= 0`; for an argument
    whose None means "the same as another" (MultiheadAttention's kdim), whether it differs."""
    if isinstance(value, bool):
        return value
    if value is None or (same_as is not None and value == same_as):
        return False
    if _is_int(value):
        return value != 0
    return True


def _expand(case: dict[str, Any], values: dict[str, Any]) -> list[Record] | None:
    entries: list[dict[str, Any]] = list(case["entries"])
    # Repeated blocks (layer i >= 1 of a stack), inserted after their anchor, last anchor first
    # so that earlier indices stay valid.
    for block in sorted(case.get("blocks", []), key=lambda b: -b["after"]):
        count = values[block["count"]]
        repeated = [{**e, "i": i} for i in range(1, count) for e in block["entries"]]
        entries[block["after"]:block["after"]] = repeated
    records: list[Record] = []
    for entry in entries:
        index = entry.get("i", 0)
        try:
            record = _record(entry, values, index)
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
            return None
        records.append(record)
    return records


_NAME = re.compile(r"[A-Za-z_]\w*")


def _unknown_in(expression: str, values: dict[str, Any]) -> bool:
    """Whether `expression` (a dimension: `4*hidden_size`, `*kernel_size`) reads an
    argument whose value is unknown."""
    return any(isinstance(values.get(name), Unknown) for name in _NAME.findall(expression))


def _record(entry: dict[str, Any], values: dict[str, Any], index: int) -> Record:
    if "m" in entry:
        attrs = tuple((k, _dim(v, values)) for k, v in entry.get("attrs", {}).items()
                      if not _unknown_in(v, values))
        return Module(entry["m"].replace("{i}", str(index)), entry["type"], attrs)
    if "splice" in entry:
        return Splice(entry["at"].replace("{i}", str(index)), values[entry["splice"]])
    name = (entry.get("p") or entry["b"]).replace("{i}", str(index))
    if any(_unknown_in(dim, values) for dim in entry["shape"]):
        return Tensor(name, None, buffer="b" in entry, persistent=entry.get("persistent", True))
    shape: list[int] = []
    for dim in entry["shape"]:
        if dim.startswith("*"):
            value = values[dim[1:]]
            shape.extend(value if isinstance(value, (tuple, list)) else (value,))
        else:
            shape.append(_dim(dim, values))
    return Tensor(name, tuple(shape), buffer="b" in entry,
                  persistent=entry.get("persistent", True))


_FACTOR = re.compile(r"^(?:(\d+)|([A-Za-z_]\w*)(?:\[(\d+)\])?)$")


def _dim(expression: str, values: dict[str, Any]) -> int:
    """Evaluate `3`, `hidden_size`, `4*hidden_size`, `in_channels//groups`, `kernel_size[1]`."""
    numerator, _, denominator = expression.partition("//")
    result = _product(numerator, values)
    if denominator:
        divisor = _product(denominator, values)
        if result % divisor:
            raise ValueError(expression)
        result //= divisor
    return result


def _product(text: str, values: dict[str, Any]) -> int:
    result = 1
    for factor in text.split("*"):
        match = _FACTOR.match(factor)
        if match is None:
            raise ValueError(factor)
        literal, arg, index = match.groups()
        if literal is not None:
            result *= int(literal)
            continue
        value = values[arg]
        if isinstance(value, (tuple, list)):
            value = value[int(index or 0)] if len(value) > 1 else value[0]
        elif not _is_int(value):
            raise TypeError(arg)
        result *= value
    return result

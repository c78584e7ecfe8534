"""Generate `nn_table.json` from torch: what every `torch.nn` layer registers, as a function of
its constructor arguments.

    python -m freezelint.models.nn_table_generator [--out FILE] [--only NAME ...]

Nothing is listed by hand. For every `nn.Module` class exported by `torch.nn`, the generator
reads the constructor's signature, builds the class on the meta device with varied arguments,
and infers from what torch registered:

- which arguments are flags (a name appears or disappears: `bias`, `affine`, `bidirectional`,
  `kdim` None or not, `proj_size` 0 or not), which repeat a block of names (`num_layers`),
  which take a module (`TransformerEncoder`'s layer), which change nothing;
- for each combination of flags, the ordered records (modules, parameters, buffers) and, for
  every shape dimension, the simplest expression over the arguments that explains it in
  every sample (`4*hidden_size`, `in_channels//groups`, `kernel_size[1]`).

Each class's description is then checked against fresh builds with new random arguments
through the same evaluator the linter uses (`nn_table.layer`); a class that fails, or whose
constructor the generator cannot satisfy, is written as null: the linter treats it as a hole.
Only this script imports torch.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from freezelint.models import nn_table

# Containers and wrappers are the static reader's business (their names come from what the
# code puts in them), not a function of constructor arguments.
_CONTAINERS = {"Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
               "ParameterDict", "Container", "DataParallel", "RNNBase", "RNNCellBase"}
_SIZE_ATTRS = ("in_features", "out_features", "in_channels", "out_channels", "num_features",
               "num_embeddings", "embedding_dim", "embed_dim", "num_heads", "hidden_size",
               "input_size", "d_model")
_BASE = 24
_SAMPLES = 6
_MAX_SWITCHES = 7
_SWITCHES = {"bool", "none", "zero"}


class Unmodellable(Exception):
    """The class cannot be described by the table: it becomes a hole."""


def _torch() -> Any:
    import torch

    return torch


def _build(cls: type, values: dict[str, Any]) -> Any:
    torch = _torch()
    kwargs = {k: (v() if callable(v) and not isinstance(v, type) else v) for k, v in values.items()}
    with torch.device("meta"):
        return cls(**kwargs)


def _records(module: Any) -> list[tuple[Any, ...]]:
    """(kind, relative name, detail) in named_modules() order, each module followed by its own
    parameters and buffers, as named_parameters()/named_buffers() interleave them."""
    out: list[tuple[Any, ...]] = []
    for path, sub in module.named_modules():
        attrs = {a: getattr(sub, a) for a in _SIZE_ATTRS
                 if isinstance(getattr(sub, a, None), int)
                 and not isinstance(getattr(sub, a), bool)}
        out.append(("m", path, type(sub).__name__, attrs))
        prefix = path + "." if path else ""
        for name, param in sub.named_parameters(recurse=False):
            out.append(("p", prefix + name, tuple(param.shape)))
        non_persistent: set[str] = getattr(sub, "_non_persistent_buffers_set", set())
        for name, buffer in sub.named_buffers(recurse=False):
            if buffer is None:
                continue
            out.append(("b", prefix + name, tuple(buffer.shape), name not in non_persistent))
    return out


def _names(records: list[tuple[Any, ...]]) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in records]


def _typed(records: list[tuple[Any, ...]]) -> list[tuple[str, str, str]]:
    return [(r[0], r[1], r[2] if r[0] == "m" else "") for r in records]


# -- arguments ---------------------------------------------------------------------------------
class Arg:
    def __init__(self, name: str, kind: str, default: Any = inspect.Parameter.empty) -> None:
        self.name = name
        self.kind = kind
        self.default = default
        self.tuple_len = 0  # accepts a tuple of this length (0: no); -1: any length (a shape)
        self.same_as: str | None = None  # None means "the same as this argument"
        self.probe: Any = None  # the module passed for an optional module argument
        # Annotated as a module, or not at all: MaxPool2d stores whatever its stride is, so
        # a module passed as stride would register, yet stride is no module argument.
        self.may_be_module = False

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.default is not inspect.Parameter.empty and _jsonable(self.default):
            doc["default"] = self.default
        if self.same_as:
            doc["same_as"] = self.same_as
        return doc


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, float) or value == value


def _signature(cls: type) -> list[list[Arg]]:
    """Candidate argument lists: the constructor's own, or for a variadic constructor that
    forwards to its base (`LSTM(*args, **kwargs)` -> `RNNBase(mode, input_size, ...)`), the
    base's without the leading arguments the subclass fills in."""
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        try:
            signature = inspect.signature(vars(klass)["__init__"])
        except (TypeError, ValueError) as error:
            raise Unmodellable("no signature") from error
        params = list(signature.parameters.values())[1:]
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            continue
        if klass is cls:
            return [[_arg(p) for p in params]]
        return [[_arg(p) for p in params[drop:]] for drop in (0, 1, 2)]
    return [[]]  # nn.Module's own (*args, **kwargs): no arguments (Identity takes any)


def _arg(param: inspect.Parameter) -> Arg:
    default = param.default
    if param.name in {"device", "dtype"}:
        kind = nn_table.FREE
    elif default is inspect.Parameter.empty:
        kind = "required"
    elif isinstance(default, bool):
        kind = "bool"
    elif isinstance(default, int):
        kind = "int"
    elif default is None:
        kind = "none"
    elif isinstance(default, tuple) and all(isinstance(v, int) for v in default):
        kind = "int"
    else:
        kind = nn_table.FREE
    arg = Arg(param.name, kind, default)
    annotation = str(param.annotation)
    arg.may_be_module = "Module" in annotation or "Any" in annotation \
        or param.annotation is inspect.Parameter.empty
    return arg


def _module_probe() -> Any:
    """A module to pass where a layer takes one (TransformerEncoder's encoder_layer)."""
    torch = _torch()
    with torch.device("meta"):
        return torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)


def _optional_probe(index: int) -> Any:
    """A module for the index-th optional module argument (TransformerEncoder's norm,
    Transformer's custom_encoder and custom_decoder), each of a type of its own so that each
    argument's place can be told apart."""
    def build() -> Any:
        torch = _torch()
        with torch.device("meta"):
            return (torch.nn.Bilinear(2, 3, 4), torch.nn.GRUCell(2, 3), torch.nn.PReLU(3),
                    torch.nn.Embedding(3, 2))[index]
    return build


def _base_values(cls: type, args: list[Arg]) -> dict[str, Any]:
    """Values every required argument can take together (a size, else a module)."""
    required = [a for a in args if a.kind == "required"]
    for choice in itertools.product(("int", "module"), repeat=len(required)):
        values = {a.name: (_BASE if c == "int" else _module_probe) for a, c in zip(required, choice,
                                                                                  strict=True)}
        try:
            _build(cls, values)
        except Exception:
            continue
        for a, c in zip(required, choice, strict=True):
            a.kind = "size" if c == "int" else "module"
        return values
    raise Unmodellable("no constructor arguments found")


def _try(cls: type, values: dict[str, Any]) -> list[tuple[Any, ...]] | None:
    try:
        return _records(_build(cls, values))
    except Exception:
        return None


def _classify(cls: type, args: list[Arg], base: dict[str, Any]) -> None:
    """int arguments: size, count (names repeat with the value), zero (0 vs not 0) or free;
    None defaults: module (an optional module registered), none (None vs a size) or free."""
    reference = _try(cls, base)
    if reference is None:
        raise Unmodellable("base build failed")
    for arg in args:
        if arg.kind not in {nn_table.FREE, "required"} and arg.name not in base \
                and _try(cls, {**base, arg.name: arg.default}) is None:
            arg.kind = "refused"  # GRU has RNNBase's proj_size, but refuses it
            continue
        if arg.kind in {"int", "size"}:
            seen = {}
            for value in (0, 1, 2, 3):
                records = _try(cls, {**base, arg.name: value})
                if records is not None:
                    seen[value] = _names(records)
            nonzero = [seen[v] for v in (1, 2, 3) if v in seen]
            if len(nonzero) == 3 and len({len(n) for n in nonzero}) == 3:
                arg.kind = "count"
                base[arg.name] = 1
            elif 0 in seen and nonzero and seen[0] != nonzero[0] \
                    and all(n == nonzero[0] for n in nonzero):
                arg.kind = "zero"
            else:
                arg.kind = "size" if _matters(cls, base, arg, (5, 7, 11, 2)) else nn_table.FREE
        elif arg.kind == "none" and arg.may_be_module:
            arg.probe = _optional_probe(sum(1 for a in args if a.probe is not None))
            with_module = _try(cls, {**base, arg.name: arg.probe})
            if with_module is not None and _names(with_module) != _names(reference):
                arg.kind = "module"
                continue
            arg.probe = None
        if arg.kind == "none":
            if _try(cls, {**base, arg.name: _BASE // 2}) is not None \
                    and _matters(cls, base, arg, (None, 5, 7, _BASE // 2)):
                arg.kind = "none"
                arg.same_as = next((other.name for other in args if other.name != arg.name
                                    and isinstance(base.get(other.name), int)
                                    and _try(cls, {**base, arg.name: base[other.name]})
                                    == reference), None)
            else:
                arg.kind = nn_table.FREE
        elif arg.kind == "bool":
            flipped = _try(cls, {**base, arg.name: not arg.default})
            if flipped is None:
                raise Unmodellable(f"{arg.name} cannot be flipped")
        if arg.kind in {"size", "none", "zero"}:
            arg.tuple_len = _tuple_len(cls, base, arg)


def _matters(cls: type, base: dict[str, Any], arg: Arg, values: tuple[Any, ...]) -> bool:
    """Whether some value of `arg` changes what torch registers (or is refused)."""
    built = [_try(cls, {**base, arg.name: v}) for v in values]
    return any(b is None for b in built) or any(b != built[0] for b in built)


def _tuple_len(cls: type, base: dict[str, Any], arg: Arg) -> int:
    """How many dimensions an int expands to (kernel_size=3 in Conv2d: 2); -1 when the
    argument is a whole shape (LayerNorm's normalized_shape)."""
    scalar = _try(cls, {**base, arg.name: 5})
    if scalar is None:
        return 0
    same = [n for n in (1, 2, 3) if _try(cls, {**base, arg.name: (5,) * n}) == scalar]
    shaped = _try(cls, {**base, arg.name: (5, 6, 7)})
    if same == [1] and shaped is not None and any(r[0] in "pb" and r[2] == (5, 6, 7)
                                                  for r in shaped):
        return -1
    return max(same) if same and max(same) > 1 else 0


# -- sampling ----------------------------------------------------------------------------------
def _sample(cls: type, args: list[Arg], base: dict[str, Any], switches: dict[str, bool],
            counts: dict[str, int], rng: random.Random) -> tuple[dict[str, Any], Any] | None:
    for _ in range(400):
        values = dict(base)
        for arg in args:
            if arg.name in switches:
                state = switches[arg.name]
                if arg.kind == "bool":
                    values[arg.name] = state
                    continue
                if not state:
                    values[arg.name] = 0 if arg.kind == "zero" else None
                    continue
                if arg.kind == "module":
                    values[arg.name] = arg.probe
                    continue
            if arg.kind in {"size", "none", "zero"}:
                values[arg.name] = _random_size(arg, rng)
            elif arg.kind == "count":
                values[arg.name] = counts.get(arg.name, 1)
        if any(values.get(a.name) is not None and values.get(a.name) == values.get(a.same_as)
               for a in args if a.same_as):
            continue
        try:
            return values, _build(cls, values)
        except Exception:
            continue
    return None


def _random_size(arg: Arg, rng: random.Random) -> Any:
    if arg.tuple_len == -1:
        return tuple(rng.randint(2, 40) for _ in range(rng.randint(1, 3)))
    if arg.tuple_len > 1:
        return tuple(rng.randint(1, 9) for _ in range(arg.tuple_len))
    # Small values often, and many divisors, so that constraints (groups, heads) can be met.
    if rng.random() < 0.4:
        return rng.choice((1, 2, 3, 4, 6))
    return rng.choice((12, 18, 24, 30, 36, 48, 60, 72, 84, 96)) + rng.choice((0, 0, 0, 1, 5))


def _atoms(args: list[Arg], values: dict[str, Any]) -> dict[str, int]:
    atoms: dict[str, int] = {}
    for arg in args:
        value = values.get(arg.name)
        if arg.kind not in {"size", "none", "zero", "count"}:
            continue
        if isinstance(value, tuple) and arg.tuple_len > 0:
            for i, v in enumerate(value):
                atoms[f"{arg.name}[{i}]"] = v
        elif isinstance(value, int) and not isinstance(value, bool):
            atoms[arg.name] = value
    return atoms


def _candidates(names: list[str]) -> Iterator[str]:
    yield from names
    for a in names:
        for c in (2, 3, 4):
            yield f"{c}*{a}"
    for a, b in itertools.permutations(names, 2):
        yield f"{a}//{b}"
    for a, b in itertools.combinations(names, 2):
        yield f"{a}*{b}"
    for a, b in itertools.permutations(names, 2):
        for c in (2, 3, 4):
            yield f"{c}*{a}//{b}"
            yield f"{a}//{c}*{b}"


def _evaluate(expression: str, atoms: dict[str, int]) -> int | None:
    numerator, _, denominator = expression.partition("//")

    def product(text: str) -> int | None:
        result = 1
        for factor in text.split("*"):
            if factor.isdigit():
                result *= int(factor)
            elif factor in atoms:
                result *= atoms[factor]
            else:
                return None
        return result

    top = product(numerator)
    if top is None:
        return None
    if not denominator:
        return top
    bottom = product(denominator)
    if not bottom or top % bottom:
        return None
    return top // bottom


def _fit(observed: list[int], samples: list[dict[str, int]]) -> str:
    """The simplest expression over the arguments that gives `observed` in every sample."""
    if len(set(observed)) == 1:
        return str(observed[0])
    names = sorted(set.intersection(*(set(s) for s in samples)))
    for candidate in _candidates(names):
        if all(_evaluate(candidate, s) == o for s, o in zip(samples, observed, strict=True)):
            return candidate
    raise Unmodellable(f"no expression for {observed}")


# -- one class ---------------------------------------------------------------------------------
def describe(cls: type, rng: random.Random) -> dict[str, Any]:
    failure: Unmodellable | None = None
    for args in _signature(cls):
        try:
            base = _base_values(cls, args)
        except Unmodellable as error:
            failure = error
            continue
        spec = _describe(cls, args, base, rng)
        if not args and _try_args(cls):
            spec["any_args"] = True
        return spec
    raise failure or Unmodellable("no signature")


def _try_args(cls: type) -> bool:
    """Whether the class accepts and ignores any arguments (nn.Identity)."""
    try:
        _build(cls, {"unused": 3})
    except Exception:
        return False
    return True


def _describe(cls: type, args: list[Arg], base: dict[str, Any],
              rng: random.Random) -> dict[str, Any]:
    _classify(cls, args, base)
    switch_args = [a for a in args if a.kind in _SWITCHES or (a.kind == "module" and a.default is None)]
    if len(switch_args) > _MAX_SWITCHES:
        raise Unmodellable("too many flags")
    count_args = [a for a in args if a.kind == "count"]
    cases = []
    for states in itertools.product((True, False), repeat=len(switch_args)):
        switches = {a.name: s for a, s in zip(switch_args, states, strict=True)}
        case = _describe_case(cls, args, base, switches, count_args, rng)
        if case is not None:
            cases.append(case)
    if not cases:
        raise Unmodellable("no combination of flags builds")
    cases = _merge_cases(cases, switch_args)
    for arg in args:
        if arg.kind == "required":
            arg.kind = "size"
    return {"params": [a.json() for a in args], "cases": cases}


def _describe_case(cls: type, args: list[Arg], base: dict[str, Any], switches: dict[str, bool],
                   count_args: list[Arg], rng: random.Random) -> dict[str, Any] | None:
    samples = []
    for _ in range(_SAMPLES):
        built = _sample(cls, args, base, switches, {}, rng)
        if built is None:
            return None
        samples.append((built[0], _records(built[1])))
    layouts = {tuple(_names(r)) for _, r in samples}
    if len(layouts) != 1:
        raise Unmodellable("names depend on sizes")
    entries = _fit_entries([v for v, _ in samples], [r for _, r in samples], args)
    blocks = [b for arg in count_args
              if (b := _block(cls, args, base, switches, arg, rng)) is not None]
    case: dict[str, Any] = {"when": switches, "entries": entries}
    if blocks:
        case["blocks"] = blocks
    return case


def _fit_entries(values: list[dict[str, Any]], records: list[list[tuple[Any, ...]]],
                 args: list[Arg], before: int | None = None) -> list[dict[str, Any]]:
    """Entries with fitted shapes; with `before`, only how many entries come from the
    records before that index (where a repeated block is inserted)."""
    atoms = [_atoms(args, v) for v in values]
    module_args = {a.name for a in args if a.kind == "module"}
    probe_names = {name: _typed(_records(v[name]())) for name in module_args
                   for v in values[:1] if callable(v.get(name))}
    entries: list[dict[str, Any]] = []
    sources: list[int] = []  # the record each entry comes from
    skip_under: list[str] = []
    for position, first in enumerate(records[0]):
        kind, name = first[0], first[1]
        if any(name == s or name.startswith(s + ".") for s in skip_under):
            continue
        spliced = _splice_of(kind, name, position, records[0], probe_names)
        if spliced is not None:
            arg_name, path = spliced
            entries.append({"splice": arg_name, "at": path})
            sources.append(position)
            skip_under.append(path)
            continue
        if kind == "m":
            entry: dict[str, Any] = {"m": name, "type": first[2]}
            attrs = {attr: _fit([r[position][3][attr] for r in records], atoms)
                     for attr in first[3]}
            if attrs:
                entry["attrs"] = attrs
        else:
            shapes = [r[position][2] for r in records]
            if len({len(s) for s in shapes}) != 1:
                shape = _splat(shapes, atoms, args, values)
            else:
                shape = [_fit([s[d] for s in shapes], atoms) for d in range(len(shapes[0]))]
            entry = {kind: name, "shape": shape}
            if kind == "b" and not first[3]:
                entry["persistent"] = False
        entries.append(entry)
        sources.append(position)
    if before is not None:
        return [{}] * sum(1 for s in sources if s < before)
    return entries


def _splat(shapes: list[tuple[int, ...]], atoms: list[dict[str, int]], args: list[Arg],
           values: list[dict[str, Any]]) -> list[str]:
    for arg in args:
        if arg.tuple_len == -1 and all(tuple(v[arg.name]) == s for v, s in zip(values, shapes,
                                                                                strict=True)):
            return [f"*{arg.name}"]
    raise Unmodellable("shape rank depends on arguments")


def _splice_of(kind: str, name: str, position: int, records: list[tuple[Any, ...]],
               probes: dict[str, list[tuple[str, str, str]]]) -> tuple[str, str] | None:
    """A module record whose subtree is exactly a module argument's names: that argument is
    registered here (a deep copy or the object itself)."""
    if kind != "m" or not name:
        return None
    for arg_name, probe in probes.items():
        prefix = name + "."
        subtree = [r for r in _typed(records[position:])
                   if r[1] == name or r[1].startswith(prefix)]
        relative = [(r[0], r[1][len(prefix):] if r[1] != name else "", r[2]) for r in subtree]
        if relative == probe:
            return arg_name, name
    return None


def _block(cls: type, args: list[Arg], base: dict[str, Any], switches: dict[str, bool],
           count: Arg, rng: random.Random) -> dict[str, Any] | None:
    """Records added per extra unit of a count argument: where they go, as templates."""
    by_count: dict[int, list[tuple[dict[str, Any], list[tuple[Any, ...]]]]] = {}
    seed = rng.random()
    for n in (1, 2, 3):
        runs = []
        for k in range(_SAMPLES):
            built = _sample(cls, args, base, switches, {count.name: n},
                            random.Random(seed + k))
            if built is None:
                raise Unmodellable(f"{count.name}={n} does not build")
            runs.append((built[0], _records(built[1])))
        by_count[n] = runs
    one, two, three = (_names(by_count[n][0][1]) for n in (1, 2, 3))
    size = len(two) - len(one)
    if one == two == three:
        return None  # this combination of flags ignores the count (a custom encoder given)
    if size <= 0 or len(three) - len(two) != size:
        raise Unmodellable(f"{count.name} does not repeat a block")
    after = next((i for i in range(len(one)) if one[i] != two[i]), len(one))
    if two[:after] != one[:after] or two[after + size:] != one[after:]:
        raise Unmodellable(f"{count.name} does not insert one block")
    templates = []
    for j in range(size):
        a, b = two[after + j], three[after + size + j]
        if a[0] != b[0]:
            raise Unmodellable("block kinds differ")
        templates.append(_template(a[1], b[1]))
    # The second index's records (shape expressions may differ from index 0, e.g. LSTM's
    # input size for layers above the first).
    runs = by_count[3]
    block_records = [r[after + size: after + 2 * size] for _, r in runs]
    renamed = [[(rec[0], templates[j], *rec[2:]) for j, rec in enumerate(rs)] for rs in block_records]
    entries = _fit_entries([v for v, _ in runs], renamed, args)
    ones = by_count[1]
    position = len(_fit_entries([v for v, _ in ones], [r for _, r in ones], args, before=after))
    return {"count": count.name, "after": position, "entries": entries}


def _template(one: str, two: str) -> str:
    """'weight_ih_l1', 'weight_ih_l2' -> 'weight_ih_l{i}'."""
    start = 0
    while start < min(len(one), len(two)) and one[start] == two[start]:
        start += 1
    end = 0
    while end < min(len(one), len(two)) - start and one[-1 - end] == two[-1 - end]:
        end += 1
    if one[start:len(one) - end] != "1" or two[start:len(two) - end] != "2":
        raise Unmodellable(f"cannot template {one} / {two}")
    return one[:start] + "{i}" + one[len(one) - end:]


def _merge_cases(cases: list[dict[str, Any]], switch_args: list[Arg]) -> list[dict[str, Any]]:
    """Drop flags that change nothing (`batch_first`), then identical cases."""
    relevant = []
    for arg in switch_args:
        for case in cases:
            other_when = {**case["when"], arg.name: not case["when"][arg.name]}
            other = next((c for c in cases if c["when"] == other_when), None)
            if other is not None and _body(other) != _body(case):
                relevant.append(arg.name)
                break
    merged: list[dict[str, Any]] = []
    seen: set[str] = set()
    for case in cases:
        when = {k: v for k, v in case["when"].items() if k in relevant}
        key = json.dumps(when, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        merged.append({**case, "when": when})
    return merged


def _body(case: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in case.items() if k != "when"}, sort_keys=True)


# -- verification ------------------------------------------------------------------------------
def verify(cls: type, spec: dict[str, Any], rng: random.Random, rounds: int = 30) -> None:
    """Fresh random builds must give exactly what the table says."""
    names = [p["name"] for p in spec["params"]]
    args = next(a for a in _signature(cls) if [x.name for x in a] == names)
    for arg, doc in zip(args, spec["params"], strict=True):
        arg.kind = doc["kind"]
        arg.same_as = doc.get("same_as")
        if arg.kind == "module" and arg.default is None:
            arg.probe = _optional_probe(sum(1 for a in args if a.probe is not None))
    base = {a.name: (_module_probe if a.kind == "module" else _BASE) for a in args
            if a.default is inspect.Parameter.empty and a.kind != "count"}
    for arg in args:
        if arg.kind in {"size", "none", "zero"}:
            arg.tuple_len = _tuple_len(cls, base, arg)
    switch_args = [a for a in args if a.kind in _SWITCHES or (a.kind == "module" and a.default is None)]
    for _ in range(rounds):
        switches = {a.name: rng.random() < 0.5 for a in switch_args}
        counts = {a.name: rng.randint(1, 4) for a in args if a.kind == "count"}
        built = _sample(cls, args, base, switches, counts, rng)
        if built is None:
            continue
        values, module = built
        expected = _records(module)
        got = _evaluated(cls.__name__, spec, values)
        if got != expected:
            raise Unmodellable(f"verification failed for {values}: {got} != {expected}")


def _evaluated(name: str, spec: dict[str, Any], values: dict[str, Any]) -> list[tuple[Any, ...]] | None:
    modules = {p["name"] for p in spec["params"] if p["kind"] == "module"}
    concrete = {k: v() if k in modules and callable(v) else v for k, v in values.items()}
    records = nn_table.evaluate(spec, [], concrete)
    if records is None:
        return None
    out: list[tuple[Any, ...]] = []
    for record in records:
        if isinstance(record, nn_table.Splice):
            prefix = record.path + "."
            for sub in _records(record.value):
                if sub[0] == "m":
                    out.append(("m", record.path + ("." + sub[1] if sub[1] else ""), *sub[2:]))
                else:
                    out.append((sub[0], prefix + sub[1], *sub[2:]))
        elif isinstance(record, nn_table.Module):
            out.append(("m", record.path, record.type, dict(record.attrs)))
        elif record.buffer:
            out.append(("b", record.name, record.shape, record.persistent))
        else:
            out.append(("p", record.name, record.shape))
    return out


def module_classes() -> dict[str, type]:
    nn = _torch().nn
    classes = {}
    for name in sorted(dir(nn)):
        obj = getattr(nn, name)
        if isinstance(obj, type) and issubclass(obj, nn.Module) and name not in _CONTAINERS \
                and not name.startswith("_"):
            classes[name] = obj
    return classes


def generate(only: list[str] | None = None, verbose: bool = False) -> dict[str, Any]:
    torch = _torch()
    classes: dict[str, Any] = {}
    for name, cls in module_classes().items():
        if only and name not in only:
            continue
        rng = random.Random(name)
        try:
            if name.startswith("Lazy"):
                raise Unmodellable("lazy parameters have no shape until the first call")
            spec = describe(cls, rng)
            verify(cls, spec, random.Random(name + "/verify"))
        except Unmodellable as error:
            if verbose:
                print(f"{name}: hole ({error})", file=sys.stderr)
            classes[name] = None
            continue
        classes[name] = spec
    return {"torch": torch.__version__.split("+")[0], "classes": classes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=nn_table.TABLE_FILE)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args(argv)
    table = generate(options.only, options.verbose)
    if options.only and options.out.exists():
        previous = json.loads(options.out.read_text(encoding="utf-8"))
        previous["classes"].update(table["classes"])
        table = previous
    options.out.write_text(json.dumps(table, indent=None, separators=(",", ":"), sort_keys=True)
                           + "\n", encoding="utf-8")
    modelled = sum(1 for v in table["classes"].values() if v is not None)
    print(f"{modelled} of {len(table['classes'])} torch.nn classes modelled -> {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

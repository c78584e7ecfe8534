"""The abstract values the interpreter computes with.

Plain Python values (str, int, bool, list, tuple, dict, None) stand for themselves; the
classes here stand for the torch objects a fine-tuning script handles. `UNKNOWN` is what
the analysis says when it cannot be sure, and every rule stays silent on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from freezelint.models.manifest import Manifest, TensorInfo


class _Unknown:
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # pragma: no cover - guard against accidental truth tests
        raise TypeError("UNKNOWN has no truth value")


UNKNOWN: Any = _Unknown()


def is_unknown(value: object) -> bool:
    return value is UNKNOWN


class LitStr(str):
    """A string that came from a literal in the code: keeps its node so a rule can point at
    it when the string is compared with a real parameter name."""

    node: cst.CSTNode

    def __new__(cls, value: str, node: cst.CSTNode) -> LitStr:
        obj = super().__new__(cls, value)
        obj.node = node
        return obj


class RealName(str):
    """A name yielded by `named_parameters()` / `named_modules()`: comparisons against it
    are name tests, recorded for FZL101/FZL102. `domain` is "parameter" or "module"."""

    model: ModelState
    domain: str

    def __new__(cls, value: str, model: ModelState, domain: str) -> RealName:
        obj = super().__new__(cls, value)
        obj.model = model
        obj.domain = domain
        return obj


class EnumIndex(int):
    """The index `enumerate(model.parameters())` yields: comparing it is freezing by position."""

    model: ModelState
    node: cst.CSTNode

    def __new__(cls, value: int, model: ModelState, node: cst.CSTNode) -> EnumIndex:
        obj = super().__new__(cls, value)
        obj.model = model
        obj.node = node
        return obj


@dataclass(eq=False)
class ModelState:
    """One model object the script builds, and what the script has done to it so far.

    `trainable` maps each parameter name to True/False, or None when it depends on
    something the analysis could not evaluate."""

    manifest: Manifest
    origin: cst.CSTNode | None
    trainable: dict[str, bool | None] = field(default_factory=dict)
    # Module paths replaced by something the analysis could not model: names under them
    # are unknown, so no rule may call a name there wrong.
    opaque: set[str] = field(default_factory=set)
    wrapped_by: str | None = None
    wrap_node: cst.CSTNode | None = None
    bn_eval: dict[str, cst.CSTNode] = field(default_factory=dict)
    # `model.eval()` on the whole model, not undone by a later `train()`: a frozen feature
    # extractor or teacher, which no optimizer is meant to train.
    in_eval: cst.CSTNode | None = None
    # `model.train()` on the whole model (by the script or a trainer), not undone since.
    in_train: cst.CSTNode | None = None
    # Where the model was built: '' for the script's top level, else the function or
    # `Class.method` analysed (what `freezelint explain` labels each tree with).
    scope: str = ""

    def __post_init__(self) -> None:
        if not self.trainable:
            self.trainable = {p.name: True for p in self.manifest.parameters}

    @property
    def label(self) -> str:
        return self.manifest.name

    def tensor(self, name: str) -> TensorInfo | None:
        for p in self.manifest.parameters:
            if p.name == name:
                return p
        return None

    def is_opaque(self, name: str) -> bool:
        return any(not path or name == path or name.startswith(path + ".")
                   for path in self.opaque)


@dataclass(frozen=True, eq=False)
class ModuleObj:
    """`model` or one of its submodules; `prefix` is what a wrapper (DataParallel,
    torch.compile) adds in front of every name it yields."""

    model: ModelState
    path: str
    prefix: str = ""

    def child(self, attr: str) -> str:
        return f"{self.path}.{attr}" if self.path else attr

    @property
    def type_name(self) -> str:
        info = self.model.manifest.module(self.path)
        return info.type if info else "?"


@dataclass(frozen=True, eq=False)
class ParamObj:
    """One parameter of a model, by name."""

    model: ModelState
    name: str


@dataclass(eq=False)
class ParamIter:
    """What `parameters()`, `filter(...)` or a generator yields: parameter names of one
    model. `lazy` iterators are exhausted by their first consumer (FZL204)."""

    model: ModelState
    names: list[str] | None  # None: unknown subset
    lazy: bool
    named: bool = False
    node: cst.CSTNode | None = None
    consumed_by: cst.CSTNode | None = None
    prefix: str = ""
    # The module `parameters()` was called on: named_parameters() yields names relative to it.
    base: str = ""

    def display_name(self, name: str) -> str:
        relative = name[len(self.base) + 1:] if self.base else name
        return self.prefix + relative


@dataclass(eq=False)
class ModuleIter:
    """What `modules()`, `named_modules()`, `children()` yield."""

    model: ModelState
    paths: list[str]
    named: bool
    prefix: str = ""
    base: str = ""

    def display_name(self, path: str) -> str:
        relative = (path[len(self.base) + 1:] if path != self.base else "") if self.base else path
        return (self.prefix + relative) if relative else self.prefix.rstrip(".")


@dataclass(eq=False)
class ParamGroup:
    """One param group of an optimizer: its parameters (None: unknown) and options."""

    names: list[str] | None
    model: ModelState | None
    # The group's other keys as evaluated (`lr`, `weight_decay`), where it was written, and
    # whether `add_param_group` added it.
    options: dict[str, Any] = field(default_factory=dict)
    node: cst.CSTNode | None = None
    added: bool = False
    # What produced the parameters (a comprehension, a `parameters()` call), when known.
    source: cst.CSTNode | None = None


@dataclass(eq=False)
class OptimizerObj:
    """An optimizer the script builds, with its param groups."""

    node: cst.CSTNode
    model: ModelState | None
    groups: list[ParamGroup]
    explicit_groups: bool
    seq: int
    # The optimizer's class (`AdamW`) and keyword arguments: a group's defaults.
    kind: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> set[str] | None:
        names: set[str] = set()
        for group in self.groups:
            if group.names is None:
                return None
            names.update(group.names)
        return names


@dataclass(frozen=True, eq=False)
class BoundMethod:
    """`obj.method` before the call."""

    receiver: Any
    name: str
    node: cst.CSTNode


@dataclass(frozen=True, eq=False)
class FunctionObj:
    """A function or lambda of the script, with the names it closes over."""

    node: cst.FunctionDef | cst.Lambda
    closure: dict[str, Any] | None = None
    # The top-level statement the definition physically sits in (for positions).
    top: int | None = None


@dataclass(frozen=True)
class Qualified:
    """A library object known only by its qualified name (`torch.optim.SGD`)."""

    name: str

    @property
    def last(self) -> str:
        return self.name.rpartition(".")[2]


@dataclass(frozen=True)
class TensorVal:
    """A tensor of a state dict: its shape when known."""

    shape: tuple[int, ...] | None


class StateDict(dict):  # type: ignore[type-arg]
    """A state dict whose keys the analysis knows: str -> TensorVal.

    `origin` says where the keys came from: "model" (`model.state_dict()`), "checkpoint"
    (read from the file's header), "inferred" (a loaded checkpoint whose keys the code itself
    revealed by a wrapper's prefix, e.g. `sd.pop('module.mlp_head.1.weight')` on an AST
    model: a wrapper prefixes every key it saves), "one key" (likewise from a key without a
    prefix, which another model's checkpoint may share: its other keys are a guess), or
    "derived" (a comprehension or merge of known ones). `known` is False while the keys are a mystery:
    then nothing about them may be claimed."""

    def __init__(self, items: dict[str, TensorVal] | None = None, *, origin: str,
                 node: cst.CSTNode | None = None, model: ModelState | None = None,
                 known: bool = True, label: str = "") -> None:
        super().__init__(items or {})
        self.origin = origin
        self.node = node
        self.model = model
        self.known = known
        self.label = label
        # The checkpoint this dict was derived from, whether code stripped its keys on the
        # way, and whether it reached the model (a merge or a load_state_dict).
        self.root: StateDict = self
        self.stripped = False
        self.reached_model = False

    # identity, like the torch object it stands for
    __hash__ = object.__hash__  # type: ignore[assignment]


# -- values of the interpreter's own making ----------------------------------------------------
@dataclass(frozen=True, eq=False)
class MissingAttr:
    """`model.fcc` on a model without `fcc`: only a mistake if it is then used as a module."""

    model: ModelState
    path: str
    node: cst.CSTNode


@dataclass(eq=False)
class Instance:
    """`self` inside a class defined in the file: its attributes as the methods set them."""

    methods: dict[str, cst.FunctionDef]
    attrs: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> Instance:
        """The same attributes over fresh copies of the models they hold."""
        return Instance(self.methods, _clone_modules(self.attrs, {}))


def _clone_modules(attrs: dict[str, Any], clones: dict[int, ModelState]) -> dict[str, Any]:
    def clone(value: Any) -> Any:
        if isinstance(value, ModuleObj):
            model = value.model
            if id(model) not in clones:
                clones[id(model)] = ModelState(
                    model.manifest, model.origin, dict(model.trainable), set(model.opaque),
                    model.wrapped_by, model.wrap_node, dict(model.bn_eval))
            return ModuleObj(clones[id(model)], value.path, value.prefix)
        return value

    return {k: clone(v) for k, v in attrs.items()}


@dataclass(eq=False)
class ClassSelf(Instance):
    """`self` in a class of the script (an nn.Module, a LightningModule). After `__init__`
    (and a LightningModule's `setup`), `module` is the whole module read from its class with
    what those methods froze replayed on it (analysis/class_self.py): `self.parameters()` in
    `configure_optimizers` has real names. `escaped`: `__init__` handed `self` to code the
    analysis cannot follow (`self.freeze()`, `for p in self.parameters()` before the model
    exists, `freeze(self)`), so nothing is known of what it left trainable."""

    module: ModuleObj | None = None
    escaped: bool = False

    def copy(self) -> ClassSelf:
        clones: dict[int, ModelState] = {}
        attrs = _clone_modules(self.attrs, clones)
        module = _clone_modules({"": self.module}, clones)[""] if self.module else None
        return ClassSelf(self.methods, attrs, module, self.escaped)


@dataclass(frozen=True)
class ClassOf:
    """`type(module)` / `module.__class__`: compared with `nn.X`, it is a type test."""

    type_name: str


class Enumerated(list):  # type: ignore[type-arg]
    """Elements of enumerate() over parameters: (EnumIndex, element) pairs."""


class PositionalList(list):  # type: ignore[type-arg]
    """A positional slice of a parameter list: `list(model.parameters())[:-2]`."""


class LazyValues(list):  # type: ignore[type-arg]
    """A generator of plain values (e.g. `any(x in name for x in names)`)."""

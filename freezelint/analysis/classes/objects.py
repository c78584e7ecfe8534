"""The objects an `nn.Module.__init__` builds, as the static class reader computes them.

A `Built` stands for one module object under construction: its class name, and what torch
would hold in `_parameters`, `_buffers` and `_modules`, in insertion order, plus the plain
attributes `__init__` sets (`self.n_head = n_head`). Parameters are objects of their own
(`Param`) because torch identifies them by identity: a tied weight (`lm_head.weight =
wte.weight`) is one object registered twice, and `named_parameters()` lists it once.
What could not be worked out is a hole: a child or attribute name whose contents are unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from freezelint.analysis.scope import Frame
from freezelint.analysis.values import Instance

# Containers whose children are what the code puts in them.
SEQUENTIAL = "Sequential"
MODULE_LIST = "ModuleList"
MODULE_DICT = "ModuleDict"
PARAMETER_LIST = "ParameterList"
PARAMETER_DICT = "ParameterDict"
CONTAINERS = frozenset({SEQUENTIAL, MODULE_LIST, MODULE_DICT, PARAMETER_LIST, PARAMETER_DICT})


@dataclass(eq=False)
class Param:
    """An `nn.Parameter` (identity matters: tying registers one object twice)."""

    shape: tuple[int, ...] | None  # None: could not be evaluated (the name is still known)


@dataclass(eq=False)
class Tensor:
    """A plain tensor (`torch.zeros(3, 4)`), for `register_buffer` or `nn.Parameter(...)`."""

    shape: tuple[int, ...] | None


@dataclass(eq=False)
class Built:
    """One module object: `type` is its class name (`Linear`, the user's `Block`)."""

    type: str
    cls: ClassValue | None = None
    params: dict[str, Param | None] = field(default_factory=dict)
    buffers: dict[str, tuple[Tensor | None, bool]] = field(default_factory=dict)
    children: dict[str, Built | None] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # in_features... for structural edits
    holes: set[str] = field(default_factory=set)  # child names (or '' for all) unknown
    aliases: tuple[tuple[str, ...], ...] = ()  # other name sets (a spliced transformers trunk)
    base: str = ""  # the torch.nn class it is or derives from (`Sequential` for a subclass)

    @property
    def container(self) -> str:
        """`Sequential`, `ModuleList`... when it is one (or a subclass of one), else ''."""
        return self.base if self.base in CONTAINERS else ""

    def hole(self, name: str) -> None:
        """`name` (or, for '', any name) is registered with contents unknown. A named hole
        keeps its slot, so a container's next index counts it."""
        self.holes.add(name)
        if name and name not in self.params and name not in self.buffers:
            self.children.setdefault(name, None)

    def register_child(self, name: str, value: Built | None) -> None:
        """`self.name = module` / `add_module(name, module)`: a new name goes last, an
        existing one keeps its place (torch's `_modules` is a dict)."""
        self.params.pop(name, None)
        self.buffers.pop(name, None)
        self.attrs.pop(name, None)
        self.children[name] = value
        self.holes.discard(name)

    def register_param(self, name: str, value: Param | None) -> None:
        self.children.pop(name, None)
        self.attrs.pop(name, None)
        self.params[name] = value
        self.holes.discard(name)

    def next_index(self) -> str:
        """The name `append` gives: containers number what they hold (children, or the
        parameters of a ParameterList)."""
        return str(len(self.children) + len(self.params))


@dataclass(frozen=True, eq=False)
class ClassValue:
    """A class defined in the project's source: its definition and the scope it lives in."""

    node: cst.ClassDef
    globals: Frame
    bases: tuple[Any, ...]  # evaluated base classes: ClassValue or Qualified
    dataclass: bool = False
    path: Path | None = None  # the file it is defined in (None: the script itself)

    @property
    def name(self) -> str:
        return self.node.name.value

    def methods(self) -> dict[str, cst.FunctionDef]:
        body = self.node.body
        statements = body.body if isinstance(body, cst.IndentedBlock) else []
        return {s.name.value: s for s in statements if isinstance(s, cst.FunctionDef)}

    def all_methods(self) -> dict[str, cst.FunctionDef]:
        found: dict[str, cst.FunctionDef] = {}
        for klass in reversed(self.mro()):
            found.update(klass.methods())
        return found

    def mro(self) -> list[ClassValue]:
        """This class and its project bases, depth first (enough for single inheritance and
        the mixins model code uses)."""
        order: list[ClassValue] = [self]
        for base in self.bases:
            if isinstance(base, ClassValue):
                order.extend(c for c in base.mro() if c not in order)
        return order

    def find_method(self, name: str) -> tuple[ClassValue, cst.FunctionDef] | None:
        for klass in self.mro():
            method = klass.methods().get(name)
            if method is not None:
                return klass, method
        return None

    def torch_base(self) -> str | None:
        """The torch.nn class this one derives from (`Module`, `Sequential`...), if any."""
        from freezelint.analysis.values import Qualified

        for klass in self.mro():
            for base in klass.bases:
                if isinstance(base, Qualified):
                    last = base.last
                    # Lightning's own modules only: its callbacks (BaseFinetuning) and data
                    # modules are no nn.Module.
                    if base.name.startswith(("torch.nn", "nn.")) \
                            or last in {"Module", "LightningModule"}:
                        return "Module" if last == "LightningModule" else last
        return None


@dataclass(eq=False)
class Namespace(Instance):
    """An instance of a plain class or a dataclass (a config), or a SimpleNamespace: its
    attributes. It is an Instance, so the script interpreter reads and sets its attributes
    (`config.n_layer = 6` in the script changes what the model is built with)."""

    cls: ClassValue | None = None


def namespace(cls: ClassValue | None, attrs: dict[str, Any] | None = None) -> Namespace:
    # (a property is no method the script could call: read from the script, it is unknown)
    methods = {name: method for name, method in cls.all_methods().items()
               if not any(_dotted_last(d.decorator) in {"property", "cached_property", "setter",
                                                         "getter", "deleter"}
                          for d in method.decorators)} if cls is not None else {}
    return Namespace(methods, dict(attrs or {}), cls)


def _dotted_last(node: cst.BaseExpression) -> str:
    while isinstance(node, cst.Call):
        node = node.func
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return node.value if isinstance(node, cst.Name) else ""


@dataclass(frozen=True, eq=False)
class Super:
    """`super()` inside a method of `klass`, bound to `instance`."""

    klass: ClassValue
    instance: Any


@dataclass(frozen=True, eq=False)
class Hole:
    """A value that may be a module the reader cannot build (an unresolved call's result, an
    argument of unknown value): registered as a child, it is a hole."""

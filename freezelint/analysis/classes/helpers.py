"""Module-level helpers of the static class reader (reader.py, instantiate.py).

Kept apart from the two reader classes so that each module stays readable on its own: small
values the reader passes around (a project module imported as a name, a `functools.partial`),
predicates on syntax (`if __name__ == "__main__"`, a statement with a call), the torch.nn
table's names and arguments, and `manifest_of`, which turns a read module into a manifest.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis.classes import objects as O
from freezelint.analysis.classes import tensors
from freezelint.analysis.evaluator import body_of
from freezelint.analysis.interpreter import _dotted as _dotted
from freezelint.analysis.nn_modules import NewModule
from freezelint.analysis.scope import MISSING, Frame, ReturnSignal
from freezelint.analysis.values import (
    FunctionObj,
    is_unknown,
)
from freezelint.analysis.walk import walk
from freezelint.models import nn_table
from freezelint.models.manifest import Manifest

if TYPE_CHECKING:
    from freezelint.analysis.classes.instantiate import InstantiatingReader

_SCALAR_ANNOTATIONS = frozenset({"int", "float", "bool", "str", "tuple", "list", "dict"})


class _ModuleRef:
    """A project module imported as a name (`from . import layers`, `import models`,
    `import pkg.models as m`): its globals, and for a package the folder its submodules
    are in (`import pkg.models` binds `pkg`; `pkg.models` is then a submodule).

    The globals are read when first used (`load`): a script imports far more modules than
    it takes a class from (transformers' `from ..utils import logging` in every file), and
    reading each import closure eagerly was most of a cold lint on a large project."""

    def __init__(self, globals_frame: Frame | None, folder: Path | None = None,
                 load: Callable[[], Frame | None] | None = None) -> None:
        self._globals = globals_frame
        self._load = load
        self.folder = folder

    @property
    def globals(self) -> Frame:
        if self._globals is None:
            loaded = self._load() if self._load is not None else None
            self._globals = loaded if loaded is not None else Frame()
        return self._globals


class LazyNames(dict):  # type: ignore[type-arg]
    """A project module's globals, read as they are used: a name its index lists is defined
    when first looked up (`define(name)` runs the statements that bind it), and a name it
    imports from another project module is resolved then too (`PendingImport`)."""

    def __init__(self, define: Callable[[str], None] | None = None,
                 names: Iterable[str] = ()) -> None:
        super().__init__()
        self._define = define
        self._undefined = set(names)

    def _ensure(self, key: Any) -> None:
        if key in self._undefined:
            self._undefined.discard(key)
            if self._define is not None:
                self._define(key)

    def _ensure_all(self) -> None:
        while self._undefined:
            self._ensure(next(iter(self._undefined)))

    def __contains__(self, key: Any) -> bool:
        self._ensure(key)
        return dict.__contains__(self, key)

    def __getitem__(self, key: Any) -> Any:
        self._ensure(key)
        value = dict.__getitem__(self, key)
        if type(value) is PendingImport:
            value = value.resolve()
            dict.__setitem__(self, key, value)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 (that is this method)

    def __iter__(self) -> Any:
        self._ensure_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._ensure_all()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._ensure_all()
        return dict.keys(self)

    def values(self) -> Any:
        return [self[key] for key in list(self.keys())]

    def items(self) -> Any:
        return [(key, self[key]) for key in list(self.keys())]


class PendingImport:
    """`from .layers import Block` in a project module that was read: the value is found when
    the name is first used. `fallback` is what it is when the module is not the project's
    (a library's qualified name). A lookup that comes back to itself (modules importing
    each other's names in a cycle) is the fallback too."""

    def __init__(self, find: Callable[[], Any], fallback: Any) -> None:
        self._find = find
        self.fallback = fallback
        self._busy = False

    def resolve(self) -> Any:
        if self._busy:
            return self.fallback
        self._busy = True
        try:
            value = self._find()
        finally:
            self._busy = False
        return self.fallback if value is MISSING else value


class _Partial:
    def __init__(self, callee: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.callee, self.args, self.kwargs = callee, list(args), dict(kwargs)


_AUGMENTED: dict[type, Any] = {
    cst.AddAssign: operator.iadd, cst.SubtractAssign: operator.isub,
    cst.MultiplyAssign: operator.imul, cst.FloorDivideAssign: operator.ifloordiv,
    cst.DivideAssign: operator.itruediv, cst.ModuloAssign: operator.imod,
    cst.PowerAssign: operator.ipow,
}


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, list, tuple)) and not is_unknown(value)


def _variadic(fn: FunctionObj, args: list[Any],
              kwargs: dict[str, Any]) -> tuple[FunctionObj, list[Any], dict[str, Any]]:
    """`def f(a, *rest, **extra)`: the arguments the named parameters do not take, bound to
    `rest` and `extra` (through the closure the interpreter starts the call's scope with)."""
    params = fn.node.params
    star = params.star_arg if isinstance(params.star_arg, cst.Param) else None
    double = params.star_kwarg
    if star is None and double is None:
        return fn, args, kwargs
    positional = [*params.posonly_params, *params.params]
    names = {p.name.value for p in [*positional, *params.kwonly_params]}
    closure = dict(fn.closure or {})
    if star is not None:
        closure[star.name.value] = tuple(args[len(positional):])
        args = args[:len(positional)]
    if double is not None:
        closure[double.name.value] = {k: v for k, v in kwargs.items() if k not in names}
        kwargs = {k: v for k, v in kwargs.items() if k in names}
    return FunctionObj(fn.node, closure, fn.top), args, kwargs


def _table_arg(value: Any) -> Any:
    if is_unknown(value) or isinstance(value, (O.Hole, O.Namespace, O.ClassValue)):
        return nn_table.UNKNOWN_ARG
    if isinstance(value, O.Tensor):
        return nn_table.UNKNOWN_ARG
    if isinstance(value, str):
        return str(value)
    return value


def _child_name(owner: O.Built, index: Any, reading: bool = False) -> str | None:
    if isinstance(index, str) and owner.container in {O.MODULE_DICT, O.PARAMETER_DICT}:
        return str(index)
    if isinstance(index, int) and not isinstance(index, bool):
        names = list(owner.children) or list(owner.params)
        if "" in owner.holes:
            return None
        if reading or index < len(names):
            try:
                return names[index]
            except IndexError:
                return None
    return None


def _fields(node: cst.ClassDef) -> list[str]:
    names = []
    for stmt in body_of(node):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) \
                        and "ClassVar" not in cst.Module([]).code_for_node(small.annotation.annotation):
                    names.append(small.target.value)
    return names


def _may_be_module(value: Any, source: cst.CSTNode | None, reader: InstantiatingReader) -> bool:
    """An unknown value assigned to `self.x`: could it be a module? Arithmetic, literals and
    comparisons cannot; a call, an argument, an attribute of something unknown can, unless
    the argument is declared or defaulted as a plain value."""
    if not is_unknown(value) and not isinstance(value, O.Hole):
        return False
    if source is None:
        return True
    if isinstance(source, (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison,
                           cst.BooleanOperation, cst.BaseString, cst.Integer, cst.Float,
                           cst.List, cst.Tuple, cst.Dict, cst.Set, cst.Lambda,
                           cst.ListComp, cst.DictComp, cst.SetComp, cst.GeneratorExp)):
        return False
    if isinstance(source, cst.Call):
        name = _dotted(source.func)
        last = name.rpartition(".")[2]
        if last in {"int", "float", "str", "bool", "len", "sum", "min", "max", "round",
                    "sqrt", "log", "ceil", "floor", "tuple", "list", "dict", "range"} \
                or name.startswith(("math.", "np.", "numpy.")):
            return False
        if last in tensors.FACTORIES and name.startswith("torch."):
            return False
    if isinstance(source, cst.Name) and reader.functions:
        fn = reader.functions[-1]
        params = fn.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            if param.name.value != source.value:
                continue
            if param.annotation is not None and cst.Module([]).code_for_node(
                    param.annotation.annotation).split("[")[0].strip() in _SCALAR_ANNOTATIONS:
                return False
            if param.annotation is not None:  # `config: Config`, a class of the project's own
                declared = reader.eval(param.annotation.annotation, reader.globals)
                if isinstance(declared, O.ClassValue) and declared.torch_base() is None:
                    return False
            if isinstance(param.default, (cst.Integer, cst.Float, cst.BaseString)) or (
                    isinstance(param.default, cst.Name)
                    and param.default.value in {"True", "False"}):
                return False
    return True


def from_new_module(value: NewModule) -> O.Built:
    built = O.Built(value.type, sizes=dict(value.attrs), base=value.type)
    for name, shape in value.params:
        built.params[name] = O.Param(shape)
    for name, shape, persistent in value.buffers:
        built.buffers[name] = (O.Tensor(shape), persistent)
    for name, child in value.children:
        built.register_child(name, from_new_module(child))
    return built


def _torch_name(name: str) -> str:
    """`nn.Linear`, `torch.nn.modules.linear.Linear` -> `torch.nn.Linear`."""
    if name.startswith("nn."):
        name = "torch." + name
    if not name.startswith("torch.nn."):
        return name
    parts = name.split(".")
    if parts[-1] == "__init__" and len(parts) >= 4:
        return f"torch.nn.{parts[-2]}.__init__"
    if parts[-1][:1].isupper():
        return f"torch.nn.{parts[-1]}"
    return name


# Calls a module-level constant may be built with (litgpt's `configs = [dict(name=...), ...]`):
# plain values, evaluated by the reader, no code of the project's.
_CONSTANT_CALLS = frozenset({"dict", "list", "tuple", "set", "frozenset", "int", "float",
                             "str", "bool", "range", "len", "min", "max", "sorted"})


def _has_call(small: cst.BaseSmallStatement) -> bool:
    """Whether a module-level statement calls anything but the builtins constants use."""
    value = getattr(small, "value", None)
    if value is None:
        return False
    for node in walk(value):  # read-only: CSTNode.visit() would rebuild every node
        if type(node) is cst.Call:
            func = node.func
            if not (type(func) is cst.Name and func.value in _CONSTANT_CALLS):
                return True
    return False


def _is_main_guard(stmt: cst.If) -> bool:
    test = stmt.test
    return isinstance(test, cst.Comparison) and _dotted(test.left) == "__name__"


def manifest_of(built: Any, name: str, source: str = "static",
                meta: dict[str, Any] | None = None) -> Manifest | None:
    from freezelint.analysis.classes.flatten import to_manifest

    if not isinstance(built, O.Built):
        return None
    with suppress(ReturnSignal):
        return to_manifest(built, name, source, meta or {})
    return None

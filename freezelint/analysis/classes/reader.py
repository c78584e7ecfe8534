"""The static class reader: runs an `nn.Module`'s `__init__` over abstract modules.

It is the script interpreter (statements, expressions, helper functions, comprehensions)
with torch.nn's construction semantics on top: `self.x = nn.Linear(a, b)` registers a child,
`nn.Parameter(torch.zeros(n))` a parameter, `register_buffer` a buffer, containers take what
the code puts in them, `super().__init__(...)` runs the base's constructor, a project class
is constructed by reading its own `__init__`, a library trunk the zoo knows is spliced in.
Layers come from the torch.nn table generated from torch (models/nn_table.py).

Nothing of the user's code runs. Whatever cannot be evaluated (a loop over an unknown
range, a branch on an unknown flag, a call into code it cannot see) becomes a hole.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import libcst as cst

from freezelint.analysis.classes import builtins, tensors
from freezelint.analysis.classes import objects as O
from freezelint.analysis.classes.flatten import built_from_manifest, copy_built
from freezelint.analysis.classes.project import Project
from freezelint.analysis.detect import ModelRequest, detect_constructor
from freezelint.analysis.evaluator import body_of
from freezelint.analysis.interpreter import Interpreter
from freezelint.analysis.interpreter import _dotted as _dotted
from freezelint.analysis.nn_modules import NewModule
from freezelint.analysis.python_builtins import BUILTINS, Builtin
from freezelint.analysis.scope import MISSING, Frame, ReturnSignal
from freezelint.analysis.values import (
    UNKNOWN,
    BoundMethod,
    FunctionObj,
    ModuleObj,
    Qualified,
    is_unknown,
)
from freezelint.models import nn_table
from freezelint.models.manifest import Manifest

_MAX_RANGE = 10_000
_SCALAR_ANNOTATIONS = frozenset({"int", "float", "bool", "str", "tuple", "list", "dict"})
# Module methods that return the module and change no name.
_CHAINABLE = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "train",
                        "eval", "requires_grad_", "apply", "type", "share_memory"})
_CONSTRUCTED = {"SimpleNamespace", "Namespace", "EasyDict", "edict", "AttrDict"}


class ClassReader(Interpreter):
    """One reader per lint (or per `params` run): project modules are loaded once."""

    project_imports = False  # it resolves imports itself (exec_import_from)

    def __init__(self, module: cst.Module, project: Project,
                 resolve: Any = None, path: Path | None = None,
                 globals_frame: Frame | None = None) -> None:
        super().__init__(module, resolve or (lambda request: None))
        self.project = project
        self.path = path
        if globals_frame is not None:
            self.globals = globals_frame
        self.homes: dict[cst.CSTNode, tuple[Frame, Path | None]] = {}
        self.loaded: dict[Path, Frame] = {}
        self.methods: list[tuple[O.ClassValue, Any]] = []  # (class, self) of running methods
        self.functions: list[cst.FunctionDef | cst.Lambda] = []
        self.class_attrs: dict[cst.ClassDef, dict[str, Any]] = {}
        self.current_path: Path | None = path

    # -- modules of the project ------------------------------------------------------------
    def load_file(self, path: Path) -> Frame | None:
        """The globals of a project module, defining what it defines (nothing is run: calls
        at module level are not followed)."""
        if path in self.loaded:
            return self.loaded[path]
        module = self.project.parse(path)
        if module is None:
            return None
        frame = Frame()
        frame.bind("__name__", path.stem)
        self.loaded[path] = frame
        with self._in_module(frame, path):
            self.define(module.body, frame)
        return frame

    def define(self, body: Any, frame: Frame) -> None:
        """Run a module's definitions: imports, functions, classes, constant assignments."""
        for stmt in body:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                self.exec_block([stmt], frame)
            elif isinstance(stmt, cst.SimpleStatementLine):
                if all(isinstance(s, (cst.Import, cst.ImportFrom))
                       or (isinstance(s, (cst.Assign, cst.AnnAssign)) and not _has_call(s))
                       for s in stmt.body):
                    self.exec_block([stmt], frame)
            elif isinstance(stmt, cst.Try) or (isinstance(stmt, cst.If) and not _is_main_guard(stmt)):
                self.define(body_of(stmt), frame)

    @contextmanager
    def _in_module(self, frame: Frame, path: Path | None) -> Iterator[None]:
        saved = self.globals, self.current_path
        self.globals, self.current_path = frame, path
        try:
            yield
        finally:
            self.globals, self.current_path = saved

    def exec_import_from(self, small: cst.ImportFrom, frame: Frame) -> None:
        super().exec_import_from(small, frame)
        if isinstance(small.names, cst.ImportStar) or (small.module is None and not small.relative):
            return
        dotted = "." * len(small.relative) + (_dotted(small.module) if small.module else "")
        for alias in small.names:
            name = _dotted(alias.name)
            local = alias.asname.name if alias.asname is not None else alias.name
            if not isinstance(local, cst.Name):
                continue
            value = self._project_name(dotted, name)
            if value is not MISSING:
                frame.bind(local.value, value)

    def _project_name(self, module: str, name: str) -> Any:
        path = self.project.module_file(module, self.current_path)
        if path is not None:
            globals_frame = self.load_file(path)
            if globals_frame is not None:
                value = globals_frame.names.get(name, MISSING)
                if value is not MISSING:
                    return value
        # `from . import layers` / `from pkg import module`: a submodule.
        sub = f"{module}.{name}" if not module.endswith(".") else f"{module}{name}"
        path = self.project.module_file(sub, self.current_path)
        if path is not None:
            globals_frame = self.load_file(path)
            if globals_frame is not None:
                return _ModuleRef(globals_frame)
        return MISSING

    def exec_small(self, small: cst.BaseSmallStatement, frame: Frame) -> None:
        if isinstance(small, cst.Import):
            super().exec_small(small, frame)
            for alias in small.names:
                dotted = _dotted(alias.name)
                path = self.project.module_file(dotted, self.current_path)
                if path is not None and alias.asname is not None \
                        and isinstance(alias.asname.name, cst.Name):
                    loaded = self.load_file(path)
                    if loaded is not None:
                        frame.bind(alias.asname.name.value, _ModuleRef(loaded))
            return
        if isinstance(small, cst.AugAssign):
            self.aug_assign(small, frame)
            return
        super().exec_small(small, frame)

    def aug_assign(self, small: cst.AugAssign, frame: Frame) -> None:
        """`layers += [...]`, `channels *= 2`, `self.layers += blocks`, computed for real."""
        target = self.eval(small.target, frame)
        value = self.eval(small.value, frame)
        if isinstance(target, O.Built) and target.container in O.CONTAINERS \
                and isinstance(small.operator, cst.AddAssign):
            self._extend(target, value, small)
            return
        operation = _AUGMENTED.get(type(small.operator))
        result: Any = UNKNOWN
        if operation is not None and _plain(target) and _plain(value):
            try:
                result = operation(target, value)
            except Exception:  # what Python would raise on: the value is unknown
                result = UNKNOWN
        if isinstance(small.target, cst.Name):
            frame.bind(small.target.value, result)
        elif isinstance(small.target, (cst.Attribute, cst.Subscript)):
            self.assign(small.target, result, frame, None)

    # -- statements ------------------------------------------------------------------------
    def exec_stmt(self, stmt: cst.CSTNode, frame: Frame) -> None:
        if isinstance(stmt, cst.ClassDef):
            frame.bind(stmt.name.value, self.class_value(stmt, frame))
            return
        if isinstance(stmt, cst.FunctionDef):
            super().exec_stmt(stmt, frame)
            self.homes[stmt] = (self.globals, self.current_path)
            return
        if isinstance(stmt, cst.While):
            with self.maybe():
                self.eval(stmt.test, frame)
                self.run_iteration(stmt, frame)
            return
        super().exec_stmt(stmt, frame)

    def exec_for(self, stmt: cst.For, frame: Frame) -> None:
        elements = self.iterate(self.eval(stmt.iter, frame), stmt.iter)
        if elements is None:
            with self.maybe():  # a loop the reader cannot unroll: what it registers is a hole
                self.assign(stmt.target, UNKNOWN, frame)
                self.run_iteration(stmt, frame)
            return
        for element in elements:
            self.assign(stmt.target, element, frame)
            if not self.run_iteration(stmt, frame):
                break
        if stmt.orelse is not None:
            self.exec_block(body_of(stmt.orelse), frame)

    def class_value(self, node: cst.ClassDef, frame: Frame) -> O.ClassValue:
        bases = tuple(self.eval(arg.value, frame) for arg in node.bases if arg.keyword is None)
        is_dataclass = any(_dotted(d.decorator if not isinstance(d.decorator, cst.Call)
                                   else d.decorator.func).rpartition(".")[2] == "dataclass"
                           for d in node.decorators)
        klass = O.ClassValue(node, self.globals, bases, is_dataclass, self.current_path)
        for method in klass.methods().values():
            self.homes[method] = (self.globals, self.current_path)
        return klass

    # -- calls -----------------------------------------------------------------------------
    def call_function(self, fn: FunctionObj, args: list[Any], kwargs: dict[str, Any],
                      node: cst.CSTNode) -> Any:
        fn, args, kwargs = _variadic(fn, args, kwargs)
        home = self.homes.get(fn.node)
        self.functions.append(fn.node)
        try:
            if home is None:
                return super().call_function(fn, args, kwargs, node)
            with self._in_module(*home):
                return super().call_function(fn, args, kwargs, node)
        finally:
            self.functions.pop()

    def eval_Name(self, node: cst.Name, frame: Frame) -> Any:
        value = frame.lookup(node.value)
        if value is MISSING and node.value in builtins.READER_BUILTINS:
            return builtins.READER_BUILTINS[node.value]
        return super().eval_Name(node, frame)

    def call(self, callee: Any, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if isinstance(callee, O.ClassValue):
            return self.instantiate(callee, args, kwargs, node)
        if isinstance(callee, _Partial):
            return self.call(callee.callee, [*callee.args, *args], {**callee.kwargs, **kwargs},
                             node)
        if isinstance(callee, Qualified):
            return self.call_qualified(callee.name, args, kwargs, node)
        if isinstance(callee, O.Super):
            return UNKNOWN
        if callee is builtins.SUPER:
            if self.methods:
                klass, instance = self.methods[-1]
                return O.Super(klass, instance)
            return UNKNOWN
        if isinstance(callee, Builtin) and callee.fn is BUILTINS["len"].fn and args \
                and isinstance(args[0], O.Built):
            return len(args[0].children) + len(args[0].params)
        if isinstance(callee, builtins.ReaderBuiltin):
            return callee.fn(self, args, kwargs)
        if isinstance(callee, (O.Hole, O.Namespace)) or is_unknown(callee):
            return O.Hole()
        return super().call(callee, args, kwargs, node)

    def call_qualified(self, name: str, args: list[Any], kwargs: dict[str, Any],
                       node: cst.Call) -> Any:
        name = _torch_name(name)
        last = name.rpartition(".")[2]
        if name.startswith("torch.nn.") and name.count(".") >= 2:
            if name.endswith(".__init__"):  # nn.Module.__init__(self, ...)
                owner = name.rsplit(".", 2)[-2]
                if args and isinstance(args[0], O.Built):
                    self.torch_init(args[0], owner, args[1:], kwargs, node)
                return None
            if last in {"Parameter", "UninitializedParameter"}:
                data = args[0] if args else kwargs.get("data")
                return O.Param(data.shape if isinstance(data, O.Tensor) else None)
            if last in O.CONTAINERS:
                built = O.Built(last, base=last)
                self.torch_init(built, last, args, kwargs, node)
                return built
            if nn_table.known_class(last):
                return self.layer(last, args, kwargs)
            if last == "Module":
                return O.Built("Module")
        if name.startswith("torch.") and last in tensors.FACTORIES and name.count(".") == 1:
            return O.Tensor(tensors.factory_shape(last, args, kwargs))
        if name.startswith("torch.") and args and isinstance(args[0], O.Tensor):
            return tensors.tensor_method(args[0], last, args[1:])
        if last == "OrderedDict" or name == "dict":
            return builtins.ordered_dict(args, kwargs)
        if last in _CONSTRUCTED:
            return O.namespace(None, kwargs)
        if name in {"copy.deepcopy", "copy.copy"} and args:
            return copy_built(args[0]) if isinstance(args[0], O.Built) else args[0]
        if name == "functools.partial" and args:
            return _Partial(args[0], args[1:], kwargs)
        if name.startswith("math.") and args and all(isinstance(a, (int, float)) for a in args):
            import math

            with suppress(Exception):
                return getattr(math, last)(*args)
        request = detect_constructor(name, args, kwargs)
        if request is not None:
            return self.library_model(request)
        return O.Hole()

    def library_model(self, request: ModelRequest) -> Any:
        manifest = self.resolve(request)
        return built_from_manifest(manifest) if manifest is not None else O.Hole()

    def layer(self, class_name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A torch.nn layer from the generated table; a hole when it cannot be evaluated."""
        records = nn_table.layer(class_name, [_table_arg(a) for a in args],
                                 {k: _table_arg(v) for k, v in kwargs.items()})
        if records is None:
            return O.Hole()
        by_path: dict[str, O.Built] = {}
        root: O.Built | None = None
        for record in records:
            if isinstance(record, nn_table.Module):
                built = O.Built(record.type, sizes=dict(record.attrs), base=record.type)
                by_path[record.path] = built
                if not record.path:
                    root = built
                else:
                    parent, _, child = record.path.rpartition(".")
                    by_path[parent].register_child(child, built)
            elif isinstance(record, nn_table.Splice):
                parent, _, child = record.path.rpartition(".")
                value = record.value
                if isinstance(value, O.Built):
                    copied = copy_built(value)
                    by_path[parent].register_child(child, copied)
                    by_path[record.path] = copied
                elif value is not None:
                    by_path[parent].hole(child)
            else:
                owner, _, leaf = record.name.rpartition(".")
                if record.buffer:
                    by_path[owner].buffers[leaf] = (O.Tensor(record.shape), record.persistent)
                else:
                    by_path[owner].params[leaf] = O.Param(record.shape)
        return root if root is not None else O.Hole()

    # -- classes ---------------------------------------------------------------------------
    def instantiate(self, klass: O.ClassValue, args: list[Any], kwargs: dict[str, Any],
                    node: cst.CSTNode) -> Any:
        base = klass.torch_base()
        if base is None:
            return self.plain_instance(klass, args, kwargs, node)
        built = O.Built(klass.name, cls=klass, base=base)
        found = klass.find_method("__init__")
        if found is None:
            self.torch_init(built, base, args, kwargs, node)
        else:
            self.run_method(found[0], found[1], built, args, kwargs, node)
        return built

    def run_method(self, klass: O.ClassValue, method: cst.FunctionDef, instance: Any,
                   args: list[Any], kwargs: dict[str, Any], node: cst.CSTNode) -> Any:
        self.homes.setdefault(method, (klass.globals, self.current_path))
        self.methods.append((klass, instance))
        try:
            return self.call_function(FunctionObj(method, None, None), [instance, *args],
                                      kwargs, node)
        finally:
            self.methods.pop()

    def plain_instance(self, klass: O.ClassValue, args: list[Any], kwargs: dict[str, Any],
                       node: cst.CSTNode) -> O.Namespace:
        """A config object: a dataclass's fields with their defaults, or a plain class's
        class attributes and what its `__init__` sets."""
        instance = O.namespace(klass)
        for owner in reversed(klass.mro()):
            instance.attrs.update(self.class_attributes(owner))
        if klass.dataclass:
            fields = [n for owner in reversed(klass.mro()) for n in _fields(owner.node)]
            for name, value in zip(fields, args, strict=False):
                instance.attrs[name] = value
            for name, value in kwargs.items():
                instance.attrs[name] = value
            found = klass.find_method("__post_init__")
            if found is not None:
                self.run_method(found[0], found[1], instance, [], {}, node)
            return instance
        found = klass.find_method("__init__")
        if found is not None:
            self.run_method(found[0], found[1], instance, args, kwargs, node)
        return instance

    def class_attributes(self, klass: O.ClassValue) -> dict[str, Any]:
        cached = self.class_attrs.get(klass.node)
        if cached is not None:
            return cached
        values: dict[str, Any] = {}
        frame = Frame(parent=klass.globals)
        for stmt in body_of(klass.node):
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    value = UNKNOWN if small.value is None else self._field_default(small.value,
                                                                                   frame)
                    if small.value is not None:
                        values[small.target.value] = value
                        frame.bind(small.target.value, value)
                elif isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name):
                    value = self.eval(small.value, frame)
                    values[small.targets[0].target.value] = value
                    frame.bind(small.targets[0].target.value, value)
        self.class_attrs[klass.node] = values
        return values

    def _field_default(self, value: cst.BaseExpression, frame: Frame) -> Any:
        if isinstance(value, cst.Call) and _dotted(value.func).rpartition(".")[2] == "field":
            for arg in value.args:
                if arg.keyword is not None and arg.keyword.value == "default":
                    return self.eval(arg.value, frame)
                if arg.keyword is not None and arg.keyword.value == "default_factory":
                    factory = self.eval(arg.value, frame)
                    return self.call(factory, [], {}, value) if not is_unknown(factory) \
                        else UNKNOWN
            return UNKNOWN
        return self.eval(value, frame)

    def torch_init(self, built: O.Built, base: str, args: list[Any], kwargs: dict[str, Any],
                   node: cst.CSTNode) -> None:
        """torch.nn's own `__init__` of `base` run on `built` (a subclass's super().__init__)."""
        if base == O.SEQUENTIAL:
            if len(args) == 1 and isinstance(args[0], dict):
                for key, value in args[0].items():
                    self.register(built, str(key), value, None)
            else:
                for value in args:
                    self.register(built, built.next_index(), value, None)
        elif base in {O.MODULE_LIST, O.PARAMETER_LIST}:
            if args:
                self._extend(built, args[0], node)
        elif base in {O.MODULE_DICT, O.PARAMETER_DICT}:
            if args:
                self._update(built, args[0])
        elif base != "Module" and nn_table.known_class(base):
            made = self.layer(base, args, kwargs)
            if isinstance(made, O.Built):
                built.params.update(made.params)
                built.buffers.update(made.buffers)
                built.children.update(made.children)
                built.sizes.update(made.sizes)
            else:
                built.hole("")
        elif base != "Module":
            built.hole("")

    # -- registration ----------------------------------------------------------------------
    def register(self, owner: O.Built, name: str, value: Any, source: cst.CSTNode | None) -> None:
        """`owner.name = value` with torch's `__setattr__` semantics."""
        if self.uncertain and (isinstance(value, (O.Built, O.Param, O.Hole))
                               or _may_be_module(value, source, self)):
            owner.hole(name)  # registered, or not, depending on what the reader cannot know
            return
        if isinstance(value, O.Built):
            owner.register_child(name, value)
        elif isinstance(value, O.Param):
            owner.register_param(name, value)
        elif isinstance(value, O.Hole) or (is_unknown(value) and _may_be_module(value, source,
                                                                                 self)):
            owner.children.pop(name, None)
            owner.params.pop(name, None)
            owner.hole(name)
        elif isinstance(value, ModuleObj):
            owner.register_child(name, built_from_manifest(value.model.manifest, value.path))
        elif isinstance(value, NewModule):
            owner.register_child(name, _from_new_module(value))
        elif value is None and name in owner.children:
            owner.children[name] = None
        elif value is None and name in owner.params:
            owner.params[name] = None
        elif isinstance(value, O.Tensor) and name in owner.buffers:
            owner.buffers[name] = (value, owner.buffers[name][1])
        else:
            owner.attrs[name] = value

    def _extend(self, container: O.Built, values: Any, node: cst.CSTNode) -> None:
        items = self.iterate(values, node) if not isinstance(values, O.Built) \
            else list(values.children.values())
        if items is None or self.uncertain:
            container.hole("")
            return
        for item in items:
            self.register(container, container.next_index(), item, None)

    def _update(self, container: O.Built, values: Any) -> None:
        if isinstance(values, dict):
            pairs = list(values.items())
        elif isinstance(values, (list, tuple)) and all(isinstance(p, (list, tuple))
                                                       and len(p) == 2 for p in values):
            pairs = [tuple(p) for p in values]
        else:
            container.hole("")
            return
        for key, value in pairs:
            if not isinstance(key, str):
                container.hole("")
                return
            self.register(container, str(key), value, None)

    def assign(self, target: cst.BaseExpression, value: Any, frame: Frame,
               stmt: cst.CSTNode | None = None) -> None:
        if isinstance(target, cst.Attribute):
            owner = self.eval(target.value, frame)
            source = stmt.value if isinstance(stmt, (cst.Assign, cst.AnnAssign)) else None
            if isinstance(owner, O.Built):
                self.register(owner, target.attr.value, value, source)
                return
            if isinstance(owner, O.Namespace):
                owner.attrs[target.attr.value] = value
                return
        if isinstance(target, cst.Subscript):
            owner = self.eval(target.value, frame)
            if isinstance(owner, O.Built):
                index = self.single_index(target, frame)
                name = _child_name(owner, index)
                if name is None:
                    owner.hole("")
                else:
                    self.register(owner, name, value, None)
                return
        super().assign(target, value, frame, stmt)

    def exec_del(self, target: cst.BaseExpression, frame: Frame) -> None:
        """`del self.fc` unregisters what torch holds under that name."""
        if isinstance(target, cst.Attribute):
            owner = self.eval(target.value, frame)
            if isinstance(owner, O.Built):
                name = target.attr.value
                if self.uncertain:
                    owner.hole(name)
                    return
                for table in (owner.children, owner.params, owner.buffers, owner.attrs):
                    table.pop(name, None)  # type: ignore[attr-defined]
                owner.holes.discard(name)
                return
        super().exec_del(target, frame)

    # -- attributes and methods --------------------------------------------------------------
    def get_attr(self, owner: Any, attr: str, node: cst.CSTNode) -> Any:
        if isinstance(owner, O.Built):
            return self._built_attr(owner, attr, node)
        if isinstance(owner, O.Namespace):
            if attr in owner.attrs:
                return owner.attrs[attr]
            if owner.cls is not None and owner.cls.find_method(attr) is not None:
                return BoundMethod(owner, attr, node)
            return UNKNOWN
        if isinstance(owner, O.ClassValue):
            attrs = {}
            for klass in reversed(owner.mro()):
                attrs.update(self.class_attributes(klass))
            if attr in attrs:
                return attrs[attr]
            return BoundMethod(owner, attr, node) if owner.find_method(attr) else UNKNOWN
        if isinstance(owner, O.Super):
            return BoundMethod(owner, attr, node)
        if isinstance(owner, _ModuleRef):
            value = owner.globals.names.get(attr, MISSING)
            return UNKNOWN if value is MISSING else value
        if isinstance(owner, O.Param):
            if attr == "shape" and owner.shape is not None:
                return owner.shape
            return UNKNOWN
        if isinstance(owner, O.Tensor):
            if attr == "shape" and owner.shape is not None:
                return owner.shape
            return BoundMethod(owner, attr, node) if attr in tensors.SAME_SHAPE | tensors.RESHAPES else UNKNOWN
        if isinstance(owner, dict) and not isinstance(owner, O.Built):
            return BoundMethod(owner, attr, node)
        return super().get_attr(owner, attr, node)

    def _built_attr(self, owner: O.Built, attr: str, node: cst.CSTNode) -> Any:
        if attr in owner.holes:
            return O.Hole()
        if attr in owner.children:
            return owner.children[attr]
        if attr in owner.params:
            return owner.params[attr]
        if attr in owner.buffers:
            return owner.buffers[attr][0]
        if attr in owner.attrs:
            return owner.attrs[attr]
        if attr in owner.sizes:
            return owner.sizes[attr]
        if owner.cls is not None and owner.cls.find_method(attr) is not None:
            return BoundMethod(owner, attr, node)
        if owner.cls is not None:
            for klass in owner.cls.mro():
                attrs = self.class_attributes(klass)
                if attr in attrs:
                    return attrs[attr]
        if "" in owner.holes:
            return O.Hole()
        return BoundMethod(owner, attr, node)

    def call_method(self, method: BoundMethod, args: list[Any], kwargs: dict[str, Any],
                    node: cst.Call) -> Any:
        receiver, name = method.receiver, method.name
        if isinstance(receiver, O.Super):
            return self._super_call(receiver, name, args, kwargs, node)
        if isinstance(receiver, O.ClassValue):
            found = receiver.find_method(name)
            if found is not None and args and name == "__init__":
                if isinstance(args[0], O.Built):
                    self.run_method(found[0], found[1], args[0], args[1:], kwargs, node)
                return None
            if found is not None:
                return self.run_method(found[0], found[1], receiver, args, kwargs, node)
            return UNKNOWN
        if isinstance(receiver, (O.Built, O.Namespace)) and receiver.cls is not None:
            found = receiver.cls.find_method(name)
            if found is not None:
                return self.run_method(found[0], found[1], receiver, args, kwargs, node)
        if isinstance(receiver, O.Built):
            return self._module_method(receiver, name, args, kwargs, node)
        if isinstance(receiver, O.Tensor):
            return tensors.tensor_method(receiver, name, args)
        if isinstance(receiver, dict) and name in {"items", "keys", "values", "get", "pop",
                                                   "update", "setdefault"}:
            with suppress(Exception):
                return builtins.dict_method(receiver, name, args)
            return UNKNOWN
        if isinstance(receiver, list) and name in {"insert", "pop", "reverse"}:
            with suppress(Exception):
                return getattr(receiver, name)(*args)
            return UNKNOWN
        return super().call_method(method, args, kwargs, node)

    def _super_call(self, sup: O.Super, name: str, args: list[Any], kwargs: dict[str, Any],
                    node: cst.Call) -> Any:
        instance = sup.instance
        start = instance.cls if isinstance(instance, (O.Built, O.Namespace)) \
            and instance.cls is not None else sup.klass
        order = start.mro()
        after = order[order.index(sup.klass) + 1:] if sup.klass in order else []
        for klass in after:
            method = klass.methods().get(name)
            if method is not None:
                return self.run_method(klass, method, instance, args, kwargs, node)
        if name == "__init__" and isinstance(instance, O.Built):
            base = sup.klass.torch_base()
            own = next((b.last for b in sup.klass.bases if isinstance(b, Qualified)), "Module")
            self.torch_init(instance, own if own in O.CONTAINERS or nn_table.known_class(own)
                            else (base or "Module"), args, kwargs, node)
        return None

    def _module_method(self, owner: O.Built, name: str, args: list[Any],
                       kwargs: dict[str, Any], node: cst.Call) -> Any:
        if name in {"add_module", "register_module", "register_parameter"} and len(args) >= 2:
            key = args[0]
            if isinstance(key, str):
                self.register(owner, str(key), args[1], None)
            else:
                owner.hole("")
            return None
        if name == "register_buffer":
            key = args[0] if args else kwargs.get("name")
            tensor = args[1] if len(args) > 1 else kwargs.get("tensor")
            persistent = args[2] if len(args) > 2 else kwargs.get("persistent", True)
            if not isinstance(key, str) or not isinstance(persistent, bool) or self.uncertain:
                owner.hole("" if not isinstance(key, str) else str(key))
                return None
            owner.buffers[str(key)] = (tensor if isinstance(tensor, O.Tensor)
                                       else (None if tensor is None else O.Tensor(None)),
                                       persistent)
            return None
        if name == "append" and owner.container in O.CONTAINERS and args:
            self.register(owner, owner.next_index(), args[0], None)
            return owner
        if name == "extend" and owner.container in O.CONTAINERS and args:
            self._extend(owner, args[0], node)
            return owner
        if name == "insert" and owner.container in O.CONTAINERS and len(args) == 2:
            if not isinstance(args[0], int) or self.uncertain:
                owner.hole("")
                return None
            items = list(owner.children.values())
            items.insert(args[0], args[1])
            owner.children.clear()
            for index, item in enumerate(items):
                self.register(owner, str(index), item, None)
            return None
        if name == "update" and owner.container in O.CONTAINERS and args:
            self._update(owner, args[0])
            return None
        if name in {"keys", "values", "items"} and owner.container == O.MODULE_DICT:
            return list(getattr(owner.children, name)())
        if name in _CHAINABLE:
            return owner
        return UNKNOWN

    def single_index(self, node: cst.Subscript, frame: Frame) -> Any:
        return super().single_index(node, frame)

    def eval_Subscript(self, node: cst.Subscript, frame: Frame) -> Any:
        owner = self.eval(node.value, frame)
        if isinstance(owner, O.Built):
            index = self.single_index(node, frame)
            name = _child_name(owner, index, reading=True)
            if name is None:
                return O.Hole() if "" in owner.holes or is_unknown(index) else UNKNOWN
            if name in owner.holes:
                return O.Hole()
            return owner.children.get(name, owner.params.get(name))
        return super().eval_Subscript(node, frame)

    def iterate(self, value: Any, node: cst.CSTNode) -> list[Any] | None:
        if isinstance(value, range):
            return list(value) if len(value) <= _MAX_RANGE else None
        if isinstance(value, O.Built):
            if value.holes:
                return None
            if value.container in {O.MODULE_DICT, O.PARAMETER_DICT}:
                return list(value.children)
            return [c for c in value.children.values() if c is not None]
        if isinstance(value, (O.Hole, O.Namespace)):
            return None
        return super().iterate(value, node)

    def truth(self, value: Any) -> bool | None:
        if isinstance(value, (O.Built, O.Param, O.Tensor, O.ClassValue, O.Namespace)):
            return True
        if isinstance(value, O.Hole):
            return None
        return super().truth(value)

    def eval_FormattedString(self, node: cst.FormattedString, frame: Frame) -> Any:
        """f"block_{i}": computed when every part is a plain value."""
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
                continue
            if not isinstance(part, cst.FormattedStringExpression):
                return UNKNOWN
            value = self.eval(part.expression, frame)
            if not isinstance(value, (str, int, float, bool)) or is_unknown(value):
                return UNKNOWN
            spec = ""
            if part.format_spec:
                if not all(isinstance(p, cst.FormattedStringText) for p in part.format_spec):
                    return UNKNOWN
                spec = "".join(p.value for p in part.format_spec)  # type: ignore[attr-defined]
            try:
                text = repr(value) if part.conversion == "r" else value
                parts.append(format(text, spec))
            except (TypeError, ValueError):
                return UNKNOWN
        return "".join(parts)

    def eval_BinaryOperation(self, node: cst.BinaryOperation, frame: Frame) -> Any:
        left, right = self.eval(node.left, frame), self.eval(node.right, frame)
        if isinstance(left, O.Tensor) or isinstance(right, O.Tensor):
            tensors = [v for v in (left, right) if isinstance(v, O.Tensor)]
            scalars = [v for v in (left, right) if isinstance(v, (int, float))]
            if (len(tensors) == 2 and tensors[0].shape == tensors[1].shape) \
                    or (len(tensors) == 1 and scalars):
                return O.Tensor(tensors[0].shape)
            return O.Tensor(None)
        return super().eval_BinaryOperation(node, frame)

    def compare(self, left: Any, op: cst.BaseCompOp, right: Any) -> Any:
        if isinstance(op, (cst.Is, cst.IsNot)) and (left is None or right is None):
            other = right if left is None else left
            if isinstance(other, (O.Built, O.Param, O.Tensor, O.Namespace, O.ClassValue)):
                return isinstance(op, cst.IsNot)
        return super().compare(left, op, right)


# -- helpers ---------------------------------------------------------------------------------
class _ModuleRef:
    """A project module imported as a name (`from . import layers`)."""

    def __init__(self, globals_frame: Frame) -> None:
        self.globals = globals_frame


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


def _may_be_module(value: Any, source: cst.CSTNode | None, reader: ClassReader) -> bool:
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


def _from_new_module(value: NewModule) -> O.Built:
    built = O.Built(value.type, sizes=dict(value.attrs), base=value.type)
    for name, shape in value.params:
        built.params[name] = O.Param(shape)
    for name, child in value.children:
        built.register_child(name, _from_new_module(child))
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


def _has_call(small: cst.BaseSmallStatement) -> bool:
    value = getattr(small, "value", None)
    if value is None:
        return False
    found = []

    class _Find(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            found.append(node)
            return False

    value.visit(_Find())
    return bool(found)


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

"""The first half of the static class reader: projects, imports, definitions, construction.

ClassReader (reader.py) is long enough that it is split in two along its seam: this base
class loads project modules and resolves their imports, defines classes and functions, runs
statements with their project-specific rules, calls functions and classes (a torch.nn layer
from the table, a project class by reading its `__init__`, a library trunk the zoo knows),
runs torch.nn's own `__init__`, and registers children, parameters and buffers with torch's
`__setattr__` semantics. Attribute access, assignment, method calls on modules and containers
and the expression rules are ClassReader's own (reader.py); each method is defined once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

import libcst as cst

from freezelint.analysis.classes import builtins, tensors
from freezelint.analysis.classes import objects as O
from freezelint.analysis.classes.flatten import built_from_manifest, copy_built
from freezelint.analysis.classes.helpers import (
    _AUGMENTED,
    LazyNames,
    PendingImport,
    _fields,
    _has_call,
    _is_main_guard,
    _may_be_module,
    _ModuleRef,
    _Partial,
    _plain,
    _table_arg,
    _torch_name,
    _variadic,
    from_new_module,
)
from freezelint.analysis.classes.module_index import DeferredBody, ModuleIndex
from freezelint.analysis.classes.project import Project
from freezelint.analysis.detect import ModelRequest, detect_constructor
from freezelint.analysis.evaluator import body_of
from freezelint.analysis.interpreter import Interpreter
from freezelint.analysis.interpreter import _dotted as _dotted
from freezelint.analysis.nn_modules import NewModule
from freezelint.analysis.python_builtins import BUILTINS, Builtin
from freezelint.analysis.scope import (
    MAX_CALLS,
    MAX_PROJECT_DATA_BODY_CHARS,
    MISSING,
    BoundSpent,
    Frame,
)
from freezelint.analysis.values import (
    UNKNOWN,
    FunctionObj,
    ModuleObj,
    Qualified,
    is_unknown,
)
from freezelint.models import nn_table

_CONSTRUCTED = {"SimpleNamespace", "Namespace", "EasyDict", "edict", "AttrDict"}
# Project modules a name is followed through when it is re-exported (`from .x import y` in a
# package's `__init__`), at most: real packages re-export once or twice.
_MAX_REEXPORTS = 8


class InstantiatingReader(Interpreter):
    """ClassReader's base: everything up to and including registration (see the module doc)."""

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
        # Bodies run that build no module (functions, methods of plain classes), and the
        # bound one call from the script sets on them (link.py, scope.py)
        self.data_bodies = 0
        self.data_limit: float = float("inf")
        self._module_body: cst.FunctionDef | None = None  # a module's method run_method runs

    # -- modules of the project ------------------------------------------------------------
    def load_file(self, path: Path) -> Frame | None:
        """The globals of a project module. Each name is defined when first looked up, from
        the top-level statements that bind it (module_index.py); nothing is run: calls at
        module level are not followed."""
        if path in self.loaded:
            return self.loaded[path]
        index = self.project.index(path)
        if index is None:
            return None
        done: set[int] = set()

        def define_name(name: str) -> None:
            for chunk in index.by_name.get(name, ()):
                if chunk not in done:
                    done.add(chunk)
                    with self._in_module(frame, path):
                        self.define(index.statements(chunk), frame)

        frame = Frame(names=LazyNames(define_name, index.names()))
        frame.bind("__name__", path.stem)
        self.loaded[path] = frame
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
        importer = self.current_path
        lazy = type(frame.names) is LazyNames  # a project module's globals, being read
        for alias in small.names:
            name = _dotted(alias.name)
            local = alias.asname.name if alias.asname is not None else alias.name
            if not isinstance(local, cst.Name):
                continue
            if lazy:
                # what super() just bound, read as it is: a lookup would define the name
                fallback = dict.get(frame.names, local.value, MISSING)
                frame.bind(local.value, PendingImport(
                    partial(self._project_name, dotted, name, importer), fallback))
                continue
            value = self._project_name(dotted, name, importer)
            if value is not MISSING:
                frame.bind(local.value, value)

    def _project_name(self, module: str, name: str, importer: Path | None) -> Any:
        """Name `name` of project module `module` imported from file `importer`: its value,
        a submodule, or MISSING when the module is not the project's or lacks the name."""
        path = self.project.module_file(module, importer)
        if path is not None:
            globals_frame = self.load_file(path)
            if globals_frame is not None:
                value = globals_frame.names.get(name, MISSING)
                if value is not MISSING:
                    return value
        # `from . import layers` / `from pkg import module`: a submodule.
        sub = f"{module}.{name}" if not module.endswith(".") else f"{module}{name}"
        ref = self.module_ref(sub, importer)
        return MISSING if ref is None else ref

    def is_function(self, module: str, name: str, importer: Path | None) -> bool:
        """Whether name `name` of project module `module` is a plain function (module_index
        `is_function`), found without parsing or defining anything."""
        return self._told(module, name, importer, ModuleIndex.is_function)

    def is_class(self, module: str, name: str, importer: Path | None) -> bool:
        """Whether name `name` of project module `module` is a class (module_index
        `is_class`), found without parsing or defining anything."""
        return self._told(module, name, importer, ModuleIndex.is_class)

    def _told(self, module: str, name: str, importer: Path | None,
              test: Callable[[ModuleIndex, str], bool]) -> bool:
        """`test` of the module that defines `name`, followed through the project modules
        that re-export it (`from .import_utils import is_torch_available` in a package's
        `__init__`), at most _MAX_REEXPORTS of them."""
        for _ in range(_MAX_REEXPORTS):
            path = self.project.module_file(module, importer)
            index = self.project.index(path) if path is not None else None
            if index is None:
                return False
            if test(index, name):
                return True
            found = index.reexported(name)
            if found is None:  # (one from a library: no project file, False above)
                return False
            (module, name), importer = found, path
        return False

    def module_ref(self, dotted: str, importer: Path | None = None) -> _ModuleRef | None:
        """Project module (or package) `dotted` as a value, None when it is not the
        project's (a library). Its file is read when first used."""
        at = importer if importer is not None else self.current_path
        path = self.project.module_file(dotted, at)
        folder = self.project.package_dir(dotted, at)
        return self._ref(path, folder)

    def _ref(self, path: Path | None, folder: Path | None) -> _ModuleRef | None:
        if path is None and folder is None:
            return None
        if path is None:
            return _ModuleRef(None, folder)
        return _ModuleRef(None, folder, load=lambda: self.load_file(path))

    def module_attr(self, owner: _ModuleRef, attr: str) -> Any:
        """`models.Net`, `pkg.models` (a submodule), `models.__dict__`: MISSING when the
        module has no such name."""
        value = owner.globals.names.get(attr, MISSING)
        if value is not MISSING:
            return value
        if attr == "__dict__":
            return owner.globals.names
        if owner.folder is not None:
            ref = self._ref(*self.project.submodule(owner.folder, attr))
            if ref is not None:
                return ref
        return MISSING

    def exec_small(self, small: cst.BaseSmallStatement, frame: Frame) -> None:
        if isinstance(small, cst.Import):
            super().exec_small(small, frame)
            for alias in small.names:
                dotted = _dotted(alias.name)
                if alias.asname is not None:
                    if isinstance(alias.asname.name, cst.Name):
                        ref = self.module_ref(dotted)
                        if ref is not None:  # `import pkg.models as m`
                            frame.bind(alias.asname.name.value, ref)
                    continue
                # `import models`, `import pkg.models`: binds the top package
                top = dotted.split(".")[0]
                if self.project.module_file(dotted, self.current_path) is not None \
                        or self.project.package_dir(dotted, self.current_path) is not None:
                    ref = self.module_ref(top)
                    if ref is not None:
                        frame.bind(top, ref)
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
        builds_a_module = fn.node is self._module_body
        self._module_body = None
        if not builds_a_module:
            self.data_bodies += 1
            if self.data_bodies > self.data_limit:  # past the bound: the call ends (link.py)
                raise BoundSpent
            body = fn.node.body.body if isinstance(fn.node, cst.FunctionDef) else ()
            if isinstance(body, DeferredBody) and body.size > MAX_PROJECT_DATA_BODY_CHARS:
                # a table of data, left unparsed (scope.py)
                self.unreadable([*args, *kwargs.values(), *(fn.closure or {}).values()])
                return UNKNOWN
        home = self.homes.get(fn.node)
        self.functions.append(fn.node)
        try:
            if home is None:
                return super().call_function(fn, args, kwargs, node)
            with self._in_module(*home):
                return super().call_function(fn, args, kwargs, node)
        finally:
            self.functions.pop()

    def unreadable(self, values: list[Any]) -> None:
        """A method or helper whose body cannot be read may register anything on the modules
        and set anything on the configs it is given."""
        super().unreadable(values)
        for value in values:
            if isinstance(value, O.Built):
                value.hole("")
            elif isinstance(value, O.Namespace):
                for name in value.attrs:
                    value.attrs[name] = UNKNOWN

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
        if name == "dataclasses.replace":
            return self.replace_dataclass(args, kwargs, node)
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
                                 {k: _table_arg(v) for k, v in kwargs.items()}, unsized=True)
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
        if self.calls >= MAX_CALLS:
            # The lint's budget of function bodies is spent (scope.py): an object built now
            # would be unknown anyway, after reading its classes' attributes for nothing
            # (transformers' conversion_mapping.py builds 9,000 of them in one literal).
            return UNKNOWN
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
        """`method` of `klass` with `instance` as its first argument (`self`, or `cls` for
        a classmethod); None: a staticmethod, which takes none."""
        self.homes.setdefault(method, (klass.globals, self.current_path))
        self.methods.append((klass, instance))
        first = [] if instance is None else [instance]
        self._module_body = method if klass.torch_base() is not None else None
        try:
            return self.call_function(FunctionObj(method, None, None), [*first, *args],
                                      kwargs, node)
        finally:
            self._module_body = None
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

    def replace_dataclass(self, args: list[Any], kwargs: dict[str, Any],
                          node: cst.CSTNode) -> Any:
        """`dataclasses.replace(config, n_layer=4)` of a project dataclass: a new instance
        (its __init__ and __post_init__ run again); anything else is unknown."""
        if len(args) != 1 or not isinstance(args[0], O.Namespace) or args[0].cls is None \
                or not args[0].cls.dataclass:
            return UNKNOWN
        klass = args[0].cls
        fields = [n for owner in reversed(klass.mro()) for n in _fields(owner.node)]
        return self.plain_instance(klass, [], {**{f: args[0].attrs.get(f, UNKNOWN)
                                                  for f in fields}, **kwargs}, node)

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
            owner.register_child(name, from_new_module(value))
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

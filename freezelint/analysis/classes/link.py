"""The script interpreter meets the user's own classes.

`model = Net(...)` where `Net` is defined in the script or imported from a project module:
the class is read statically (reader.py) and the script's model gets the real names, as a
zoo constructor's would. `config = GPTConfig(n_layer=4)` gives a config object the script can
change before it builds the model. `model.freeze_backbone()` runs the class's own method with
`self` bound to the model, so what it freezes is analysed with the instance's names. A
function of the project reached through its module (`utils.freeze(model)`) is run; one
imported by name (`from utils import freeze`, `from utils import *`) when what it does can
reach a site: it is handed the model, or what it returns is kept as one. Each call from the
script into the project is bounded (scope.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import trainable
from freezelint.analysis.classes import objects as O
from freezelint.analysis.classes.helpers import _ModuleRef
from freezelint.analysis.classes.project import Project
from freezelint.analysis.classes.reader import ClassReader, manifest_of
from freezelint.analysis.model_text import kept_as_a_module
from freezelint.analysis.project_modules import maybe_project
from freezelint.analysis.python_builtins import Builtin
from freezelint.analysis.scope import MAX_PROJECT_CALL_DATA_BODIES, MISSING, BoundSpent, Frame
from freezelint.analysis.values import (
    UNKNOWN,
    BoundMethod,
    FunctionObj,
    Instance,
    ModuleObj,
    Qualified,
    is_unknown,
)
from freezelint.models.manifest import iter_children

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator

_STATE = "_static_classes"
__all__ = [
    "MISSING",
    "ProjectModule",
    "adopt",
    "call_method",
    "class_attribute",
    "class_value",
    "construct",
    "fill_instance",
    "has_method",
    "instance_model",
    "module_attribute",
    "project_import",
    "project_module",
    "replace_config",
]


class _Link:
    """Per script run: one reader, and the classes of the models it built (for methods)."""

    def __init__(self, it: Evaluator) -> None:
        script = (it.base_dir / "__script__.py") if it.base_dir is not None else None
        self.project = Project(script, on_read=lambda path: _depends_on(it, path))
        self.reader = ClassReader(it.module, self.project, it.resolve, path=script,
                                  globals_frame=it.globals)
        self.classes: dict[str, dict[str, O.ClassValue]] = {}  # model label -> path -> class


def _link(it: Evaluator) -> _Link:
    link = it.__dict__.get(_STATE)
    if link is None:
        link = _Link(it)
        it.__dict__[_STATE] = link
    return link


def class_value(it: Evaluator, node: cst.ClassDef, frame: Frame) -> Any:
    """What a `class` statement of the script binds: a constructor the interpreter calls."""
    klass = _link(it).reader.class_value(node, frame)
    return _Constructor(klass)


class _Constructor(Builtin):
    """A class of the project, callable by the interpreter like a builtin."""

    def __init__(self, klass: O.ClassValue) -> None:
        super().__init__(lambda it, args, kwargs, node: construct(it, klass, args, kwargs, node))
        object.__setattr__(self, "klass", klass)


@dataclass(frozen=True)
class ProjectModule(Qualified):
    """A project module the script imported by name (`import models`, `from pkg import
    models as m`, `from . import model as M`): its names are the module's own, read
    statically when first used (`models.Net(...)`, `getattr(models, "Net")`,
    `models.__dict__["Net"]`). A name it does not define stays a qualified name."""

    project_code = True  # (interpreter._project_context)

    ref: Any = field(default=None, compare=False)  # the reader's _ModuleRef


def project_module(it: Evaluator, dotted: str, alias: bool) -> Any:
    """What `import dotted` (`as alias` when `alias`) binds when the module is the
    project's: the module (with an alias) or its top package; MISSING for a library."""
    if not maybe_project(dotted):
        return MISSING
    link = _link(it)
    project, script = link.project, link.reader.path
    if project.module_file(dotted, script) is None \
            and project.package_dir(dotted, script) is None:
        return MISSING
    bound = dotted if alias else dotted.split(".")[0]
    ref = link.reader.module_ref(bound)
    return MISSING if ref is None else ProjectModule(bound, ref)


def module_attribute(it: Evaluator, owner: ProjectModule, attr: str) -> Any:
    """`owner.attr` for a project module: a class (a constructor), a function of the module
    (run by the class reader), a submodule, a constant; else the qualified name."""
    link = _link(it)
    if attr == "__dict__":
        return _ModuleDict(it, owner)
    value = link.reader.module_attr(owner.ref, attr)
    qualified = f"{owner.name}.{attr}"
    if isinstance(value, O.ClassValue):
        return _Constructor(value)
    if isinstance(value, _ModuleRef):
        return ProjectModule(qualified, value)
    if isinstance(value, FunctionObj):
        return _project_function(link, value, qualified)
    if _scalar(value):
        return value
    return Qualified(qualified)


def class_attribute(it: Evaluator, klass: O.ClassValue, attr: str, node: cst.CSTNode) -> Any:
    """`GPT.get_default_config`, `Net.from_config` (a staticmethod or classmethod of a
    project class, run by the class reader when called), or a class attribute's value."""
    link = _link(it)
    if klass.find_method(attr) is not None:
        method = BoundMethod(klass, attr, node)

        def call(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
            if not _reads_classes(it):
                return trainable.unseen_call(args, kwargs)
            try:
                value = link.reader.call_method(method, list(args), dict(kwargs), node)
            except RecursionError:
                return UNKNOWN
            if isinstance(value, O.Built):
                return adopt(it, value.cls, value, node) if value.cls is not None else UNKNOWN
            if isinstance(value, O.Namespace) or _scalar(value):
                return value  # a config the script may change before it builds the model
            return UNKNOWN

        return Builtin(call)
    for owner in klass.mro():
        attrs = link.reader.class_attributes(owner)
        if attr in attrs:
            value = attrs[attr]
            return value if _scalar(value) or isinstance(value, O.Namespace) else UNKNOWN
    return UNKNOWN


def _scalar(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float, str, bool, tuple))
                             and not is_unknown(value))


def replace_config(it: Evaluator, args: list[Any], kwargs: dict[str, Any],
                   node: cst.CSTNode) -> Any:
    """`dataclasses.replace(config, ...)` in the script, on a config of a project dataclass
    (MISSING for anything else: the library call it is)."""
    if not args or not isinstance(args[0], O.Namespace):
        return MISSING
    return _link(it).reader.replace_dataclass(list(args), dict(kwargs), node)


class _ModuleDict(dict):  # type: ignore[type-arg]
    """`models.__dict__`: subscripted with a known name, that name of the module."""

    def __init__(self, it: Evaluator, owner: ProjectModule) -> None:
        super().__init__()
        self.it, self.owner = it, owner

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, str):
            raise KeyError(key)
        return module_attribute(self.it, self.owner, str(key))


def _project_function(link: _Link, fn: FunctionObj, qualified: str) -> Builtin:
    """A function of a project module called from the script (`models_vit.vit_base(...)`,
    a factory returning a model): run by the class reader when it is worth it, as one
    imported by name (`_worth_running`); a model it returns is the script's model, anything
    else is unknown."""

    def call(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if not _reads_classes(it):
            return trainable.unseen_call(args, kwargs)
        if not _worth_running(it, args, kwargs, node):
            from freezelint.analysis import library_calls

            return library_calls.call(it, qualified, args, kwargs, node)
        return _run_function(it, link, fn, args, kwargs, node)

    return Builtin(call)


def _worth_running(it: Evaluator, args: list[Any], kwargs: dict[str, Any],
                   node: cst.Call) -> bool:
    """Whether a function imported by name from the project (`from utils import freeze`) is
    run where the script calls it: when it is handed the model (or its parameters, a layer,
    a PEFT config, the script's `self`: what it does to them is read), or when what it
    returns is kept as a model (`_kept_as_a_model`). Anything else it may return is unknown
    either way, and a package's own helpers are called everywhere (`is_torch_available()`)."""
    return trainable.carry_model_state([*args, *kwargs.values()]) or _kept_as_a_model(it, node)


# Module methods that return the module itself: `build_model(cfg).to(device)` is the model.
_RETURNS_SELF = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "train",
                           "eval", "requires_grad_", "to_empty", "xpu", "share_memory"})


def _kept_as_a_model(it: Evaluator, node: cst.Call) -> bool:
    """Whether the value of the call `node` ends in a variable or attribute the file uses as
    a model: the statement assigns it (`model = build_model(cfg)`, through module methods
    that return the module: `= build_model(cfg).to(device)`), or returns it from a function
    of the script whose own call is, at any remove (`def make(): return build_model()` ...
    `model = make()`)."""
    text = getattr(it, "text", None)
    statement = getattr(it, "statement", None)
    sites = list(getattr(it, "call_sites", ()))
    while text is not None:
        if isinstance(statement, cst.Return):
            if statement.value is None or not _is_the_value(statement.value, node) \
                    or not sites:
                return False
            statement, node = sites.pop()  # where the function returning it was called
            if not isinstance(node, cst.Call):
                return False
            continue
        if not isinstance(statement, (cst.Assign, cst.AnnAssign)) or statement.value is None \
                or not _is_the_value(statement.value, node):
            return False
        targets = [t.target for t in statement.targets] \
            if isinstance(statement, cst.Assign) else [statement.target]
        return any(kept_as_a_module(target.value, text, attribute=False)
                   if isinstance(target, cst.Name)
                   else kept_as_a_module(target.attr.value, text, attribute=True)
                   if isinstance(target, cst.Attribute) else False
                   for target in targets)
    return False


def _is_the_value(value: cst.BaseExpression, node: cst.Call) -> bool:
    """Whether `value` is the call `node`, or module methods that return it called on it."""
    while value is not node:
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
                and value.func.attr.value in _RETURNS_SELF):
            return False
        value = value.func.value
    return True


def _run_function(it: Evaluator, link: _Link, fn: FunctionObj, args: list[Any],
                  kwargs: dict[str, Any], node: cst.Call) -> Any:
    """A call of a project function, however the script reached it (`models.build(cfg)`,
    `from utils import freeze` ... `freeze(model)`), run by the class reader with what it
    does to the script's values; a model it returns is the script's model, anything else is
    unknown. It is bounded as any call into the project (scope.py)."""
    value = _one_call(link.reader, lambda: link.reader.call_function(
        fn, list(args), dict(kwargs), node), [*args, *kwargs.values()])
    if isinstance(value, O.Built) and value.cls is not None:
        return adopt(it, value.cls, value, node)
    return UNKNOWN


def _one_call(reader: ClassReader, run: Callable[[], Any], handed: list[Any]) -> Any:
    """`run()`, one call from the script into the project, within its bound (scope.py):
    past it the call ends there, what it was handed may have been changed in any way, and
    what it returns is unknown."""
    saved = reader.data_limit
    reader.data_limit = min(saved, reader.data_bodies + MAX_PROJECT_CALL_DATA_BODIES)
    try:
        return run()
    except BoundSpent:
        reader.unreadable(handed)
        return UNKNOWN
    except RecursionError:
        return UNKNOWN
    finally:
        reader.data_limit = saved


def project_import(it: Evaluator, module: str, name: str) -> Any:
    """`from models import Net` where `models` is a project file: a lazy constructor (the file
    is parsed when the name is first called); `from pkg import models`, `from . import
    model`: the submodule. MISSING when the module is not the project's."""
    if not maybe_project(module):
        return MISSING
    link = _link(it)
    qualified = f"{module}.{name}" if not module.endswith(".") else f"{module}{name}"
    if link.project.module_file(qualified, link.reader.path) is not None \
            or link.project.package_dir(qualified, link.reader.path) is not None:
        ref = link.reader.module_ref(qualified)
        return MISSING if ref is None else ProjectModule(qualified, ref)
    path = link.project.module_file(module, link.reader.path)
    if path is None:
        return MISSING

    def call(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if not _reads_classes(it):
            return trainable.unseen_call(args, kwargs)
        from freezelint.analysis import library_calls

        if node in it.discarded and not trainable.carry_model_state([*args, *kwargs.values()]) \
                and link.reader.is_class(module, name, link.reader.path):
            # its value is thrown away (branches.discarded_call), and what it is handed
            # carries nothing it could change that a rule reads
            return trainable.unseen_call(args, kwargs)
        worth = _worth_running(it, args, kwargs, node)
        # a function not worth running need not even be parsed (module_index.is_function:
        # `is_torch_available()` in every file of a large package)
        if not worth and link.reader.is_function(module, name, link.reader.path):
            return library_calls.call(it, qualified, args, kwargs, node)
        value = link.reader._project_name(module, name, link.reader.path)
        if isinstance(value, O.ClassValue):
            return construct(it, value, args, kwargs, node)
        if isinstance(value, FunctionObj) and worth:
            return _run_function(it, link, value, args, kwargs, node)
        return library_calls.call(it, qualified, args, kwargs, node)

    return _Lazy(call, lambda: _imported_class(it, link, module, name))


def project_star_import(it: Evaluator, module: str) -> list[tuple[str, Any]]:
    """What `from models import *` binds when `models` is a project module: its public names
    (those of `__all__` when it lists them as a literal; none when `__all__` is anything
    else, which names are bound then is unknown), each read when first used, as
    `from models import Net` does. Names the module itself imports are left out."""
    if not maybe_project(module):
        return []
    link = _link(it)
    path = link.project.module_file(module, link.reader.path)
    index = link.project.index(path) if path is not None else None
    if index is None:
        return []
    names = index.own_names()
    if "__all__" in index.by_name:
        listed = link.reader._project_name(module, "__all__", link.reader.path)
        if not isinstance(listed, (list, tuple)) \
                or not all(isinstance(name, str) for name in listed):
            return []
        names = [name for name in listed if name in names]
    else:
        names = [name for name in names if not name.startswith("_")]
    found = [(name, project_import(it, module, name)) for name in names]
    return [(name, value) for name, value in found if value is not MISSING]


def _imported_class(it: Evaluator, link: _Link, module: str, name: str) -> O.ClassValue | None:
    if link.reader.is_function(module, name, link.reader.path):
        return None
    value = link.reader._project_name(module, name, link.reader.path)
    return value if isinstance(value, O.ClassValue) else None


class _Lazy(Builtin):
    """A name imported from a project module, read when first used: called, it constructs
    (or calls what it names); its attributes (`Config.from_name`) are its class's, when it
    is a class."""

    project_code = True  # (interpreter._project_context)

    def __init__(self, fn: Any, find: Any) -> None:
        super().__init__(fn)
        object.__setattr__(self, "_find", find)

    @property
    def klass(self) -> O.ClassValue | None:
        return self._find()  # type: ignore[no-any-return, attr-defined]


def construct(it: Evaluator, klass: O.ClassValue, args: list[Any], kwargs: dict[str, Any],
              node: cst.CSTNode) -> Any:
    if not _reads_classes(it) or it.patched:
        return trainable.unseen_call(args, kwargs)
    link = _link(it)
    value = _one_call(link.reader, lambda: link.reader.instantiate(
        klass, list(args), dict(kwargs), node), [*args, *kwargs.values()])
    if isinstance(value, O.Namespace):
        return value
    if not isinstance(value, O.Built):
        return UNKNOWN
    return adopt(it, klass, value, node)


def _reads_classes(it: Evaluator) -> bool:
    """Off while the interpreter runs a script, or a function or method of one, that uses no
    model the way a rule judges (Interpreter.read_project, engine/model_free.py): the classes
    and functions it would read there, the script's own included, could change no finding."""
    return getattr(it, "read_project", True) is not False



def adopt(it: Evaluator, klass: O.ClassValue, value: O.Built, node: cst.CSTNode) -> Any:
    """A module the class reader built, as the script's model (its manifest, and the
    classes of its submodules for their methods)."""
    from freezelint.analysis import modules

    link = _link(it)
    if it.explicit is not None:  # the model named with --model always wins
        return ModuleObj(modules.new_model(it, it.explicit, node), "")
    file = klass.path
    label = f"{klass.name} ({file.name})" if file is not None and file != link.reader.path \
        else klass.name
    manifest = manifest_of(value, label, "static", {"library": "static", "class": klass.name})
    if manifest is None or (manifest.holes and not manifest.parameters):
        return UNKNOWN  # nothing known but holes: the model is not identified
    link.classes[label] = _classes_of(value)
    return ModuleObj(modules.new_model(it, manifest, node), "")


def instance_model(it: Evaluator, node: cst.ClassDef) -> ModuleObj | None:
    """The model a class of the script builds with its defaults, for analysing its other
    methods with real names (a LightningModule's configure_optimizers, a freeze in forward).
    None when it is no nn.Module or its constructor needs arguments."""
    bound = it.globals.names.get(node.name.value)
    klass = getattr(bound, "klass", None)
    if not isinstance(klass, O.ClassValue) or klass.node is not node \
            or klass.torch_base() is None:
        return None
    init = klass.find_method("__init__")
    if init is not None:
        params = init[1].params
        required = [p for p in [*params.posonly_params, *params.params][1:] if p.default is None]
        if required or any(p.default is None for p in params.kwonly_params):
            return None
    saved_primary = it.primary
    value = construct(it, klass, [], {}, klass.node)
    it.primary = saved_primary
    return value if isinstance(value, ModuleObj) else None


def fill_instance(it: Evaluator, node: cst.ClassDef, instance: Instance,
                  froze: bool) -> None:
    """After `__init__` ran on `instance` (the script interpreter's view of `self`): the
    submodules it could not build (`self.fc = nn.Linear(...)`, a layer stack) are taken from
    the class read statically, so the other methods (a LightningModule's
    configure_optimizers, a freeze in forward or a hook) see real names. Not when `__init__`
    changed requires_grad itself: the static model would not carry that."""
    if froze:
        return
    static = instance_model(it, node)
    if static is None:
        return
    for child in iter_children(static.model.manifest, ""):
        if not isinstance(instance.attrs.get(child), ModuleObj):
            instance.attrs[child] = ModuleObj(static.model, child)


def _class_at(it: Evaluator, receiver: ModuleObj) -> O.ClassValue | None:
    link = it.__dict__.get(_STATE)
    if link is None:
        return None
    return link.classes.get(receiver.model.manifest.name, {}).get(receiver.path)


def has_method(it: Evaluator, receiver: ModuleObj, name: str) -> bool:
    """Whether the module's own class (read from source) defines method `name`."""
    klass = _class_at(it, receiver)
    return klass is not None and not name.startswith("__") and klass.find_method(name) is not None


def call_method(it: Evaluator, receiver: ModuleObj, name: str, args: list[Any],
                kwargs: dict[str, Any], node: cst.Call) -> Any:
    """`model.freeze_backbone()` on a model read from its class: the class's own method with
    `self` bound to the module. MISSING when the module has no such method of its own."""
    klass = _class_at(it, receiver)
    if klass is None:
        return MISSING
    found = klass.find_method(name)
    if found is None:
        return MISSING
    owner, method = found
    if owner.path is None or owner.path == _link(it).reader.path:
        return it.call_function(FunctionObj(method, None, None), [receiver, *args], kwargs, node)
    # A method in another file: what it does to the model counts, but what it records is
    # about code in that file, which this file's diagnostics cannot point at.
    before = _snapshot(it.facts)
    try:
        return it.call_function(FunctionObj(method, None, None), [receiver, *args], kwargs,
                                node)
    finally:
        _forget_since(it.facts, before)


# Facts that describe the run rather than code positions: kept whatever code made them.
_RUN_FACTS = frozenset({"models", "files_read", "owner", "syntax", "peft", "internal_errors"})


def _snapshot(facts: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for item in fields(facts):
        value = getattr(facts, item.name)
        if item.name in _RUN_FACTS:
            continue
        if isinstance(value, dict):
            state[item.name] = set(value)
        elif isinstance(value, (list, set)):
            state[item.name] = len(value) if isinstance(value, list) else set(value)
    return state


def _forget_since(facts: Any, before: dict[str, Any]) -> None:
    """Drop the facts recorded since `before` (a snapshot of the same facts)."""
    for name, old in before.items():
        value = getattr(facts, name)
        if isinstance(value, dict):
            for key in [k for k in value if k not in old]:
                del value[key]
        elif isinstance(value, list):
            del value[old:]
        else:
            value.intersection_update(old)


def _classes_of(root: O.Built) -> dict[str, O.ClassValue]:
    found: dict[str, O.ClassValue] = {}
    seen: set[int] = set()

    def walk(module: O.Built, path: str) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        if module.cls is not None:
            found[path] = module.cls
        for name, child in module.children.items():
            if child is not None:
                walk(child, f"{path}.{name}" if path else name)

    walk(root, "")
    return found


def _depends_on(it: Evaluator, path: Path) -> None:
    if path not in it.facts.files_read:
        it.facts.files_read.append(path)

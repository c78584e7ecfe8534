"""Checkpoints followed through the code, with or without the model's names.

A state dict's key *format* is a fact of the code that made it, known even when the model's
own names are not: `nn.DataParallel(m).state_dict()` (and DDP) puts `module.` in front of every
key of `m`, `torch.compile(m)` puts `_orig_mod.`, `m.fc = torch.compile(m.fc)` puts
`_orig_mod.` after `fc.`, and a LightningModule's checkpoint keys carry the attribute path of
each submodule (`model.` for `self.model = Net()`). This pass follows those formats through
`torch.save` (paths from literals, f-strings, `os.path.join`, `Path / 'x'` and names with one
known value; dicts such as `{'state_dict': sd, 'epoch': e}`; Lightning's
`trainer.save_checkpoint`) to `torch.load`, `['state_dict']` and `load_state_dict`, and compares
them with the format of the module loaded into.

The verdict needs no parameter name: both ends are followed to the same model (the same
object, or a new instance of the same class), so `module.` + keys can never equal the keys.
Whatever is uncertain stays unknown and says nothing: a path computed at run time, a model
wrapped on one branch only, a file saved in two formats, a value handed to a function.
"""

from __future__ import annotations

import os.path
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from freezelint.analysis.walk import children, walk
from freezelint.common.torch_api import CHECKPOINT_LOADERS, CHECKPOINT_SAVE, WRAPPER_CONSTRUCTORS

UNKNOWN: Any = object()

# Methods that return the module they are called on, names unchanged.
_SAME_MODULE = frozenset({"to", "cuda", "cpu", "eval", "train", "float", "half", "double",
                          "bfloat16", "requires_grad_", "type", "to_empty"})
_LIGHTNING_ROOTS = ("lightning", "pytorch_lightning", "lightning.pytorch")
_WRAPPER_ATTR = {"module.": "module", "_orig_mod.": "_orig_mod"}
# Methods that change a dict in place, and calls that only read a state dict handed to them.
_MUTATORS = frozenset({"pop", "popitem", "update", "setdefault", "clear", "__setitem__",
                       "__delitem__"})
_READS_STATE = frozenset({"load_state_dict", "get", "items", "keys", "values", "torch.save",
                          "print", "len", "list", "sorted", "isinstance", "info", "debug",
                          "warning", "format"})


# -- values -----------------------------------------------------------------------------------
@dataclass(eq=False)
class Built:
    """A module built by calling `callee(...)`; `compiled` holds the submodules compiled in
    place since (`m.fc = torch.compile(m.fc)` makes `fc.weight` `fc._orig_mod.weight`)."""

    callee: str
    args: str
    node: cst.Call
    compiled: tuple[str, ...] = ()
    scope: int = 0  # the function body it was built in (0: the module)


@dataclass(frozen=True, eq=False)
class Wrapped:
    """`nn.DataParallel(inner)`, DDP, `torch.compile(inner)`: `attr.` before every key."""

    inner: Any
    attr: str
    wrapper: str
    node: cst.Call


@dataclass(frozen=True)
class LightningClass:
    """A LightningModule subclass of this file: each attribute `__init__` assigns exactly one
    constructor call to (`self.model = Net()` -> {'model': 'Net'})."""

    name: str
    children: dict[str, str]


@dataclass(frozen=True, eq=False)
class Lightning:
    cls: LightningClass
    node: cst.CSTNode


@dataclass(frozen=True, eq=False)
class Part:
    """`owner.path`: a submodule of a module the pass follows (`lit.model`, `model.fc`)."""

    owner: Any
    path: str
    callee: str | None


@dataclass(frozen=True, eq=False)
class Keys:
    """A state dict taken from `module` (its format when `state_dict()` was called)."""

    module: Any
    compiled: tuple[str, ...]
    node: cst.CSTNode


@dataclass(frozen=True, eq=False)
class Filtered:
    """`{k: v for k, v in sd.items() if k[7:] in target}`: keeps `k`, tested `tested`."""

    node: cst.DictComp
    tested: cst.BaseExpression
    target: str


@dataclass(eq=False)
class Trainer:
    callbacks: list[Any]
    fitted: Any = None


@dataclass(frozen=True, eq=False)
class CheckpointCallback:
    node: cst.CSTNode


@dataclass(frozen=True)
class Saved:
    value: Any
    node: cst.CSTNode
    path: str
    elsewhere: str = ""  # the project file that saves it, when not this one


# -- facts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrefixLoad:
    """A load whose state dict's keys are certain not to fit the module loaded into.

    kind: "carry" (every key has `prefix` the module lacks; strip it), "lack" (the module is
    a wrapper whose keys have `prefix`; load into `receiver.<attr>`), "lightning" (the keys
    are the LightningModule's, the module loaded is the one at `prefix`), "compiled" (the
    submodules in `paths` were compiled in place on one side only), "container" (the file
    holds a dict, the state dict is under `key`)."""

    node: cst.Call
    kind: str
    prefix: str
    cause: str
    saved: Saved
    receiver: cst.BaseExpression
    argument: cst.BaseExpression
    paths: tuple[str, ...] = ()
    key: str = ""


@dataclass
class CheckpointFlow:
    loads: list[PrefixLoad] = field(default_factory=list)
    # `X.load_state_dict(..., strict=False)` as a statement: (call, statement).
    discarded_nonstrict: list[tuple[cst.Call, cst.Expr]] = field(default_factory=list)
    # Filters that test a transformed key but keep the original, whose result reaches the
    # dict tested or a load: (comprehension, tested expression).
    tested_not_kept: list[tuple[cst.DictComp, cst.BaseExpression]] = field(default_factory=list)
    # The top-level statement each reported node (and what a fix replaces) sits in.
    owner: dict[cst.CSTNode, int] = field(default_factory=dict)


# -- the pass ---------------------------------------------------------------------------------
Siblings = Callable[[set[str]], Iterable[tuple[str, cst.Module]]]


def follow(module: cst.Module, siblings: Siblings | None = None) -> CheckpointFlow:
    """The checkpoint flow of `module`. `siblings(paths)` gives the project's other scripts
    (run from the same directory) that may save one of `paths`, the literal paths this file
    loads but does not save: what they save there counts as saved here too."""
    flow = _Flow(module)
    flow.walk()
    needed = {state.path for _, _, _, state, _, _ in flow.pending
              if isinstance(state.path, str) and state.path not in flow.saves}
    for name, sibling in siblings(needed) if siblings is not None and needed else ():
        other = _Flow(sibling)
        other.walk()
        for path, saves in other.saves.items():
            flow.saves.setdefault(path, []).extend(
                Saved(s.value, s.node, s.path, name) for s in saves)
    return flow.judge()


class _Env:
    def __init__(self, parent: _Env | None = None) -> None:
        self.names: dict[str, Any] = {}
        self.parent = parent

    def get(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        return self.parent.get(name) if self.parent is not None else UNKNOWN


class _Flow:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.flow = CheckpointFlow()
        self.imports: dict[str, str] = {}
        self.lightning: dict[str, LightningClass] = {}
        self.saves: dict[str, list[Saved]] = {}
        self.pending: list[tuple[cst.Call, Any, tuple[str, ...], _Loaded, cst.BaseExpression,
                                 cst.BaseExpression]] = []
        self.functions: list[tuple[cst.FunctionDef, int]] = []
        self.top = 0
        self.once: set[str] = set()
        self.statement: cst.CSTNode | None = None
        self.trainers: list[Trainer] = []
        # Enclosing branches and loops (code that may not run), `try` bodies with handlers
        # (a failing load there is handled), and the function being walked.
        self.branches = 0
        self.tries = 0
        self.scope = 0

    def walk(self) -> None:
        self._scan(self.module)
        top = _Env()
        for index, statement in enumerate(self.module.body):
            self.top = index
            self._statement(statement, top)
        constants = _Env()
        constants.names = {k: v for k, v in top.names.items() if k in self.once}
        for function, index in self.functions:
            self.top = index
            self.scope = id(function)
            scope = _Env(constants)
            for param in _params(function):
                scope.names[param] = UNKNOWN
            self._block(_body(function), scope)

    def judge(self) -> CheckpointFlow:
        for call, receiver_value, compiled, state, receiver, argument in self.pending:
            self._judge(call, receiver_value, compiled, state, receiver, argument)
        return self.flow

    # -- what the file says once ------------------------------------------------------------
    def _scan(self, module: cst.Module) -> None:
        """Imports, LightningModule classes, names bound once at the top level (a function
        body may read them), and names whose attributes the file assigns."""
        counts: dict[str, int] = {}
        for statement in module.body:
            for name in _bound_names(statement):
                counts[name] = counts.get(name, 0) + (1 if _is_simple(statement) else 2)
        self.once = {n for n, c in counts.items() if c == 1}
        for node in walk(module):
            if isinstance(node, cst.Import):
                for alias in node.names:
                    dotted = _dotted(alias.name)
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        self.imports[alias.asname.name.value] = dotted
                    else:
                        self.imports.setdefault(dotted.split(".")[0], dotted.split(".")[0])
            elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar) \
                    and node.module is not None and not node.relative:
                base = _dotted(node.module)
                for alias in node.names:
                    local = alias.asname.name if alias.asname is not None else alias.name
                    if isinstance(local, cst.Name):
                        self.imports[local.value] = f"{base}.{_dotted(alias.name)}"
        for statement in module.body:
            if isinstance(statement, cst.ClassDef):
                self._lightning_class(statement)

    def _lightning_class(self, node: cst.ClassDef) -> None:
        bases = [self._qualified(b.value) for b in node.bases]
        if not any((b.endswith("LightningModule") and b.split(".")[0] in _LIGHTNING_ROOTS)
                   or b in self.lightning for b in bases):
            return
        children: dict[str, str] = {}
        ambiguous: set[str] = set()
        for sub in walk(node):
            if not isinstance(sub, cst.Assign):
                continue
            for target in sub.targets:
                t = target.target
                if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) \
                        and t.value.value == "self":
                    callee = _dotted(sub.value.func) if isinstance(sub.value, cst.Call) else ""
                    if not callee or t.attr.value in children:
                        ambiguous.add(t.attr.value)
                    children[t.attr.value] = self._qualified_text(callee)
        for parent in bases:
            if parent in self.lightning:
                for attr, callee in self.lightning[parent].children.items():
                    if attr in children:
                        ambiguous.add(attr)
                    children[attr] = callee
        kept = {a: c for a, c in children.items() if a not in ambiguous}
        self.lightning[node.name.value] = LightningClass(node.name.value, kept)

    # -- statements -------------------------------------------------------------------------
    def _block(self, statements: Any, env: _Env) -> None:
        for statement in statements:
            self._statement(statement, env)

    def _statement(self, statement: cst.CSTNode, env: _Env) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self.statement = small
                self._small(small, env)
        elif isinstance(statement, cst.FunctionDef):
            self.functions.append((statement, self.top))
            env.names[statement.name.value] = UNKNOWN
        elif isinstance(statement, cst.ClassDef):
            for sub in _body(statement):
                if isinstance(sub, cst.FunctionDef):
                    self.functions.append((sub, self.top))
            env.names[statement.name.value] = self.lightning.get(statement.name.value, UNKNOWN)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                self._eval(item.item, env)
                if item.asname is not None:
                    self._forget(item.asname.name, env)
            self._block(_body(statement), env)
        elif isinstance(statement, (cst.If, cst.For, cst.While, cst.Try)):
            self._branching(statement, env)

    def _branching(self, statement: cst.CSTNode, env: _Env) -> None:
        """Branches and loops: every name bound inside is unknown before the body (a loop's
        second pass) and after it (the branch may not have run)."""
        bound = {n for sub in walk(statement) for n in _targets_of(sub)}
        for name in bound:
            env.names[name] = UNKNOWN
        if isinstance(statement, (cst.If, cst.While)):
            self._eval(statement.test, env)
        if isinstance(statement, cst.For):
            self._eval(statement.iter, env)
        certain = _is_main_guard(statement)
        handled = isinstance(statement, cst.Try) and bool(statement.handlers)
        for index, block in enumerate(_blocks(statement)):
            self.branches += 0 if certain else 1
            self.tries += 1 if handled and index == 0 else 0
            try:
                self._block(block, env)
            finally:
                self.branches -= 0 if certain else 1
                self.tries -= 1 if handled and index == 0 else 0
            for name in bound:
                env.names[name] = UNKNOWN

    def _small(self, small: cst.CSTNode, env: _Env) -> None:
        if isinstance(small, cst.Assign):
            value = self._eval(small.value, env)
            for target in small.targets:
                self._assign(target.target, value, env)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._assign(small.target, self._eval(small.value, env), env)
        elif isinstance(small, cst.AugAssign):
            self._eval(small.value, env)
            self._forget(small.target, env)
        elif isinstance(small, cst.Expr):
            self._eval(small.value, env)
        elif isinstance(small, cst.Del):
            self._forget(small.target, env)

    def _assign(self, target: cst.BaseExpression, value: Any, env: _Env) -> None:
        if isinstance(target, cst.Name):
            env.names[target.value] = value
        elif isinstance(target, cst.Attribute):
            owner = self._eval(target.value, env)
            attr = target.attr.value
            if not isinstance(owner, Built):
                return
            if self.branches or owner.scope != self.scope:
                owner.compiled = ("?",)  # replaced on some runs only: no longer followed
            elif isinstance(value, Wrapped) and value.attr == "_orig_mod" \
                    and isinstance(value.inner, Part) and value.inner.owner is owner \
                    and value.inner.path == attr:
                owner.compiled = (*owner.compiled, attr)
            elif "?" not in owner.compiled:  # a submodule replaced: compiled no more
                owner.compiled = tuple(p for p in owner.compiled if p != attr)
        else:
            self._forget(target, env)

    def _forget(self, target: cst.BaseExpression, env: _Env) -> None:
        for sub in walk(target):
            if isinstance(sub, cst.Name):
                env.names[sub.value] = UNKNOWN

    # -- expressions ------------------------------------------------------------------------
    def _eval(self, node: cst.BaseExpression, env: _Env) -> Any:
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            value = node.evaluated_value
            return value if isinstance(value, str) else UNKNOWN
        if isinstance(node, cst.Integer):
            return int(node.value, 0) if node.value.isdigit() else UNKNOWN
        if isinstance(node, cst.FormattedString):
            return self._fstring(node, env)
        if isinstance(node, cst.Name):
            return env.get(node.value)
        if isinstance(node, cst.Attribute):
            return self._attribute(node, env)
        if isinstance(node, cst.Call):
            return self._call(node, env)
        if isinstance(node, cst.Subscript):
            return self._subscript(node, env)
        if isinstance(node, cst.Dict):
            return self._dict(node, env)
        if isinstance(node, cst.List):
            return [self._eval(e.value, env) for e in node.elements]
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node, env)
        if isinstance(node, cst.DictComp):
            return self._dict_comp(node, env)
        for child in children(node):  # evaluate the calls inside, for what they do
            if isinstance(child, cst.BaseExpression) and not isinstance(
                    child, (cst.Lambda, cst.ListComp, cst.SetComp, cst.GeneratorExp)):
                self._eval(child, env)
            elif isinstance(child, (cst.Arg, cst.Element)):
                self._eval(child.value, env)
        return UNKNOWN

    def _fstring(self, node: cst.FormattedString, env: _Env) -> Any:
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            value = self._eval(part.expression, env)
            if part.format_spec or part.conversion or not isinstance(value, (str, int)) \
                    or isinstance(value, bool):
                return UNKNOWN
            parts.append(str(value))
        return "".join(parts)

    def _binary(self, node: cst.BinaryOperation, env: _Env) -> Any:
        left, right = self._eval(node.left, env), self._eval(node.right, env)
        if isinstance(node.operator, cst.Add) and isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(node.operator, cst.Divide) and isinstance(left, _PathStr) \
                and isinstance(right, str):
            return _PathStr(os.path.join(left, right))
        return UNKNOWN

    def _dict(self, node: cst.Dict, env: _Env) -> Any:
        result: dict[str, Any] = {}
        known = True
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                self._eval(element.value, env)
                known = False
                continue
            key = self._eval(element.key, env)
            value = self._eval(element.value, env)
            if isinstance(key, str):
                result[key] = value
            else:
                known = False
        return result if known else UNKNOWN

    def _dict_comp(self, node: cst.DictComp, env: _Env) -> Any:
        source = self._eval(node.for_in.iter, env)
        tested = tested_key(node)
        if tested is None:  # keys renamed or filtered: still read from a file, format unknown
            return _Loaded(None, ()) if isinstance(source, _Items) else UNKNOWN
        test = next(c.test for c in node.for_in.ifs if isinstance(c.test, cst.Comparison)
                    and c.test.left is tested)
        target = test.comparisons[0].comparator
        if isinstance(target, cst.Name):
            return Filtered(node, tested, target.value)
        if isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute) \
                and target.func.attr.value == "state_dict" and not target.args:
            return Filtered(node, tested, _code(self.module, target))
        return UNKNOWN

    def _attribute(self, node: cst.Attribute, env: _Env) -> Any:
        owner = self._eval(node.value, env)
        attr = node.attr.value
        if isinstance(owner, Wrapped) and attr == owner.attr:
            return owner.inner
        if isinstance(owner, Lightning):
            callee = owner.cls.children.get(attr)
            return Part(owner, attr, callee) if callee else UNKNOWN
        if isinstance(owner, Part) and isinstance(owner.owner, Lightning):
            return Part(owner.owner, f"{owner.path}.{attr}", None)
        if isinstance(owner, Built) and "?" not in owner.compiled:
            return Part(owner, attr, None)
        if isinstance(owner, Trainer) and attr == "checkpoint_callback":
            callbacks = [c for c in owner.callbacks if isinstance(c, CheckpointCallback)]
            return callbacks[0] if len(callbacks) == 1 and owner.callbacks == callbacks else UNKNOWN
        if isinstance(owner, CheckpointCallback) and attr in {"best_model_path", "last_model_path"}:
            return _CallbackPath(owner)
        return UNKNOWN

    def _subscript(self, node: cst.Subscript, env: _Env) -> Any:
        owner = self._eval(node.value, env)
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return UNKNOWN
        key = self._eval(node.slice[0].slice.value, env)
        if isinstance(owner, dict) and isinstance(key, str):
            return owner.get(key, UNKNOWN)
        if isinstance(owner, _Loaded) and isinstance(key, str):
            return _Loaded(owner.path, (*owner.keys, key))
        if isinstance(owner, _Loaded):
            return _Loaded(None, ())
        return UNKNOWN

    def _call(self, node: cst.Call, env: _Env) -> Any:
        result = self._dispatch(node, env)
        func = node.func
        method = func.attr.value if isinstance(func, cst.Attribute) else ""
        if isinstance(func, cst.Attribute) and method in _MUTATORS \
                and isinstance(self._eval_quiet(func.value, env), _Loaded):
            self._forget_root(func.value, env)  # `sd.pop(k)`: its keys are no longer followed
        if method not in _READS_STATE and self._qualified(func) not in _READS_STATE:
            for arg in node.args:  # a loaded dict handed to other code may be renamed there
                if isinstance(self._eval_quiet(arg.value, env), _Loaded):
                    self._forget_root(arg.value, env)
        return result

    def _eval_quiet(self, node: cst.BaseExpression, env: _Env) -> Any:
        """The value of a name or `name[...]` chain, without evaluating any call again."""
        if isinstance(node, cst.Name):
            return env.get(node.value)
        if isinstance(node, cst.Subscript) and isinstance(self._eval_quiet(node.value, env),
                                                          _Loaded):
            return _Loaded(None, ())
        return UNKNOWN

    def _forget_root(self, node: cst.BaseExpression, env: _Env) -> None:
        while isinstance(node, (cst.Subscript, cst.Attribute)):
            node = node.value
        if isinstance(node, cst.Name):
            env.names[node.value] = UNKNOWN

    def _dispatch(self, node: cst.Call, env: _Env) -> Any:
        func = node.func
        if isinstance(func, cst.Attribute):
            receiver = self._eval(func.value, env)
            head = _dotted(func).split(".")[0]
            if receiver is not UNKNOWN or head not in self.imports or head in env.names:
                return self._method(node, receiver, func.attr.value, env)
        args = [self._eval(a.value, env) for a in node.args if not a.keyword]
        kwargs = {a.keyword.value: self._eval(a.value, env) for a in node.args if a.keyword}
        name = self._qualified(func)
        return self._function(node, name, args, kwargs, env)

    def _function(self, node: cst.Call, name: str, args: list[Any], kwargs: dict[str, Any],
                  env: _Env) -> Any:
        if name in WRAPPER_CONSTRUCTORS and WRAPPER_CONSTRUCTORS[name] in _WRAPPER_ATTR and args \
                and _is_module(args[0]):
            return Wrapped(args[0], _WRAPPER_ATTR[WRAPPER_CONSTRUCTORS[name]],
                           _code(self.module, node.func), node)
        if name == CHECKPOINT_SAVE:
            obj = kwargs.get("obj", args[0] if args else UNKNOWN)
            path = kwargs.get("f", args[1] if len(args) > 1 else UNKNOWN)
            self._save(path, obj, node)
            return None
        if name in CHECKPOINT_LOADERS:
            path = kwargs.get("f", args[0] if args else UNKNOWN)
            return self._load(path)
        if name == "os.path.join" and args and all(isinstance(a, str) for a in args):
            return os.path.join(*args)
        if name in {"pathlib.Path", "str"} and len(args) == 1 and isinstance(args[0], str):
            return _PathStr(args[0]) if name == "pathlib.Path" else str(args[0])
        last = name.rpartition(".")[2]
        if last == "Trainer" and name.split(".")[0] in _LIGHTNING_ROOTS:
            callbacks = kwargs.get("callbacks", [])
            trainer = Trainer(callbacks if isinstance(callbacks, list) else [UNKNOWN])
            self.trainers.append(trainer)
            return trainer
        if last == "ModelCheckpoint" and name.split(".")[0] in _LIGHTNING_ROOTS:
            return CheckpointCallback(node)
        if isinstance(node.func, cst.Name) and node.func.value in self.lightning \
                and env.get(node.func.value) is self.lightning[node.func.value]:
            return Lightning(self.lightning[node.func.value], node)
        _escape([*args, *kwargs.values()])
        if _class_like(name):
            return Built(name, _args_code(self.module, node), node, scope=self.scope)
        return UNKNOWN

    def _method(self, node: cst.Call, receiver: Any, method: str, env: _Env) -> Any:
        args = [self._eval(a.value, env) for a in node.args if not a.keyword]
        kwargs = {a.keyword.value: self._eval(a.value, env) for a in node.args if a.keyword}
        if method == "load_state_dict":
            self._load_into(node, receiver, args, kwargs)
            return UNKNOWN
        if method == "state_dict" and not node.args and _is_module(receiver):
            return Keys(receiver, _compiled(receiver), node)
        if method in _SAME_MODULE and _is_module(receiver):
            return receiver
        if method == "compile" and isinstance(receiver, Part):
            return None  # nn.Module.compile() compiles in place: names unchanged
        if method == "get" and isinstance(receiver, dict) and args and isinstance(args[0], str):
            return receiver.get(args[0], UNKNOWN)
        if method == "get" and isinstance(receiver, _Loaded) and len(args) == 1 \
                and isinstance(args[0], str):
            return _Loaded(receiver.path, (*receiver.keys, args[0]))
        if method == "items" and isinstance(receiver, _Loaded) and not node.args:
            return _Items()
        if method == "update" and args and isinstance(args[0], Filtered) \
                and isinstance(node.func, cst.Attribute) \
                and _code(self.module, node.func.value) == args[0].target:
            self._tested(args[0])
        if isinstance(receiver, Trainer) and method == "fit":
            model = kwargs.get("model", args[0] if args else UNKNOWN)
            first = receiver.fitted is None or receiver.fitted is model
            receiver.fitted = model if isinstance(model, Lightning) and first else UNKNOWN
        if isinstance(receiver, Trainer) and method == "save_checkpoint":
            path = kwargs.get("filepath", args[0] if args else UNKNOWN)
            value = {"state_dict": Keys(receiver.fitted, (), node)} \
                if isinstance(receiver.fitted, Lightning) else UNKNOWN
            self._save(path, value, node)
        if method == "load_from_checkpoint" and isinstance(receiver, LightningClass):
            return Lightning(receiver, node)
        _escape([*args, *kwargs.values()])
        return UNKNOWN

    # -- saves and loads --------------------------------------------------------------------
    def _own(self, node: cst.CSTNode) -> None:
        for sub in walk(node):
            self.flow.owner[sub] = self.top

    def _save(self, path: Any, value: Any, node: cst.CSTNode) -> None:
        self._own(node)
        if isinstance(path, _CallbackPath):
            return
        if isinstance(path, str):
            self.saves.setdefault(path, []).append(Saved(value, node, path))
        else:
            self.saves.setdefault("", []).append(Saved(value, node, ""))

    def _load(self, path: Any) -> Any:
        if isinstance(path, _CallbackPath) or (isinstance(path, str) and path):
            return _Loaded(path, ())
        return _Loaded(None, ())  # read from a file the pass cannot name

    def _load_into(self, node: cst.Call, receiver: Any, args: list[Any],
                   kwargs: dict[str, Any]) -> None:
        strict = next((a.value for a in node.args
                       if a.keyword is not None and a.keyword.value == "strict"), None)
        if len(node.args) > 1 and node.args[1].keyword is None:
            strict = node.args[1].value
        state = kwargs.get("state_dict", args[0] if args else UNKNOWN)
        if isinstance(strict, cst.Name) and strict.value == "False" \
                and isinstance(self.statement, cst.Expr) and self.statement.value is node \
                and isinstance(state, _Loaded):
            # A state dict read from a file: one that does not fit loads partly, silently.
            # (Keys the code builds from the model itself are left alone.)
            self.flow.discarded_nonstrict.append((node, self.statement))
            self._own(self.statement)
        if not node.args or not isinstance(node.func, cst.Attribute):
            return
        argument = next((a.value for a in node.args
                         if a.keyword is None or a.keyword.value == "state_dict"), None)
        if argument is None:
            return
        if isinstance(state, Filtered):
            receiver_code = _code(self.module, node.func.value)
            if state.target in {receiver_code + ".state_dict()"} \
                    or self._target_of(state.target) == receiver_code:
                self._tested(state)
            return
        if _is_module(receiver) and isinstance(state, _Loaded) and state.path is not None \
                and not self.tries:
            self._own(node)
            self.pending.append((node, receiver, _compiled(receiver), state, node.func.value,
                                 argument))

    def _target_of(self, name: str) -> str | None:
        """The receiver code of `name = receiver.state_dict()` at the top level, if once."""
        for statement in self.module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name) \
                        and small.targets[0].target.value == name \
                        and isinstance(small.value, cst.Call) \
                        and isinstance(small.value.func, cst.Attribute) \
                        and small.value.func.attr.value == "state_dict":
                    return _code(self.module, small.value.func.value)
        return None

    def _tested(self, filtered: Filtered) -> None:
        entry = (filtered.node, filtered.tested)
        self._own(filtered.node)
        if entry not in self.flow.tested_not_kept:
            self.flow.tested_not_kept.append(entry)

    def _judge(self, node: cst.Call, receiver: Any, compiled: tuple[str, ...], state: _Loaded,
               receiver_node: cst.BaseExpression, argument: cst.BaseExpression) -> None:
        """Compare the state dict a load gets with the module it loads into, after the whole
        file is read (a resumed run loads a file the script saves further down)."""
        saves = self.saves.get(state.path, []) if isinstance(state.path, str) else \
            self._callback_saves(state.path)
        if not saves or self.saves.get(""):
            return  # written nowhere here, or some save's path is unknown: it may be this file
        verdicts = {_verdict(_within(s.value, state.keys), receiver, compiled) for s in saves}
        if len(verdicts) != 1:
            return
        verdict = verdicts.pop()
        if verdict is None:
            return
        kind, prefix, cause, paths, key = verdict
        self.flow.loads.append(PrefixLoad(node, kind, prefix, cause, saves[0], receiver_node,
                                          argument, paths, key))

    def _callback_saves(self, path: _CallbackPath | None) -> list[Saved]:
        if path is None:  # a load from a path the flow could not follow
            return []
        trainers = [t for t in self._trainers() if path.callback in t.callbacks]
        if len(trainers) != 1 or not isinstance(trainers[0].fitted, Lightning):
            return []
        keys = Keys(trainers[0].fitted, (), path.callback.node)
        return [Saved({"state_dict": keys}, path.callback.node, "best_model_path")]

    def _trainers(self) -> Iterator[Trainer]:
        yield from self.trainers

    # -- names ------------------------------------------------------------------------------
    def _qualified(self, node: cst.BaseExpression) -> str:
        return self._qualified_text(_dotted(node))

    def _qualified_text(self, dotted: str) -> str:
        if not dotted:
            return ""
        head, _, rest = dotted.partition(".")
        base = self.imports.get(head)
        if base is None:
            return dotted
        return f"{base}.{rest}" if rest else base


class _PathStr(str):
    """A `pathlib.Path` the pass follows: `/` joins."""


@dataclass(frozen=True, eq=False)
class _CallbackPath:
    callback: CheckpointCallback


@dataclass(frozen=True, eq=False)
class _Loaded:
    """What `torch.load(path)` gives, or an entry of it (`['state_dict']`): judged once
    every save of the file is known."""

    path: str | _CallbackPath | None  # None: a file the pass cannot name
    keys: tuple[str, ...]


class _Items:
    """`.items()` of a state dict read from a file."""


# -- verdicts ---------------------------------------------------------------------------------
Verdict = tuple[str, str, str, tuple[str, ...], str]


def _within(value: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return UNKNOWN
        value = value.get(key, UNKNOWN)
    return value


def _verdict(value: Any, receiver: Any, compiled: tuple[str, ...]) -> Verdict | None:
    """What is certainly wrong when `value` (what was saved, or an entry of it) is loaded
    into `receiver`, or None when it fits or is not known."""
    if isinstance(value, dict):
        fitting = [k for k, v in value.items()
                   if isinstance(v, Keys) and _compare(v, receiver, compiled) == "fits"]
        if len(fitting) == 1 and value:
            return ("container", "", "", tuple(value), fitting[0])
        return None
    if not isinstance(value, Keys):
        return None
    outcome = _compare(value, receiver, compiled)
    return outcome if isinstance(outcome, tuple) else None


def _compare(keys: Keys, receiver: Any, compiled: tuple[str, ...]) -> Verdict | str | None:
    saved_leaf, saved_chain = _describe(keys.module)
    leaf, chain = _describe(receiver)
    if isinstance(saved_leaf, Lightning) and not saved_chain and not chain:
        path = _lightning_path(saved_leaf, leaf)
        if path == "":
            return "fits"
        if path is not None:
            return ("lightning", path + ".", type_name(saved_leaf), (), "")
        return None
    if not _same_model(saved_leaf, leaf):
        return None
    if saved_chain == chain:
        if "?" in keys.compiled or "?" in compiled or not isinstance(leaf, Built):
            return "fits" if keys.compiled == compiled else None
        if set(keys.compiled) != set(compiled):
            paths = tuple(sorted(set(keys.compiled) ^ set(compiled)))
            side = "saved" if set(keys.compiled) > set(compiled) else "loaded"
            return ("compiled", "", side, paths, "")
        return "fits"
    if len(saved_chain) > len(chain) and saved_chain[len(saved_chain) - len(chain):] == chain:
        extra = saved_chain[:len(saved_chain) - len(chain)]
        return ("carry", "".join(a + "." for a in extra), _cause(keys.module, extra), (), "")
    if len(chain) > len(saved_chain) and chain[len(chain) - len(saved_chain):] == saved_chain:
        extra = chain[:len(chain) - len(saved_chain)]
        return ("lack", "".join(a + "." for a in extra), _cause(receiver, extra), (), "")
    return None


def type_name(value: Lightning) -> str:
    return value.cls.name


def _lightning_path(saved: Lightning, leaf: Any) -> str | None:
    """Where in the saved LightningModule the module loaded sits: '' for the module itself,
    the attribute path for a submodule, None when it cannot be told."""
    if isinstance(leaf, Lightning):
        return "" if leaf.cls is saved.cls else None
    if isinstance(leaf, Part) and isinstance(leaf.owner, Lightning):
        return leaf.path if leaf.owner.cls is saved.cls else None
    if isinstance(leaf, Built) and _class_like(leaf.callee):
        holders = [a for a, c in saved.cls.children.items() if c == leaf.callee]
        return holders[0] if len(holders) == 1 else None
    return None


def _cause(module: Any, extra: tuple[str, ...]) -> str:
    """The wrapper code that added the outermost of `extra`: `nn.DataParallel`."""
    while isinstance(module, Wrapped):
        if module.attr == extra[0]:
            return module.wrapper
        module = module.inner
    return ""


def _describe(module: Any) -> tuple[Any, tuple[str, ...]]:
    """The model under the wrappers, and the wrappers' attributes from the outside in."""
    chain: list[str] = []
    while isinstance(module, Wrapped):
        chain.append(module.attr)
        module = module.inner
    return module, tuple(chain)


def _same_model(a: Any, b: Any) -> bool:
    """The same object, or a new instance of the same class (a function's result only with
    the same arguments): both have the same names."""
    if a is b:
        return True
    if isinstance(a, Built) and isinstance(b, Built):
        return a.callee == b.callee and (a.args == b.args or _class_like(a.callee))
    if isinstance(a, Part) and isinstance(b, Part):
        return a.path == b.path and _same_model(a.owner, b.owner)
    if isinstance(a, Lightning) and isinstance(b, Lightning):
        return a.cls is b.cls
    return False


def _class_like(name: str) -> bool:
    return name.rpartition(".")[2][:1].isupper()


def _is_module(value: Any) -> bool:
    return isinstance(value, (Built, Wrapped, Lightning, Part))


def _compiled(module: Any) -> tuple[str, ...]:
    leaf, _ = _describe(module)
    return leaf.compiled if isinstance(leaf, Built) else ()


def _escape(values: list[Any]) -> None:
    """A model handed to code the pass does not follow may be compiled in place there."""
    for value in values:
        leaf, _ = _describe(value)
        if isinstance(leaf, Built):
            leaf.compiled = ("?",)


# -- syntax helpers ---------------------------------------------------------------------------
def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    return ""


def _code(module: cst.Module, node: cst.CSTNode) -> str:
    return module.code_for_node(node)


def _args_code(module: cst.Module, node: cst.Call) -> str:
    return ", ".join(module.code_for_node(a).rstrip(", ") for a in node.args)


def _body(node: cst.CSTNode) -> Any:
    body = getattr(node, "body", None)
    return getattr(body, "body", ()) if body is not None else ()


def _blocks(statement: cst.CSTNode) -> Iterator[Any]:
    """The statement lists of an if/for/while/try, in order."""
    yield _body(statement)
    if isinstance(statement, cst.Try):
        for handler in statement.handlers:
            yield _body(handler)
        if statement.orelse is not None:
            yield _body(statement.orelse)
        if statement.finalbody is not None:
            yield _body(statement.finalbody)
        return
    orelse = getattr(statement, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            yield _body(orelse)
            orelse = orelse.orelse
        else:
            yield _body(orelse)
            orelse = None


def _is_main_guard(statement: cst.CSTNode) -> bool:
    """`if __name__ == '__main__':`: the script's own run, not a branch."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    test = statement.test
    return isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) \
        and test.left.value == "__name__" and len(test.comparisons) == 1 \
        and isinstance(test.comparisons[0].operator, cst.Equal) \
        and isinstance(test.comparisons[0].comparator, cst.SimpleString) \
        and test.comparisons[0].comparator.evaluated_value == "__main__"


def _params(function: cst.FunctionDef) -> list[str]:
    params = function.params
    names = [p.name.value for p in (*params.posonly_params, *params.params,
                                     *params.kwonly_params)]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    return names


def _targets_of(node: cst.CSTNode) -> Iterator[str]:
    """Names a statement or loop header binds."""
    targets: list[cst.BaseExpression] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor)):
        targets = [node.target]
    elif isinstance(node, cst.AsName):
        targets = [node.name]
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        yield node.name.value
        return
    for target in targets:
        for sub in walk(target):
            if isinstance(sub, cst.Name) and not _inside_attribute(target, sub):
                yield sub.value


def _inside_attribute(target: cst.BaseExpression, name: cst.Name) -> bool:
    return not isinstance(target, (cst.Name, cst.Tuple, cst.List, cst.StarredElement))


def _bound_names(statement: cst.CSTNode) -> Iterator[str]:
    """Names a top-level statement binds in the module scope (not inside its functions)."""
    stack = [statement]
    while stack:
        node = stack.pop()
        yield from _targets_of(node)
        if not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(children(node))


def _is_simple(statement: cst.CSTNode) -> bool:
    return isinstance(statement, (cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef))


def tested_key(comp: cst.DictComp) -> cst.BaseExpression | None:
    """In `{k: v for k, v in sd.items() if k[7:] in model_dict}`, the expression `k[7:]`:
    the key the filter checked, which is the one that should be kept."""
    key = comp.key
    if not isinstance(key, cst.Name) or comp.for_in.inner_for_in is not None:
        return None
    for clause in comp.for_in.ifs:
        test = clause.test
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
                and isinstance(test.comparisons[0].operator, cst.In) \
                and not (isinstance(test.left, cst.Name) and test.left.value == key.value) \
                and any(isinstance(sub, cst.Name) and sub.value == key.value
                        for sub in walk(test.left)):
            return test.left
    return None

"""Checkpoints followed through the code, with or without the model's names.

A state dict's key *format* is a fact of the code that made it, known even when the model's
own names are not: `nn.DataParallel(m).state_dict()` (and DDP) puts `module.` in front of every
key of `m`, `torch.compile(m)` puts `_orig_mod.`, `m.fc = torch.compile(m.fc)` puts
`_orig_mod.` after `fc.`, and a LightningModule's checkpoint keys carry the attribute path of
each submodule (`model.` for `self.model = Net()`). This pass follows those formats through
`torch.save` (paths from literals, f-strings, `os.path.join`, `Path / 'x'`, names with one
known value, and settings such as `args.output_dir` that the file never changes; dicts such as `{'state_dict': sd, 'epoch': e}`; Lightning's
`trainer.save_checkpoint`) to `torch.load`, `['state_dict']` and `load_state_dict`, and compares
them with the format of the module loaded into.

The verdict needs no parameter name: both ends are followed to the same model (the same
object, or a new instance of the same class), so `module.` + keys can never equal the keys.
Whatever is uncertain stays unknown and says nothing: a path computed at run time, a model
wrapped on one branch only, a file saved in two formats, a value handed to a function.

The pass is split by concern: its values and facts (checkpoint_values.py), the verdicts
(checkpoint_verdicts.py), the syntax helpers (checkpoint_syntax.py), its state and records
(checkpoint_records.py, the base class of the walk), and here the entry point and the walk.
"""

from __future__ import annotations

import os.path
from collections.abc import Callable, Iterable
from typing import Any

import libcst as cst

from freezelint.analysis.checkpoint_records import FlowRecords
from freezelint.analysis.checkpoint_syntax import (
    _args_code,
    _blocks,
    _body,
    _code,
    _dotted,
    _is_main_guard,
    _params,
    _targets_of,
    tested_key,
)
from freezelint.analysis.checkpoint_values import (
    _LIGHTNING_ROOTS,
    _MUTATORS,
    _READS_STATE,
    _SAME_MODULE,
    _WRAPPER_ATTR,
    UNKNOWN,
    Built,
    CheckpointCallback,
    CheckpointFlow,
    Filtered,
    Keys,
    Lightning,
    LightningClass,
    Part,
    Saved,
    Setting,
    Trainer,
    Wrapped,
    _CallbackPath,
    _Env,
    _Items,
    _Loaded,
    _PathStr,
    as_text,
    symbolic,
)
from freezelint.analysis.checkpoint_verdicts import _class_like, _compiled, _escape, _is_module
from freezelint.analysis.walk import children, walk
from freezelint.common.torch_api import CHECKPOINT_LOADERS, CHECKPOINT_SAVE, WRAPPER_CONSTRUCTORS

# -- the pass ---------------------------------------------------------------------------------
_PATH_FUNCTIONS = {"os.path.join", "pathlib.Path", "str"}
Siblings = Callable[[set[str]], Iterable[tuple[str, cst.Module]]]


def follow(module: cst.Module, siblings: Siblings | None = None) -> CheckpointFlow:
    """The checkpoint flow of `module`. `siblings(paths)` gives the project's other scripts
    (run from the same directory) that may save one of `paths`, the literal paths this file
    loads but does not save: what they save there counts as saved here too."""
    flow = _Flow(module)
    flow.walk()
    needed = {state.path for _, _, _, state, _, _ in flow.pending
              if isinstance(state.path, str) and state.path not in flow.saves
              and not symbolic(state.path)}  # another script's `args` are its own
    for name, sibling in siblings(needed) if siblings is not None and needed else ():
        other = _Flow(sibling)
        other.walk()
        for path, saves in other.saves.items():
            flow.saves.setdefault(path, []).extend(
                Saved(s.value, s.node, s.path, name) for s in saves)
    return flow.judge()



_COMPOUND = (cst.If, cst.For, cst.While, cst.Try, cst.With, cst.FunctionDef, cst.ClassDef)
_COMPOUND_TYPES = frozenset(_COMPOUND)  # (an exact type test: isinstance goes through ABCMeta)


class _Flow(FlowRecords):
    """The walk: statements in program order, then each function's body, evaluating the
    expressions that build, wrap, save and load modules."""

    def walk(self) -> None:
        self._bound: dict[cst.CSTNode, frozenset[str]] = {}
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
            self.params = set(_params(function))
            self.local = set(self._bound_in(function) - {function.name.value})
            for param in self.params:
                scope.names[param] = UNKNOWN
            self._block(_body(function), scope)

    def _bound_in(self, node: cst.CSTNode) -> frozenset[str]:
        """Every name `node` or anything under it binds. Remembered per compound statement:
        branches nest, and each level asking afresh walked its subtree again (quadratic in
        the nesting; 0.5 s of transformers' modeling_utils.py)."""
        known = self._bound.get(node)
        if known is not None:
            return known
        found: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            found.update(_targets_of(current))
            for child in children(current):
                if type(child) in _COMPOUND_TYPES:
                    found.update(self._bound_in(child))
                else:
                    stack.append(child)
        result = frozenset(found)
        if isinstance(node, _COMPOUND):
            self._bound[node] = result
        return result

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
        bound = self._bound_in(statement)
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
            value = as_text(self._eval(part.expression, env))
            if part.format_spec or part.conversion or not isinstance(value, (str, int)) \
                    or isinstance(value, bool):
                return UNKNOWN
            parts.append(str(value))
        return "".join(parts)

    def _binary(self, node: cst.BinaryOperation, env: _Env) -> Any:
        left, right = as_text(self._eval(node.left, env)), as_text(self._eval(node.right, env))
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

    def _setting(self, node: cst.BaseExpression, env: _Env) -> Setting | None:
        """`node` as the root of a settings object: a parameter of the function walked, or
        a name bound once at the top level, never rebound here nor written to anywhere, and
        not an import. A bare name is never a path by itself: only its attributes and items
        (`args.out`, `cfg['ckpt']`) are followed."""
        if not isinstance(node, cst.Name) or env.get(node.value) is not UNKNOWN:
            return None
        name = node.value
        if name in self.written or name in self.imports or name == "self":
            return None
        if name in self.params:
            stable = name not in self.local
        else:
            stable = name in self.once and name not in self.local
        return Setting(name) if stable else None

    def _attribute(self, node: cst.Attribute, env: _Env) -> Any:
        root = self._setting(node.value, env)
        owner = root if root is not None else self._eval(node.value, env)
        attr = node.attr.value
        if isinstance(owner, Setting):
            return Setting(f"{owner.code}.{attr}")
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
        root = self._setting(node.value, env)
        owner = root if root is not None else self._eval(node.value, env)
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return UNKNOWN
        key = self._eval(node.slice[0].slice.value, env)
        if isinstance(owner, Setting):
            return Setting(f"{owner.code}[{key!r}]") if isinstance(key, str) else UNKNOWN
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
        if name == CHECKPOINT_SAVE or name in CHECKPOINT_LOADERS or name in _PATH_FUNCTIONS:
            args = [as_text(a) for a in args]  # settings enter paths as their tokens
            kwargs = {k: as_text(v) for k, v in kwargs.items()}
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
            path = as_text(kwargs.get("filepath", args[0] if args else UNKNOWN))
            value = {"state_dict": Keys(receiver.fitted, (), node)} \
                if isinstance(receiver.fitted, Lightning) else UNKNOWN
            self._save(path, value, node)
        if method == "load_from_checkpoint" and isinstance(receiver, LightningClass):
            return Lightning(receiver, node)
        _escape([*args, *kwargs.values()])
        return UNKNOWN

"""Program-order abstract interpretation of a fine-tuning script over real model names.

The interpreter runs the script's statements in order with a small evaluator: plain values
(strings, numbers, lists) are computed for real, torch objects are the abstract values of
`values.py`, and anything else is UNKNOWN. A loop over `named_parameters()` runs its body
once per real parameter name, so a name test is simply evaluated, and what it matched is
recorded for the rules. Helper functions defined in the file are followed when called;
functions never called are analysed on their own with a fresh model.

When a value cannot be evaluated the result is UNKNOWN and the rules stay silent.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from freezelint.analysis import facts as F
from freezelint.analysis import state_dicts
from freezelint.analysis.detect import ModelRequest, detect_constructor
from freezelint.analysis.nn_modules import BATCHNORM_TYPES, NewModule, build_nn_module, is_instance
from freezelint.analysis.syntax import collect_syntax
from freezelint.analysis.values import (
    UNKNOWN,
    BoundMethod,
    EnumIndex,
    FunctionObj,
    LitStr,
    ModelState,
    ModuleIter,
    ModuleObj,
    OptimizerObj,
    ParamGroup,
    ParamIter,
    ParamObj,
    Qualified,
    RealName,
    StateDict,
    is_unknown,
)
from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo, iter_children
from freezelint.prefilter import has_syntactic_patterns

ModelResolver = Callable[[ModelRequest], "Manifest | None"]

MAX_CALL_DEPTH = 8
# Function bodies run per lint, at most: helpers that call helpers several times each grow
# exponentially with depth (torch's meta_utils.py ran for minutes). Past the budget, calls are
# unresolved, like calls into code the analysis cannot see.
MAX_CALLS = 2000
# Unresolved calls that take a model without changing what trains: the model keeps its
# known state. Any other unresolved call may freeze or unfreeze what it is given.
READ_ONLY_CALLS = {
    "debug", "info", "warning", "warn", "error", "critical", "exception", "log", "watch",
    "summary", "deepcopy", "copy", "count_parameters", "print_trainable_parameters",
}
# Module methods that do not change requires_grad (the others, when the analysis does not
# model them, leave the module's parameters unknown).
READ_ONLY_MODULE_METHODS = {
    "forward", "extra_repr", "num_parameters", "get_parameter", "get_submodule",
    "get_input_embeddings", "get_output_embeddings", "register_forward_hook",
    "register_forward_pre_hook", "register_full_backward_hook", "register_buffer",
    "zero_grad", "print_trainable_parameters", "gradient_checkpointing_enable",
    "gradient_checkpointing_disable", "save_pretrained", "push_to_hub", "generate",
    "share_memory", "named_buffers", "buffers", "half", "float",
}
MAX_ITERATIONS = 20_000
OPTIMIZER_NAMES = {
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
    "LBFGS", "SparseAdam", "ASGD", "Rprop", "Adafactor", "Lion", "LAMB", "Lamb", "Adam8bit",
    "AdamW8bit", "PagedAdamW", "PagedAdamW8bit", "FusedAdam", "FusedLAMB",
}
WRAPPER_PREFIXES = {
    "torch.nn.DataParallel": "module.",
    "torch.nn.parallel.DataParallel": "module.",
    "torch.nn.parallel.DistributedDataParallel": "module.",
    "torch.nn.parallel.data_parallel.DataParallel": "module.",
    "torch.distributed.fsdp.FullyShardedDataParallel": "_fsdp_wrapped_module.",
    "torch.compile": "_orig_mod.",
}
# Attribute uses that only make sense on a module: on a missing submodule they are FZL109.
# (`model.config.hidden_size` on a model whose manifest has no `config` module is fine.)
MODULE_LIKE_USES = {
    "parameters", "named_parameters", "modules", "named_modules", "children", "named_children",
    "requires_grad_", "requires_grad", "train", "eval", "weight", "bias", "in_features",
    "out_features", "in_channels", "out_channels", "state_dict", "load_state_dict",
}
# Wrappers that register gradient hooks when built: requires_grad changes after them break.
GRAD_HOOK_WRAPPERS = {"DistributedDataParallel", "FullyShardedDataParallel"}
MODULE_METHODS = {
    "parameters", "named_parameters", "modules", "named_modules", "children", "named_children",
    "requires_grad_", "train", "eval", "apply", "to", "cuda", "cpu", "float", "half",
    "double", "bfloat16", "state_dict", "load_state_dict", "zero_grad", "buffers",
    "named_buffers", "type",
}
# Size attributes recorded at construction: assigning them resizes nothing (FZL111).
SIZE_ATTRS = {"out_features", "in_features", "out_channels", "in_channels", "num_features"}
_BINARY = {
    cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
    cst.FloorDivide: operator.floordiv, cst.Divide: operator.truediv, cst.Modulo: operator.mod,
    cst.Power: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le, cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge, cst.Is: operator.is_, cst.IsNot: operator.is_not,
    cst.In: lambda a, b: a in b, cst.NotIn: lambda a, b: a not in b,
}


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Continue(Exception):
    """`continue` in a loop the interpreter runs per element."""


class _Break(Exception):
    """`break` in a loop the interpreter runs per element."""


@dataclass
class Frame:
    """Variables of one scope; `parent` is the module scope for functions."""

    names: dict[str, Any] = field(default_factory=dict)
    parent: Frame | None = None

    def lookup(self, name: str) -> Any:
        frame: Frame | None = self
        while frame is not None:
            if name in frame.names:
                return frame.names[name]
            frame = frame.parent
        return _MISSING

    def bind(self, name: str, value: Any) -> None:
        self.names[name] = value


_MISSING = object()


class Interpreter:
    def __init__(self, module: cst.Module, resolve: ModelResolver,
                 explicit: Manifest | None = None, *, base_dir: Path | None = None,
                 checkpoint: Manifest | None = None, text: str | None = None) -> None:
        self.module = module
        self.text = text
        self.base_dir = base_dir
        self.checkpoint = checkpoint
        self.saved: dict[str, StateDict] = {}
        self.resolve = resolve
        self.explicit = explicit
        self.facts = F.Facts()
        self.seq = 0
        self.depth = 0
        self.calls = 0
        self.running: set[cst.CSTNode] = set()  # definitions being executed (recursion)
        self.uncertain = 0
        self.called: set[cst.FunctionDef] = set()
        self.primary: ModelState | None = None
        self.optimizers: list[OptimizerObj] = []
        self.index_context: list[bool] = [False]
        self.statement: cst.CSTNode | None = None
        self.globals = Frame()
        self.top: int | None = None
        self.tops = {stmt: i for i, stmt in enumerate(module.body)}
        self.literals: dict[cst.CSTNode, Any] = {}

    # -- entry -----------------------------------------------------------------------------
    def run(self) -> F.Facts:
        if has_syntactic_patterns(self.module.code_for_node(self.module) if self.text is None
                                  else self.text):
            self.facts.syntax = collect_syntax(self.module, self.facts.owner)
        self.globals.bind("__name__", "__main__")
        for index, stmt in enumerate(self.module.body):
            self.top = index
            self.exec_block([stmt], self.globals)
        # Functions nobody calls are still code the user runs somehow: analyse each one on
        # its own, with a fresh copy of the model so its effects cannot leak into the
        # module-level story (no false "freeze undone" across unrelated functions).
        for index, stmt in enumerate(self.module.body):
            self.top = index
            if isinstance(stmt, cst.FunctionDef) and stmt not in self.called:
                self._run_standalone(stmt)
            elif isinstance(stmt, cst.ClassDef):
                self._run_class(stmt)
        return self.facts

    def _run_class(self, cls: cst.ClassDef) -> None:
        """A class defined in the file (an nn.Module, a LightningModule): `__init__` runs
        first, then every other method on its own copy of what `__init__` built, since the
        order methods are called in is the framework's, not the file's."""
        methods = {f.name.value: f for f in _body(cls) if isinstance(f, cst.FunctionDef)}
        instance = _Instance(methods)
        init = methods.get("__init__")
        if init is not None:
            self._run_method(init, instance)
        for name, method in methods.items():
            if name != "__init__" and method not in self.called:
                self._run_method(method, instance.copy())

    def _run_method(self, method: cst.FunctionDef, instance: _Instance) -> None:
        frame = Frame(parent=self.globals)
        params = [*method.params.posonly_params, *method.params.params]
        for i, param in enumerate(params):
            frame.bind(param.name.value, instance if i == 0 else UNKNOWN)
        with suppress(_Return):
            self.exec_block(_body(method), frame)

    def _run_standalone(self, fn: cst.FunctionDef) -> None:
        saved_primary = self.primary
        if saved_primary is not None:
            self.primary = self._new_model(saved_primary.manifest, None)
        frame = Frame(parent=self.globals)
        for param in fn.params.params:
            frame.bind(param.name.value, UNKNOWN)
        with suppress(_Return):
            self.exec_block(_body(fn), frame)
        self.primary = saved_primary

    # -- statements ------------------------------------------------------------------------
    def exec_block(self, body: Sequence[cst.CSTNode], frame: Frame) -> None:
        for stmt in body:
            self.seq += 1
            try:
                self.exec_stmt(stmt, frame)
            except (_Return, _Continue, _Break):
                raise
            except RecursionError:
                return
            except Exception:  # a construct the evaluator does not model: skip the statement
                continue

    def exec_stmt(self, stmt: cst.CSTNode, frame: Frame) -> None:
        if self.top is not None:
            self.facts.owner[stmt] = self.top
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if self.top is not None:
                    self.facts.owner[small] = self.top
                self.statement = small
                self.exec_small(small, frame)
        elif isinstance(stmt, cst.If):
            self.exec_if(stmt, frame)
        elif isinstance(stmt, cst.For):
            self.exec_for(stmt, frame)
        elif isinstance(stmt, cst.While):
            self.eval(stmt.test, frame)
            self.run_iteration(stmt, frame)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                value = self.eval(item.item, frame)
                if item.asname is not None:
                    self.assign(item.asname.name, UNKNOWN if _is_ctx_unknown(value) else value,
                                frame)
            self.exec_block(_body(stmt), frame)
        elif isinstance(stmt, cst.Try):
            self.exec_block(_body(stmt), frame)
            with self.maybe():
                for handler in stmt.handlers:
                    self.exec_block(_body(handler), frame)
            if stmt.orelse is not None:
                self.exec_block(_body(stmt.orelse), frame)
            if stmt.finalbody is not None:
                self.exec_block(_body(stmt.finalbody), frame)
        elif isinstance(stmt, cst.FunctionDef):
            frame.bind(stmt.name.value, FunctionObj(stmt, None, self.top))
        elif isinstance(stmt, cst.ClassDef):
            frame.bind(stmt.name.value, UNKNOWN)

    def exec_small(self, small: cst.BaseSmallStatement, frame: Frame) -> None:
        if isinstance(small, cst.Expr):
            self.eval(small.value, frame)
        elif isinstance(small, cst.Assign):
            value = self.eval(small.value, frame)
            for target in small.targets:
                self.assign(target.target, value, frame, small)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.assign(small.target, self.eval(small.value, frame), frame, small)
        elif isinstance(small, cst.AugAssign):
            self.eval(small.value, frame)
            if isinstance(small.target, cst.Name):
                frame.bind(small.target.value, UNKNOWN)
        elif isinstance(small, cst.Continue):
            raise _Continue
        elif isinstance(small, cst.Break):
            raise _Break
        elif isinstance(small, cst.Return):
            raise _Return(self.eval(small.value, frame) if small.value else None)
        elif isinstance(small, cst.Import):
            for alias in small.names:
                dotted = _dotted(alias.name)
                if alias.asname is not None:
                    self.assign(alias.asname.name, Qualified(dotted), frame)
                else:
                    top = dotted.split(".")[0]
                    frame.bind(top, Qualified(top))
        elif isinstance(small, cst.ImportFrom):
            self.exec_import_from(small, frame)
        elif isinstance(small, cst.Del):
            self.exec_del(small.target, frame)

    def exec_del(self, target: cst.BaseExpression, frame: Frame) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.exec_del(element.value, frame)
        elif isinstance(target, cst.Subscript):
            owner = self.eval(target.value, frame)
            if isinstance(owner, StateDict):
                state_dicts.delete(self, owner, self._single_index(target, frame), target)

    def exec_import_from(self, small: cst.ImportFrom, frame: Frame) -> None:
        if isinstance(small.names, cst.ImportStar):
            return
        base = "." * len(small.relative) + (_dotted(small.module) if small.module else "")
        for alias in small.names:
            name = _dotted(alias.name)
            local = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(local, cst.Name):
                frame.bind(local.value, Qualified(f"{base}.{name}" if base else name))

    def exec_if(self, stmt: cst.If, frame: Frame) -> None:
        test = self.truth(self.eval(stmt.test, frame))
        orelse = stmt.orelse
        if test is True:
            self.exec_block(_body(stmt), frame)
        elif test is False:
            self._exec_else(orelse, frame)
        else:
            jumped = False
            with self.maybe():
                for branch in (lambda: self.exec_block(_body(stmt), frame),
                               lambda: self._exec_else(orelse, frame)):
                    try:
                        branch()
                    except (_Continue, _Break):
                        jumped = True
            if jumped:
                self.uncertain += 1  # undone by the enclosing loop pass

    def _exec_else(self, orelse: cst.If | cst.Else | None, frame: Frame) -> None:
        if isinstance(orelse, cst.If):
            self.exec_if(orelse, frame)
        elif isinstance(orelse, cst.Else):
            self.exec_block(_body(orelse), frame)

    def exec_for(self, stmt: cst.For, frame: Frame) -> None:
        iterable = self.eval(stmt.iter, frame)
        elements = self.iterate(iterable, stmt.iter)
        if elements is None:
            self.assign(stmt.target, UNKNOWN, frame)
            self.run_iteration(stmt, frame)
            return
        by_index = isinstance(iterable, (_Enumerated, _PositionalList))
        self.index_context.append(by_index or self.index_context[-1])
        try:
            for count, element in enumerate(elements):
                if count >= MAX_ITERATIONS:
                    break
                self.assign(stmt.target, element, frame)
                if not self.run_iteration(stmt, frame):
                    break
        finally:
            self.index_context.pop()

    def run_iteration(self, stmt: cst.For | cst.While, frame: Frame) -> bool:
        """One pass of a loop body; False after a `break`. A `continue` or `break` inside a
        branch the analysis could not decide makes the rest of the pass uncertain (see
        exec_if), and that uncertainty ends with the pass."""
        uncertain = self.uncertain
        try:
            self.exec_block(_body(stmt), frame)
        except _Continue:
            pass
        except _Break:
            return False
        finally:
            self.uncertain = uncertain
        return True

    @contextmanager
    def maybe(self) -> Iterator[None]:
        """Code that may or may not run: its effects on requires_grad become unknown."""
        self.uncertain += 1
        try:
            yield
        finally:
            self.uncertain -= 1

    # -- assignment ------------------------------------------------------------------------
    def assign(self, target: cst.BaseExpression, value: Any, frame: Frame,
               stmt: cst.CSTNode | None = None) -> None:
        if isinstance(target, cst.Name):
            frame.bind(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if isinstance(value, (tuple, list)) and len(value) == len(elements):
                for element, item in zip(elements, value, strict=True):
                    self.assign(element, item, frame, stmt)
            else:
                for element in elements:
                    self.assign(element, UNKNOWN, frame, stmt)
        elif isinstance(target, cst.Attribute):
            self.assign_attribute(target, value, frame, stmt)
        elif isinstance(target, cst.Subscript):
            owner = self.eval(target.value, frame)
            index = self._single_index(target, frame)
            if isinstance(owner, ModuleObj) and isinstance(index, int):
                path = _child_by_index(owner, index)
                if path is not None:
                    self.replace_module(owner.model, path, value, stmt or target)
            elif isinstance(owner, dict) and not is_unknown(index):
                with suppress(TypeError):
                    owner[index] = value

    def assign_attribute(self, target: cst.Attribute, value: Any, frame: Frame,
                         stmt: cst.CSTNode | None) -> None:
        owner = self.eval(target.value, frame)
        attr = target.attr.value
        node = stmt or target
        if isinstance(owner, _Instance):
            owner.attrs[attr] = value
            return
        if isinstance(owner, _MissingAttr):
            self._missing(owner, node)
            return
        if isinstance(owner, ParamObj) and attr == "requires_grad":
            self.set_grad(owner.model, [owner.name], value, node)
        elif isinstance(owner, ModuleObj) and attr in SIZE_ATTRS:
            self.facts.size_assigns.setdefault(node, F.SizeAssign(node, owner.model, owner.path,
                                                                  attr))
        elif isinstance(owner, ModuleObj) and attr == "requires_grad":
            if isinstance(stmt, (cst.Assign, cst.AugAssign)):
                self.facts.module_grad_attrs.setdefault(
                    stmt, F.ModuleGradAttr(stmt, owner.model, owner.path, target,
                                           stmt.value))
        elif (isinstance(owner, ModuleObj) and isinstance(value, (NewModule, ModuleObj))) \
                or (isinstance(owner, ModuleObj) and is_unknown(value) and _is_call(stmt)):
            path = owner.child(attr)
            if not owner.model.manifest.has_module(path) and not owner.model.is_opaque(path) \
                    and owner.model.manifest.modules:
                self.facts.missing.setdefault(
                    node, F.MissingSubmodule(node, owner.model, path, assigned=True))
            self.replace_module(owner.model, path, value, node)

    def replace_module(self, model: ModelState, path: str, value: Any, node: cst.CSTNode) -> None:
        old = {p.name for p in model.manifest.parameters_under(path)}
        if not isinstance(value, NewModule):
            # Something the analysis cannot build: keep the old names (a replacement head
            # usually has the same ones) but stop trusting anything under this path.
            model.opaque.add(path)
            for name in old:
                model.trainable[name] = True  # a new module's parameters start trainable
            stale = [o for o in self.optimizers if o.model is model and o.names is not None
                     and o.names & old]
            self.facts.replacements.append(F.ModuleReplaced(
                node, model, path, self.seq, sorted(old), stale))
            return
        flat_params, flat_modules = value.flatten(path)
        params = [TensorInfo(n, s) for n, s in flat_params]
        modules = [ModuleInfo(p, t, dict(a)) for p, t, a in flat_modules]
        model.manifest = model.manifest.replace_module(path, params, modules)
        for name in old:
            model.trainable.pop(name, None)
        for p in params:
            model.trainable[p.name] = True
        stale = [o for o in self.optimizers if o.model is model and o.names is not None
                 and o.names & old]
        self.facts.replacements.append(F.ModuleReplaced(
            node, model, path, self.seq, [p.name for p in params], stale))

    # -- requires_grad ---------------------------------------------------------------------
    def set_grad(self, model: ModelState, names: Iterable[str], value: Any,
                 node: cst.CSTNode) -> None:
        flag: bool | None = value if isinstance(value, bool) else None
        if self.uncertain:
            flag = None
        fact = self.facts.grad_assigns.get(node)
        if fact is None:
            fact = F.GradAssign(node, model, self.seq,
                                after_wrap=model.wrap_node,
                                optimizers_before=[o for o in self.optimizers if o.model is model])
            self.facts.grad_assigns[node] = fact
        fact.by_index = fact.by_index or self.index_context[-1]
        if self.uncertain:
            fact.conditional = True
        written = value if isinstance(value, bool) else None
        for name in names:
            if name not in model.trainable:
                continue
            fact.values[name] = flag
            fact.written[name] = written
            old = model.trainable[name]
            model.trainable[name] = flag if flag is not None or old is None else (
                None if old != value else old)

    # -- evaluation ------------------------------------------------------------------------
    def truth(self, value: Any) -> bool | None:
        if is_unknown(value) or isinstance(value, (_MissingAttr, Qualified, BoundMethod)):
            return None
        if isinstance(value, (ModuleObj, ParamObj, OptimizerObj, ParamIter, FunctionObj)):
            return True
        try:
            return bool(value)
        except Exception:
            return None

    def eval(self, node: cst.BaseExpression | None, frame: Frame) -> Any:
        if node is None:
            return None
        if self.top is not None:
            self.facts.owner[node] = self.top
        method = getattr(self, f"eval_{type(node).__name__}", None)
        if method is None:
            return UNKNOWN
        return method(node, frame)

    def eval_SimpleString(self, node: cst.SimpleString, frame: Frame) -> Any:
        # libcst evaluates a literal with ast.literal_eval (a compile() each time), and a loop
        # over 159 parameters evaluates the same literal 159 times: remember it.
        value = self._literal(node)
        return LitStr(value, node) if isinstance(value, str) else UNKNOWN

    def _literal(self, node: cst.SimpleString | cst.Integer | cst.Float) -> Any:
        value = self.literals.get(node, _MISSING)
        if value is _MISSING:
            value = node.evaluated_value
            self.literals[node] = value
        return value

    def eval_ConcatenatedString(self, node: cst.ConcatenatedString, frame: Frame) -> Any:
        value = node.evaluated_value
        return LitStr(value, node) if isinstance(value, str) else UNKNOWN

    def eval_Integer(self, node: cst.Integer, frame: Frame) -> Any:
        return self._literal(node)

    def eval_Float(self, node: cst.Float, frame: Frame) -> Any:
        return self._literal(node)

    def eval_Name(self, node: cst.Name, frame: Frame) -> Any:
        constants = {"True": True, "False": False, "None": None}
        if node.value in constants:
            return constants[node.value]
        value = frame.lookup(node.value)
        if value is _MISSING:
            return _BUILTINS.get(node.value, UNKNOWN)
        return value

    def eval_Attribute(self, node: cst.Attribute, frame: Frame) -> Any:
        owner = self.eval(node.value, frame)
        if (is_unknown(owner) or owner is _MISSING) and node.attr.value in MODULE_METHODS:
            owner = self.promote(node.value, frame)
        if isinstance(owner, ModuleObj):
            self.facts.module_method_refs.add(node)
        return self.get_attr(owner, node.attr.value, node)

    def promote(self, receiver: cst.BaseExpression, frame: Frame) -> Any:
        """An unknown name used like a model (`model.named_parameters()`,
        `self.model.parameters()`) is the model the user named with --model, or the one the
        script builds."""
        owner = None
        if isinstance(receiver, cst.Attribute):
            owner = self.eval(receiver.value, frame)
            if not isinstance(owner, _Instance):
                return UNKNOWN
        elif not isinstance(receiver, cst.Name):
            return UNKNOWN
        model = self.primary
        if model is None and self.explicit is not None:
            model = self._new_model(self.explicit, None)
        if model is None:
            return UNKNOWN
        value = ModuleObj(model, "")
        if isinstance(receiver, cst.Attribute):
            owner.attrs[receiver.attr.value] = value
        else:
            frame.bind(receiver.value, value)
        return value

    def get_attr(self, owner: Any, attr: str, node: cst.CSTNode) -> Any:
        if isinstance(owner, Qualified):
            return Qualified(f"{owner.name}.{attr}")
        if isinstance(owner, ModuleObj):
            return self._module_attr(owner, attr, node)
        if isinstance(owner, ParamObj):
            if attr == "requires_grad":
                state = owner.model.trainable.get(owner.name)
                return UNKNOWN if state is None else state
            if attr == "requires_grad_":
                return BoundMethod(owner, attr, node)
            tensor = owner.model.tensor(owner.name)
            if tensor is None or owner.model.is_opaque(owner.name):
                return UNKNOWN
            if attr in {"shape", "size"}:
                return tensor.shape if attr == "shape" else BoundMethod(tensor.shape, "size", node)
            if attr == "ndim":
                return len(tensor.shape)
            if attr in {"dim", "numel"}:
                return BoundMethod(owner, attr, node)
            return UNKNOWN
        if isinstance(owner, _MissingAttr):
            if attr in MODULE_LIKE_USES:
                self._missing(owner, node)
            return UNKNOWN
        if isinstance(owner, _Instance):
            if attr in owner.attrs:
                return owner.attrs[attr]
            return BoundMethod(owner, attr, node) if attr in owner.methods else UNKNOWN
        if isinstance(owner, _ClassOf) and attr == "__name__":
            return owner.type_name
        if isinstance(owner, (str, list, dict, tuple, OptimizerObj)):
            return BoundMethod(owner, attr, node)
        return UNKNOWN

    def _module_attr(self, owner: ModuleObj, attr: str, node: cst.CSTNode) -> Any:
        model = owner.model
        if attr in MODULE_METHODS:
            return BoundMethod(owner, attr, node)
        if attr == "module" and owner.prefix:
            return ModuleObj(model, owner.path)
        if attr == "__class__":
            return _ClassOf(owner.type_name)
        if attr == "base_model" and not owner.path:
            return self._base_model(owner)
        path = owner.child(attr)
        if model.manifest.has_module(path):
            return ModuleObj(model, path)
        if model.tensor(path) is not None:
            return ParamObj(model, path)
        info = model.manifest.module(owner.path)
        if info is not None and attr in info.attrs:
            return info.attrs[attr]
        if info is None and attr in {"in_features", "out_features"}:
            # A checkpoint records no module attributes; a Linear's sizes are its weight's.
            weight = model.tensor(owner.child("weight"))
            if weight is not None and len(weight.shape) == 2:
                return weight.shape[1] if attr == "in_features" else weight.shape[0]
        if model.is_opaque(path) or not model.manifest.modules or owner.prefix \
                or attr.startswith("_"):
            return UNKNOWN
        # Reading a submodule the model does not have: only a mistake if it is used as one.
        return _MissingAttr(model, path, node)

    def _base_model(self, owner: ModuleObj) -> Any:
        """transformers' `model.base_model`: the backbone child (`bert`, `vit`...) of a task
        model, or the model itself when it is the backbone."""
        manifest = owner.model.manifest
        if manifest.meta.get("library") != "transformers" and \
                not str(manifest.name).startswith("transformers/"):
            return UNKNOWN
        for child in ("bert", "vit", "audio_spectrogram_transformer", "roberta", "deberta",
                      "distilbert", "model", "base_model"):
            if manifest.has_module(child):
                return ModuleObj(owner.model, child, owner.prefix)
        return owner

    def _missing(self, missing: _MissingAttr, node: cst.CSTNode) -> None:
        self.facts.missing.setdefault(missing.node,
                                      F.MissingSubmodule(missing.node, missing.model,
                                                         missing.path, assigned=False))

    def eval_Subscript(self, node: cst.Subscript, frame: Frame) -> Any:
        owner = self.eval(node.value, frame)
        if isinstance(owner, _MissingAttr):
            if isinstance(self._single_index(node, frame), int):
                self._missing(owner, node)
            return UNKNOWN
        if len(node.slice) != 1:
            return UNKNOWN
        sl = node.slice[0].slice
        if isinstance(sl, cst.Slice):
            lower = self.eval(sl.lower, frame) if sl.lower else None
            upper = self.eval(sl.upper, frame) if sl.upper else None
            step = self.eval(sl.step, frame) if sl.step else None
            if not all(v is None or isinstance(v, int) for v in (lower, upper, step)):
                return UNKNOWN
            if isinstance(owner, list) and owner and all(isinstance(e, ParamObj) for e in owner):
                self.facts.index_tests.setdefault(node, F.IndexTest(node, owner[0].model))
                return _PositionalList(owner[slice(lower, upper, step)])
            if isinstance(owner, (list, tuple, str)):
                return owner[slice(lower, upper, step)]
            return UNKNOWN
        index = self.eval(sl.value, frame) if isinstance(sl, cst.Index) else UNKNOWN
        if is_unknown(index):
            return UNKNOWN
        if isinstance(owner, ModuleObj) and isinstance(index, int):
            path = _child_by_index(owner, index)
            return ModuleObj(owner.model, path) if path is not None else UNKNOWN
        if isinstance(owner, StateDict):
            found = state_dicts.lookup(self, owner, index, node)
            return owner[str(index)] if found else UNKNOWN
        try:
            return owner[index] if isinstance(owner, (list, tuple, dict, str)) else UNKNOWN
        except (IndexError, KeyError, TypeError):
            return UNKNOWN

    def _single_index(self, node: cst.Subscript, frame: Frame) -> Any:
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            return self.eval(node.slice[0].slice.value, frame)
        return UNKNOWN

    def eval_List(self, node: cst.List, frame: Frame) -> Any:
        return self._elements(node.elements, frame, list)

    def eval_Tuple(self, node: cst.Tuple, frame: Frame) -> Any:
        return self._elements(node.elements, frame, tuple)

    def eval_Set(self, node: cst.Set, frame: Frame) -> Any:
        values = self._elements(node.elements, frame, list)
        try:
            return set(values) if isinstance(values, list) else UNKNOWN
        except TypeError:
            return UNKNOWN

    def _elements(self, elements: Sequence[cst.BaseElement], frame: Frame,
                  kind: type) -> Any:
        values: list[Any] = []
        for element in elements:
            value = self.eval(element.value, frame)
            if isinstance(element, cst.StarredElement):
                items = self.iterate(value, element.value)
                if items is None:
                    return UNKNOWN
                values.extend(items)
            else:
                values.append(value)
        return kind(values)

    def eval_Dict(self, node: cst.Dict, frame: Frame) -> Any:
        result: dict[Any, Any] = {}
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return UNKNOWN
            key = self.eval(element.key, frame)
            try:
                result[key] = self.eval(element.value, frame)
            except TypeError:
                return UNKNOWN
        return result

    def eval_Lambda(self, node: cst.Lambda, frame: Frame) -> Any:
        return FunctionObj(node, frame.names, self.top)

    def eval_UnaryOperation(self, node: cst.UnaryOperation, frame: Frame) -> Any:
        value = self.eval(node.expression, frame)
        if isinstance(node.operator, cst.Not):
            truth = self.truth(value)
            return UNKNOWN if truth is None else not truth
        if isinstance(value, (int, float)) and isinstance(node.operator, cst.Minus):
            return -value
        return value if isinstance(node.operator, cst.Plus) else UNKNOWN

    def eval_BinaryOperation(self, node: cst.BinaryOperation, frame: Frame) -> Any:
        left, right = self.eval(node.left, frame), self.eval(node.right, frame)
        op = _BINARY.get(type(node.operator))
        if op is None or not _plain(left) or not _plain(right):
            return UNKNOWN
        try:
            result = op(left, right)
        except Exception:
            return UNKNOWN
        return str(result) if isinstance(result, str) else result

    def eval_BooleanOperation(self, node: cst.BooleanOperation, frame: Frame) -> Any:
        # Both sides are evaluated so that every name test in them is recorded.
        left = self.truth(self.eval(node.left, frame))
        right = self.truth(self.eval(node.right, frame))
        if isinstance(node.operator, cst.And):
            if left is False or right is False:
                return False
            return True if left and right else UNKNOWN
        if left is True or right is True:
            return True
        return False if left is False and right is False else UNKNOWN

    def eval_IfExp(self, node: cst.IfExp, frame: Frame) -> Any:
        test = self.truth(self.eval(node.test, frame))
        if test is True:
            return self.eval(node.body, frame)
        if test is False:
            return self.eval(node.orelse, frame)
        self.eval(node.body, frame)
        self.eval(node.orelse, frame)
        return UNKNOWN

    def eval_NamedExpr(self, node: cst.NamedExpr, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame)
        return value

    def eval_Comparison(self, node: cst.Comparison, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        result: Any = True
        for target in node.comparisons:
            right = self.eval(target.comparator, frame)
            outcome = self.compare(left, target.operator, right, node)
            if outcome is False:
                result = False
            elif is_unknown(outcome) and result is not False:
                result = UNKNOWN
            left = right
        return result

    def compare(self, left: Any, op: cst.BaseCompOp, right: Any, node: cst.CSTNode) -> Any:
        kind = type(op)
        if kind in (cst.Equal, cst.NotEqual):
            self._record_equal(left, right)
            self._record_equal(right, left)
        elif kind in (cst.In, cst.NotIn):
            if isinstance(left, LitStr) and isinstance(right, RealName):
                self._record(left, right, "substring", left in right)
            elif isinstance(left, RealName) and isinstance(right, (list, tuple, set, dict)):
                for item in right:
                    self._record_equal(left, item)
        elif kind in (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual):
            for side in (left, right):
                if isinstance(side, EnumIndex):
                    self.facts.index_tests.setdefault(side.node, F.IndexTest(side.node, side.model))
        if any(isinstance(side, StateDict) and not side.known for side in (left, right)):
            return UNKNOWN
        if kind in (cst.Is, cst.IsNot):
            if is_unknown(left) or is_unknown(right):
                return UNKNOWN
            if isinstance(left, bool) or left is None or isinstance(right, bool) or right is None:
                return _COMPARE[kind](left, right)
            return UNKNOWN
        if not _plain(left) or not _plain(right):
            if isinstance(left, _ClassOf) and isinstance(right, Qualified):
                same = is_instance(left.type_name, right.last) and left.type_name != "?"
                return same if kind is cst.Equal else not same if kind is cst.NotEqual else UNKNOWN
            return UNKNOWN
        try:
            return bool(_COMPARE[kind](left, right))
        except Exception:
            return UNKNOWN

    def _record_equal(self, name: Any, literal: Any) -> None:
        if isinstance(name, RealName) and isinstance(literal, LitStr):
            self._record(literal, name, "equal", literal == name)

    def _record(self, literal: LitStr, name: RealName, kind: str, matched: bool) -> None:
        test = self.facts.name_tests.get(literal.node)
        if test is None:
            test = F.NameTest(literal.node, str(literal), kind, name.domain, name.model)
            self.facts.name_tests[literal.node] = test
        test.tested.add(str(name))
        if matched:
            test.matched.add(str(name))

    # -- comprehensions --------------------------------------------------------------------
    def _comprehension(self, node: cst.BaseComp, frame: Frame,
                       produce: Callable[[Frame], Any]) -> tuple[list[Any] | None, Any, Any]:
        """Run a comprehension for real. Returns its values (None when unknown), the model
        whose parameters it iterates (so an empty result still knows its model), and what
        its first `for` iterates."""
        results: list[Any] = []
        local = Frame(parent=frame)
        source_model: list[ModelState] = []
        first_iterable: list[Any] = []

        def loop(clause: cst.CompFor | None) -> bool:
            if clause is None:
                results.append(produce(local))
                return True
            iterable = self.eval(clause.iter, local)
            if not first_iterable:
                first_iterable.append(iterable)
            if isinstance(iterable, ParamIter) and not source_model:
                source_model.append(iterable.model)
            elements = self.iterate(iterable, clause.iter)
            if elements is None:
                return False
            for element in elements:
                if len(results) > MAX_ITERATIONS:
                    return False
                self.assign(clause.target, element, local)
                keep: Any = True
                for cond in clause.ifs:
                    truth = self.truth(self.eval(cond.test, local))
                    if truth is None:
                        keep = UNKNOWN
                    elif truth is False:
                        keep = False
                if keep is UNKNOWN:
                    return False
                if keep and not loop(clause.inner_for_in):
                    return False
            return True

        complete = loop(node.for_in)
        return ((results if complete else None), (source_model[0] if source_model else None),
                first_iterable[0] if first_iterable else None)

    def eval_ListComp(self, node: cst.ListComp, frame: Frame) -> Any:
        values, model, _ = self._comprehension(node, frame, lambda f: self.eval(node.elt, f))
        return _as_params(values, model, lazy=False, node=node) if values is not None else UNKNOWN

    def eval_GeneratorExp(self, node: cst.GeneratorExp, frame: Frame) -> Any:
        values, model, _ = self._comprehension(node, frame, lambda f: self.eval(node.elt, f))
        return _as_params(values, model, lazy=True, node=node) if values is not None else UNKNOWN

    def eval_SetComp(self, node: cst.SetComp, frame: Frame) -> Any:
        values, _, _ = self._comprehension(node, frame, lambda f: self.eval(node.elt, f))
        try:
            return set(values) if values is not None else UNKNOWN
        except TypeError:
            return UNKNOWN

    def eval_DictComp(self, node: cst.DictComp, frame: Frame) -> Any:
        pairs, _, source = self._comprehension(
            node, frame, lambda f: (self.eval(node.key, f), self.eval(node.value, f)))
        return state_dicts.comprehension(pairs, source, node, self)

    # -- iteration -------------------------------------------------------------------------
    def iterate(self, value: Any, node: cst.CSTNode) -> list[Any] | None:
        """The elements a for loop over `value` sees, or None when unknown."""
        if isinstance(value, ParamIter):
            self.consume(value, node)
            if value.names is None:
                return None
            model = value.model
            if value.named:
                return [(RealName(value.display_name(n), model, "parameter"),
                         ParamObj(model, n)) for n in value.names]
            return [ParamObj(model, n) for n in value.names]
        if isinstance(value, ModuleIter):
            model = value.model
            if value.named:
                return [(RealName(value.display_name(p), model, "module"), ModuleObj(model, p))
                        for p in value.paths]
            return [ModuleObj(model, p) for p in value.paths]
        if isinstance(value, _Enumerated):
            return list(value)
        if isinstance(value, StateDict) and not value.known:
            return None
        if isinstance(value, (list, tuple, set, str)):
            return list(value)
        if isinstance(value, dict):
            return list(value.keys())
        if isinstance(value, range) and len(value) <= MAX_ITERATIONS:
            return None  # epochs and steps: run the body once, not per value
        return None

    def consume(self, value: Any, node: cst.CSTNode) -> None:
        if not isinstance(value, ParamIter) or not value.lazy:
            return
        if value.consumed_by is not None and value.consumed_by is not node:
            self.facts.reused.setdefault(node, F.IteratorReused(
                node, value.consumed_by, value.node or node))
        elif value.consumed_by is None:
            value.consumed_by = node

    # -- calls -----------------------------------------------------------------------------
    def eval_Call(self, node: cst.Call, frame: Frame) -> Any:
        callee = self.eval(node.func, frame)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for arg in node.args:
            value = self.eval(arg.value, frame)
            if arg.star == "*":
                items = self.iterate(value, arg.value)
                if items is None:
                    return UNKNOWN
                args.extend(items)
            elif arg.star == "**":
                if isinstance(value, dict):
                    kwargs.update({str(k): v for k, v in value.items()})
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            else:
                args.append(value)
        return self.call(callee, args, kwargs, node, frame)

    def call(self, callee: Any, args: list[Any], kwargs: dict[str, Any], node: cst.Call,
             frame: Frame) -> Any:
        if isinstance(callee, BoundMethod):
            return self.call_method(callee, args, kwargs, node)
        if isinstance(callee, FunctionObj):
            return self.call_function(callee, args, kwargs, node)
        if isinstance(callee, _Builtin):
            return callee.fn(self, args, kwargs, node)
        if isinstance(callee, Qualified):
            return self.call_qualified(callee.name, args, kwargs, node)
        self.escape([*args, *kwargs.values()])
        return UNKNOWN

    def escape(self, values: Iterable[Any]) -> None:
        """`values` go to code the analysis cannot follow, which may set requires_grad on
        whatever parameters they reach: those become unknown, so no rule reports on them."""
        for value in values:
            if isinstance(value, (list, tuple, set)):
                self.escape(value)
            elif isinstance(value, dict):
                self.escape(value.values())
            elif isinstance(value, ModuleObj):
                for tensor in value.model.manifest.parameters_under(value.path):
                    value.model.trainable[tensor.name] = None
            elif isinstance(value, ParamObj):
                value.model.trainable[value.name] = None
            elif isinstance(value, ParamIter):
                names = value.names if value.names is not None else list(value.model.trainable)
                for name in names:
                    value.model.trainable[name] = None

    def call_function(self, fn: FunctionObj, args: list[Any], kwargs: dict[str, Any],
                      node: cst.CSTNode) -> Any:
        definition = fn.node
        if self.depth >= MAX_CALL_DEPTH or self.calls >= MAX_CALLS \
                or definition in self.running:
            self.escape([*args, *kwargs.values(), *(fn.closure or {}).values()])
            return UNKNOWN
        self.calls += 1
        local = Frame(parent=self.globals)
        if fn.closure is not None:
            local = Frame(dict(fn.closure), parent=self.globals)
        params = definition.params
        positional = [*params.posonly_params, *params.params]
        for i, param in enumerate(positional):
            if i < len(args):
                value = args[i]
            elif param.name.value in kwargs:
                value = kwargs[param.name.value]
            elif param.default is not None:
                value = self.eval(param.default, self.globals)
            else:
                value = UNKNOWN
            local.bind(param.name.value, value)
        for param in params.kwonly_params:
            value = kwargs.get(param.name.value, UNKNOWN)
            if param.name.value not in kwargs and param.default is not None:
                value = self.eval(param.default, self.globals)
            local.bind(param.name.value, value)
        self.depth += 1
        self.running.add(definition)
        saved_statement = self.statement
        saved_top = self.top
        if fn.top is not None:
            self.top = fn.top
        try:
            if isinstance(definition, cst.Lambda):
                return self.eval(definition.body, local)
            self.called.add(definition)
            self.exec_block(_body(definition), local)
            return None
        except _Return as ret:
            return ret.value
        finally:
            self.depth -= 1
            self.running.discard(definition)
            self.statement = saved_statement
            self.top = saved_top

    def call_method(self, method: BoundMethod, args: list[Any], kwargs: dict[str, Any],
                    node: cst.Call) -> Any:
        receiver, name = method.receiver, method.name
        if isinstance(receiver, ModuleObj):
            return self.call_module_method(receiver, name, args, kwargs, node)
        if isinstance(receiver, _Instance) and name in receiver.methods:
            return self.call_function(FunctionObj(receiver.methods[name], None, self.top),
                                      [receiver, *args], kwargs, node)
        if isinstance(receiver, ParamObj) and name in {"dim", "numel"}:
            tensor = receiver.model.tensor(receiver.name)
            if tensor is None:
                return UNKNOWN
            return len(tensor.shape) if name == "dim" else tensor.numel
        if isinstance(receiver, ParamObj) and name == "requires_grad_":
            value = args[0] if args else kwargs.get("requires_grad", True)
            self.set_grad(receiver.model, [receiver.name], value, node)
            return receiver
        if isinstance(receiver, StateDict):
            return state_dicts.method(self, receiver, name, args, kwargs, node)
        if isinstance(receiver, OptimizerObj):
            if name == "add_param_group" and args:
                receiver.groups.append(self._group(args[0], node))
                self.facts.add_param_group_seqs.append(self.seq)
            return UNKNOWN
        if isinstance(receiver, RealName) and name in {"startswith", "endswith"} and args:
            kind = "prefix" if name == "startswith" else "suffix"
            options = args[0] if isinstance(args[0], tuple) else (args[0],)
            hit = False
            for option in options:
                if isinstance(option, LitStr):
                    matched = getattr(str(receiver), name)(option)
                    self._record(option, receiver, kind, matched)
                    hit = hit or matched
                elif not isinstance(option, str):
                    return UNKNOWN
                else:
                    hit = hit or getattr(str(receiver), name)(option)
            return hit
        if isinstance(receiver, list) and name in {"append", "extend"}:
            if name == "append" and args:
                receiver.append(args[0])
            elif args:
                items = self.iterate(args[0], node)
                if items is None:
                    return UNKNOWN
                receiver.extend(items)
            return None
        if isinstance(receiver, dict) and name in {"items", "keys", "values", "get"}:
            if name == "get":
                return receiver.get(args[0], args[1] if len(args) > 1 else None) if args \
                    else UNKNOWN
            return list(getattr(receiver, name)())
        if isinstance(receiver, str) and not any(is_unknown(a) for a in args):
            try:
                result = getattr(str(receiver), name)(*[_plain_value(a) for a in args])
            except Exception:
                return UNKNOWN
            if isinstance(result, (str, int, bool, list, tuple)):
                return result
        return UNKNOWN

    def call_module_method(self, receiver: ModuleObj, name: str, args: list[Any],
                           kwargs: dict[str, Any], node: cst.Call) -> Any:
        model, manifest = receiver.model, receiver.model.manifest
        prefix = receiver.prefix
        if name in {"parameters", "named_parameters"}:
            recurse = kwargs.get("recurse", True)
            if recurse is False:
                return UNKNOWN
            names = [p.name for p in manifest.parameters_under(receiver.path)]
            if any(model.is_opaque(n) or n.startswith(tuple(model.opaque)) for n in names) \
                    or any(receiver.path.startswith(o) for o in model.opaque):
                names_or_none: list[str] | None = None
            else:
                names_or_none = names
            return ParamIter(model, names_or_none, lazy=True, named=name == "named_parameters",
                             node=node, prefix=prefix, base=receiver.path)
        if name in {"modules", "named_modules", "children", "named_children"}:
            if name.endswith("children"):
                paths = list(iter_children(manifest, receiver.path))
            else:
                paths = _modules_under(manifest, receiver.path)
            return ModuleIter(model, paths, named=name.startswith("named"),
                              prefix=prefix, base=receiver.path)
        if name == "requires_grad_":
            value = args[0] if args else kwargs.get("requires_grad", True)
            names = [p.name for p in manifest.parameters_under(receiver.path)]
            self.set_grad(model, names, value, node)
            return receiver
        if name in {"train", "eval"}:
            mode = args[0] if args else kwargs.get("mode", True)
            self.set_mode(receiver, name == "train" and mode is not False, node)
            return receiver
        if name == "apply" and args and isinstance(args[0], FunctionObj):
            for path in reversed(_modules_under(manifest, receiver.path)):  # children first
                self.call_function(args[0], [ModuleObj(model, path)], {}, node)
            return receiver
        if name in {"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "type"}:
            return receiver
        if name == "state_dict":
            return state_dicts.of_module(receiver, node)
        if name == "load_state_dict":
            return state_dicts.load_into(self, receiver, args, kwargs, node)
        if name not in READ_ONLY_MODULE_METHODS:
            self.escape([receiver, *args, *kwargs.values()])
        return UNKNOWN

    def set_mode(self, module: ModuleObj, training: bool, node: cst.CSTNode) -> None:
        model = module.model
        base = module.path + "." if module.path else ""
        under = [p for p in model.bn_eval if p == module.path or p.startswith(base)]
        if not training:
            if module.type_name in BATCHNORM_TYPES:
                model.bn_eval[module.path] = node
                self._cancel_batchnorm_undone(model, [module.path])
            else:
                for path in under:
                    model.bn_eval.pop(path, None)
            return
        frozen = self._frozen_batchnorm(model, module.path)
        causes = {p: model.bn_eval[p] for p in under}
        causes.update({p: n for p, n in frozen.items() if p not in causes})
        if causes and not self.uncertain:
            first_cause = next(iter(causes.values()))
            self.facts.batchnorm_undone.setdefault(
                node, F.BatchNormUndone(node, model, sorted(causes), first_cause))
        for path in under:
            model.bn_eval.pop(path, None)

    def _cancel_batchnorm_undone(self, model: ModelState, paths: list[str]) -> None:
        for key, fact in list(self.facts.batchnorm_undone.items()):
            if fact.model is model:
                fact.paths = [p for p in fact.paths if p not in paths]
                if not fact.paths:
                    del self.facts.batchnorm_undone[key]

    def _frozen_batchnorm(self, model: ModelState, under: str) -> dict[str, cst.CSTNode]:
        """BatchNorm modules whose parameters a BatchNorm-only freeze froze: their running
        statistics still move in train mode. A freeze of a whole backbone does not count
        (that is the official tutorial's pattern)."""
        owners = {m.path: m.type for m in model.manifest.modules}
        result: dict[str, cst.CSTNode] = {}
        for fact in self.facts.grad_assigns.values():
            if fact.model is not model:
                continue
            frozen = [n for n, v in fact.values.items() if v is False]
            if not frozen:
                continue
            bn_owned = [n for n in frozen if owners.get(n.rpartition(".")[0]) in BATCHNORM_TYPES]
            if len(bn_owned) == len(frozen):
                for name in bn_owned:
                    owner = name.rpartition(".")[0]
                    if not under or owner == under or owner.startswith(under + "."):
                        result.setdefault(owner, fact.node)
        return result

    def call_qualified(self, name: str, args: list[Any], kwargs: dict[str, Any],
                       node: cst.Call) -> Any:
        last = name.rpartition(".")[2]
        if last in OPTIMIZER_NAMES and ("optim" in name or name == last or "." in name):
            return self.build_optimizer(args, kwargs, node)
        if name in {"torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
                    "torch.nn.utils.clip_grad.clip_grad_norm_"}:
            if args:
                self.consume(args[0], node)
            return UNKNOWN
        if name in WRAPPER_PREFIXES and args and isinstance(args[0], ModuleObj):
            inner = args[0]
            if last in GRAD_HOOK_WRAPPERS:
                inner.model.wrapped_by = last
                inner.model.wrap_node = node
            return ModuleObj(inner.model, inner.path, WRAPPER_PREFIXES[name] + inner.prefix)
        if name in state_dicts.LOADERS:
            return state_dicts.load(self, args, kwargs, node)
        if name == "torch.save":
            state_dicts.save(self, args, kwargs)
            return None
        if name in {"re.match", "re.search", "re.fullmatch"} and len(args) >= 2:
            return self.regex(name, args[0], args[1])
        built = build_nn_module(name, args, kwargs)
        if built is not None:
            return built
        request = detect_constructor(name, args, kwargs)
        if request is not None:
            return self.construct(request, node)
        if last not in READ_ONLY_CALLS and not name.startswith("logging."):
            self.escape([*args, *kwargs.values()])
        return UNKNOWN

    def construct(self, request: ModelRequest, node: cst.CSTNode) -> Any:
        manifest = self.explicit
        if manifest is None:
            manifest = self.resolve(request)
        if manifest is None:
            return UNKNOWN
        model = self._new_model(manifest, node)
        return ModuleObj(model, "")

    def _new_model(self, manifest: Manifest, node: cst.CSTNode | None) -> ModelState:
        model = ModelState(manifest, node)
        self.facts.models.append(model)
        if self.primary is None:
            self.primary = model
        return model

    def regex(self, name: str, pattern: Any, subject: Any) -> Any:
        if not isinstance(pattern, str) or not isinstance(subject, str):
            return UNKNOWN
        try:
            compiled = re.compile(pattern)
        except re.error:
            return UNKNOWN
        matched = getattr(compiled, name.rpartition(".")[2])(str(subject)) is not None
        if isinstance(pattern, LitStr) and isinstance(subject, RealName):
            self._record(pattern, subject, "regex", matched)
        return True if matched else None

    # -- optimizers ------------------------------------------------------------------------
    def build_optimizer(self, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        source = kwargs.get("params", args[0] if args else UNKNOWN)
        groups: list[ParamGroup] = []
        explicit_groups = False
        if isinstance(source, (list, tuple)) and source and all(isinstance(g, dict) for g in source):
            explicit_groups = True
            groups = [self._group(g, node) for g in source]
        else:
            groups = [self._group(source, node)]
        model = next((g.model for g in groups if g.model is not None), None)
        optimizer = OptimizerObj(node, model, groups, explicit_groups, self.seq)
        self.optimizers.append(optimizer)
        last_freeze = None
        if model is not None:
            freezes = [f for f in self.facts.grad_assigns.values() if f.model is model]
            last_freeze = max(freezes, key=lambda f: f.seq) if freezes else None
        self.facts.optimizers.append(F.OptimizerBuilt(
            optimizer, dict(model.trainable) if model else {}, last_freeze))
        return optimizer

    def _group(self, source: Any, node: cst.CSTNode) -> ParamGroup:
        if isinstance(source, dict):
            source = source.get("params", UNKNOWN)
        if isinstance(source, ParamIter):
            self.consume(source, node)
            return ParamGroup(source.names, source.model)
        if isinstance(source, ParamObj):
            return ParamGroup([source.name], source.model)
        if isinstance(source, (list, tuple)) and source \
                and all(isinstance(p, ParamObj) for p in source):
            return ParamGroup([p.name for p in source], source[0].model)
        if isinstance(source, (list, tuple)) and not source:
            return ParamGroup([], None)
        return ParamGroup(None, None)


# -- helpers ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _MissingAttr:
    model: ModelState
    path: str
    node: cst.CSTNode


@dataclass(eq=False)
class _Instance:
    """`self` inside a class defined in the file: its attributes as the methods set them."""

    methods: dict[str, cst.FunctionDef]
    attrs: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> _Instance:
        """The same attributes over fresh copies of the models they hold."""
        clones: dict[int, ModelState] = {}

        def clone(value: Any) -> Any:
            if isinstance(value, ModuleObj):
                model = value.model
                if id(model) not in clones:
                    clones[id(model)] = ModelState(
                        model.manifest, model.origin, dict(model.trainable), set(model.opaque),
                        model.wrapped_by, model.wrap_node, dict(model.bn_eval))
                return ModuleObj(clones[id(model)], value.path, value.prefix)
            return value

        return _Instance(self.methods, {k: clone(v) for k, v in self.attrs.items()})


@dataclass(frozen=True)
class _ClassOf:
    type_name: str


class _Enumerated(list):  # type: ignore[type-arg]
    """Elements of enumerate() over parameters: (EnumIndex, element) pairs."""


class _PositionalList(list):  # type: ignore[type-arg]
    """A positional slice of a parameter list: `list(model.parameters())[:-2]`."""


@dataclass(frozen=True)
class _Builtin:
    fn: Callable[[Interpreter, list[Any], dict[str, Any], cst.Call], Any]


def _body(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    body = node.body  # type: ignore[attr-defined]
    if isinstance(body, cst.IndentedBlock):
        return body.body
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return body if isinstance(body, Sequence) else []


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _is_call(stmt: cst.CSTNode | None) -> bool:
    return isinstance(stmt, cst.Assign) and isinstance(stmt.value, cst.Call)


def _is_ctx_unknown(value: Any) -> bool:
    return not isinstance(value, (ModuleObj, OptimizerObj))


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, list, tuple, set, dict)) or value is None


def _plain_value(value: Any) -> Any:
    return str(value) if isinstance(value, str) else value


def _child_by_index(owner: ModuleObj, index: int) -> str | None:
    """`model.mlp_head[1]`, `model.classifier[-1]`: the index-th child module."""
    children = list(iter_children(owner.model.manifest, owner.path))
    try:
        return children[index]
    except IndexError:
        return None


def _modules_under(manifest: Manifest, path: str) -> list[str]:
    """`module.modules()`: the module itself and everything below it, in registration order."""
    base = path + "." if path else ""
    return [p for p in manifest.module_paths if p == path or p.startswith(base)]


def _as_params(values: list[Any], model: ModelState | None, lazy: bool,
               node: cst.CSTNode) -> Any:
    """A comprehension over parameters is a set of parameter names of one model (an empty
    one included); any other comprehension is a plain list of values."""
    if values and all(isinstance(v, ParamObj) for v in values) \
            and len({id(v.model) for v in values}) == 1:
        return ParamIter(values[0].model, [v.name for v in values], lazy=lazy, node=node)
    if not values and model is not None:
        return ParamIter(model, [], lazy=lazy, node=node)
    return values if not lazy else _LazyValues(values)


class _LazyValues(list):  # type: ignore[type-arg]
    """A generator of plain values (e.g. `any(x in name for x in names)`)."""


def _builtin_list(it: Interpreter, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if not args:
        return []
    value = args[0]
    if isinstance(value, ParamIter):
        it.consume(value, node)
        if value.names is None:
            return UNKNOWN
        if value.named:
            return [(RealName(value.display_name(n), value.model, "parameter"),
                     ParamObj(value.model, n)) for n in value.names]
        return [ParamObj(value.model, n) for n in value.names]
    items = it.iterate(value, node)
    return list(items) if items is not None else UNKNOWN


def _builtin_filter(it: Interpreter, args: list[Any], kwargs: dict[str, Any],
                    node: cst.Call) -> Any:
    if len(args) != 2 or not isinstance(args[1], ParamIter) or args[1].named:
        return UNKNOWN
    func, source = args
    it.consume(source, node)
    if source.names is None or not isinstance(func, FunctionObj):
        return ParamIter(source.model, None, lazy=True, node=node)
    kept: list[str] = []
    for name in source.names:
        truth = it.truth(it.call_function(func, [ParamObj(source.model, name)], {}, node))
        if truth is None:
            return ParamIter(source.model, None, lazy=True, node=node)
        if truth:
            kept.append(name)
    return ParamIter(source.model, kept, lazy=True, node=node)


def _builtin_enumerate(it: Interpreter, args: list[Any], kwargs: dict[str, Any],
                       node: cst.Call) -> Any:
    if not args:
        return UNKNOWN
    source = args[0]
    items = it.iterate(source, node)
    if items is None:
        return UNKNOWN
    if isinstance(source, ParamIter):
        return _Enumerated((EnumIndex(i, source.model, node), item) for i, item in enumerate(items))
    return list(enumerate(items))


def _builtin_any_all(which: Callable[[Iterable[object]], bool]) -> _Builtin:
    def run(it: Interpreter, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if not args:
            return UNKNOWN
        items = it.iterate(args[0], node)
        if items is None:
            return UNKNOWN
        truths = [it.truth(v) for v in items]
        if None in truths:
            return UNKNOWN
        return which(truths)
    return _Builtin(run)


def _builtin_isinstance(it: Interpreter, args: list[Any], kwargs: dict[str, Any],
                        node: cst.Call) -> Any:
    if len(args) != 2 or not isinstance(args[0], ModuleObj):
        return UNKNOWN
    classes = args[1] if isinstance(args[1], tuple) else (args[1],)
    type_name = args[0].type_name
    if type_name == "?":
        return UNKNOWN
    result = False
    for cls in classes:
        if not isinstance(cls, Qualified) or not cls.name.startswith("torch.nn"):
            return UNKNOWN
        result = result or is_instance(type_name, cls.last)
    return result


def _builtin_type(it: Interpreter, args: list[Any], kwargs: dict[str, Any],
                  node: cst.Call) -> Any:
    if len(args) == 1 and isinstance(args[0], ModuleObj):
        return _ClassOf(args[0].type_name)
    return UNKNOWN


def _builtin_len(it: Interpreter, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if args and isinstance(args[0], (list, tuple, str, dict, set)):
        return len(args[0])
    return UNKNOWN


def _builtin_range(it: Interpreter, args: list[Any], kwargs: dict[str, Any],
                   node: cst.Call) -> Any:
    if args and all(isinstance(a, int) for a in args):
        try:
            return range(*args)
        except (TypeError, ValueError):
            return UNKNOWN
    return UNKNOWN


def _builtin_collection(kind: type) -> _Builtin:
    def run(it: Interpreter, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if not args:
            return kind()
        items = _builtin_list(it, args, kwargs, node)
        if is_unknown(items):
            return UNKNOWN
        try:
            return kind(items)
        except TypeError:
            return UNKNOWN
    return _Builtin(run)


_BUILTINS: dict[str, Any] = {
    "list": _Builtin(_builtin_list),
    "tuple": _builtin_collection(tuple),
    "set": _builtin_collection(set),
    "sorted": _builtin_collection(list),
    "filter": _Builtin(_builtin_filter),
    "enumerate": _Builtin(_builtin_enumerate),
    "any": _builtin_any_all(any),
    "all": _builtin_any_all(all),
    "isinstance": _Builtin(_builtin_isinstance),
    "type": _Builtin(_builtin_type),
    "len": _Builtin(_builtin_len),
    "range": _Builtin(_builtin_range),
    "print": _Builtin(lambda it, a, k, n: None),
}

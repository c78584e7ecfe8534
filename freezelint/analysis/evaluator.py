"""The evaluator of plain Python expressions, over abstract torch values.

Strings, numbers, lists, dicts and comparisons are computed for real; a value that stands
for a torch object (values.py) is handed to the module that knows its semantics: models,
modules and parameters to `modules`, requires_grad to `trainable`, optimizers to
`optimizers`, state dicts to `state_dicts`, library calls to `library_calls`. Every literal
compared with a real name goes to `recording`. Anything else is UNKNOWN, and the rules stay
silent on it. Statements are run by the Interpreter (interpreter.py), which subclasses this.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import libcst as cst

from freezelint.analysis import (
    branches,
    class_self,
    comprehensions,
    library_calls,
    lightning,
    modules,
    optimizers,
    peft_configs,
    python_builtins,
    recording,
    state_dicts,
    trainable,
    trainers,
)
from freezelint.analysis import facts as F
from freezelint.analysis.detect import (
    ArgNamespace,
    ArgParser,
    ModelRequest,
    namespace_attribute,
    parser_method,
)
from freezelint.analysis.nn_modules import NewModule, is_instance
from freezelint.analysis.plain_python import _GROWING, _grow, _plain_value, plain
from freezelint.analysis.plain_python import body_of as body_of
from freezelint.analysis.scope import MAX_ITERATIONS, MISSING, Frame
from freezelint.analysis.values import (
    UNKNOWN,
    BoundMethod,
    ClassOf,
    ClassSelf,
    Enumerated,
    FunctionObj,
    Instance,
    LitStr,
    MissingAttr,
    ModelState,
    ModuleIter,
    ModuleObj,
    OptimizerObj,
    ParamIter,
    ParamObj,
    Qualified,
    RealName,
    StateDict,
    is_unknown,
)
from freezelint.common import torch_api as api
from freezelint.models.manifest import Manifest

ModelResolver = Callable[[ModelRequest], "Manifest | None"]

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


_CONSTANTS = {"True": True, "False": False, "None": None}


class Evaluator:
    """Expressions and calls. The state below is the script's story so far, shared with the
    semantic modules (they take the evaluator as their first argument)."""

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
        self.scope = ""  # the function or `Class.method` being analysed ('' at top level)
        self.called: set[cst.CSTNode] = set()
        self.primary: ModelState | None = None
        self.optimizers: list[OptimizerObj] = []
        self.index_context: list[bool] = [False]
        self.statement: cst.CSTNode | None = None
        # per function being run: the statement and the call that ran it (where a value it
        # returns goes: classes/link.py asks whether it is kept as a model)
        self.call_sites: list[tuple[cst.CSTNode | None, cst.CSTNode]] = []
        # calls whose value the join after an undecided if throws away (branches.py
        # `discarded_call`): a project class need not be built there (classes/link.py)
        self.discarded: set[cst.CSTNode] = set()
        # calls of a torch.nn module class whose module has names the analysis does not
        # know (`torch.nn.DataParallel(model.features)`): a module all the same
        # (library_calls.call records them; modules.assign_attribute asks)
        self.module_calls: set[cst.CSTNode] = set()
        # inside `with` blocks of the project's own context managers (interpreter.py
        # `_project_context`): they may change what a constructor builds, so no model
        # built there is known (modules.construct, classes/link.py)
        self.patched = 0
        self.globals = Frame()
        self.top: int | None = None
        self.tops = {stmt: i for i, stmt in enumerate(module.body)}
        self.literals: dict[cst.CSTNode, Any] = {}

    # -- run by the Interpreter ------------------------------------------------------------
    def call_function(self, fn: FunctionObj, args: list[Any], kwargs: dict[str, Any],
                      node: cst.CSTNode) -> Any:
        raise NotImplementedError

    def assign(self, target: cst.BaseExpression, value: Any, frame: Frame,
               stmt: cst.CSTNode | None = None) -> None:
        raise NotImplementedError

    # -- evaluation ------------------------------------------------------------------------
    def truth(self, value: Any) -> bool | None:
        if is_unknown(value) or isinstance(value, (MissingAttr, Qualified, BoundMethod)):
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
        value = self.literals.get(node, MISSING)
        if value is MISSING:
            value = node.evaluated_value
            self.literals[node] = value
        return value

    def eval_ConcatenatedString(self, node: cst.ConcatenatedString, frame: Frame) -> Any:
        value = node.evaluated_value
        return LitStr(value, node) if isinstance(value, str) else UNKNOWN

    def eval_FormattedString(self, node: cst.FormattedString, frame: Frame) -> Any:
        """`f"layer.{i}."` with known values: the string (a computed one, not a literal)."""
        if "b" in node.prefix.lower():
            return UNKNOWN
        raw = "r" in node.prefix.lower()
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                if "\\" in part.value and not raw:
                    return UNKNOWN
                parts.append(part.value.replace("{{", "{").replace("}}", "}"))
                continue
            if not isinstance(part, cst.FormattedStringExpression) \
                    or part.conversion is not None or part.format_spec is not None:
                return UNKNOWN
            value = self.eval(part.expression, frame)
            if not isinstance(value, (str, int, float)):
                return UNKNOWN
            parts.append(str(value))
        return "".join(parts)

    def eval_Integer(self, node: cst.Integer, frame: Frame) -> Any:
        return self._literal(node)

    def eval_Float(self, node: cst.Float, frame: Frame) -> Any:
        return self._literal(node)

    def eval_Name(self, node: cst.Name, frame: Frame) -> Any:
        if node.value in _CONSTANTS:
            return _CONSTANTS[node.value]
        value = frame.lookup(node.value)
        if value is MISSING:
            return python_builtins.BUILTINS.get(node.value, UNKNOWN)
        return value

    def eval_Attribute(self, node: cst.Attribute, frame: Frame) -> Any:
        owner = self.eval(node.value, frame)
        if isinstance(owner, NewModule):  # `model.parameters()` of `nn.Sequential(...)`
            owner = modules.adopt_new(self, owner, node)
        if (is_unknown(owner) or owner is MISSING) and node.attr.value in api.MODEL_ONLY_METHODS:
            owner = modules.promote(self, node.value, frame)
        if isinstance(owner, ModuleObj):
            self.facts.module_method_refs.add(node)
        return self.get_attr(owner, node.attr.value, node)

    def get_attr(self, owner: Any, attr: str, node: cst.CSTNode) -> Any:
        if isinstance(owner, Qualified):
            return Qualified(f"{owner.name}.{attr}")
        if isinstance(owner, ArgNamespace):  # `args.model`: the option's declared default
            return namespace_attribute(owner, attr)
        if isinstance(owner, ArgParser):
            return BoundMethod(owner, attr, node)
        if isinstance(owner, (ModuleObj, ParamObj, MissingAttr)):
            return modules.get_attr(self, owner, attr, node)
        if isinstance(owner, Instance):
            if attr in owner.attrs:
                return owner.attrs[attr]
            if attr in owner.methods:
                return BoundMethod(owner, attr, node)
            if isinstance(owner, ClassSelf):  # inherited from nn.Module / LightningModule
                return class_self.attribute(self, owner, attr, node)
            return UNKNOWN
        if isinstance(owner, ClassOf) and attr == "__name__":
            return owner.type_name
        if isinstance(owner, (str, list, dict, tuple, set, OptimizerObj, trainers.HFTrainer,
                              lightning.LightningTrainer)):
            return BoundMethod(owner, attr, node)
        if isinstance(owner, peft_configs.PeftConfig):  # read, changed or called: see there
            owner.changed = True
        return UNKNOWN

    def eval_Subscript(self, node: cst.Subscript, frame: Frame) -> Any:
        owner = self.eval(node.value, frame)
        if isinstance(owner, NewModule):
            owner = modules.adopt_new(self, owner, node)
        if isinstance(owner, MissingAttr):
            if isinstance(self.single_index(node, frame), int):
                modules.report_missing(self, owner)
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
                return recording.positional_slice(self, owner, slice(lower, upper, step), node)
            if isinstance(owner, (list, tuple, str)):
                return owner[slice(lower, upper, step)]
            return UNKNOWN
        index = self.eval(sl.value, frame) if isinstance(sl, cst.Index) else UNKNOWN
        if is_unknown(index):
            return UNKNOWN
        if isinstance(owner, ModuleObj) and isinstance(index, int):
            return modules.child_at(owner, index)
        if isinstance(owner, Qualified) and owner.last == "__dict__" and isinstance(index, str):
            return Qualified(f"{owner.name.rpartition('.')[0]}.{index}")  # models.__dict__[a]
        if isinstance(owner, StateDict):
            found = state_dicts.lookup(self, owner, index, node)
            return owner[str(index)] if found else UNKNOWN
        try:
            return owner[index] if isinstance(owner, (list, tuple, dict, str)) else UNKNOWN
        except (IndexError, KeyError, TypeError):
            return UNKNOWN

    def single_index(self, node: cst.Subscript, frame: Frame) -> Any:
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
        if op is None or not plain(left) or not plain(right):
            return UNKNOWN
        try:
            result = op(left, right)
        except Exception:  # 1 / 0, 'a' - 'b': Python itself would raise; the value is unknown
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
        # either: the same value (or model) on both sides, else unknown (branches.py)
        return branches.one_of([self.eval(node.body, frame), self.eval(node.orelse, frame)])

    def eval_NamedExpr(self, node: cst.NamedExpr, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame)
        return value

    def eval_Comparison(self, node: cst.Comparison, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        result: Any = True
        for target in node.comparisons:
            right = self.eval(target.comparator, frame)
            outcome = self.compare(left, target.operator, right)
            if outcome is False:
                result = False
            elif is_unknown(outcome) and result is not False:
                result = UNKNOWN
            left = right
        return result

    def compare(self, left: Any, op: cst.BaseCompOp, right: Any) -> Any:
        kind = type(op)
        recording.comparison(self, left, kind, right)
        if any(isinstance(side, StateDict) and not side.known for side in (left, right)):
            return UNKNOWN
        if kind in (cst.Is, cst.IsNot):
            if is_unknown(left) or is_unknown(right):
                return UNKNOWN
            if isinstance(left, bool) or left is None or isinstance(right, bool) or right is None:
                return _COMPARE[kind](left, right)
            return UNKNOWN
        if not plain(left) or not plain(right):
            if isinstance(left, ClassOf) and isinstance(right, Qualified):
                same = is_instance(left.type_name, right.last) and left.type_name != "?"
                return same if kind is cst.Equal else not same if kind is cst.NotEqual else UNKNOWN
            return UNKNOWN
        try:
            return bool(_COMPARE[kind](left, right))
        except Exception:  # 1 < 'a': Python itself would raise; the outcome is unknown
            return UNKNOWN

    # -- comprehensions --------------------------------------------------------------------
    def eval_ListComp(self, node: cst.ListComp, frame: Frame) -> Any:
        values, model, _ = comprehensions.run(self, node, frame,
                                              lambda f: self.eval(node.elt, f))
        return python_builtins.as_params(values, model, lazy=False, node=node) \
            if values is not None else UNKNOWN

    def eval_GeneratorExp(self, node: cst.GeneratorExp, frame: Frame) -> Any:
        values, model, _ = comprehensions.run(self, node, frame,
                                              lambda f: self.eval(node.elt, f))
        return python_builtins.as_params(values, model, lazy=True, node=node) \
            if values is not None else UNKNOWN

    def eval_SetComp(self, node: cst.SetComp, frame: Frame) -> Any:
        values, _, _ = comprehensions.run(self, node, frame, lambda f: self.eval(node.elt, f))
        try:
            return set(values) if values is not None else UNKNOWN
        except TypeError:
            return UNKNOWN

    def eval_DictComp(self, node: cst.DictComp, frame: Frame) -> Any:
        pairs, _, source = comprehensions.run(
            self, node, frame, lambda f: (self.eval(node.key, f), self.eval(node.value, f)))
        return state_dicts.comprehension(pairs, source, node, self)

    # -- iteration -------------------------------------------------------------------------
    def iterate(self, value: Any, node: cst.CSTNode) -> list[Any] | None:
        """The elements a for loop over `value` sees, or None when unknown."""
        if isinstance(value, ParamIter):
            return modules.iterate_parameters(self, value, node)
        if isinstance(value, ModuleIter):
            return modules.iterate_modules(value)
        if isinstance(value, Enumerated):
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
                if not isinstance(value, dict):
                    return UNKNOWN  # arguments it cannot see: not the call without them
                kwargs.update({str(k): v for k, v in value.items()})
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            else:
                args.append(value)
        return self.call(callee, args, kwargs, node)

    def call(self, callee: Any, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if isinstance(callee, BoundMethod):
            return self.call_method(callee, args, kwargs, node)
        if isinstance(callee, FunctionObj):
            return self.call_function(callee, args, kwargs, node)
        if isinstance(callee, python_builtins.Builtin):
            return callee.fn(self, args, kwargs, node)
        if isinstance(callee, Qualified):
            return library_calls.call(self, callee.name, args, kwargs, node)
        return trainable.unseen_call(args, kwargs)

    def call_method(self, method: BoundMethod, args: list[Any], kwargs: dict[str, Any],
                    node: cst.Call) -> Any:
        receiver, name = method.receiver, method.name
        if isinstance(receiver, ArgParser):
            return parser_method(receiver, name, args, kwargs)
        if isinstance(receiver, ModuleObj):
            return modules.call_module_method(self, receiver, name, args, kwargs, node)
        if isinstance(receiver, Instance) and name in receiver.methods:
            return self.call_function(FunctionObj(receiver.methods[name], None, self.top),
                                      [receiver, *args], kwargs, node)
        if isinstance(receiver, ParamObj):
            return modules.call_parameter_method(self, receiver, name, args, kwargs, node)
        if isinstance(receiver, StateDict):
            return state_dicts.method(self, receiver, name, args, kwargs, node)
        if isinstance(receiver, OptimizerObj):
            return optimizers.method(self, receiver, name, args, node)
        if isinstance(receiver, trainers.HFTrainer):
            return trainers.method(self, receiver, name, args, kwargs, node)
        if isinstance(receiver, lightning.LightningTrainer):
            return lightning.method(self, receiver, name, args, kwargs, node)
        if isinstance(receiver, RealName) and name in {"startswith", "endswith"} and args:
            return recording.affix_test(self, receiver, name, args[0])
        if name in _GROWING.get(type(receiver), ()):
            return _grow(self, receiver, name, args, node)
        if isinstance(receiver, dict) and name in {"items", "keys", "values", "get"}:
            if name == "get":
                return receiver.get(args[0], args[1] if len(args) > 1 else None) if args \
                    else UNKNOWN
            return list(getattr(receiver, name)())
        if isinstance(receiver, str) and not any(is_unknown(a) for a in args):
            try:
                result = getattr(str(receiver), name)(*[_plain_value(a) for a in args])
            except Exception:  # 'a'.nope(), 'a'.split(1): Python would raise; unknown
                return UNKNOWN
            if isinstance(result, (str, int, bool, list, tuple)):
                return result
        return UNKNOWN

"""Python's builtins as the evaluator runs them: `list`, `filter`, `enumerate`, `any`,
`isinstance`... over plain values and over parameters of a real model (`filter(lambda p:
p.requires_grad, model.parameters())` is the set of parameters that pass)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import modules
from freezelint.analysis.nn_modules import NewModule, is_instance
from freezelint.analysis.values import (
    UNKNOWN,
    ClassOf,
    Enumerated,
    EnumIndex,
    FunctionObj,
    LazyValues,
    ModelState,
    ModuleObj,
    ParamIter,
    ParamObj,
    Qualified,
    RealName,
    is_unknown,
)

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator


@dataclass(frozen=True)
class Builtin:
    fn: Callable[[Evaluator, list[Any], dict[str, Any], cst.Call], Any]


def as_params(values: list[Any], model: ModelState | None, lazy: bool,
              node: cst.CSTNode) -> Any:
    """A comprehension over parameters is a set of parameter names of one model (an empty
    one included); any other comprehension is a plain list of values."""
    if values and all(isinstance(v, ParamObj) for v in values) \
            and len({id(v.model) for v in values}) == 1:
        return ParamIter(values[0].model, [v.name for v in values], lazy=lazy, node=node)
    if not values and model is not None:
        return ParamIter(model, [], lazy=lazy, node=node)
    return values if not lazy else LazyValues(values)


def _list(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if not args:
        return []
    value = args[0]
    if isinstance(value, ParamIter):
        modules.consume(it, value, node)
        if value.names is None:
            return UNKNOWN
        if value.named:
            return [(RealName(value.display_name(n), value.model, "parameter"),
                     ParamObj(value.model, n)) for n in value.names]
        return [ParamObj(value.model, n) for n in value.names]
    items = it.iterate(value, node)
    return list(items) if items is not None else UNKNOWN


def _filter(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if len(args) != 2 or not isinstance(args[1], ParamIter) or args[1].named:
        return UNKNOWN
    func, source = args
    modules.consume(it, source, node)
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


def _enumerate(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if not args:
        return UNKNOWN
    source = args[0]
    items = it.iterate(source, node)
    if items is None:
        return UNKNOWN
    if isinstance(source, ParamIter):
        return Enumerated((EnumIndex(i, source.model, node), item) for i, item in enumerate(items))
    return list(enumerate(items))


def _any_all(which: Callable[[Iterable[object]], bool]) -> Builtin:
    def run(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if not args:
            return UNKNOWN
        items = it.iterate(args[0], node)
        if items is None:
            return UNKNOWN
        truths = [it.truth(v) for v in items]
        if None in truths:
            return UNKNOWN
        return which(truths)
    return Builtin(run)


# Builtins that are Python's plain types (`bool`, `tuple`...), by identity: isinstance() of a
# plain value against them is decided as Python decides it. (The class reader registers its
# own: classes/builtins.py.)
PLAIN_TYPES: dict[int, type] = {}
_PLAIN_VALUES = frozenset({bool, int, float, str, tuple, list, dict, set, type(None)})


def plain_type(builtin: Any, kind: type) -> Any:
    """`builtin`, registered as standing for the type `kind` in isinstance()."""
    PLAIN_TYPES[id(builtin)] = kind
    return builtin


def _plain_types(classes: Any) -> tuple[type, ...] | None:
    """The plain types `classes` (one, or a tuple) stands for; None when any is another."""
    found: list[type] = []
    for cls in classes if isinstance(classes, tuple) else (classes,):
        kind = PLAIN_TYPES.get(id(cls))
        if kind is None:
            return None
        found.append(kind)
    return tuple(found) or None


def _opaque_type(kind: type) -> Builtin:
    """`bool`, `int`, `float`, `str`, `dict` for isinstance(); called, code the analysis does
    not follow, as before they were known (what they are handed escapes)."""
    def run(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        from freezelint.analysis import trainable

        return trainable.unseen_call(args, kwargs)
    return plain_type(Builtin(run), kind)


def _isinstance(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if len(args) != 2:
        return UNKNOWN
    value = args[0]
    kinds = _plain_types(args[1])
    if kinds is not None and type(value) in _PLAIN_VALUES:  # (a plain value, not an unknown)
        return isinstance(value, kinds)
    if isinstance(value, ModuleObj):
        type_name = value.type_name
    elif isinstance(value, NewModule):  # a layer the script built, not yet used as a model
        type_name = value.type
    elif isinstance(value, ParamObj):
        type_name = "Parameter"
    else:
        return UNKNOWN
    if type_name == "?":
        return UNKNOWN
    classes = args[1] if isinstance(args[1], tuple) else (args[1],)
    result = False
    for cls in classes:
        if not isinstance(cls, Qualified) or not cls.name.startswith("torch.nn"):
            return UNKNOWN
        if type_name == "Parameter" or cls.last == "Parameter":
            # a Parameter is no Module, and a Module no Parameter
            result = result or (type_name == "Parameter" and cls.last == "Parameter")
            continue
        result = result or is_instance(type_name, cls.last)
    return result


def _type(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if len(args) == 1 and isinstance(args[0], ModuleObj):
        return ClassOf(args[0].type_name)
    return UNKNOWN


def _len(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if args and isinstance(args[0], (list, tuple, str, dict, set)):
        return len(args[0])
    return UNKNOWN


def _range(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    if args and all(isinstance(a, int) for a in args):
        try:
            return range(*args)
        except (TypeError, ValueError):
            return UNKNOWN
    return UNKNOWN


def _collection(kind: type) -> Builtin:
    def run(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if not args:
            return kind()
        items = _list(it, args, kwargs, node)
        if is_unknown(items):
            return UNKNOWN
        try:
            return kind(items)
        except TypeError:
            return UNKNOWN
    return Builtin(run)


def _getattr(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    """`getattr(torchvision.models, name)` (a builder by name) and `getattr(args, 'model')`;
    on anything else unknown, as before."""
    from freezelint.analysis import trainable
    from freezelint.analysis.detect import ArgNamespace

    if len(args) == 2 and isinstance(args[1], str) and isinstance(args[0], (Qualified,
                                                                          ArgNamespace)):
        return it.get_attr(args[0], str(args[1]), node)
    return trainable.unseen_call(args, kwargs)


BUILTINS: dict[str, Any] = {
    "getattr": Builtin(_getattr),
    "list": plain_type(Builtin(_list), list),
    "tuple": plain_type(_collection(tuple), tuple),
    "set": plain_type(_collection(set), set),
    **{kind.__name__: _opaque_type(kind) for kind in (bool, int, float, str, dict)},
    "sorted": _collection(list),
    "filter": Builtin(_filter),
    "enumerate": Builtin(_enumerate),
    "any": _any_all(any),
    "all": _any_all(all),
    "isinstance": Builtin(_isinstance),
    "type": Builtin(_type),
    "len": Builtin(_len),
    "range": Builtin(_range),
    "print": Builtin(lambda it, a, k, n: None),
}

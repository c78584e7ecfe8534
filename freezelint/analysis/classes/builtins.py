"""Python builtins the class reader adds to the script interpreter's: numbers and folds
(`int`, `max`, `sum`), `zip`, `reversed`, `getattr`/`setattr`/`hasattr` (computed attribute
names register modules: `setattr(self, f"layer{i}", ...)`), `dict`, `super`, and the dict
methods configs use."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis.classes import objects as O
from freezelint.analysis.python_builtins import plain_type
from freezelint.analysis.values import UNKNOWN, BoundMethod, is_unknown

if TYPE_CHECKING:
    from freezelint.analysis.classes.reader import ClassReader


class ReaderBuiltin:
    def __init__(self, fn: Any) -> None:
        self.fn = fn


SUPER = object()


def _numeric(kind: type) -> ReaderBuiltin:
    def run(it: ClassReader, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if len(args) == 1 and isinstance(args[0], (int, float, str, bool)):
            with suppress(Exception):
                return kind(args[0])
        return UNKNOWN
    return plain_type(ReaderBuiltin(run), kind)


def _fold(fn: Any) -> ReaderBuiltin:
    def run(it: ClassReader, args: list[Any], kwargs: dict[str, Any]) -> Any:
        values = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                          for v in values):
            return fn(values)
        return UNKNOWN
    return ReaderBuiltin(run)


def _zip(it: ClassReader, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if all(isinstance(a, (list, tuple, str, range)) for a in args):
        return [tuple(t) for t in zip(*args, strict=False)]
    return UNKNOWN


def _reversed(it: ClassReader, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if args and isinstance(args[0], (list, tuple, range)):
        return list(reversed(args[0]))
    return UNKNOWN


def _getattr(it: ClassReader, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if len(args) >= 2 and isinstance(args[1], str):
        value = it.get_attr(args[0], str(args[1]), cst.Name("getattr"))
        if len(args) == 3 and (is_unknown(value) or isinstance(value, BoundMethod)):
            return args[2] if not isinstance(args[0], O.Built) else value
        return value
    return UNKNOWN


def _setattr(it: ClassReader, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if len(args) == 3 and isinstance(args[0], O.Built):
        if isinstance(args[1], str):
            it.register(args[0], str(args[1]), args[2], None)
        else:
            args[0].hole("")
    elif len(args) == 3 and isinstance(args[0], O.Namespace) and isinstance(args[1], str):
        args[0].attrs[str(args[1])] = UNKNOWN if it.uncertain else args[2]
    elif len(args) == 3:
        # an attribute the reader cannot name, on an object it cannot tell (minGPT's
        # merge_from_args): whatever configuration is being changed is unknown from now on
        for _, instance in it.methods:
            if isinstance(instance, O.Namespace):
                poison(instance)
        if isinstance(args[0], O.Namespace):
            poison(args[0])
    return None


def poison(namespace: O.Namespace, seen: set[int] | None = None) -> None:
    """Every attribute of `namespace` (and of the namespaces it holds) unknown."""
    seen = set() if seen is None else seen
    if id(namespace) in seen:
        return
    seen.add(id(namespace))
    for key, value in list(namespace.attrs.items()):
        if isinstance(value, O.Namespace):  # changed itself, or replaced: both unknown
            poison(value, seen)
        namespace.attrs[key] = UNKNOWN


# What every nn.Module has besides what its own class sets (torch 2.x, public names).
_MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
    "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
    "zero_grad"})


def _hasattr(it: ClassReader, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if len(args) == 2 and isinstance(args[0], O.Namespace) and isinstance(args[1], str):
        return str(args[1]) in args[0].attrs or UNKNOWN
    if len(args) == 2 and isinstance(args[0], O.Built) and isinstance(args[1], str):
        return _module_has(it, args[0], str(args[1]))
    return UNKNOWN


def _module_has(it: ClassReader, module: O.Built, name: str) -> Any:
    """`hasattr(self, "cos")` on a module under construction: True when it holds the name,
    False only when nothing could give it one (a plain nn.Module subclass, no hole, no
    attribute of that name in its classes or in nn.Module), else unknown."""
    if name in module.children or name in module.params or name in module.buffers \
            or name in module.attrs:
        return True
    if module.cls is not None and (module.cls.find_method(name) is not None or any(
            name in it.class_attributes(klass) for klass in module.cls.mro())):
        return True
    if module.holes or it.uncertain or module.base != "Module" or name.startswith("_") \
            or name in _MODULE_ATTRIBUTES or module.cls is None or not _plain_module(module.cls):
        return UNKNOWN
    return False


def _plain_module(cls: O.ClassValue) -> bool:
    """Whether every library base of `cls` is nn.Module itself (a LightningModule or a hub
    mixin has attributes of its own)."""
    from freezelint.analysis.values import Qualified

    return all(isinstance(base, O.ClassValue) or (isinstance(base, Qualified) and base.name in {
        "nn.Module", "torch.nn.Module", "torch.nn.modules.module.Module"})
        for klass in cls.mro() for base in klass.bases)


def _dict(it: ClassReader, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return ordered_dict(args, kwargs)


READER_BUILTINS: dict[str, Any] = {
    "int": _numeric(int), "float": _numeric(float), "str": _numeric(str), "bool": _numeric(bool),
    "min": _fold(min), "max": _fold(max), "sum": _fold(sum),
    "abs": ReaderBuiltin(lambda it, a, k: abs(a[0]) if a and isinstance(a[0], (int, float))
                          else UNKNOWN),
    "zip": ReaderBuiltin(_zip), "reversed": ReaderBuiltin(_reversed),
    "getattr": ReaderBuiltin(_getattr), "setattr": ReaderBuiltin(_setattr),
    "hasattr": ReaderBuiltin(_hasattr), "dict": plain_type(ReaderBuiltin(_dict), dict), "super": SUPER,
}


def ordered_dict(args: list[Any], kwargs: dict[str, Any]) -> Any:
    result: dict[Any, Any] = {}
    if args:
        source = args[0]
        if isinstance(source, dict):
            result.update(source)
        elif isinstance(source, (list, tuple)) and all(isinstance(p, (list, tuple))
                                                        and len(p) == 2 for p in source):
            result.update((p[0], p[1]) for p in source)
        else:
            return UNKNOWN
    result.update(kwargs)
    return result


def dict_method(receiver: dict, name: str, args: list[Any]) -> Any:  # type: ignore[type-arg]
    if name in {"items", "keys", "values"}:
        return list(getattr(receiver, name)())
    if name == "update":
        receiver.update(args[0])
        return None
    return getattr(receiver, name)(*args)

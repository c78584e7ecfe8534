"""The static class reader: runs an `nn.Module`'s `__init__` over abstract modules.

It is the script interpreter (statements, expressions, helper functions, comprehensions)
with torch.nn's construction semantics on top: `self.x = nn.Linear(a, b)` registers a child,
`nn.Parameter(torch.zeros(n))` a parameter, `register_buffer` a buffer, containers take what
the code puts in them, `super().__init__(...)` runs the base's constructor, a project class
is constructed by reading its own `__init__`, a library trunk the zoo knows is spliced in.
Layers come from the torch.nn table generated from torch (models/nn_table.py).

Nothing of the user's code runs. Whatever cannot be evaluated (a loop over an unknown
range, a branch on an unknown flag, a call into code it cannot see) becomes a hole.

The reader is two classes for length only: InstantiatingReader (instantiate.py) loads the
project, defines, calls and constructs and registers; ClassReader here adds attribute access,
assignment and deletion, method calls on modules and containers, and the expression rules.
Module-level helpers are in helpers.py; `manifest_of` is re-exported from here.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import libcst as cst

from freezelint.analysis.classes import builtins, tensors
from freezelint.analysis.classes import objects as O
from freezelint.analysis.classes.helpers import (
    _child_name,
    _ModuleRef,
)
from freezelint.analysis.classes.helpers import (
    manifest_of as manifest_of,
)
from freezelint.analysis.classes.instantiate import InstantiatingReader
from freezelint.analysis.evaluator import body_of
from freezelint.analysis.interpreter import _dotted as _dotted
from freezelint.analysis.scope import MISSING, Frame
from freezelint.analysis.values import (
    UNKNOWN,
    BoundMethod,
    Qualified,
    is_unknown,
)
from freezelint.models import nn_table

_MAX_RANGE = 10_000
# Module methods that return the module and change no name.
_CHAINABLE = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "train",
                        "eval", "requires_grad_", "apply", "type", "share_memory"})


def _method_kind(method: cst.FunctionDef) -> str:
    """'static', 'class', 'property' (read as an attribute: `@property`, `@cached_property`),
    'accessor' (a property's setter or deleter: the getter is not known from it) or
    'instance': how a method binds."""
    for decorator in method.decorators:
        name = _dotted(decorator.decorator)
        last = name.rpartition(".")[2]
        if name == "staticmethod":
            return "static"
        if name == "classmethod":
            return "class"
        if last in {"property", "cached_property"}:
            return "property"
        if last in {"setter", "getter", "deleter"}:
            return "accessor"
    return "instance"


def _accessor(cls: O.ClassValue, attr: str,
              kind: str) -> tuple[O.ClassValue, cst.FunctionDef] | None:
    """The getter (`kind` 'property': `@property` / `@cached_property`) or the setter
    (`@attr.setter`) of property `attr`, the nearest in the method resolution order."""
    for klass in cls.mro():
        body = klass.node.body
        statements = body.body if isinstance(body, cst.IndentedBlock) else []
        for stmt in reversed(statements):
            if not isinstance(stmt, cst.FunctionDef) or stmt.name.value != attr:
                continue
            for decorator in stmt.decorators:
                name = _dotted(decorator.decorator)
                if (kind == "property" and name.rpartition(".")[2] in {"property",
                                                                       "cached_property"}) \
                        or (kind == "setter" and name == f"{attr}.setter"):
                    return klass, stmt
    return None


class ClassReader(InstantiatingReader):
    """One reader per lint (or per `params` run): project modules are loaded once."""

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

    def assign(self, target: cst.BaseExpression, value: Any, frame: Frame,
               stmt: cst.CSTNode | None = None) -> None:
        if isinstance(target, cst.Attribute):
            owner = self.eval(target.value, frame)
            source = stmt.value if isinstance(stmt, (cst.Assign, cst.AnnAssign)) else None
            # (torch registers a module or a Parameter without calling a property setter)
            if isinstance(owner, (O.Built, O.Namespace)) \
                    and not isinstance(value, (O.Built, O.Param, O.Hole)) and not is_unknown(value) \
                    and self._property_set(owner, target.attr.value, value, target):
                return
            if isinstance(owner, O.Built):
                self.register(owner, target.attr.value, value, source)
                return
            if isinstance(owner, O.Namespace):
                # set or not, depending on what the reader cannot know: unknown
                owner.attrs[target.attr.value] = UNKNOWN if self.uncertain else value
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
            if attr == "__dict__":  # `self.__dict__.update(kwargs)`: the attributes themselves
                return owner.attrs
            if owner.cls is not None and owner.cls.find_method(attr) is not None:
                return self._method_attr(owner, owner.cls, attr, node)
            if owner.cls is not None:
                for klass in owner.cls.mro():
                    attrs = self.class_attributes(klass)
                    if attr in attrs:
                        return attrs[attr]
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
        if isinstance(owner, Qualified) and isinstance(getattr(owner, "ref", None), _ModuleRef):
            owner = owner.ref  # type: ignore[attr-defined]  # link.ProjectModule
        if isinstance(owner, _ModuleRef):
            value = self.module_attr(owner, attr)
            return UNKNOWN if value is MISSING else value
        if isinstance(owner, O.Param):
            if attr == "shape" and owner.shape is not None:
                return owner.shape
            return UNKNOWN
        if isinstance(owner, O.Tensor):
            if attr == "shape" and owner.shape is not None:
                return owner.shape
            # a tensor's methods give tensors, but for the few that give plain values
            return UNKNOWN if attr in tensors.NOT_TENSORS else BoundMethod(owner, attr, node)
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
            return self._method_attr(owner, owner.cls, attr, node)
        if owner.cls is not None:
            for klass in owner.cls.mro():
                attrs = self.class_attributes(klass)
                if attr in attrs:
                    return attrs[attr]
        if "" in owner.holes:
            return O.Hole()
        return BoundMethod(owner, attr, node)

    def _method_attr(self, owner: Any, cls: O.ClassValue, attr: str, node: cst.CSTNode) -> Any:
        """`owner.attr` where the class defines `attr`: a property is read (its getter runs
        with `self` bound), a method is bound for a later call."""
        found = cls.find_method(attr)
        assert found is not None
        if _method_kind(found[1]) in {"property", "accessor"}:
            getter = _accessor(cls, attr, "property")
            if getter is None:
                return UNKNOWN
            return self.run_method(getter[0], getter[1], owner, [], {}, node)
        return BoundMethod(owner, attr, node)

    def _property_set(self, owner: Any, attr: str, value: Any, node: cst.CSTNode) -> bool:
        """`owner.attr = value` where the class makes `attr` a property: its setter runs
        (litgpt's `max_seq_length` setter registers buffers); True when it was one."""
        cls = owner.cls
        if cls is None:
            return False
        found = cls.find_method(attr)
        if found is None or _method_kind(found[1]) not in {"property", "accessor"}:
            return False
        setter = _accessor(cls, attr, "setter")
        if setter is not None:
            self.run_method(setter[0], setter[1], owner, [value], {}, node)
        return True  # (a property without a setter: Python raises; nothing is set)

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
                kind = _method_kind(found[1])
                if kind == "class":  # `cls` is the class it was called on
                    return self.run_method(found[0], found[1], receiver, args, kwargs, node)
                return self.run_method(found[0], found[1], None, args, kwargs, node)
            return UNKNOWN
        if isinstance(receiver, (O.Built, O.Namespace)) and receiver.cls is not None:
            found = receiver.cls.find_method(name)
            if found is not None:
                kind = _method_kind(found[1])
                if kind != "instance":
                    first = receiver.cls if kind == "class" else None
                    return self.run_method(found[0], found[1], first, args, kwargs, node)
                return self.run_method(found[0], found[1], receiver, args, kwargs, node)
        if isinstance(receiver, O.Built):
            return self._module_method(receiver, name, args, kwargs, node)
        if isinstance(receiver, O.Tensor):
            return tensors.tensor_method(receiver, name, args)
        if isinstance(receiver, dict) and name == "update" and (
                self.uncertain or len(args) != 1 or kwargs or not isinstance(args[0], dict)):
            # updated with what the reader cannot see (or maybe not at all): every value
            # it holds may have changed, and names it does not hold may now be there
            keys = list(args[0]) if len(args) == 1 and isinstance(args[0], dict) else []
            for key in [*receiver, *keys, *kwargs]:
                receiver[key] = UNKNOWN
            return None
        if isinstance(receiver, dict) and name == "copy" and not args and not kwargs:
            return dict(receiver)
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
            if not isinstance(key, str) or not isinstance(persistent, bool) or self.uncertain \
                    or not (tensor is None or isinstance(tensor, O.Tensor)):
                # a value that may be None (no buffer in state_dict) or a tensor: unknown
                owner.hole("" if not isinstance(key, str) else str(key))
                return None
            owner.buffers[str(key)] = (tensor, persistent)
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

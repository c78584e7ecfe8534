"""What the names hold after a branch the analysis could not decide.

The interpreter runs both sides of an `if` whose test it cannot evaluate, one after the
other, in the same scope. Without a join the last side to run won: `if arch == "resnet":
model = resnet18() else: model = vit_b_16()` left `model` a ViT for the rest of the file,
and a name test written for the ResNet was reported against the ViT's names; `if args is
None: args = Defaults()` made the defaults certain, and a freeze under `if args.freeze:`
ran as if it always did. After the branch, a name (or an attribute of the script's `self`)
that the two sides left bound to different values holds an unknown value; one both sides
left alone, or set to the same value, keeps it; one a side leaves unbound is the other
side's (using it after that side would raise NameError: `if is_torch_available(): import
torch`). Two models that cannot be told apart (the
same constructor on both sides, `resnet18(weights=...)` or `resnet18()`, nothing done to
either) are one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst

from freezelint.analysis.scope import MISSING, Frame
from freezelint.analysis.values import UNKNOWN, Instance, ModuleObj
from freezelint.models.manifest import Manifest

_State = tuple[dict[str, Any], dict[int, tuple[Instance, dict[str, Any]]]]


def run_both(frame: Frame, sides: list[Callable[[], object]]) -> None:
    """Run each of `sides` from the state before the branch, then leave `frame` (and the
    attributes of the instances its names hold) as the join of what each side left. A
    project module's globals, read as they are used (classes/helpers.py LazyNames), are not
    copied (that would read every name): there the sides run one after the other."""
    if type(frame.names) is not dict:
        for side in sides:
            side()
        return
    before = _state(frame)
    after: list[_State] = []
    for index, side in enumerate(sides):
        if index:
            _restore(frame, before)
        try:
            side()
        finally:
            after.append(_state(frame))
    _restore(frame, _join(before, after))


def discarded_call(stmt: cst.If, frame: Frame) -> cst.Call | None:
    """The call whose value the join after `stmt` throws away, whatever it is, or None.

    `if args is None: args = TrainingArguments(...)`, with no `else`, as the last statement
    of its side, to a name the scope already holds: after the if, `args` is one of the
    call's value and the value it held before. A class's construction is a new object, never
    the one before, so the join makes the name unknown (`one_of`) whatever the class builds,
    except a model like one held before (`_alike`): the name must not hold a model. Whether
    the callee is such a class, and is handed nothing the construction could change, is
    the caller's to decide (classes/link.py); building it costs a project read for nothing
    (transformers' Trainer: a tenth of a second for its TrainingArguments)."""
    if stmt.orelse is not None or type(frame.names) is not dict:
        return None
    body = stmt.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return None
    last = body.body[-1]
    if not isinstance(last, cst.SimpleStatementLine) or not last.body:
        return None
    assign = last.body[-1]
    if not isinstance(assign, cst.Assign) or not isinstance(assign.value, cst.Call):
        return None
    for target in assign.targets:
        name = target.target
        if not isinstance(name, cst.Name) \
                or frame.names.get(name.value, MISSING) is MISSING \
                or isinstance(frame.names[name.value], ModuleObj):
            return None
    return assign.value


def _state(frame: Frame) -> _State:
    instances = {id(v): (v, dict(v.attrs)) for v in frame.names.values()
                 if isinstance(v, Instance)}
    return dict(frame.names), instances


def _restore(frame: Frame, state: _State) -> None:
    names, instances = state
    frame.names.clear()
    frame.names.update(names)
    for instance, attrs in instances.values():
        instance.attrs.clear()
        instance.attrs.update(attrs)


def _join(before: _State, after: list[_State]) -> _State:
    names = _join_values([state[0] for state in after], before[0])
    instances: dict[int, tuple[Instance, dict[str, Any]]] = {}
    for key, (instance, attrs) in before[1].items():
        sides = [state[1].get(key, (instance, attrs))[1] for state in after]
        instances[key] = (instance, _join_values(sides, attrs))
    return names, instances


def _join_values(sides: list[dict[str, Any]], before: dict[str, Any]) -> dict[str, Any]:
    first, *rest = sides
    joined: dict[str, Any] = {}
    for name, value in first.items():
        # most names hold the same object on every side (a method's locals, self's
        # attributes): taken as they are, without the general join
        for side in rest:
            if side.get(name, MISSING) is not value:
                joined[name] = one_of([side.get(name, before.get(name, MISSING))
                                       for side in sides])
                break
        else:
            joined[name] = value
    for side in rest:
        for name in side:
            if name not in joined:
                joined[name] = one_of([side.get(name, before.get(name, MISSING))
                                       for side in sides])
    return joined


def one_of(values: list[Any]) -> Any:
    """What a name holds when any of `values` may be its value."""
    # A side that leaves the name unbound is one after which using it raises NameError: what
    # the file does with it next runs after the sides that bind it (`if is_torch_available():
    # import torch`), and those alone decide.
    values = [value for value in values if value is not MISSING] or [MISSING]
    first = values[0]
    if all(value is first for value in values):
        return first
    if all(isinstance(value, ModuleObj) and _alike(first, value) for value in values):
        return values[-1]
    return UNKNOWN


def _alike(a: ModuleObj, b: ModuleObj) -> bool:
    """Two models no rule can tell apart: the same names and nothing done to either."""
    x, y = a.model, b.model
    return a.path == b.path and a.prefix == b.prefix and _same_names(x.manifest, y.manifest) \
        and x.trainable == y.trainable and x.opaque == y.opaque \
        and x.wrapped_by == y.wrapped_by and not x.bn_eval and not y.bn_eval \
        and x.in_eval is None and y.in_eval is None \
        and x.in_train is None and y.in_train is None


def _same_names(x: Manifest, y: Manifest) -> bool:
    """The same architecture: its name, tensors, modules and holes (the same constructor
    with other weights builds an equal manifest, not the same object)."""
    return x is y or (x.name == y.name and x.parameters == y.parameters
                      and x.buffers == y.buffers and x.modules == y.modules
                      and x.holes == y.holes and x.aliases == y.aliases and x.tied == y.tied)

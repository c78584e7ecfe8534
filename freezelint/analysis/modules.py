"""torch.nn model semantics: what a model, its submodules and its parameters do.

A model the script builds (or the one named with --model) is a ModelState over a manifest
of real names. Here: attribute access (`model.mlp_head[1].in_features`, `model.base_model`),
submodules that do not exist (FZL109), module methods (`parameters()`, `requires_grad_`,
`train()`, `state_dict()`...), iteration over parameters and modules, structural edits
(`model.fc = nn.Linear(...)` swaps the module in the manifest) and wrappers (DataParallel,
torch.compile) that add a prefix to every name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import facts as F
from freezelint.analysis import state_dicts, trainable
from freezelint.analysis.nn_modules import CONTAINERS, NewModule
from freezelint.analysis.values import (
    UNKNOWN,
    BoundMethod,
    ClassOf,
    FunctionObj,
    Instance,
    MissingAttr,
    ModelState,
    ModuleIter,
    ModuleObj,
    ParamIter,
    ParamObj,
    RealName,
    is_unknown,
)
from freezelint.common import torch_api as api
from freezelint.models import nn_table
from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo, iter_children

if TYPE_CHECKING:
    from freezelint.analysis.detect import ModelRequest
    from freezelint.analysis.evaluator import Evaluator, Frame


# What analysis/classes keeps on the evaluator once the script builds a model of its own class.
_STATIC_CLASSES = "_static_classes"


# -- models -----------------------------------------------------------------------------------
def construct(it: Evaluator, request: ModelRequest, node: cst.CSTNode) -> Any:
    """A constructor the zoo recognises (`ASTModel(...)`, `resnet50()`): the model it builds,
    or the one named with --model, which always wins."""
    manifest = it.explicit
    if manifest is None and it.patched:  # (a project context manager may change the build)
        return UNKNOWN
    if manifest is None:
        manifest = it.resolve(request)
    if manifest is None:
        return UNKNOWN
    return ModuleObj(new_model(it, manifest, node), "")


def new_model(it: Evaluator, manifest: Manifest, node: cst.CSTNode | None) -> ModelState:
    model = ModelState(manifest, node, scope=it.scope)
    model.opaque.update(manifest.holes)  # names under a hole are unknown to every rule
    it.facts.models.append(model)
    if it.primary is None:
        it.primary = model
    return model


def adopt_new(it: Evaluator, value: NewModule, node: cst.CSTNode) -> Any:
    """A module the script built from torch.nn (`model = nn.Sequential(...)`,
    `torch.nn.Linear(20, 1)`) and now uses as a model (its parameters, an attribute, an
    item, a wrapper): the model it is, with the names torch gives it. The same object is
    the same model at every later use. It never becomes the primary model, which stands for
    the one the user named (a head built first is not the model of the script)."""
    if value.adopted is None:
        from freezelint.analysis.classes.helpers import from_new_module, manifest_of

        manifest = manifest_of(from_new_module(value), f"nn.{value.type}", "script",
                               {"library": "torch.nn", "class": value.type})
        if manifest is None:
            value.adopted = UNKNOWN
        else:
            primary = it.primary
            model = new_model(it, manifest, node)
            it.primary = primary
            value.adopted = ModuleObj(model, "")
            if value.escaped:  # handed to code not followed before: requires_grad unknown
                for name in model.trainable:
                    model.trainable[name] = None
    return value.adopted


def promote(it: Evaluator, receiver: cst.BaseExpression, frame: Frame) -> Any:
    """An unknown name used like a model (`model.named_parameters()`,
    `self.model.parameters()`) is the model the user named (--model, configuration or a
    directive): the user said the script trains it. Without that statement it stays
    unknown: the model the script builds elsewhere (another function, another test, before
    a PEFT wrapper returned something new) is not a guess to make."""
    owner = None
    if isinstance(receiver, cst.Attribute):
        owner = it.eval(receiver.value, frame)
        if not isinstance(owner, Instance):
            return UNKNOWN
    elif not isinstance(receiver, cst.Name):
        return UNKNOWN
    if it.explicit is None:
        return UNKNOWN
    model = it.primary if it.primary is not None else new_model(it, it.explicit, None)
    value = ModuleObj(model, "")
    if isinstance(owner, Instance) and isinstance(receiver, cst.Attribute):
        owner.attrs[receiver.attr.value] = value
    elif isinstance(receiver, cst.Name):
        frame.bind(receiver.value, value)
    return value


def wrap(name: str, inner: ModuleObj, node: cst.CSTNode) -> ModuleObj:
    """`DataParallel(model)`, `torch.compile(model)`: the same model, its names prefixed."""
    last = name.rpartition(".")[2]
    if last in api.GRAD_HOOK_WRAPPERS:
        inner.model.wrapped_by = last
        inner.model.wrap_node = node
    return ModuleObj(inner.model, inner.path, api.WRAPPER_CONSTRUCTORS[name] + inner.prefix)


# -- attributes -------------------------------------------------------------------------------
def get_attr(it: Evaluator, owner: ModuleObj | ParamObj | MissingAttr, attr: str,
             node: cst.CSTNode) -> Any:
    if isinstance(owner, ModuleObj):
        if _STATIC_CLASSES in it.__dict__:  # a model read from its class: its own methods
            from freezelint.analysis.classes import link

            if link.has_method(it, owner, attr):
                return BoundMethod(owner, attr, node)
        return _module_attr(owner, attr, node)
    if isinstance(owner, ParamObj):
        return _parameter_attr(owner, attr, node)
    if attr in api.MODULE_LIKE_USES:
        report_missing(it, owner)
    return UNKNOWN


def _parameter_attr(owner: ParamObj, attr: str, node: cst.CSTNode) -> Any:
    if attr == "requires_grad":
        state = owner.model.trainable.get(owner.name)
        return UNKNOWN if state is None else state
    if attr == "requires_grad_":
        return BoundMethod(owner, attr, node)
    tensor = owner.model.tensor(owner.name)
    if tensor is None or owner.model.is_opaque(owner.name) or not tensor.sized:
        return UNKNOWN  # (a name whose shape the static class reader could not evaluate)
    if attr in {"shape", "size"}:
        return tensor.shape if attr == "shape" else BoundMethod(tensor.shape, "size", node)
    if attr == "ndim":
        return len(tensor.shape)
    if attr in {"dim", "numel"}:
        return BoundMethod(owner, attr, node)
    return UNKNOWN


def _module_attr(owner: ModuleObj, attr: str, node: cst.CSTNode) -> Any:
    model = owner.model
    if attr in api.MODULE_METHODS:
        return BoundMethod(owner, attr, node)
    if attr == "module" and owner.prefix:
        return ModuleObj(model, owner.path)
    if attr == "__class__":
        return ClassOf(owner.type_name)
    if attr == "base_model" and not owner.path:
        return _base_model(owner)
    path = owner.child(attr)
    if model.manifest.has_module(path):
        return ModuleObj(model, path)
    if model.tensor(path) is not None:
        return ParamObj(model, path)
    if attr in api.STRUCTURAL_MODULE_METHODS:  # `add_module`, a ModuleList's `append`
        return BoundMethod(owner, attr, node)
    shared = dict(model.manifest.tied).get(path)
    if shared is not None and model.tensor(shared) is not None:
        # A tied weight (`lm_head.weight`) is the Parameter listed under its other name.
        return ParamObj(model, shared)
    listed = model.manifest.shared_module(path) if model.manifest.tied else None
    if listed is not None:  # a module registered twice is the one listed
        return ModuleObj(model, listed)
    info = model.manifest.module(owner.path)
    if info is not None and attr in info.attrs:
        return info.attrs[attr]
    if info is None and attr in {"in_features", "out_features"}:
        # A checkpoint records no module attributes; a Linear's sizes are its weight's.
        weight = model.tensor(owner.child("weight"))
        if weight is not None and weight.sized and len(weight.shape) == 2:
            return weight.shape[1] if attr == "in_features" else weight.shape[0]
    if model.is_opaque(path) or not model.manifest.modules or owner.prefix \
            or attr.startswith("_") or attr == "module" or _torch_layer(info):
        # `.module` reads a DataParallel/DDP wrapper the analysis did not see built
        # (`DataParallel(Net())` of a Net it cannot read): unknown, not a missing submodule.
        return UNKNOWN
    # Reading a submodule the model does not have: only a mistake if it is used as one.
    return MissingAttr(model, path, node)


def _torch_layer(info: ModuleInfo | None) -> bool:
    """A torch.nn layer other than a container: what it has besides its submodules and
    parameters are its settings (`unfold.padding`, `conv.stride`), which the manifest does
    not list, so an attribute it lacks is unknown, not a missing submodule."""
    return info is not None and info.type not in CONTAINERS and nn_table.known_class(info.type)


def _is_buffer(model: ModelState, name: str) -> bool:
    return any(b.name == name for b in model.manifest.buffers)


def _base_model(owner: ModuleObj) -> Any:
    """transformers' `model.base_model`: the backbone child (`bert`, `vit`...) of a task
    model, or the model itself when it is the backbone."""
    manifest = owner.model.manifest
    if manifest.meta.get("library") != "transformers" and \
            not str(manifest.name).startswith("transformers/"):
        return UNKNOWN
    for child in api.BASE_MODEL_CHILDREN:
        if manifest.has_module(child):
            return ModuleObj(owner.model, child, owner.prefix)
    return owner


def report_missing(it: Evaluator, missing: MissingAttr) -> None:
    """A submodule the model does not have, used as a module (FZL109); not in a branch the
    analysis could not decide, which may run only for other architectures."""
    if it.uncertain or _approximate(missing.model):
        return
    it.facts.missing.setdefault(missing.node, F.MissingSubmodule(
        missing.node, missing.model, missing.path, assigned=False))


def child_at(owner: ModuleObj, index: int) -> Any:
    """`model.mlp_head[1]`, `model.classifier[-1]`: the index-th child module."""
    path = _child_by_index(owner, index)
    return ModuleObj(owner.model, path) if path is not None else UNKNOWN


# -- structural edits -------------------------------------------------------------------------
def assign_attribute(it: Evaluator, owner: Any, target: cst.Attribute, value: Any,
                     stmt: cst.CSTNode | None) -> None:
    """`owner.attr = value` where owner is not a class instance of the file's own."""
    attr = target.attr.value
    node = stmt or target
    if isinstance(owner, MissingAttr):
        # `model.config.pad_token_id = ...`: setting an attribute is not using it as a
        # module (a transformers model's `config` is not a submodule); `.weight = ...` is.
        if attr in api.MODULE_LIKE_USES:
            report_missing(it, owner)
        return
    if isinstance(owner, ParamObj) and attr == "requires_grad":
        trainable.set_grad(it, owner.model, [owner.name], value, node)
    elif isinstance(owner, ModuleObj) and attr in api.SIZE_ATTRS:
        it.facts.size_assigns.setdefault(node, F.SizeAssign(node, owner.model, owner.path, attr))
    elif isinstance(owner, ModuleObj) and attr == "requires_grad":
        if isinstance(stmt, (cst.Assign, cst.AugAssign)):
            it.facts.module_grad_attrs.setdefault(
                stmt, F.ModuleGradAttr(stmt, owner.model, owner.path, target, stmt.value))
    elif isinstance(owner, ModuleObj) and (isinstance(value, (NewModule, ModuleObj))
                                           or (is_unknown(value) and _is_call(stmt))):
        path = owner.child(attr)
        # Only a value known to be a module: a module object, or what a torch.nn class
        # built of names the analysis does not know (`torch.nn.DataParallel(...)`); any
        # other unknown value may be a tensor or a number, a plain attribute (`base.pts =
        # pts.reshape(())`). Not in a branch the analysis could not decide (`if
        # arch.startswith('vgg'): model.features = ...` runs for other architectures), and
        # not a module without parameters (`model.classifier = nn.Sequential()` as a no-op:
        # nothing to train).
        if (isinstance(value, (NewModule, ModuleObj)) or _builds_a_module(it, stmt)) \
                and not owner.model.manifest.has_module(path) and not owner.model.is_opaque(path) \
                and owner.model.tensor(path) is None and not _is_buffer(owner.model, path) \
                and owner.model.manifest.modules and not it.uncertain \
                and not _approximate(owner.model) and not _monkeypatch(attr, stmt) \
                and not _parameterless(value, path):
            it.facts.missing.setdefault(
                node, F.MissingSubmodule(node, owner.model, path, assigned=True))
        replace_module(it, owner.model, path, value, node)


def _monkeypatch(attr: str, stmt: cst.CSTNode | None) -> bool:
    """`model.reset_parameters = Mock()`: a method of every module replaced, or a mock put
    in place: not a submodule added."""
    if attr in api.MODULE_METHODS or attr in api.READ_ONLY_MODULE_METHODS \
            or attr in {"forward", "reset_parameters"}:
        return True
    value = getattr(stmt, "value", None)
    func = value.func if isinstance(value, cst.Call) else None
    name = func.attr.value if isinstance(func, cst.Attribute) else (
        func.value if isinstance(func, cst.Name) else "")
    return name in {"Mock", "MagicMock", "NonCallableMock", "create_autospec"}


def _approximate(model: ModelState) -> bool:
    """A model read statically from its class (analysis/classes): branches on its config may
    have been read another way than the run takes them, so a module it lacks is no proof
    of an AttributeError (litgpt's GPT and Block, whose layers depend on the config)."""
    return model.manifest.source == "static"


def _parameterless(value: Any, path: str) -> bool:
    """A module known to hold no parameters (an empty Sequential, Identity, Dropout)."""
    if not isinstance(value, NewModule):
        return False
    params, _ = value.flatten(path)
    return not params


def assign_child(it: Evaluator, owner: ModuleObj, index: int, value: Any,
                 node: cst.CSTNode) -> None:
    """`model.mlp_head[1] = nn.Linear(...)`."""
    path = _child_by_index(owner, index)
    if path is not None:
        replace_module(it, owner.model, path, value, node)


def replace_module(it: Evaluator, model: ModelState, path: str, value: Any,
                   node: cst.CSTNode) -> None:
    old = {p.name for p in model.manifest.parameters_under(path)}
    if not isinstance(value, NewModule):
        # Something the analysis cannot build: keep the old names (a replacement head
        # usually has the same ones) but stop trusting anything under this path.
        model.opaque.add(path)
        for name in old:
            model.trainable[name] = True  # a new module's parameters start trainable
        stale = [o for o in it.optimizers if o.model is model and o.names is not None
                 and o.names & old]
        it.facts.replacements.append(F.ModuleReplaced(
            node, model, path, it.seq, sorted(old), stale))
        return
    flat_params, flat_modules = value.flatten(path)
    params = [TensorInfo(n, s or (), sized=s is not None) for n, s in flat_params]
    modules = [ModuleInfo(p, t, dict(a)) for p, t, a in flat_modules]
    buffers = [TensorInfo(n, s or (), persistent=keep, sized=s is not None)
               for n, s, keep in value.flat_buffers(path)]
    model.manifest = model.manifest.replace_module(path, params, modules, buffers)
    for name in old:
        model.trainable.pop(name, None)
    for p in params:
        model.trainable[p.name] = True
    stale = [o for o in it.optimizers if o.model is model and o.names is not None
             and o.names & old]
    it.facts.replacements.append(F.ModuleReplaced(
        node, model, path, it.seq, [p.name for p in params], stale))


# -- methods ----------------------------------------------------------------------------------
def call_module_method(it: Evaluator, receiver: ModuleObj, name: str, args: list[Any],
                       kwargs: dict[str, Any], node: cst.Call) -> Any:
    model, manifest = receiver.model, receiver.model.manifest
    prefix = receiver.prefix
    if name in {"parameters", "named_parameters"}:
        recurse = kwargs.get("recurse", True)
        if recurse is False:
            return UNKNOWN
        names = [p.name for p in manifest.parameters_under(receiver.path)]
        if any(model.is_opaque(n) or n.startswith(tuple(model.opaque)) for n in names) \
                or any(receiver.path.startswith(o) for o in model.opaque) \
                or manifest.hole_under(receiver.path):
            names_or_none: list[str] | None = None
        else:
            names_or_none = names
        return ParamIter(model, names_or_none, lazy=True, named=name == "named_parameters",
                         node=node, prefix=prefix, base=receiver.path)
    if name in {"modules", "named_modules", "children", "named_children"}:
        if name.endswith("children"):
            paths = list(iter_children(manifest, receiver.path))
        else:
            paths = modules_under(manifest, receiver.path)
        return ModuleIter(model, paths, named=name.startswith("named"),
                          prefix=prefix, base=receiver.path)
    if name == "requires_grad_":
        value = args[0] if args else kwargs.get("requires_grad", True)
        names = [p.name for p in manifest.parameters_under(receiver.path)]
        trainable.set_grad(it, model, names, value, node)
        return receiver
    if name in {"train", "eval"}:
        mode = args[0] if args else kwargs.get("mode", True)
        trainable.set_mode(it, receiver, name == "train" and mode is not False, node)
        return receiver
    if name == "apply" and args and isinstance(args[0], FunctionObj):
        for path in reversed(modules_under(manifest, receiver.path)):  # children first
            it.call_function(args[0], [ModuleObj(model, path)], {}, node)
        return receiver
    if name in api.CONVERSION_METHODS:
        return receiver
    if name == "state_dict":
        return state_dicts.of_module(receiver, node)
    if name == "load_state_dict":
        return state_dicts.load_into(it, receiver, args, kwargs, node)
    if name in {"add_module", "register_module"} and len(args) >= 2 \
            and isinstance(args[0], str) and isinstance(args[1], NewModule):
        replace_module(it, model, receiver.child(args[0]), args[1], node)
        return None
    if name in api.STRUCTURAL_MODULE_METHODS:  # its structure changed: names under it unknown
        model.opaque.add(receiver.path)
        trainable.escape([receiver, *args, *kwargs.values()])
        return UNKNOWN
    if _STATIC_CLASSES in it.__dict__:  # a method of the model's own class
        from freezelint.analysis.classes import link

        result = link.call_method(it, receiver, name, args, kwargs, node)
        if result is not link.MISSING:
            return result
    if name not in api.READ_ONLY_MODULE_METHODS:
        trainable.escape([receiver, *args, *kwargs.values()])
    return UNKNOWN


def call_parameter_method(it: Evaluator, receiver: ParamObj, name: str, args: list[Any],
                          kwargs: dict[str, Any], node: cst.Call) -> Any:
    if name in {"dim", "numel"}:
        tensor = receiver.model.tensor(receiver.name)
        if tensor is None or not tensor.sized:
            return UNKNOWN
        return len(tensor.shape) if name == "dim" else tensor.numel
    if name == "requires_grad_":
        value = args[0] if args else kwargs.get("requires_grad", True)
        trainable.set_grad(it, receiver.model, [receiver.name], value, node)
        return receiver
    return UNKNOWN


# -- iteration --------------------------------------------------------------------------------
def iterate_parameters(it: Evaluator, value: ParamIter, node: cst.CSTNode) -> list[Any] | None:
    """What a loop over `parameters()` / `named_parameters()` sees (None: unknown names)."""
    consume(it, value, node)
    if value.names is None:
        return None
    model = value.model
    if value.named:
        return [(RealName(value.display_name(n), model, "parameter"), ParamObj(model, n))
                for n in value.names]
    return [ParamObj(model, n) for n in value.names]


def iterate_modules(value: ModuleIter) -> list[Any]:
    model = value.model
    if value.named:
        return [(RealName(value.display_name(p), model, "module"), ModuleObj(model, p))
                for p in value.paths]
    return [ModuleObj(model, p) for p in value.paths]


def consume(it: Evaluator, value: Any, node: cst.CSTNode) -> None:
    """A generator of parameters is exhausted by its first consumer: a second one sees
    nothing (FZL204)."""
    if not isinstance(value, ParamIter) or not value.lazy:
        return
    if value.consumed_by is not None and value.consumed_by is not node:
        it.facts.reused.setdefault(node, F.IteratorReused(
            node, value.consumed_by, value.node or node))
    elif value.consumed_by is None:
        value.consumed_by = node


# -- helpers ----------------------------------------------------------------------------------
def _is_call(stmt: cst.CSTNode | None) -> bool:
    return isinstance(stmt, cst.Assign) and isinstance(stmt.value, cst.Call)


def _builds_a_module(it: Evaluator, stmt: cst.CSTNode | None) -> bool:
    """Whether `stmt` assigns what a torch.nn module class built (library_calls.call
    records those calls when the module's names are unknown)."""
    return isinstance(stmt, cst.Assign) and stmt.value in it.module_calls


def _child_by_index(owner: ModuleObj, index: int) -> str | None:
    children = list(iter_children(owner.model.manifest, owner.path))
    try:
        return children[index]
    except IndexError:
        return None


def modules_under(manifest: Manifest, path: str) -> list[str]:
    """`module.modules()`: the module itself and everything below it, in registration order."""
    base = path + "." if path else ""
    return [p for p in manifest.module_paths if p == path or p.startswith(base)]

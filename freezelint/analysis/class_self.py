"""`self` in a class of the script: the whole module, with what `__init__` froze on it.

A LightningModule freezes its backbone in `__init__` (or `setup`, or `configure_model`: the
hooks Lightning calls before `configure_optimizers`, lightning 2.x `Trainer.fit`: setup("fit")
-> configure_model() -> configure_optimizers() -> on_fit_start()), then builds its optimizer
over `self.parameters()`. The interpreter runs `__init__` on a ClassSelf whose attributes are
the models `__init__` built (a zoo backbone, a layer); here, after those hooks, the class read
statically (analysis/classes) gives the whole module, and each attribute's requires_grad and
BatchNorm mode are replayed on it under the attribute's name. `self.parameters()` and the
other nn.Module methods of `self` then mean that module, so FZL201/FZL203 see the real names
and what the freezing left trainable.

Only when that is exact: every submodule `__init__` holds must have the very names the
static reader gives that child, no two attributes may share one model, and the class may
inherit from no class of the project (whose `__init__` or methods the script interpreter
does not run). Otherwise nothing changes from before (the static model only fills the
submodules `__init__` could not build, and only when `__init__` froze nothing). When
`__init__` handed `self` to code the analysis cannot follow (`self.freeze()`, a loop over
`self.parameters()` before the module exists, `freeze(self)`), whatever it reaches is
unknown and the rules are silent on it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import modules, trainable
from freezelint.analysis.values import UNKNOWN, ClassSelf, ModelState, ModuleObj
from freezelint.common import torch_api as api
from freezelint.models.manifest import iter_children

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator

_FREEZING = re.compile(r"requires_grad|freeze|apply")

# Lightning's hooks that run before `configure_optimizers`, in this order.
SETUP_HOOKS = ("setup", "configure_sharded_model", "configure_model")

# Methods `self` inherits from nn.Module or LightningModule that may change requires_grad:
# through the whole module once it is known, else they make `self` unknown.
_MODULE_METHODS = api.MODULE_METHODS | {"freeze", "unfreeze", "toggle_optimizer",
                                        "untoggle_optimizer"}
# What `self` inherits that only reads (LightningModule's attributes and logging).
_READ_ONLY = frozenset({
    "save_hyperparameters", "hparams", "hparams_initial", "log", "log_dict", "print",
    "register_buffer", "training", "device", "dtype", "trainer", "fabric", "current_epoch",
    "global_step", "global_rank", "local_rank", "logger", "loggers", "automatic_optimization",
    "example_input_array", "on_gpu", "precision", "strict_loading", "__class__",
    "__init__", "to", "cuda", "cpu", "float", "half", "double", "bfloat16", "type",
    "zero_grad", "state_dict", "buffers", "named_buffers", "all_gather", "optimizers",
    "lr_schedulers", "manual_backward", "clip_gradients", "log_grad_norm",
})


def hooks_before_optimizers(it: Evaluator, node: cst.ClassDef) -> tuple[str, ...]:
    """The methods that run, in order, before the optimizer is built: `__init__`, and for a
    LightningModule its setup hooks (a plain nn.Module's `setup` is the user's to call)."""
    klass = getattr(it.globals.names.get(node.name.value), "klass", None)
    lightning = klass is not None and klass.node is node and any(
        getattr(base, "last", None) == "LightningModule"
        for c in klass.mro() for base in c.bases)
    return ("__init__", *SETUP_HOOKS) if lightning else ("__init__",)


def attribute(it: Evaluator, owner: ClassSelf, attr: str, node: cst.CSTNode) -> Any:
    """`self.<attr>` that no method of the class set or defines."""
    if owner.module is not None and attr in _MODULE_METHODS:
        return modules.get_attr(it, owner.module, attr, node)
    if attr not in _READ_ONLY:
        owner.escaped = True  # inherited code that may freeze anything under self
    return UNKNOWN


def attach(it: Evaluator, node: cst.ClassDef, owner: ClassSelf, froze: bool) -> None:
    """After `__init__` and the setup hooks ran on `owner`: the whole module, when exact."""
    from freezelint.analysis.classes import link  # the class read from its source

    if owner.escaped:  # what `__init__` froze through `self` is unknown
        trainable.escape([owner])
        return
    static = link.instance_model(it, node)
    if static is None:
        return
    klass = getattr(it.globals.names.get(node.name.value), "klass", None)
    unbacked = [c for c in iter_children(static.model.manifest, "")
                if not isinstance(owner.attrs.get(c), ModuleObj)]
    code = _setup_code(owner)
    for child in unbacked:
        # `self.backbone = timm.create_model(arch)` with `arch` an argument: the interpreter
        # could not build it, so a freeze of it went unseen; the class reader's default
        # build says nothing of what trains there.
        if _used_unseen(code, child):
            trainable.escape([ModuleObj(static.model, child)])
    if klass is not None and len(klass.mro()) == 1 and _replay(static.model, owner):
        owner.module = ModuleObj(static.model, "")
        return
    if froze:  # the static model would not carry what __init__ froze
        return
    for child in unbacked:
        owner.attrs[child] = ModuleObj(static.model, child)


def _setup_code(owner: ClassSelf) -> str:
    """The source of `__init__` and the setup hooks."""
    methods = [owner.methods.get(name) for name in ("__init__", *SETUP_HOOKS)]
    return "\n".join(cst.Module([]).code_for_node(m) for m in methods if m is not None)


def _used_unseen(code: str, child: str) -> bool:
    """Whether that code may change requires_grad under `self.<child>` in a way the
    interpreter did not follow (the child was no module it knew): a line that uses it with
    parameters/requires_grad/freeze, hands it to a call, or aliases it."""
    if not _FREEZING.search(code):
        return False
    ref = rf"self\.{re.escape(child)}\b"
    return any(re.search(pattern, code, re.MULTILINE) for pattern in (
        rf"{ref}[^\n]*(parameters|modules|children|requires_grad|freeze|apply)",
        rf"(requires_grad|freeze)[^\n]*{ref}",
        rf"[(,]\s*{ref}\s*[,)]",  # handed to a call
        rf"=\s*{ref}\s*$",  # an alias
    ))


def _replay(model: ModelState, owner: ClassSelf) -> bool:
    """Each submodule `__init__` built, replayed on `model` under its attribute's name:
    its requires_grad and BatchNorm modes. False (and `model` unchanged) unless every one
    maps name for name."""
    manifest = model.manifest
    if manifest.holes or model.opaque:
        return False
    children = set(iter_children(manifest, ""))
    # (attribute, its value, our name -> its name, or the state of a replaced one)
    plan: list[tuple[str, ModuleObj, dict[str, str | bool | None]]] = []
    seen: set[int] = set()
    for attr, value in owner.attrs.items():
        if not isinstance(value, ModuleObj):
            continue
        if value.model is model:
            continue
        inner = value.model
        if attr not in children or value.prefix or id(inner) in seen or inner.manifest.holes:
            return False
        seen.add(id(inner))
        base = value.path + "." if value.path else ""
        # A submodule replaced by something the interpreter could not build (a head sized
        # by an argument): its names are the class reader's, its state the replacement's.
        replaced = [o[len(base):] for o in inner.opaque if o.startswith(base) and o != base]
        if any(not o or o == value.path or base.startswith(o + ".") for o in inner.opaque):
            return False

        def under(rel: str, replaced: list[str] = replaced) -> bool:
            return any(rel == r or rel.startswith(r + ".") for r in replaced)

        theirs = {p.name[len(base):]: p.name for p in inner.manifest.parameters_under(value.path)}
        ours = {p.name[len(attr) + 1:]: p.name for p in manifest.parameters_under(attr)}
        if {r for r in theirs if not under(r)} != {r for r in ours if not under(r)}:
            return False
        names: dict[str, str | bool | None] = {
            ours[rel]: theirs[rel] for rel in ours if not under(rel)}
        for path in replaced:
            states = {inner.trainable.get(n) for r, n in theirs.items()
                      if r == path or r.startswith(path + ".")}
            state = states.pop() if len(states) == 1 else None
            for rel, name in ours.items():
                if rel == path or rel.startswith(path + "."):
                    names[name] = state
        plan.append((attr, value, names))
    for tensor in manifest.parameters:  # the module's own: set in ways not followed here
        if "." not in tensor.name:
            model.trainable[tensor.name] = None
    for attr, value, names in plan:
        inner = value.model
        for ours_name, theirs_name in names.items():
            model.trainable[ours_name] = inner.trainable.get(theirs_name) \
                if isinstance(theirs_name, str) else theirs_name
        base = value.path + "." if value.path else ""
        for path, where in inner.bn_eval.items():
            if path == value.path or path.startswith(base):
                model.bn_eval[f"{attr}.{path[len(base):]}".rstrip(".")] = where
    for child in children:
        owner.attrs[child] = ModuleObj(model, child)
    return True

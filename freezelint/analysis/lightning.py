"""Lightning's `Trainer.fit` with a `BackboneFinetuning` callback, over a class of the script.

What the callback does (lightning 2.x, `callbacks/finetuning.py`): in `setup` it calls
`freeze_before_training`, which is `BaseFinetuning.freeze(pl_module.backbone)` with the default
`train_bn=True` (BatchNorm layers stay trainable, every other backbone parameter is frozen);
Lightning then calls `configure_optimizers`. At `unfreeze_backbone_at_epoch` (10 by default)
`unfreeze_and_add_param_group` makes the backbone trainable and adds its parameters as a new
group with the backbone's learning rate, after `filter_on_optimizer` has dropped (with a
warning) those the optimizer already holds; every later epoch sets `param_groups[-1]["lr"]`
to the backbone's schedule. An optimizer built over all of `self.parameters()` already holds
the frozen backbone: no group is added, the backbone trains at the first group's rate, and
the backbone's schedule is applied to the last group the optimizer has.

The interpreter records each `trainer.fit(model)` whose trainer has a `BackboneFinetuning`
and whose model is a class of the script (class_self.py). After the whole file ran, `finish`
replays the callback's freeze on a copy of that class's `self` and runs its
`configure_optimizers` again: a FinetuningHeld fact names the frozen backbone parameters the
optimizer holds in a group with the rest of the model (a group of the backbone alone is the
user's own backbone group, which the callback's schedule then drives: only a warning). Nothing
that run records is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import facts as F
from freezelint.analysis import trainable
from freezelint.analysis.class_self import SETUP_HOOKS
from freezelint.analysis.nn_modules import BATCHNORM_TYPES
from freezelint.analysis.plain_python import body_of
from freezelint.analysis.scope import ReturnSignal
from freezelint.analysis.values import UNKNOWN, ClassSelf, FunctionObj, ModuleObj

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator

_PACKAGES = ("lightning.pytorch.", "pytorch_lightning.", "lightning.")
_STATE = "_lightning_fits"


def is_trainer(name: str) -> bool:
    return name.startswith(_PACKAGES) and name.rpartition(".")[2] == "Trainer"


def is_backbone_finetuning(name: str) -> bool:
    return name.startswith(_PACKAGES) and name.rpartition(".")[2] == "BackboneFinetuning"


@dataclass(eq=False)
class BackboneFinetuning:
    """`BackboneFinetuning(unfreeze_backbone_at_epoch=...)`: the epoch, when known."""

    node: cst.Call
    epoch: Any


@dataclass(eq=False)
class LightningTrainer:
    """`Trainer(callbacks=[...])`: its BackboneFinetuning callbacks (None: unknown ones)."""

    node: cst.Call
    finetuning: list[BackboneFinetuning] | None = field(default_factory=list)
    max_epochs: Any = None


def callback(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    epoch = kwargs.get("unfreeze_backbone_at_epoch", args[0] if args else 10)
    return BackboneFinetuning(node, epoch if isinstance(epoch, int) else UNKNOWN)


def trainer(it: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    given = kwargs.get("callbacks", [])
    if isinstance(given, BackboneFinetuning):
        given = [given]
    found = [c for c in given if isinstance(c, BackboneFinetuning)] \
        if isinstance(given, (list, tuple)) else None
    return LightningTrainer(node, found, kwargs.get("max_epochs"))


def method(it: Evaluator, receiver: LightningTrainer, name: str, args: list[Any],
           kwargs: dict[str, Any], node: cst.Call) -> Any:
    """`trainer.fit(model)`: trains the model (what trains afterwards is unknown)."""
    if name == "fit":
        model = kwargs.get("model", args[0] if args else None)
        if isinstance(model, ModuleObj) and not model.path and not model.prefix \
                and receiver.finetuning:
            epochs = receiver.max_epochs
            pending = it.__dict__.setdefault(_STATE, [])
            known = all(v is not None for v in model.model.trainable.values())
            pending.extend((node, c, model, known) for c in receiver.finetuning
                           # a backbone never unfrozen within max_epochs: nothing happens
                           if not (isinstance(c.epoch, int) and isinstance(epochs, int)
                                   and c.epoch >= epochs))
    trainable.escape([*args, *kwargs.values()])
    return UNKNOWN


def finish(it: Evaluator, selves: dict[cst.ClassDef, ClassSelf]) -> None:
    """The recorded fits, once every class of the script was analysed."""
    done: set[tuple[int, int]] = set()
    for fit, cb, model, known in it.__dict__.get(_STATE, []):
        if (id(fit), id(cb.node)) in done:  # a fit inside a loop: once
            continue
        done.add((id(fit), id(cb.node)))
        meta = model.model.manifest.meta or {}
        klass = getattr(it.globals.names.get(str(meta.get("class", ""))), "klass", None)
        if meta.get("library") != "static" or klass is None or klass.path is not None:
            continue
        if known and _lacks_backbone(it, klass, model):
            children = [m.path for m in model.model.manifest.modules
                        if m.path and "." not in m.path]
            it.facts.finetuning_no_backbone.append(F.FinetuningNoBackbone(
                cb.node, fit, klass.name, children))
            continue
        owner = selves.get(klass.node)
        method = owner.methods.get("configure_optimizers") if owner is not None else None
        if owner is None or owner.module is None or method is None \
                or any(hook in owner.methods for hook in SETUP_HOOKS):
            continue  # the module's own setup runs after the callback's freeze: not modelled
        built = [p.name for p in model.model.manifest.parameters]
        if built != [p.name for p in owner.module.model.manifest.parameters]:
            continue  # built with arguments that change it: not the module analysed
        held, where = _held(it, owner.copy(), method)
        if held and where is not None:
            it.facts.finetuning_held.append(F.FinetuningHeld(
                where, fit, cb.node, cb.epoch, klass.name, held))


def _lacks_backbone(it: Evaluator, klass: Any, model: ModuleObj) -> bool:
    """Whether `pl_module.backbone` surely raises AttributeError: a class of the script with
    no project base, read with no hole, nothing under it replaced (nor, as the caller checks,
    handed to code not followed before the fit), and the word `backbone`
    nowhere in the file (no attribute, property, setattr or later assignment that could
    add one)."""
    state = model.model
    return len(klass.mro()) == 1 and not state.manifest.holes and not state.opaque \
        and not state.manifest.has_module("backbone") \
        and it.text is not None and re.search(r"\bbackbone\b", it.text) is None


def _held(it: Evaluator, owner: ClassSelf,
          method: cst.FunctionDef) -> tuple[list[str], cst.CSTNode | None]:
    """The frozen backbone parameters the optimizers of `configure_optimizers` hold, with the
    callback's freeze applied first, and the first optimizer that holds some."""
    module = owner.module
    assert module is not None
    state = module.model
    manifest = state.manifest
    if not manifest.has_module("backbone") or state.is_opaque("backbone"):
        return [], None
    types = {m.path: m.type for m in manifest.modules}
    backbone = [p.name for p in manifest.parameters_under("backbone")]
    for name in backbone:  # BaseFinetuning.freeze(pl_module.backbone, train_bn=True)
        state.trainable[name] = types.get(name.rpartition(".")[0]) in BATCHNORM_TYPES
    from freezelint.analysis.classes.link import _forget_since, _snapshot

    before = _snapshot(it.facts)
    built = len(it.optimizers)
    # The method's nodes sit in its class's top-level statement, not in the fit's (where
    # they are placed matters to positions).
    top = next((i for i, s in enumerate(it.module.body)
                if isinstance(s, cst.ClassDef) and method in body_of(s)), None)
    try:
        it.call_function(FunctionObj(method, None, top), [owner], {}, method)
    except ReturnSignal:
        pass
    finally:
        _forget_since(it.facts, before)
    optimizers = it.optimizers[built:]
    del it.optimizers[built:]
    held: list[str] = []
    where = None
    under = set(backbone)
    for optimizer in optimizers:
        if optimizer.model is not state or optimizer.names is None:
            return [], None  # an optimizer over something else, or over unknown names
        for group in optimizer.groups:
            names = set(group.names or ())
            # A group of the backbone alone is the user's own backbone group: the callback
            # skips it with a warning and its schedule then drives that group. Harm comes
            # from a group that mixes the frozen backbone with the rest of the model.
            frozen = [n for n in backbone if n in names and state.trainable.get(n) is False]
            if frozen and names - under:
                where = where or optimizer.node
                held.extend(n for n in frozen if n not in held)
    return held, where

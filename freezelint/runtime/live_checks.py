"""The live checks: each reads a `LiveState` (collected once) and yields Findings.

They touch no tensor data: only `requires_grad`, `.grad is None`, shapes, `numel()`, object
ids, `module.training` and the keys of the optimizer's state. Sets of ids are built once in
`LiveState.collect`, so a 100M-parameter model costs what its few hundred tensors cost.

Rule ids, names and message style follow the static rules (`freezelint/checks`) so that one
catalog entry (`freezelint rule FZL203`) explains both; the static module is not imported
because it needs libcst and analysis facts that do not exist at runtime.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.nn import Module
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parameter import is_lazy

from freezelint.common.diagnostics import Severity


@dataclass(frozen=True)
class LiveFinding:
    """One problem before it gets a location. `severity` None means the rule's own."""

    rule: str
    message: str
    severity: Severity | None = None
    names: tuple[str, ...] = ()


@dataclass(slots=True)
class Param:
    """One parameter of the model, with the flags every check reads, read once."""

    name: str
    tensor: Tensor
    trainable: bool  # requires_grad
    held: bool  # in a param group of one of the optimizers
    has_grad: bool  # `.grad is not None`
    numel: int  # 0 for a lazy module's parameter that the first forward has not shaped yet


@dataclass
class LiveState:
    """What every check reads, gathered in one pass over the model and the optimizers."""

    model: Module
    label: str
    modules: list[tuple[str, Module]]  # model.named_modules(), walked once for every check
    params: list[Param]  # model.named_parameters() order, shared tensors once
    name_of: dict[int, str]  # id(parameter) -> its name in the model
    optimizers: list[Any]
    optimizer_params: list[Tensor]  # every tensor of every param group, in group order

    @property
    def has_optimizer(self) -> bool:
        return bool(self.optimizers)

    @classmethod
    def collect(cls, model: Module, optimizer: Any, label: str | None) -> LiveState:
        if not isinstance(model, Module):
            raise TypeError(f"audit() needs a torch.nn.Module, got {type(model).__name__}")
        optimizers = _as_optimizers(optimizer)
        in_groups: list[Tensor] = []
        ids: set[int] = set()
        for opt in optimizers:
            for group in opt.param_groups:
                for param in group["params"]:
                    if id(param) not in ids:
                        ids.add(id(param))
                        in_groups.append(param)
        params = [Param(name, p, p.requires_grad, id(p) in ids, p.grad is not None,
                        0 if is_lazy(p) else p.numel())
                  for name, p in model.named_parameters()]
        return cls(model=model, label=label or type(model).__name__,
                   modules=list(model.named_modules()), params=params,
                   name_of={id(p.tensor): p.name for p in params}, optimizers=optimizers,
                   optimizer_params=in_groups)


def _as_optimizers(optimizer: Any) -> list[Any]:
    """None, one optimizer, or several (Lightning's `trainer.optimizers`): anything with
    `param_groups` counts, so wrappers such as accelerate's AcceleratedOptimizer work too."""
    if optimizer is None:
        return []
    if hasattr(optimizer, "param_groups"):
        return [optimizer]
    found = list(optimizer)
    for item in found:
        if not hasattr(item, "param_groups"):
            raise TypeError(f"optimizer must be a torch optimizer or a sequence of them, "
                            f"got a {type(item).__name__} inside {type(optimizer).__name__}")
    return found


# -- trainable set and optimizer membership ------------------------------------------------


def nothing_trainable(live: LiveState) -> Iterator[LiveFinding]:
    """FZL103: an optimizer (or, without one, a model) with nothing to train."""
    total = len(live.params)
    if live.has_optimizer:
        if any(p.requires_grad for p in live.optimizer_params):
            return
        held = [live.name_of[id(p)] for p in live.optimizer_params if id(p) in live.name_of]
        count = len(live.optimizer_params)
        if len(held) == total == count:
            what = f"all {total} parameters of `{live.label}`"
        else:
            what = plural(count, "parameter") + (f" of `{live.label}`" if held else "")
        message = f"every parameter the optimizer holds is frozen ({what}): it trains nothing"
        if len(held) < total and not any(p.trainable for p in live.params):
            message += f"; none of the {total} parameters of `{live.label}` is trainable"
        yield LiveFinding("FZL103", message, names=tuple(held))
    elif not any(p.trainable for p in live.params):
        message = (f"none of the {total} parameters of `{live.label}` is trainable"
                   if total else f"`{live.label}` has no parameters")
        yield LiveFinding("FZL103", message)


def trainable_not_optimized(live: LiveState) -> Iterator[LiveFinding]:
    """FZL203: trainable parameters that no param group holds."""
    if not live.has_optimizer:
        return
    missing = [p.name for p in live.params if p.trainable and not p.held]
    if not missing:
        return
    modules = _covering_modules(live, set(missing))
    yield LiveFinding("FZL203",
                  f"the param groups leave out {plural(len(missing), 'trainable parameter')} "
                  f"of `{live.label}` (in {examples(modules, 3)}): they get gradients but are "
                  f"never updated; freeze them or add a group", names=tuple(missing))


def shared_between_groups(live: LiveState) -> Iterator[LiveFinding]:
    """FZL207: a parameter in two param groups. torch refuses that inside one optimizer
    (ValueError "some parameters appear in more than one parameter group") unless
    `param_groups` was edited by hand, but not across optimizers: two optimizers then step
    the same tensor, each with its own learning rate and moments."""
    seen: dict[int, int] = {}
    for param in (p for opt in live.optimizers for g in opt.param_groups for p in g["params"]):
        seen[id(param)] = seen.get(id(param), 0) + 1
    shared = [p.name for p in live.params if seen.get(id(p.tensor), 0) > 1]
    if not shared:
        return
    where = "two optimizers" if len(live.optimizers) > 1 else "two param groups"
    yield LiveFinding("FZL207",
                      f"{plural(len(shared), 'parameter')} of `{live.label}` "
                      f"({examples(shared, 2)}) are in {where}: each update steps them again, "
                      f"with another learning rate and other moments",
                      names=tuple(shared))


def empty_groups(live: LiveState) -> Iterator[LiveFinding]:
    """FZL208: a param group that holds no parameter: its learning rate and weight decay
    apply to nothing (torch accepts it without a word)."""
    for opt in live.optimizers:
        for index, group in enumerate(opt.param_groups):
            if not list(group["params"]):
                settings = ", ".join(f"{k}={group[k]!r}" for k in ("lr", "weight_decay")
                                     if k in group)
                yield LiveFinding("FZL208",
                                  f"param group {index} of {type(opt).__name__} holds no "
                                  f"parameter: its settings ({settings}) apply to nothing")


def peft_entries(live: LiveState) -> Iterator[LiveFinding]:
    """FZL401 / FZL403 on a live PeftModel: a `target_modules` list entry that names no
    module (PEFT matches `name == entry` or `name.endswith("." + entry)`) and a
    `modules_to_save` entry that ends no module name (PEFT 0.21's plain `endswith`); PEFT
    raises only when no entry at all matches. The heads PEFT adds to `modules_to_save` for
    the task type are not the author's, and are left alone."""
    from freezelint.models.peft import is_saved, is_target, task_heads

    configs = getattr(live.model, "peft_config", None)
    if not isinstance(configs, dict):
        return
    names = [name for name, _ in live.modules]
    for adapter, config in configs.items():
        targets = getattr(config, "target_modules", None)
        if isinstance(targets, (list, set, tuple)):
            for entry in sorted(str(t) for t in targets):
                if not any(is_target(n, entry) for n in names):
                    yield LiveFinding("FZL401",
                                      f"target_modules entry {entry!r} of adapter {adapter!r} "
                                      f"names no module of `{live.label}`: PEFT adapts "
                                      f"nothing there")
        task = getattr(config, "task_type", None)
        heads = task_heads(getattr(task, "value", task) if task is not None else None)
        for entry in getattr(config, "modules_to_save", None) or ():
            if entry in heads:
                continue
            if not any(is_saved(n, str(entry)) for n in names):
                yield LiveFinding("FZL403",
                                  f"modules_to_save entry {entry!r} of adapter {adapter!r} "
                                  f"ends no module name of `{live.label}`: PEFT saves and "
                                  f"trains nothing there")


def _covering_modules(live: LiveState, missing: set[str]) -> list[str]:
    """The shortest module paths all of whose parameters are missing, so that a left-out
    backbone reads `v` and an unfrozen last block `v.blocks.11`, not 150 parameter names."""
    under: dict[str, int] = {}
    left_out: dict[str, int] = {}
    for param in live.params:
        for path in _ancestors(param.name):
            under[path] = under.get(path, 0) + 1
            if param.name in missing:
                left_out[path] = left_out.get(path, 0) + 1
    found: dict[str, None] = {}
    for param in live.params:
        if param.name in missing:
            path = next(a for a in _ancestors(param.name) if left_out.get(a) == under[a])
            found.setdefault(path, None)
    return list(found)


def _ancestors(name: str) -> list[str]:
    """`v.blocks.0.norm1.weight` -> [v, v.blocks, v.blocks.0, v.blocks.0.norm1, the name]."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def frozen_in_optimizer(live: LiveState) -> Iterator[LiveFinding]:
    """FZL201 (information): frozen parameters in a param group. Not repeated when FZL103
    already says that everything the optimizer holds is frozen."""
    if not live.has_optimizer or not any(p.requires_grad for p in live.optimizer_params):
        return
    frozen = [p.name for p in live.params if not p.trainable and p.held]
    if frozen:
        yield LiveFinding("FZL201",
                      f"the optimizer holds {plural(len(frozen), 'frozen parameter')} "
                      f"({examples(frozen, 2)}); harmless while they get no gradient, but "
                      f"passing only trainable ones keeps its state and param groups honest",
                      names=tuple(frozen))


def stale_gradients(live: LiveState) -> Iterator[LiveFinding]:
    """FZL201 variant: frozen parameters that still hold a `.grad` from before the freeze.

    Optimizers skip a parameter only when its `.grad` is None, not when it is frozen: if the
    optimizer holds it, `step()` keeps moving a "frozen" weight (the stale gradient, or a
    zeroed one plus momentum, weight decay or Adam's moments). That is a real failure, so
    this variant is a warning; outside the optimizer it only holds memory (information)."""
    updated = [p.name for p in live.params if not p.trainable and p.has_grad and p.held]
    idle = [p.name for p in live.params if not p.trainable and p.has_grad and not p.held]
    if updated:
        yield LiveFinding("FZL201",
                      f"{plural(len(updated), 'frozen parameter')} still "
                      f"{'holds' if len(updated) == 1 else 'hold'} a `.grad` from before the "
                      f"freeze ({examples(updated, 2)}) and the optimizer holds "
                      f"{'it' if len(updated) == 1 else 'them'}: `step()` skips only "
                      f"parameters whose `.grad` is None, so it keeps updating them (stale "
                      f"gradient, momentum, weight decay); call "
                      f"`optimizer.zero_grad(set_to_none=True)` after freezing",
                      severity=Severity.WARNING, names=tuple(updated))
    if idle:
        yield LiveFinding("FZL201",
                      f"{plural(len(idle), 'frozen parameter')} still "
                      f"{'holds' if len(idle) == 1 else 'hold'} a `.grad` from before the "
                      f"freeze ({examples(idle, 2)}): memory kept for nothing; set "
                      f"`param.grad = None` when freezing", names=tuple(idle))


def stale_optimizer_state(live: LiveState) -> Iterator[LiveFinding]:
    """FZL201 variant: optimizer state (momentum, Adam moments) kept for frozen parameters
    whose `.grad` is None (with a `.grad`, `stale_gradients` already reports them)."""
    if not live.has_optimizer:
        return
    frozen = {id(p.tensor): p.name for p in live.params
              if not p.trainable and not p.has_grad and p.held}
    if not frozen:
        return
    names: list[str] = []
    kinds: dict[str, None] = {}
    for opt in live.optimizers:
        for param, state in opt.state.items():
            name = frozen.get(id(param))
            if name is None or not isinstance(state, Mapping):
                continue
            held = [k for k, v in state.items() if v is not None and k != "step"]
            if held:
                names.append(name)
                kinds.update(dict.fromkeys(held))
    if names:
        yield LiveFinding("FZL201",
                      f"the optimizer keeps state ({examples(list(kinds), 3)}) for "
                      f"{plural(len(names), 'frozen parameter')} ({examples(names, 2)}): if "
                      f"they are unfrozen later, the moments from before the freeze drive "
                      f"their first updates; drop it (`optimizer.state.pop(param, None)`) or "
                      f"build a new optimizer", names=tuple(names))


def optimizer_stale(live: LiveState) -> Iterator[LiveFinding]:
    """FZL202: param groups holding tensors that are not parameters of the model, the trace
    of a module replaced after the optimizer was built."""
    orphans = [p for p in live.optimizer_params if id(p) not in live.name_of]
    if not orphans:
        return
    shapes = examples([_shape(p) for p in orphans], 2)
    successors = [p.name for p in live.params if p.trainable and not p.held]
    if successors:
        message = (f"the optimizer holds {plural(len(orphans), 'parameter')} that "
                   f"{'is' if len(orphans) == 1 else 'are'} no longer in `{live.label}` "
                   f"({shapes}) and misses {len(successors)} trainable "
                   f"{'one that is' if len(successors) == 1 else 'ones that are'} "
                   f"({examples(successors, 2)}): a module was replaced after the optimizer "
                   f"was built, so `step()` updates the old tensors and the new ones are "
                   f"never trained; build the optimizer after changing the model")
    else:
        message = (f"the optimizer holds {plural(len(orphans), 'parameter')} that "
                   f"{'is' if len(orphans) == 1 else 'are'} not in `{live.label}` ({shapes}): "
                   f"a module replaced after the optimizer was built leaves its old tensors "
                   f"there, and they are what `step()` updates; build the optimizer after "
                   f"changing the model (or pass every module it trains to `audit()`)")
    yield LiveFinding("FZL202", message, names=tuple(successors))


def frozen_batchnorm_train_mode(live: LiveState) -> Iterator[LiveFinding]:
    """FZL108: BatchNorm layers whose parameters are all frozen but that are in training
    mode, so their running statistics still move. Only run when asked (`frozen_bn="eval"`):
    the official transfer-learning tutorial freezes a backbone and leaves BN in train mode."""
    layers = []
    for path, module in live.modules:
        if not (isinstance(module, _BatchNorm) and module.training
                and module.track_running_stats):
            continue
        own = [p for p in (module.weight, module.bias) if p is not None]
        if own and not any(p.requires_grad for p in own):
            layers.append(path or "(the model itself)")
    if layers:
        one = len(layers) == 1
        yield LiveFinding("FZL108",
                      f"{plural(len(layers), 'BatchNorm layer')} with frozen parameters "
                      f"{'is' if one else 'are'} in training mode ({examples(layers, 3)}): "
                      f"{'it updates its' if one else 'they update their'} running mean and "
                      f"variance from each fine-tuning batch and the pretrained statistics "
                      f"drift; put {'it' if one else 'them'} in eval mode after every "
                      f"`model.train()`", names=tuple(layers))


# -- checkpoints -------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointKeys:
    """A checkpoint reduced to what the checks need. `shapes` is None for a
    `load_state_dict` result, which has keys only; `loaded` says the load already happened
    (with strict=False, since strict loading raises instead of returning a mismatch)."""

    what: str  # how messages name it
    keys: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]] | None
    missing: tuple[str, ...] = ()
    loaded: bool = False


def checkpoint_keys(checkpoint: Any) -> CheckpointKeys:
    """A path (read with freezelint's reader: headers only, no unpickling of code), a state
    dict (or a dict holding one, as Lightning saves), or the `_IncompatibleKeys` result."""
    if isinstance(checkpoint, (str, os.PathLike)):
        from freezelint.models.checkpoint import read_checkpoint

        manifest = read_checkpoint(checkpoint)
        return CheckpointKeys(f"`{Path(checkpoint).name}`",
                              tuple(t.name for t in manifest.parameters),
                              {t.name: t.shape for t in manifest.parameters})
    if hasattr(checkpoint, "missing_keys") and hasattr(checkpoint, "unexpected_keys"):
        return CheckpointKeys("the state dict", tuple(checkpoint.unexpected_keys), None,
                              missing=tuple(checkpoint.missing_keys), loaded=True)
    if isinstance(checkpoint, Mapping):
        tensors = _largest_state_dict(checkpoint)
        return CheckpointKeys("this state dict", tuple(tensors),
                              {k: tuple(v.shape) for k, v in tensors.items()})
    raise TypeError(f"checkpoint must be a path, a state dict or the result of "
                    f"load_state_dict, got {type(checkpoint).__name__}")


def _largest_state_dict(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """The mapping's own tensors, or the largest mapping of tensors one level down
    (`{"state_dict": ..., "epoch": 3}`), as `read_checkpoint` does for files."""
    candidates = [mapping, *(v for v in mapping.values() if isinstance(v, Mapping))]
    best: dict[str, Any] = {}
    for candidate in candidates:
        tensors = {k: v for k, v in candidate.items()
                   if isinstance(k, str) and hasattr(v, "shape")}
        if len(tensors) > len(best):
            best = tensors
    return best


def checkpoint_mismatch(live: LiveState, checkpoint: CheckpointKeys) -> Iterator[LiveFinding]:
    """FZL301 (a wrapper prefix on one side only) and FZL306 (shapes that differ at the same
    key, after lining up the prefix so that both problems are reported at once)."""
    state = live.model.state_dict(keep_vars=True)
    model_shapes: dict[str, tuple[int, ...] | None] = {
        k: None if is_lazy(v) else tuple(v.shape) for k, v in state.items()}
    if checkpoint.loaded:
        yield from _incompatible_prefix(live, checkpoint, set(model_shapes))
        return
    keys = checkpoint.keys
    model_keys = set(model_shapes)
    rename: dict[str, str] = {k: k for k in keys}
    consequence = "strict loading fails on every key, and with `strict=False` nothing loads"
    prefix = _extra_prefix(keys, model_keys)
    if prefix is not None:
        hits = [k for k in keys if k.startswith(prefix)]
        rename = {k: k.removeprefix(prefix) for k in keys}
        yield LiveFinding("FZL301",
                      f"{len(hits)} of the {len(keys)} keys of {checkpoint.what} carry "
                      f"`{prefix}` ({examples(hits, 2)}; saved from a wrapped model) and "
                      f"`{live.label}`'s keys do not: {consequence}; strip it with "
                      f"`k.removeprefix('{prefix}')`", names=tuple(hits))
    else:
        prefix = _extra_prefix(model_keys, set(keys))
        if prefix is not None:
            rename = {k: prefix + k for k in keys}
            yield _wrapped_model(live, prefix, checkpoint.what, consequence)
    assert checkpoint.shapes is not None
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    for key, saved in checkpoint.shapes.items():
        expected = model_shapes.get(rename[key])
        if expected is not None and tuple(saved) != expected:
            mismatched.append((rename[key], tuple(saved), expected))
    if mismatched:
        first, saved, expected = mismatched[0]
        also = [k for k, _, _ in mismatched[1:]]
        yield LiveFinding("FZL306",
                      f"size mismatch for {plural(len(mismatched), 'key')}: `{first}` is "
                      f"{list(saved)} in {checkpoint.what} but {list(expected)} in "
                      f"`{live.label}`" + (f" (also {examples(also, 2)})" if also else "")
                      + "; `load_state_dict` raises even with `strict=False`: drop those "
                        "keys before loading", names=tuple(k for k, _, _ in mismatched))


def _incompatible_prefix(live: LiveState, checkpoint: CheckpointKeys,
                         model_keys: set[str]) -> Iterator[LiveFinding]:
    """The `_IncompatibleKeys` of a `strict=False` load: the unexpected keys are the state
    dict's keys that found no home, the missing ones the model's keys that got nothing."""
    unexpected, missing = checkpoint.keys, set(checkpoint.missing)
    consequence = (f"with `strict=False` they were skipped, and "
                   f"{len(missing)} of the {len(model_keys)} keys of `{live.label}` did not "
                   f"load")
    prefix = _extra_prefix(unexpected, missing)
    if prefix is not None:
        hits = [k for k in unexpected if k.startswith(prefix)]
        yield LiveFinding("FZL301",
                      f"{len(hits)} of the keys of {checkpoint.what} carry `{prefix}` "
                      f"({examples(hits, 2)}; saved from a wrapped model) and "
                      f"`{live.label}`'s keys do not: {consequence}; strip it with "
                      f"`k.removeprefix('{prefix}')`", names=tuple(hits))
        return
    prefix = _extra_prefix(sorted(missing), set(unexpected))
    if prefix is not None:
        yield _wrapped_model(live, prefix, checkpoint.what, consequence)


def _extra_prefix(keys: Iterable[str], other: set[str]) -> str | None:
    """The wrapper prefix all of `keys` carry and `other` lacks: stripping it must make more
    keys meet than before (a model may really own a child called `model` or `encoder`)."""
    from freezelint.models.checkpoint import common_prefix

    names = list(keys)
    prefix = common_prefix(names)
    if prefix is None or common_prefix(other) == prefix:
        return None
    before = sum(k in other for k in names)
    after = sum(k.removeprefix(prefix) in other for k in names)
    return prefix if after > before else None


def _wrapped_model(live: LiveState, prefix: str, what: str, consequence: str) -> LiveFinding:
    inner = "model." + prefix.rstrip(".")
    hits = [p.name for p in live.params if p.name.startswith(prefix)]
    return LiveFinding("FZL301",
                   f"`{live.label}` is wrapped: its keys start with `{prefix}` "
                   f"({examples(hits, 2)}) but the keys of {what} do not: {consequence}; load "
                   f"into the unwrapped model (`{inner}.load_state_dict(...)`)",
                   names=tuple(hits))


# -- wording helpers (as in freezelint/checks/base.py) --------------------------------------


def examples(names: list[str], limit: int = 3) -> str:
    """`a`, `b`, `c` and 12 more: a message names a few real parameters, never 159."""
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    rest = len(names) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _shape(tensor: Tensor) -> str:
    if is_lazy(tensor):
        return "uninitialized"
    return "[" + ", ".join(str(s) for s in tensor.shape) + "]"

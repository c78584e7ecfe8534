"""State dicts in the interpreter: what `torch.load`, `model.state_dict()`, `pop`, `update`,
comprehensions and `load_state_dict` do to key sets.

Keys are real strings, so `k[7:]`, `k.replace(...)` and `k in model_dict` are simply
evaluated. A checkpoint's keys come from its header (a literal path that exists, or
`--checkpoint`), from a save of a wrapped model in the same script, or from the code itself:
`sd.pop('module.mlp_head.1.weight')` on an AST model says the checkpoint holds AST's keys
behind `module.`. Without any of these the keys are unknown and nothing is claimed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import facts as F
from freezelint.analysis.values import (
    UNKNOWN,
    LitStr,
    ModelState,
    ModuleObj,
    Qualified,
    StateDict,
    TensorVal,
)
from freezelint.common.torch_api import (
    CHECKPOINT_SUFFIXES,
    MEMORY_WRAPPER_PREFIXES,
    STACKED_PREFIXES,
)
from freezelint.models.manifest import Manifest
from freezelint.models.public_checkpoints import (
    PublicCheckpoint,
    by_file_name,
    torchvision_weights,
)

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator


def from_manifest(manifest: Manifest, node: cst.CSTNode | None, origin: str,
                  strip: str = "") -> StateDict:
    items = {t.name: TensorVal(t.known_shape) for t in manifest.state_dict_tensors()}
    return StateDict(items, origin=origin, node=node, label=manifest.name)


def load(interp: Evaluator, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
    """`torch.load(path)`: the checkpoint's keys when the analysis can know them."""
    path = kwargs.get("f", args[0] if args else None)
    if isinstance(path, str) and path in interp.saved:
        saved = interp.saved[path]
        state = StateDict(dict(saved), origin="checkpoint", node=node, label=str(path))
        interp.facts.checkpoints.append((node, state))
        return state
    manifest = _read(interp, path) if isinstance(path, str) else None
    if manifest is None and interp.checkpoint is None:
        public = _public(path)
        if public is not None:
            return public_weights(interp, public, node)
    if manifest is None and interp.checkpoint is not None:
        manifest = interp.checkpoint
    if manifest is None:
        return StateDict(origin="loaded", node=node, known=False)
    state = from_manifest(manifest, node, "checkpoint")
    interp.facts.checkpoints.append((node, state))
    container = manifest.meta.get("container_key")
    return {LitStr(container, node): state} if isinstance(container, str) else state


def _public(path: Any) -> PublicCheckpoint | None:
    """A released checkpoint the code names: an AST release's file name that is not on disk
    (a file on disk is read instead), a torchvision weight enum's `.url`."""
    if isinstance(path, str):
        return by_file_name(path)
    if isinstance(path, Qualified) and path.last == "url":
        return torchvision_weights(path.name.rpartition(".")[0])
    return None


def public_weights(interp: Evaluator, public: PublicCheckpoint | Qualified | None,
                   node: cst.Call) -> Any:
    """The keys of a known public checkpoint (`ResNet50_Weights.DEFAULT.get_state_dict()`)."""
    if isinstance(public, Qualified):
        public = torchvision_weights(public.name)
    if public is None:
        return UNKNOWN
    items = {public.prefix + t.name: TensorVal(t.known_shape)
             for t in public.manifest.state_dict_tensors()}
    # Judged where it is loaded or merged (FZL301 at the load, FZL305, FZL306), not at the
    # line that names it: a release known by name is not a file the user has looked into.
    return StateDict(items, origin="checkpoint", node=node, label=public.label)


def _read(interp: Evaluator, path: str) -> Manifest | None:
    if not path.endswith(CHECKPOINT_SUFFIXES):
        return None
    file = Path(path)
    if not file.is_absolute() and interp.base_dir is not None:
        file = interp.base_dir / file
    interp.facts.files_read.append(file)  # its appearing later changes the result too
    if not file.is_file():
        return None
    from freezelint.models.checkpoint import CheckpointError, read_checkpoint

    try:
        return read_checkpoint(file)
    except CheckpointError:
        return None


def save(interp: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> None:
    """`torch.save(model.state_dict(), 'x.pth')`: a later `torch.load('x.pth')` gets these keys."""
    obj = kwargs.get("obj", args[0] if args else None)
    path = kwargs.get("f", args[1] if len(args) > 1 else None)
    if isinstance(obj, StateDict) and obj.known and isinstance(path, str):
        interp.saved[str(path)] = obj


def of_module(module: ModuleObj, node: cst.CSTNode) -> StateDict:
    """`module.state_dict()`: keys relative to the module, behind any wrapper prefix."""
    manifest = module.model.manifest
    base = module.path + "." if module.path else ""
    items = {module.prefix + t.name[len(base):]: TensorVal(t.known_shape)
             for t in manifest.state_dict_tensors() if t.name.startswith(base)}
    return StateDict(items, origin="model", node=node, model=module.model,
                     label=module.model.label)


def load_into(interp: Evaluator, module: ModuleObj, args: list[Any], kwargs: dict[str, Any],
              node: cst.Call) -> Any:
    source = kwargs.get("state_dict", args[0] if args else None)
    strict = kwargs.get("strict", args[1] if len(args) > 1 else True)
    expected = {k: v.shape for k, v in of_module(module, node).items() if v.shape is not None}
    if isinstance(source, StateDict):
        source.root.reached_model = True
    statement = interp.statement
    discarded = isinstance(statement, cst.Expr) and statement.value is node
    interp.facts.loads.setdefault(node, F.Load(
        node, module.model, expected,
        source if isinstance(source, StateDict) and source.known else None,
        strict if isinstance(strict, bool) else None, discarded, statement))
    return UNKNOWN


def lookup(interp: Evaluator, state: StateDict, key: Any, node: cst.CSTNode) -> bool | None:
    """Record a literal key looked up in a state dict; True/False when known."""
    if not isinstance(key, LitStr):
        return None
    if not state.known:
        infer(interp, state, key)
    if not state.known:
        return None
    found = str(key) in state
    interp.facts.key_lookups.setdefault(key.node, F.KeyLookup(key.node, str(key), state, found))
    return found


def infer(interp: Evaluator, state: StateDict, key: str) -> None:
    """Learn an unknown checkpoint's keys from one literal key the code names: if it is a
    real key of a model in the script behind a wrapper prefix (or none), the checkpoint is
    that model's state dict behind that prefix."""
    for model in _models(interp):
        names = model.manifest.state_dict_keys
        known = set(names)
        for prefix in ("", *STACKED_PREFIXES):
            if key.startswith(prefix) and key[len(prefix):] in known:
                state.update({prefix + n: TensorVal(None) for n in names})
                state.known = True
                # a wrapper's prefix is on every key it saved; a plain key, or one under a
                # holder's name (`encoder.`, `model.`: real module names too), may be shared
                # by chance (checks/checkpoints.py judges no absence on those)
                state.origin = "inferred" if _wrappers_only(prefix) else "one key"
                state.model = model
                state.label = f"checkpoint of {model.label}"
                return


def _wrappers_only(prefix: str) -> bool:
    """Whether `prefix` is made of what wrappers add in memory alone (`module.`,
    `_orig_mod.module.`), names no module of a model takes."""
    parts = prefix.split(".")[:-1]
    return bool(parts) and all(f"{part}." in MEMORY_WRAPPER_PREFIXES for part in parts)


def _models(interp: Evaluator) -> list[ModelState]:
    models = list(interp.facts.models)
    if interp.primary in models:
        models.remove(interp.primary)
        models.insert(0, interp.primary)
    return models


def method(interp: Evaluator, state: StateDict, name: str, args: list[Any],
           kwargs: dict[str, Any], node: cst.Call) -> Any:
    """Methods of a state dict the analysis follows; others make it unknown."""
    if name in {"pop", "get", "__getitem__"} and args:
        found = lookup(interp, state, args[0], node)
        if found and name == "pop":
            return state.pop(str(args[0]))
        if found:
            return state[str(args[0])]
        return args[1] if len(args) > 1 else UNKNOWN
    if name in {"items", "keys", "values"}:
        if not state.known:
            return UNKNOWN
        return _View(list(getattr(state, name)()), state)
    if name == "update" and args:
        return _update(interp, state, args[0], node)
    if name == "copy":
        return StateDict(dict(state), origin=state.origin, node=state.node, model=state.model,
                         known=state.known, label=state.label)
    if name == "clear":
        state.clear()
        return None
    state.known = False
    return UNKNOWN


def _update(interp: Evaluator, target: StateDict, source: Any, node: cst.Call) -> None:
    if not isinstance(source, StateDict) or not source.known or not target.known:
        target.known = False
        return None
    source.root.reached_model = True
    added = [k for k in source if k not in target]
    overwritten = [k for k in source if k in target]
    interp.facts.merges.setdefault(node, F.Merge(node, target, source, added, overwritten,
                                                 len(target)))
    target.update(source)
    return None


def store(state: StateDict, key: Any, value: Any) -> None:
    """`sd[key] = value`: the key is the state dict's, with the value's shape when it is a
    tensor of known shape (`other['fc.weight']`), of unknown shape otherwise
    (`torch.tensor(...)`). A key the analysis cannot read makes every key unknown."""
    if not isinstance(key, str):
        state.known = False
        return
    state[str(key)] = value if isinstance(value, TensorVal) else TensorVal(None)


def delete(interp: Evaluator, state: StateDict, key: Any, node: cst.CSTNode) -> None:
    if lookup(interp, state, key, node):
        del state[str(key)]


def comprehension(pairs: list[tuple[Any, Any]] | None, source: Any, node: cst.DictComp,
                  interp: Evaluator) -> Any:
    """`{k: v for k, v in sd.items() if ...}` over a known state dict is a state dict."""
    if pairs is None:
        return UNKNOWN
    if not isinstance(source, _View):
        try:
            return dict(pairs)
        except TypeError:
            return UNKNOWN
    if not all(isinstance(k, str) and isinstance(v, TensorVal) for k, v in pairs):
        return UNKNOWN
    result = StateDict({str(k): v for k, v in pairs}, origin="derived", node=node,
                       model=source.state.model, label=source.state.label)
    result.root = source.state.root
    renamed = sum(1 for k, _ in pairs if k not in source.state)
    if pairs and renamed >= len(pairs) / 2:
        result.root.stripped = True
    if not pairs and source.state:
        interp.facts.empty_filters.setdefault(node, F.EmptyFilter(node, source.state))
    return result


class _View(list):  # type: ignore[type-arg]
    """`sd.items()` of a known state dict: remembers where it came from."""

    def __init__(self, items: list[Any], state: StateDict) -> None:
        super().__init__(items)
        self.state = state

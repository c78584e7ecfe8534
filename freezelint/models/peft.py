"""PEFT wrapping as data: the names `get_peft_model(model, LoraConfig(...))` gives a model,
and which of its parameters PEFT leaves trainable, computed from the base model's Manifest.

After wrapping, every name gains `base_model.model.`; each targeted layer becomes a LoRA
layer holding the original as `base_layer` plus `lora_A.<adapter>` / `lora_B.<adapter>`
(Embedding: `lora_embedding_A/B.<adapter>` parameters); each `modules_to_save` module
becomes a wrapper holding the frozen `original_module` and a trainable copy under
`modules_to_save.<adapter>`. PEFT then freezes everything except the adapter's parameters
(and the biases its `bias` option names). A script that freezes or unfreezes by the base
model's names after wrapping matches nothing: this module is what lets the linter say so.

Pure and torch-free. What PEFT does is checked against live PEFT by tests where it is
installed; anything this module does not model exactly (an unsupported target layer type,
DoRA, `layers_to_transform`) raises PeftUnsupported, and the caller treats the wrapped
model as unknown.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo

PREFIX = "base_model.model."
_DATA = Path(__file__).parent / "zoo" / "peft.json.gz"

# Layer types LoRA wraps as `lora.Linear` (torch Linear and its subclasses, transformers' Conv1D).
_LINEAR = frozenset({"Linear", "NonDynamicallyQuantizableLinear"})
_CONV1D = frozenset({"Conv1D"})
_EMBEDDING = frozenset({"Embedding"})
# PeftModel class per task type.
_ROOTS = {
    None: "PeftModel", "SEQ_CLS": "PeftModelForSequenceClassification",
    "CAUSAL_LM": "PeftModelForCausalLM", "SEQ_2_SEQ_LM": "PeftModelForSeq2SeqLM",
    "TOKEN_CLS": "PeftModelForTokenClassification",
    "QUESTION_ANS": "PeftModelForQuestionAnswering",
    "FEATURE_EXTRACTION": "PeftModelForFeatureExtraction",
}
# Heads PEFT adds to modules_to_save by itself, per task type.
_TASK_HEADS = {"SEQ_CLS": ("classifier", "score"), "TOKEN_CLS": ("classifier", "score"),
               "QUESTION_ANS": ("qa_outputs",)}


def task_heads(task_type: str | None) -> tuple[str, ...]:
    """The modules_to_save entries PEFT adds by itself for a task type."""
    return _TASK_HEADS.get(task_type or "", ())


class PeftUnsupported(ValueError):
    """A configuration whose effect this module does not reproduce exactly."""


@dataclass(frozen=True)
class LoraSpec:
    """The LoraConfig fields that decide names and trainability."""

    r: int = 8
    target_modules: tuple[str, ...] | str | None = None
    modules_to_save: tuple[str, ...] = ()
    bias: str = "none"
    lora_dropout: float = 0.0
    task_type: str | None = None
    adapter: str = "default"
    use_dora: bool = False


@dataclass(frozen=True)
class Wrapped:
    """The wrapped model's manifest and the names PEFT leaves trainable."""

    manifest: Manifest
    trainable: frozenset[str] = field(default_factory=frozenset)


@cache
def _defaults() -> dict[str, Any]:
    """PEFT's default target modules per transformers model type (from the PEFT release
    named in the file)."""
    with gzip.open(_DATA, "rt", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def default_targets(model_type: str | None) -> list[str] | None:
    if model_type is None:
        return None
    targets = _defaults()["lora"].get(model_type)
    return list(targets) if targets is not None else None


class _Tree:
    """A manifest as a module tree (own tensors and children per module path)."""

    def __init__(self, manifest: Manifest) -> None:
        self.infos = {m.path: m for m in manifest.modules}
        self.children: dict[str, list[str]] = {m.path: [] for m in manifest.modules}
        for info in manifest.modules[1:]:
            self.children[info.path.rpartition(".")[0]].append(info.path)
        self.params: dict[str, list[TensorInfo]] = {p: [] for p in self.children}
        self.buffers: dict[str, list[TensorInfo]] = {p: [] for p in self.children}
        for tensor in manifest.parameters:
            self.params[tensor.module].append(tensor)
        for tensor in manifest.buffers:
            self.buffers[tensor.module].append(tensor)


class _Out:
    def __init__(self) -> None:
        self.params: list[TensorInfo] = []
        self.buffers: list[TensorInfo] = []
        self.modules: list[ModuleInfo] = []
        self.trainable: set[str] = set()

    def module(self, path: str, kind: str, attrs: dict[str, int] | None = None) -> None:
        self.modules.append(ModuleInfo(path, kind, dict(attrs or {})))

    def param(self, name: str, shape: Iterable[int], dtype: str = "float32",
              trainable: bool = False) -> None:
        self.params.append(TensorInfo(name, tuple(shape), dtype))
        if trainable:
            self.trainable.add(name)


def _join(prefix: str, local: str) -> str:
    if not local:
        return prefix
    return f"{prefix}.{local}" if prefix else local


def is_target(path: str, entry: str) -> bool:
    """PEFT's test for one `target_modules` list entry: the module name, or its last dotted
    part(s). (The one place it is written: the static rules, the wrapping and the live
    checks all ask here.)"""
    return path == entry or path.endswith("." + entry)


def is_saved(path: str, entry: str) -> bool:
    """PEFT's `modules_to_save` test: the name ends with the entry, at a dot or not
    (`"fier"` saves `classifier`, as live PEFT 0.21 does)."""
    return path.endswith(entry)


def _matches(path: str, entries: tuple[str, ...] | str) -> bool:
    """PEFT's target test: a regular expression must match the whole name; a list entry
    must be the name or its last dotted part(s)."""
    if isinstance(entries, str):
        return re.fullmatch(entries, path) is not None
    return any(is_target(path, t) for t in entries)


def _saved(path: str, names: tuple[str, ...]) -> bool:
    return any(is_saved(path, n) for n in names)


def _excluded(path: str, names: tuple[str, ...]) -> bool:
    """PEFT's test that keeps adapters off saved modules (`check_target_module_exists`,
    peft 0.21.2): each entry is used as a regular expression, unescaped, between dots. It
    differs from the plain suffix test that wraps them (`_saved`): `"fier"` saves
    `classifier` but does not keep an adapter off `classifier.dense`."""
    try:
        return any(re.match(rf"(^|.*\.){n}($|\..*)", path) for n in names)
    except re.error as error:
        raise PeftUnsupported(f"modules_to_save entry is no regular expression: {error}") \
            from error


def _check_saved(tree: _Tree, targets: tuple[str, ...] | str, saved: tuple[str, ...]) -> None:
    """PEFT adapts the targets first, then wraps the saved modules: a saved module that got
    an adapter (PEFT raises TypeError on an adapted layer, and saves an adapted submodule's
    LoRA inside the copy) or a saved module inside another is not modelled here."""
    if not saved:
        return
    paths = [p for p in tree.infos if p]
    for path in paths:
        if not _saved(path, saved):
            continue
        for inner in paths:
            if inner != path and not inner.startswith(path + "."):
                continue
            if _matches(inner, targets) and not _excluded(inner, saved):
                raise PeftUnsupported(f"`{inner}` is both adapted and saved whole")
            if inner != path and _saved(inner, saved):
                raise PeftUnsupported(f"`{inner}` is saved inside saved `{path}`")


def apply_lora(manifest: Manifest, spec: LoraSpec, model_type: str | None = None) -> Wrapped:
    """The manifest `get_peft_model(model, LoraConfig(...))` gives, and its trainable names."""
    if spec.use_dora:
        raise PeftUnsupported("DoRA is not modelled")
    if spec.bias not in {"none", "all", "lora_only"}:
        raise PeftUnsupported(f"bias={spec.bias!r}")
    if not manifest.modules:
        raise PeftUnsupported("the base model's module tree is not known")
    if not manifest.sized:  # LoRA's A and B take their sizes from the layers they wrap
        raise PeftUnsupported("the base model's shapes are not all known")
    targets = spec.target_modules
    if targets is None:
        default = default_targets(model_type)
        if default is None:
            raise PeftUnsupported("no target_modules and no PEFT default for this model")
        targets = tuple(default)
    saved = tuple(spec.modules_to_save) + _TASK_HEADS.get(spec.task_type or "", ())
    if spec.task_type not in _ROOTS:
        raise PeftUnsupported(f"task_type={spec.task_type!r}")
    tree = _Tree(manifest)
    _check_saved(tree, targets, saved)
    out = _Out()
    out.module("", _ROOTS[spec.task_type])
    out.module("base_model", "LoraModel")
    hits = 0

    def copy(path: str, new: str, trainable: bool) -> None:
        info = tree.infos[path]
        out.module(new, info.type, info.attrs)
        for tensor in tree.params[path]:
            out.param(_join(new, tensor.name.rpartition(".")[2]), tensor.shape, tensor.dtype,
                      trainable)
        for tensor in tree.buffers[path]:
            out.buffers.append(TensorInfo(_join(new, tensor.name.rpartition(".")[2]),
                                          tensor.shape, tensor.dtype, tensor.persistent))
        for child in tree.children[path]:
            copy(child, _join(new, child.rpartition(".")[2]), trainable)

    def walk(path: str) -> None:
        nonlocal hits
        new = _join("base_model.model", path)
        info = tree.infos[path]
        if path and _saved(path, saved):
            out.module(new, "ModulesToSaveWrapper", info.attrs)
            copy(path, f"{new}.original_module", False)
            out.module(f"{new}.modules_to_save", "ModuleDict")
            copy(path, f"{new}.modules_to_save.{spec.adapter}", True)
            return
        if path and _matches(path, targets):
            _lora_layer(tree, path, new, spec, out)
            hits += 1
            return
        copy_own(path, new, info)
        for child in tree.children[path]:
            walk(child)

    def copy_own(path: str, new: str, info: ModuleInfo) -> None:
        out.module(new, info.type, info.attrs)
        for tensor in tree.params[path]:
            out.param(_join(new, tensor.name.rpartition(".")[2]), tensor.shape, tensor.dtype)
        for tensor in tree.buffers[path]:
            out.buffers.append(TensorInfo(_join(new, tensor.name.rpartition(".")[2]),
                                          tensor.shape, tensor.dtype, tensor.persistent))

    walk("")
    if hits == 0:
        raise PeftUnsupported("no module matches target_modules (PEFT raises ValueError)")
    trainable = set(out.trainable)
    if spec.bias == "all":
        trainable.update(p.name for p in out.params if p.name.endswith(".bias"))
    wrapped = Manifest(name=f"peft({manifest.name})", parameters=tuple(out.params),
                       buffers=tuple(out.buffers), modules=tuple(out.modules),
                       source=manifest.source,
                       meta={**manifest.meta, "peft": "lora", "head": _head(manifest, saved)})
    return Wrapped(wrapped, frozenset(trainable))


def _head(manifest: Manifest, saved: tuple[str, ...]) -> str | None:
    head = manifest.head
    if head is None:
        return None
    if _saved(head, saved):
        return f"{PREFIX}{head}.modules_to_save.default"
    return PREFIX + head


def _lora_layer(tree: _Tree, path: str, new: str, spec: LoraSpec, out: _Out) -> None:
    """One targeted layer as PEFT's LoRA layer: the original as `base_layer`, then the
    adapter's dropout, A, B (and, for embeddings, the A/B parameter dicts)."""
    info = tree.infos[path]
    own = {t.name.rpartition(".")[2]: t for t in tree.params[path]}
    if tree.children[path] or tree.buffers[path]:
        raise PeftUnsupported(f"{path}: a {info.type} with submodules or buffers")
    weight = own.get("weight")
    if weight is None:
        raise PeftUnsupported(f"{path}: no weight")
    adapter, r = spec.adapter, spec.r
    if info.type in _LINEAR or info.type in _CONV1D:
        if info.type in _LINEAR:
            out_features, in_features = weight.shape
        else:  # transformers Conv1D stores (in, out)
            in_features, out_features = weight.shape
        kind = "Linear"
        attrs = {"in_features": in_features, "out_features": out_features}
    elif info.type in _EMBEDDING:
        num, dim = weight.shape
        kind = "Embedding"
        attrs = {"in_features": num, "out_features": dim}
    else:
        raise PeftUnsupported(f"{path}: LoRA on {info.type} is not modelled")
    out.module(new, kind, attrs)
    base = f"{new}.base_layer"
    out.module(base, info.type, info.attrs)
    for local, tensor in own.items():
        trainable = spec.bias == "lora_only" and local == "bias"
        out.param(f"{base}.{local}", tensor.shape, tensor.dtype, trainable)
    out.module(f"{new}.lora_dropout", "ModuleDict")
    out.module(f"{new}.lora_dropout.{adapter}", "Dropout" if spec.lora_dropout else "Identity")
    out.module(f"{new}.lora_A", "ModuleDict")
    if kind == "Embedding":
        out.module(f"{new}.lora_B", "ModuleDict")
        out.module(f"{new}.lora_embedding_A", "ParameterDict")
        out.param(f"{new}.lora_embedding_A.{adapter}", (r, num), trainable=True)
        out.module(f"{new}.lora_embedding_B", "ParameterDict")
        out.param(f"{new}.lora_embedding_B.{adapter}", (dim, r), trainable=True)
    else:
        out.module(f"{new}.lora_A.{adapter}", "Linear", {"in_features": in_features,
                                                         "out_features": r})
        out.param(f"{new}.lora_A.{adapter}.weight", (r, in_features), trainable=True)
        out.module(f"{new}.lora_B", "ModuleDict")
        out.module(f"{new}.lora_B.{adapter}", "Linear", {"in_features": r,
                                                         "out_features": out_features})
        out.param(f"{new}.lora_B.{adapter}.weight", (out_features, r), trainable=True)
        out.module(f"{new}.lora_embedding_A", "ParameterDict")
        out.module(f"{new}.lora_embedding_B", "ParameterDict")
    out.module(f"{new}.lora_magnitude_vector", "ModuleDict")

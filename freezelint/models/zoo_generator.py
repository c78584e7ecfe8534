"""Rebuild the shipped zoo from the real libraries, on the meta device (no weights, no
downloads).

    python -m freezelint.models.zoo_generator --work DIR [--libraries torchvision,timm,...]
    python -m freezelint.models.zoo_generator --work DIR --install   # shards -> package

Every torchvision builder in `list_models()`, every timm architecture in `timm.list_models()`,
every transformers class in the auto mappings (built from its config class's defaults) and
every Hugging Face id of `zoo_hf_ids.HF_IDS` (built from the class the auto mappings give,
with that checkpoint's configuration). Linting reads the result and never imports torch.

Each family is written as one *shard* (`<shard>.json.gz`, see `zoo_store`) as soon as it is
built, so a long run can stop and resume (`--work` keeps the finished shards) and a partial
zoo can ship. `--install` copies the shards into the package and writes `index.json.gz`.

What a keyword argument does is measured, not assumed: the model is built again with the
argument changed, and the difference is recorded as a *knob*:
- `num_classes` / `num_labels`: the tensor axes and module attributes that equal the class
  count (times a constant: a detection box predictor has 4 per class);
- `num_hidden_layers`: the repeated layer blocks whose count follows it;
- variants (`weights=...` of torchvision, `aux_logits`, `num_classes=0` of timm...): built and
  stored when their names or shapes differ; arguments that change nothing are accepted.
A model whose probe changes anything else gets no knob: the argument then makes it unknown.

Library versions are recorded in every shard. transformers 5.x renamed some internals in
memory while `save_pretrained` keeps the 4.x names; the 4.x names of the models shipped with
them before are carried over from the previous zoo (`aliases`).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib
import importlib.metadata
import json
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freezelint.models.ast_arch import ast_manifest
from freezelint.models.manifest import Manifest
from freezelint.models.zoo_store import NodeTable, decode, encode

ZOO_DIR = Path(__file__).parent / "zoo"
SHARD_FORMAT = "freezelint-zoo-shard/1"
INDEX_FORMAT = "freezelint-zoo-index/1"
LIBRARIES = ("freezelint", "torchvision", "timm", "transformers", "hf", "peft")
# Models per shard at most: loading one model reads its whole shard.
SHARD_SIZE = 24

AST_DESCRIPTION = ("Audio Spectrogram Transformer, AST paper reference code ASTModel "
                   "(base384 defaults; accepts ASTModel keyword arguments)")

# Descriptions and aliases the previous zoo had: kept so that messages stay the same.
_DESCRIPTIONS = {
    "transformers/BertModel":
        "transformers BertModel with BertConfig() defaults (bert-base-uncased)",
}


Builder = Callable[..., Any]


@dataclass
class Job:
    """One model to build: its id, how, and which arguments to probe."""

    id: str
    library: str
    constructor: str
    build: Builder  # build(**changes) -> module
    class_kwarg: str | None = None
    probe_layers: bool = False
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    head: Callable[[Any], str | None] | None = None
    aliases: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()  # arguments that never change names (checked by probe)
    extra: dict[str, Any] = field(default_factory=dict)
    # Variants recorded only where they differ from the default build (timm's
    # drop_path_rate=0 on an architecture whose own default is not 0: the zoo reads 0 as the
    # default otherwise). If one of them fails to build, its argument is left out entirely.
    listed_when_different: tuple[str, ...] = ()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _import(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except Exception as error:  # a broken install is reported, not fatal
        print(f"zoo: skipping {name}: cannot import it ({error})", file=sys.stderr)
        return None


def _meta_build(build: Builder, **changes: Any) -> Any:
    """Build on the meta device, with weight initialisation skipped: it fills values, never
    changes a name or a shape, and on the meta device it is most of the time (timm's
    trunc_normal_ goes through torch's decompositions: 20x slower than the rest)."""
    import torch

    try:
        with _no_init(), torch.device("meta"):
            return build(**changes)
    except NotImplementedError as error:
        if "meta tensor" not in str(error):
            raise
    # A constructor that reads tensor values while building (RegNet's width arithmetic):
    # build on the CPU, initialisation skipped (untouched memory is never resident).
    with _no_init():
        return build(**changes)


@contextlib.contextmanager
def _no_init() -> Iterator[None]:
    import torch

    targets: list[tuple[Any, str]] = [
        (torch.nn.init, n) for n in dir(torch.nn.init) if n.endswith("_") and not n.startswith("_")]
    try:
        import timm.layers.weight_init as timm_init

        targets.append((timm_init, "_trunc_normal_"))
    except ImportError:
        pass
    saved = [(owner, name, getattr(owner, name)) for owner, name in targets]
    for owner, name in targets:
        setattr(owner, name, lambda tensor, *a, **k: tensor)
    try:
        yield
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)


def _manifest(module: Any, name: str) -> Manifest:
    from freezelint.models.introspect import manifest_from_module

    return manifest_from_module(module, name=name, source="zoo")


def _full(manifest: Manifest) -> tuple[Any, ...]:
    return (manifest.parameters, manifest.buffers,
            [(m.path, m.type, m.attrs) for m in manifest.modules])


# -- probes ------------------------------------------------------------------------------

def class_slots(base: Manifest, other: Manifest, v0: int, v1: int) -> dict[str, Any] | None:
    """Where the class count shows, from two builds with `v0` and `v1` classes: tensor axes
    and module attributes equal to k*count. None if anything else differs."""
    if ([p.name for p in base.parameters] != [p.name for p in other.parameters]
            or [b.name for b in base.buffers] != [b.name for b in other.buffers]
            or [(m.path, m.type) for m in base.modules] != [(m.path, m.type) for m in other.modules]):
        return None
    tensors: list[list[Any]] = []
    for kind, old_group, new_group in (("p", base.parameters, other.parameters),
                                       ("b", base.buffers, other.buffers)):
        for old, new in zip(old_group, new_group, strict=True):
            if old.dtype != new.dtype or len(old.shape) != len(new.shape):
                return None
            for axis, (a, b) in enumerate(zip(old.shape, new.shape, strict=True)):
                if a == b:
                    continue
                factor = _factor(a, b, v0, v1)
                if factor is None:
                    return None
                tensors.append([kind, old.name, axis, factor])
    attrs: list[list[Any]] = []
    for old_m, new_m in zip(base.modules, other.modules, strict=True):
        if set(old_m.attrs) != set(new_m.attrs):
            return None
        for key, a in old_m.attrs.items():
            b = new_m.attrs[key]
            if a == b:
                continue
            factor = _factor(a, b, v0, v1)
            if factor is None:
                return None
            attrs.append([old_m.path, key, factor])
    return {"default": v0, "tensors": tensors, "attrs": attrs}


def _factor(a: int, b: int, v0: int, v1: int) -> int | None:
    if v0 <= 0 or a % v0 or b != a // v0 * v1:
        return None
    return a // v0


def layer_runs(base: Manifest, other: Manifest, v0: int) -> list[list[Any]] | None:
    """The repeats whose count follows the layer count, from builds with v0 and v0+1
    layers: [[parent path, first index, offset]] with count = layers - offset."""
    table = NodeTable()
    root0, root1 = encode(base, table), encode(other, table)
    if root0 is None or root1 is None:
        return None
    found: list[list[Any]] = []

    def same(r0: int, r1: int, path: str) -> bool:
        if r0 == r1:
            return True
        n0, n1 = table.nodes[r0], table.nodes[r1]
        if n0[:4] != n1[:4] or len(n0[4]) != len(n1[4]):
            return False
        prefix = f"{path}." if path else ""
        for c0, c1 in zip(n0[4], n1[4], strict=True):
            if len(c0) != len(c1) or c0[0] != c1[0]:
                return False
            if len(c0) == 2:
                if not same(c0[1], c1[1], prefix + c0[0]):
                    return False
                continue
            if c0[2] != c1[2]:
                return False
            if c0[1] != c1[1]:
                if c1[1] != c0[1] + 1:
                    return False
                found.append([path, c0[0], v0 - c0[1]])
        return True

    if not same(root0, root1, "") or not found:
        return None
    return found


# -- shards ------------------------------------------------------------------------------

class ShardWriter:
    """Collects the models of one shard and writes `<name>.json.gz`."""

    def __init__(self, name: str, versions: dict[str, str | None]) -> None:
        self.name = name
        self.table = NodeTable()
        self.models: dict[str, dict[str, Any]] = {}
        self.versions = versions

    def add(self, key: str, manifest: Manifest, info: dict[str, Any]) -> dict[str, Any] | None:
        root = encode(manifest, self.table)
        if root is None:
            print(f"zoo: {key}: cannot be stored as a tree", file=sys.stderr)
            return None
        back = decode(self.table.nodes, root, manifest.name, {})
        if _full(back) != _full(manifest):
            print(f"zoo: {key}: tree does not decode back equal; skipped", file=sys.stderr)
            return None
        entry = {"root": root, **info}
        if manifest.aliases:
            entry["aliases"] = [list(a) for a in manifest.aliases]
        self.models[key] = entry
        return entry

    def write(self, folder: Path) -> Path:
        doc = {"format": SHARD_FORMAT, "versions": self.versions, "nodes": self.table.nodes,
               "models": self.models}
        data = json.dumps(doc, separators=(",", ":")).encode()
        path = folder / f"{self.name}.json.gz"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        tmp.replace(path)
        return path


def run_job(job: Job, writer: ShardWriter) -> bool:
    """Build one job (and its probes and variants) into `writer`; False if it failed."""
    try:
        module = _meta_build(job.build)
        base = _manifest(module, job.id)
        head = job.head(module) if job.head else None
        info: dict[str, Any] = {"library": job.library, "constructor": job.constructor,
                                **job.extra}
        knobs: dict[str, Any] = {}
        accepted = list(job.accepted)
        if job.class_kwarg:
            slots = _class_knob(job, base, _class_count(module, job), {})
            if slots == "same":
                accepted.append(job.class_kwarg)  # BertModel(num_labels=3): no head
            elif slots is not None:
                knobs[job.class_kwarg] = slots
        if job.probe_layers:
            layers = _layer_count(module)
            if layers:
                with contextlib.suppress(Exception):
                    other = _manifest(_meta_build(job.build, num_hidden_layers=layers + 1),
                                      job.id)
                    runs = layer_runs(base, other, layers)
                    if _full(other) == _full(base):
                        accepted.append("num_hidden_layers")
                    elif runs is not None:
                        knobs["num_hidden_layers"] = {"default": layers, "runs": runs}
        tied = tied_pairs(module)
        if tied:
            info["tied"] = tied
        del module
        variants, failed = _build_variants(job, base, writer, job.variants)
        _drop_unsure(job, variants, failed, writer)
        heads = _heads(knobs.get(job.class_kwarg or ""))
        info.update({"head": head if head is not None else _main_head(heads),
                     "class_heads": heads, "class_kwarg": job.class_kwarg if heads else None,
                     "knobs": knobs, "variants": variants, "accepted": accepted,
                     "parameters": len(base.parameters), "numel": base.total_numel,
                     "aliases_ids": list(job.aliases)})
        return writer.add(job.id, base, info) is not None
    except Exception as error:
        print(f"zoo: {job.id}: {_one_line(error)}", file=sys.stderr)
        if "--verbose" in sys.argv:
            traceback.print_exc()
        return False


def _build_variants(job: Job, base: Manifest, writer: ShardWriter,
                    chosen: dict[str, dict[str, Any]]) -> tuple[dict[str, str], set[str]]:
    """Build the variants `chosen` (label -> arguments) of `job` and store in `writer` those
    that differ from the default build `base`: (label -> stored key, or '' where the build
    is the default one; the labels whose build failed)."""
    variants: dict[str, str] = {}
    failed: set[str] = set()
    for label, changes in chosen.items():
        try:
            variant_module = _meta_build(job.build, **changes)
            built = _manifest(variant_module, job.id)
            variant_tied = tied_pairs(variant_module)
            del variant_module
        except Exception as error:
            print(f"zoo: {job.id} [{label}]: {_one_line(error)}", file=sys.stderr)
            failed.add(label)
            continue
        if _full(built) == _full(base):
            if label not in job.listed_when_different:
                variants[label] = ""
            continue
        key = f"{job.id}@{label}"
        built = Manifest(name=job.id, parameters=built.parameters, buffers=built.buffers,
                         modules=built.modules)
        extra: dict[str, Any] = {"variant_of": job.id}
        if variant_tied:
            extra["tied"] = variant_tied
        if job.class_kwarg and job.class_kwarg not in changes:
            slots = _class_knob(job, built, None, changes)
            if isinstance(slots, dict):
                extra["knobs"] = {job.class_kwarg: slots}
        if writer.add(key, built, extra) is not None:
            variants[label] = key
    return variants, failed


def _drop_unsure(job: Job, variants: dict[str, str], failed: set[str],
                 writer: ShardWriter) -> None:
    """A variant recorded only where it differs (`listed_when_different`) that failed to
    build leaves its whole argument out: its absence would read as 'the default'."""
    unsure = {_argument(label) for label in failed & set(job.listed_when_different)}
    for label in [label for label in variants if _argument(label) in unsure]:
        if variants.pop(label):
            writer.models.pop(f"{job.id}@{label}", None)


def _argument(label: str) -> str:
    """The keyword argument of a variant label (`drop_path_rate>0` -> `drop_path_rate`)."""
    return label.partition("=")[0].partition(">")[0]


def tied_pairs(module: Any) -> list[list[str]]:
    """Tied parameters of a live model: [name, listed name] for every name under which
    `named_parameters()` does not list a tensor because it listed the same Parameter under
    an earlier name (`lm_head.weight` -> `transformer.wte.weight`). Read from the objects
    themselves, not from `_tied_weights_keys` (which lists what *may* be tied: LLaMA's
    `lm_head.weight` is tied only when `tie_word_embeddings` is true)."""
    first: dict[int, str] = {}
    pairs: list[list[str]] = []
    for name, param in module.named_parameters(remove_duplicate=False):
        listed = first.setdefault(id(param), name)
        if listed != name:
            pairs.append([name, listed])
    return pairs


def _class_knob(job: Job, base: Manifest, v0: int | None,
                changes: dict[str, Any]) -> dict[str, Any] | str | None:
    """The class-count knob of `job` built with `changes`: "same" when the count changes
    nothing, None when it changes more than class axes (or the build refuses it)."""
    assert job.class_kwarg is not None
    v1 = 7 if v0 != 7 else 9
    try:
        other = _manifest(_meta_build(job.build, **{**changes, job.class_kwarg: v1}), job.id)
    except Exception:
        return None
    if _full(other) == _full(base):
        return "same"
    v0 = v0 if v0 is not None else _count_from_diff(base, other, v1)
    slots = class_slots(base, other, v0, v1) if v0 else None
    return slots if slots is not None and slots["tensors"] else None


def _heads(slots: dict[str, Any] | None) -> list[str]:
    if not slots:
        return []
    heads: list[str] = []
    for kind, name, _axis, _factor in slots["tensors"]:
        owner = name.rpartition(".")[0]
        if kind == "p" and owner not in heads:
            heads.append(owner)
    return heads


def _main_head(heads: list[str]) -> str | None:
    """The module a user replaces: the class heads' common parent when they have one
    (a detection box predictor holds cls_score and bbox_pred), else the last head."""
    if not heads:
        return None
    parents = {h.rpartition(".")[0] for h in heads}
    if len(heads) > 1 and len(parents) == 1 and next(iter(parents)):
        return next(iter(parents))
    return heads[-1]


def _class_count(module: Any, job: Job) -> int | None:
    if job.library == "torchvision":
        return None
    for holder in (module, getattr(module, "config", None)):
        value = getattr(holder, job.class_kwarg or "", None) if holder is not None else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    default = job.extra.get("class_default")
    return default if isinstance(default, int) else None


def _count_from_diff(base: Manifest, other: Manifest, v1: int) -> int | None:
    """The default class count of a model that does not state it (torchvision): the old
    size of the first tensor axis that became exactly `v1`."""
    for old, new in zip(base.parameters, other.parameters, strict=False):
        for a, b in zip(old.shape, new.shape, strict=False):
            if a != b and b == v1:
                return a
    return None


def _layer_count(module: Any) -> int | None:
    config = getattr(module, "config", None)
    value = getattr(config, "num_hidden_layers", None)
    return value if isinstance(value, int) and value > 0 else None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:200]}"


# -- torchvision -------------------------------------------------------------------------

@contextlib.contextmanager
def _no_weight_loading() -> Iterator[None]:
    """Builders given `weights=` load them; on the meta device there is nothing to load.
    The weights still choose the architecture (class count, frozen BatchNorm)."""
    import torch
    from torchvision.models import _api

    saved = (_api.WeightsEnum.get_state_dict, torch.nn.Module.load_state_dict)
    _api.WeightsEnum.get_state_dict = lambda self, *a, **k: {}  # type: ignore[method-assign]
    torch.nn.Module.load_state_dict = lambda self, *a, **k: None  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        _api.WeightsEnum.get_state_dict, torch.nn.Module.load_state_dict = saved  # type: ignore[method-assign]


def torchvision_jobs(tv: Any) -> Iterator[tuple[str, Job]]:
    import inspect

    from torchvision.models import get_model_builder, get_model_weights, list_models

    for name in sorted(list_models()):
        builder = get_model_builder(name)
        family = builder.__module__.removeprefix("torchvision.models.").replace(".", "-")
        signature = inspect.signature(builder).parameters
        try:
            has_weights = get_model_weights(name) is not None
        except Exception:
            has_weights = False

        def build(_builder: Builder = builder, **changes: Any) -> Any:
            with _no_weight_loading():
                return _builder(**changes)

        variants: dict[str, dict[str, Any]] = {}
        if has_weights:
            variants["weights"] = {"weights": "DEFAULT"}
        if "weights_backbone" in signature:
            variants["weights_backbone=None"] = {"weights_backbone": None}
        if family in {"inception", "googlenet"} or name in {"inception_v3", "googlenet"}:
            variants["aux_logits=False"] = {"aux_logits": False}
            variants["aux_logits=True"] = {"aux_logits": True}
        if family.startswith("segmentation"):
            variants["aux_loss=True"] = {"aux_loss": True}
            variants["aux_loss=False"] = {"aux_loss": False}
        accepted: tuple[str, ...] = ("progress",)
        if "weights_backbone" in signature:
            accepted += ("trainable_backbone_layers",)
        yield f"tv-{family}", Job(
            id=name, library="torchvision",
            constructor=f"torchvision.models.{name}()", build=build,
            class_kwarg="num_classes", variants=variants, aliases=(f"torchvision/{name}",),
            accepted=accepted)


# -- timm --------------------------------------------------------------------------------

# timm arguments built as variants, for every architecture in the shipped zoo (a build
# timm refuses leaves its label out: that argument then makes the model unknown).
# A positive drop rate builds the same modules whatever its value (DropPath where the rate
# is not 0; other values are checked live); 0 is the default only where the build says so:
# `drop_path_rate=0` is recorded where it differs (Swin's own default is 0.1), and the zoo
# reads 0 as the default elsewhere.
# FREEZELINT_ZOO_TIMM_VARIANTS=minimal builds only num_classes=0 (quick local runs);
# =extended adds every other global_pool ('avg' moves ViT's norm to fc_norm, 'map' adds
# attn_pool, 'catavgmax' doubles the head's input) and features_only=True with its default
# out_indices: not shipped yet (about a third more timm data, and 2.5x the builds).
TIMM_GLOBAL_POOLS = ("avg", "max", "avgmax", "catavgmax", "token", "map")
TIMM_LISTED_WHEN_DIFFERENT = ("drop_path_rate=0", "drop_rate=0")


def _timm_tier() -> str:
    import os

    return os.environ.get("FREEZELINT_ZOO_TIMM_VARIANTS", "")


def _timm_variants() -> dict[str, dict[str, Any]]:
    variants: dict[str, dict[str, Any]] = {"num_classes=0": {"num_classes": 0}}
    if _timm_tier() == "minimal":
        return variants
    variants.update({"global_pool=''": {"global_pool": ""},
                     "drop_path_rate>0": {"drop_path_rate": 0.1},
                     "drop_rate>0": {"drop_rate": 0.1},
                     "drop_path_rate=0": {"drop_path_rate": 0.0},
                     "drop_rate=0": {"drop_rate": 0.0}})
    if _timm_tier() == "extended":
        variants.update({f"global_pool={pool!r}": {"global_pool": pool}
                         for pool in TIMM_GLOBAL_POOLS})
        variants["features_only=True"] = {"features_only": True}
    return variants


def timm_jobs(timm: Any) -> Iterator[tuple[str, Job]]:
    from timm.models import _registry

    for name in sorted(timm.list_models()):
        family = _registry._model_to_module.get(name, "misc")

        def build(_name: str = name, **changes: Any) -> Any:
            return timm.create_model(_name, pretrained=False, **changes)

        def head(module: Any) -> str | None:
            try:
                classifier = module.get_classifier()
            except Exception:
                return None
            if isinstance(classifier, (tuple, list)):
                classifier = classifier[0] if classifier else None
            for path, sub in module.named_modules():
                if sub is classifier and path:
                    return path
            return None

        yield f"timm-{family}", Job(
            id=f"timm/{name}", library="timm",
            constructor=f"timm.create_model({name!r})", build=build, class_kwarg="num_classes",
            variants=_timm_variants(), head=head,
            accepted=("pretrained",),
            listed_when_different=TIMM_LISTED_WHEN_DIFFERENT)


def timm_tags(timm: Any) -> dict[str, dict[str, int]]:
    """`timm/<arch>` -> {tag: class count} for every pretrained tag whose configuration
    changes nothing but the class count (timm takes num_classes, global_pool, in_chans and,
    for fixed-size models, img_size from the tag's configuration)."""
    from timm.models import get_pretrained_cfg

    def shape_keys(cfg: Any) -> tuple[Any, ...]:
        data = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
        size = data.get("input_size") or ()
        fixed = tuple(size[-2:]) if data.get("fixed_input_size") else None
        return (data.get("global_pool"), size[0] if size else None, fixed)

    tags: dict[str, dict[str, int]] = {}
    for name in timm.list_pretrained():
        arch, _, tag = name.partition(".")
        try:
            default, mine = get_pretrained_cfg(arch), get_pretrained_cfg(name)
        except Exception:
            continue
        if default is None or mine is None or shape_keys(default) != shape_keys(mine):
            continue
        classes = (mine.to_dict() if hasattr(mine, "to_dict") else dict(mine)).get("num_classes")
        if isinstance(classes, int) and classes >= 0:
            tags.setdefault(f"timm/{arch}", {})[tag] = classes
    return tags


# -- transformers ------------------------------------------------------------------------

def auto_table(transformers: Any) -> dict[str, dict[str, str]]:
    """Auto class -> {model_type: class name}, from the installed auto mappings."""
    from transformers.models.auto import auto_factory, modeling_auto

    table: dict[str, dict[str, str]] = {}
    for attr in dir(modeling_auto):
        cls = getattr(modeling_auto, attr)
        if not (isinstance(cls, type) and issubclass(cls, auto_factory._BaseAutoModelClass)):
            continue
        mapping = getattr(cls, "_model_mapping", None)
        names = getattr(mapping, "_model_mapping", None)
        if not isinstance(names, dict) or attr.startswith("_"):
            continue
        table[attr] = {}
        for model_type, class_name in names.items():
            if isinstance(class_name, (tuple, list)):
                class_name = class_name[0]
            if isinstance(class_name, str):
                table[attr][model_type] = class_name
    return table


def _model_types(table: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    types: dict[str, list[str]] = {}
    for mapping in table.values():
        for model_type, class_name in mapping.items():
            types.setdefault(model_type, [])
            if class_name not in types[model_type]:
                types[model_type].append(class_name)
    return types


def _transformers_job(transformers: Any, class_name: str, model_type: str, job_id: str,
                      overrides: dict[str, Any], constructor: str, description: str | None,
                      aliases: tuple[str, ...] = ()) -> Job | None:
    cls = getattr(transformers, class_name, None)
    if cls is None:
        return None
    config_class = transformers.CONFIG_MAPPING[model_type]

    def build(**changes: Any) -> Any:
        # Arguments of the model class itself (`add_pooling_layer`) go to the class, the
        # others to its configuration, as `from_pretrained` splits them.
        own = {k: changes.pop(k) for k in list(changes) if k in _MODEL_KWARGS}
        return cls(config_class(**{**overrides, **changes}), **own)

    import inspect

    variants: dict[str, dict[str, Any]] = {}
    init = inspect.signature(cls.__init__).parameters
    for kwarg, values in _MODEL_KWARGS.items():
        if kwarg in init:
            variants.update({f"{kwarg}={v}": {kwarg: v} for v in values})
    extra: dict[str, Any] = {"model_type": model_type, "class": class_name}
    if description:
        extra["description"] = description
    return Job(id=job_id, library="transformers", constructor=constructor, build=build,
               class_kwarg="num_labels", probe_layers=True, aliases=aliases, extra=extra,
               variants=variants)


# Keyword arguments of transformers model classes that change their modules.
_MODEL_KWARGS: dict[str, tuple[Any, ...]] = {"add_pooling_layer": (False, True)}


def transformers_jobs(transformers: Any, table: dict[str, dict[str, str]],
                      types: list[str] | None = None) -> Iterator[tuple[str, Job]]:
    by_type = _model_types(table)
    for model_type in sorted(by_type):
        if types is not None and model_type not in types:
            continue
        if model_type not in transformers.CONFIG_MAPPING:
            continue
        config_name = transformers.CONFIG_MAPPING[model_type].__name__
        for class_name in sorted(by_type[model_type]):
            job = _transformers_job(
                transformers, class_name, model_type, f"transformers/{class_name}", {},
                f"transformers.{class_name}({config_name}())",
                _DESCRIPTIONS.get(f"transformers/{class_name}"))
            if job is not None:
                yield f"tf-{model_type}", job


# The auto classes a Hugging Face id is built for (the ones fine-tuning scripts use).
HF_AUTO_CLASSES = (
    "AutoModel", "AutoModelForCausalLM", "AutoModelForMaskedLM", "AutoModelForSeq2SeqLM",
    "AutoModelForSequenceClassification", "AutoModelForTokenClassification",
    "AutoModelForQuestionAnswering", "AutoModelForMultipleChoice", "AutoModelForPreTraining",
    "AutoModelForImageClassification", "AutoModelForAudioClassification",
    "AutoModelForSpeechSeq2Seq", "AutoModelForCTC", "AutoModelForSemanticSegmentation",
    "AutoModelForZeroShotImageClassification", "AutoModelForMaskedImageModeling",
)


def hf_plan(transformers: Any, table: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Per Hugging Face id: its model type, the classes to build, and whether its
    configuration is the config class's defaults (then the class models serve)."""
    from freezelint.models.zoo_hf_ids import HF_IDS

    plan: dict[str, Any] = {}
    for hf_id, (model_type, overrides) in sorted(HF_IDS.items()):
        if model_type not in transformers.CONFIG_MAPPING:
            print(f"zoo: {hf_id}: no model type {model_type!r}", file=sys.stderr)
            continue
        try:
            config_class = transformers.CONFIG_MAPPING[model_type]
            default = config_class().to_dict()
            mine = config_class(**overrides).to_dict()
        except Exception as error:
            print(f"zoo: {hf_id}: {_one_line(error)}", file=sys.stderr)
            continue
        classes = sorted({name for auto in HF_AUTO_CLASSES
                          if (name := table.get(auto, {}).get(model_type)) is not None})
        plan[hf_id] = {"model_type": model_type, "default": _same_config(default, mine),
                       "classes": classes}
    return plan


def _same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    skip = {"_name_or_path", "transformers_version", "architectures"}
    return ({k: v for k, v in a.items() if k not in skip}
            == {k: v for k, v in b.items() if k not in skip})


def hf_jobs(transformers: Any, plan: dict[str, Any]) -> Iterator[tuple[str, Job]]:
    """One job per (Hugging Face id, class its auto mappings give) for ids whose
    configuration differs from the defaults."""
    from freezelint.models.zoo_hf_ids import HF_IDS

    for hf_id, item in plan.items():
        if item["default"]:
            continue
        model_type, overrides = HF_IDS[hf_id]
        for class_name in item["classes"]:
            job = _transformers_job(transformers, class_name, model_type,
                                    f"{hf_id}:{class_name}", overrides,
                                    f"transformers.{class_name}.from_pretrained({hf_id!r})",
                                    None)
            if job is not None:
                job.probe_layers = False
                job.extra["hf_id"] = hf_id
                yield f"hf-{model_type}", job


# -- driver ------------------------------------------------------------------------------

def _chunks(jobs: list[tuple[str, Job]]) -> Iterator[tuple[str, list[Job]]]:
    """Group jobs by family, at most SHARD_SIZE per shard (consecutive names together)."""
    families: dict[str, list[Job]] = {}
    for family, job in jobs:
        families.setdefault(family, []).append(job)
    for family, members in families.items():
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", family)
        if len(members) <= SHARD_SIZE:
            yield safe, members
            continue
        for start in range(0, len(members), SHARD_SIZE):
            yield f"{safe}-{start // SHARD_SIZE}", members[start:start + SHARD_SIZE]


def generate(work: Path, libraries: list[str], only: str | None, types: list[str] | None,
             reverse: bool = False, families: list[str] | None = None) -> None:
    work.mkdir(parents=True, exist_ok=True)
    torch_version = _version("torch")
    if "freezelint" in libraries:
        writer = ShardWriter("freezelint", {"freezelint": None})
        manifest = ast_manifest()
        writer.add("ast", manifest, {
            "library": "freezelint", "constructor": "ASTModel()", "description": AST_DESCRIPTION,
            "head": "mlp_head.1", "class_heads": ["mlp_head.1"], "class_kwarg": "label_dim",
            "knobs": {}, "variants": {}, "accepted": [], "parameters": len(manifest.parameters),
            "numel": manifest.total_numel, "aliases_ids": []})
        writer.write(work)
    if "peft" in libraries and _import("peft") is not None:
        from peft.utils import constants

        mapping = constants.TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
        _write_gz(work / "peft.json.gz", {"peft_version": _version("peft"),
                                          "lora": {k: list(v) for k, v in mapping.items()}})
    for library in libraries:
        if library in {"freezelint", "peft"}:
            continue
        module = _import("transformers" if library == "hf" else library)
        if module is None:
            continue
        versions = {"torch": torch_version,
                    library if library != "hf" else "transformers":
                        _version("transformers" if library == "hf" else library)}
        if library == "torchvision":
            jobs = list(torchvision_jobs(module))
        elif library == "timm":
            (work / "timm_tags.json").write_text(json.dumps(timm_tags(module), indent=0) + "\n")
            jobs = list(timm_jobs(module))
        else:
            table = auto_table(module)
            (work / "auto.json").write_text(json.dumps(
                {"versions": versions, "auto": table}, indent=0, sort_keys=True) + "\n")
            if library == "transformers":
                jobs = list(transformers_jobs(module, table, types))
            else:
                plan = hf_plan(module, table)
                (work / "hf_plan.json").write_text(json.dumps(plan, indent=0) + "\n")
                jobs = list(hf_jobs(module, plan))
        if only:
            jobs = [(f, j) for f, j in jobs if re.search(only, j.id)]
        if families:  # whole families, so that shards come out the same as a full run
            jobs = sorted(((f, j) for f, j in jobs if f in families),
                          key=lambda fj: families.index(fj[0]))
        chunks = list(_chunks(jobs))
        if reverse:  # a second process working from the other end
            chunks.reverse()
        for shard, members in chunks:
            path = work / f"{shard}.json.gz"
            if path.exists():
                continue
            started = time.monotonic()
            writer = ShardWriter(shard, versions)
            built = sum(run_job(job, writer) for job in members)
            if writer.models:
                writer.write(work)
            else:
                path.with_suffix(".empty").write_text("")
            print(f"zoo: {shard}: {built}/{len(members)} in {time.monotonic() - started:.1f}s",
                  flush=True)


# -- tied weights of an installed zoo ----------------------------------------------------

def patch_tied(out: Path, only: str | None = None,
               libraries: tuple[str, ...] = ("transformers",)) -> int:
    """Record the tied parameters (`tied_pairs`) of the models of `libraries` in the
    installed zoo in `out`, building each once more on the meta device (what `run_job`
    records in a full run; this adds it to a zoo made before it did). transformers: every
    model and variant. torchvision and timm: every model, and the variants of those that
    tie (a variant of one that ties nothing keeps no record). Returns the number of models
    with tied parameters."""
    jobs: dict[str, Job] = {}
    for library in libraries:
        module = _import(library)
        if module is None:
            continue
        if library == "transformers":
            table = auto_table(module)
            jobs.update({job.id: job for _, job in transformers_jobs(module, table)})
            jobs.update({job.id: job for _, job in hf_jobs(module, hf_plan(module, table))})
        elif library == "timm":
            jobs.update({job.id: job for _, job in timm_jobs(module)})
        elif library == "torchvision":
            jobs.update({job.id: job for _, job in torchvision_jobs(module)})
    found = 0
    for path in sorted(out.glob("*.json.gz")):
        doc = json.loads(gzip.decompress(path.read_bytes()))
        shard_library = next((x for x in libraries if x in doc.get("versions", {})), None)
        if doc.get("format") != SHARD_FORMAT or shard_library is None:
            continue
        library = shard_library
        if doc["versions"][library] != _version(library):
            print(f"zoo: {path.name}: made with {library} {doc['versions'][library]}, not "
                  f"{_version(library)}: skipped", file=sys.stderr)
            continue
        changed = False
        # The models first, then their variants (stored before them): a torchvision or timm
        # variant is built only when its model ties.
        keys = sorted(doc["models"], key=lambda k: "@" in k)
        for key in keys:
            entry = doc["models"][key]
            model_id, _, label = key.partition("@")
            job = jobs.get(model_id)
            if job is None or (only and not re.search(only, key)) or "tied" in entry:
                continue
            if label and library != "transformers" \
                    and not doc["models"].get(model_id, {}).get("tied"):
                continue
            try:
                module = _meta_build(job.build, **(job.variants[label] if label else {}))
                built = _manifest(module, model_id)
            except Exception as error:
                print(f"zoo: {key}: {_one_line(error)}", file=sys.stderr)
                continue
            back = decode(doc["nodes"], entry["root"], key, {})
            if _full(back) != _full(built):
                print(f"zoo: {key}: the build differs from the shard: skipped", file=sys.stderr)
                continue
            entry["tied"] = tied_pairs(module)
            del module
            found += bool(entry["tied"])
            changed = True
        if changed:
            data = json.dumps(doc, separators=(",", ":")).encode()
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(gzip.compress(data, 9, mtime=0))
            tmp.replace(path)
            print(f"zoo: {path.name}: tied weights recorded", flush=True)
    return found


# -- variants added to an installed zoo ------------------------------------------------

def patch_variants(out: Path, only: str | None = None) -> int:
    """Add to the installed timm shards in `out` the variants `_timm_variants()` lists and
    an entry lacks (a zoo made with fewer), building only those, as a full run builds them
    (`_build_variants`: same labels, same stored entries; the labels come after the old
    ones, as in a full run's order). The default build is the stored one: the shard must
    have been made with the installed timm. Returns the number of labels added."""
    timm = _import("timm")
    if timm is None:
        return 0
    jobs = {job.id: job for _, job in timm_jobs(timm)}
    added = 0
    for path in sorted(out.glob("timm-*.json.gz")):
        doc = json.loads(gzip.decompress(path.read_bytes()))
        if doc.get("format") != SHARD_FORMAT or doc["versions"].get("timm") != _version("timm"):
            print(f"zoo: {path.name}: not a shard made with timm {_version('timm')}: skipped",
                  file=sys.stderr)
            continue
        writer = ShardWriter(path.name.removesuffix(".json.gz"), doc["versions"])
        writer.table, writer.models = NodeTable(doc["nodes"]), doc["models"]
        changed = False
        for key in [k for k in doc["models"] if "@" not in k]:
            entry, job = doc["models"][key], jobs.get(key)
            if job is None or (only and not re.search(only, key)):
                continue
            missing = {label: changes for label, changes in job.variants.items()
                       if label not in entry["variants"]}
            if not missing:
                continue
            base = decode(doc["nodes"], entry["root"], key, {})
            try:
                built, failed = _build_variants(job, base, writer, missing)
            except Exception as error:
                print(f"zoo: {key}: {_one_line(error)}", file=sys.stderr)
                continue
            variants = {**entry["variants"], **built}
            _drop_unsure(job, variants, failed, writer)
            if variants != entry["variants"]:
                added += len(set(variants) - set(entry["variants"]))
                entry["variants"] = variants
                changed = True
        if changed:
            writer.write(out)
            print(f"zoo: {path.name}: variants added", flush=True)
    return added


# -- install -----------------------------------------------------------------------------

def install(work: Path, out: Path, legacy: Path | None) -> dict[str, Any]:
    """Copy the shards into `out` and write the two indexes: `index.json.gz` (every model:
    its shard, library, parameter count, head) and `hf.json.gz` (the Hugging Face id table
    and the auto mappings, read only when a transformers checkpoint is resolved)."""
    out.mkdir(parents=True, exist_ok=True)
    legacy_aliases = _previous_aliases(out)
    if legacy:
        legacy_aliases.update(_previous_aliases(legacy))
    tags = _read_json(work / "timm_tags.json", {})
    for old in out.glob("*.json.gz"):
        old.unlink()
    models: dict[str, Any] = {}
    shards = sorted(p for p in work.glob("*.json.gz") if p.name != "peft.json.gz")
    if (work / "peft.json.gz").exists():
        (out / "peft.json.gz").write_bytes((work / "peft.json.gz").read_bytes())
    for path in shards:
        doc = json.loads(gzip.decompress(path.read_bytes()))
        for key, entry in doc["models"].items():
            if key in legacy_aliases and "alias_versions" not in entry:
                names, version = legacy_aliases[key]
                back = decode(doc["nodes"], entry["root"], key, {})
                entry["alias_versions"] = {"transformers": version}
                entry["aliases_differ"] = names != back.parameter_names
                if entry["aliases_differ"]:
                    entry["aliases"] = [names]
            if key in tags:
                entry["tags"] = tags[key]
            if "variant_of" in entry:
                continue
            if key in models and not _owns(entry):
                continue  # a class several model types map to: kept under its own type
            models[key] = (path.name.removesuffix(".json.gz"), entry)
        data = json.dumps(doc, separators=(",", ":")).encode()
        (out / path.name).write_bytes(gzip.compress(data, 9, mtime=0))
    used = {shard for shard, _ in models.values()}
    for path in shards:
        if path.name.removesuffix(".json.gz") not in used:
            (out / path.name).unlink()
    auto_doc = _read_json(work / "auto.json", {"auto": {}, "versions": {}})
    plan = _read_json(work / "hf_plan.json", {})
    hf: dict[str, Any] = {}
    for hf_id, item in sorted(plan.items()):
        classes = {}
        for class_name in item["classes"]:
            key = (f"transformers/{class_name}" if item["default"]
                   else f"{hf_id}:{class_name}")
            if key in models:
                classes[class_name] = key
        if classes:
            hf[hf_id] = {"model_type": item["model_type"], "classes": classes}
    from freezelint.models.zoo import FEATURED

    order = {"freezelint": 0, "torchvision": 1, "timm": 2, "transformers": 3}
    ranked = sorted(models, key=lambda k: (k not in FEATURED,
                                           FEATURED.index(k) if k in FEATURED else 0,
                                           order.get(models[k][1]["library"], 4),
                                           ":" in k, k.lower()))
    shard_names = sorted({shard for shard, _ in models.values()})
    libraries = sorted({entry["library"] for _, entry in models.values()})
    rows = {}
    for key in ranked:
        shard, entry = models[key]
        extra = {k: entry[k] for k in ("description",) if entry.get(k)}
        if entry.get("aliases_ids") and entry["library"] != "torchvision":
            extra["aliases"] = entry["aliases_ids"]
        rows[key] = [shard_names.index(shard), libraries.index(entry["library"]),
                     entry["parameters"], entry.get("head"), extra]
    index = {"format": INDEX_FORMAT, "shards": shard_names, "libraries": libraries,
             "models": rows}
    _write_gz(out / "index.json.gz", index)
    _write_gz(out / "hf.json.gz", {"hf": hf, "auto": auto_doc["auto"],
                                   "versions": auto_doc["versions"]})
    print(f"zoo: installed {len(shards)} shards, {len(models)} models, {len(hf)} Hugging Face "
          f"ids into {out}")
    return index


def _owns(entry: dict[str, Any]) -> bool:
    """Whether a transformers class was built under its own model type (`gpt2` for
    GPT2Model, not `gpt-sw3`, which maps to the same class)."""
    model_type = str(entry.get("model_type", "")).replace("-", "").replace("_", "")
    return bool(model_type) and str(entry.get("class", "")).lower().startswith(model_type)


def _read_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def _write_gz(path: Path, doc: Any) -> None:
    data = json.dumps(doc, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(data, 9, mtime=0))


def _previous_aliases(folder: Path) -> dict[str, tuple[list[str], str]]:
    """The other transformers major's names recorded in a previous zoo (shards, or the
    one-file manifests the zoo shipped before): only an install of that major can make
    them, so a regeneration carries them over."""
    found: dict[str, tuple[list[str], str]] = {}
    for path in folder.glob("transformers--*.json"):
        manifest = Manifest.load(path)
        version = manifest.meta.get("alias_versions", {}).get("transformers")
        if version is not None:
            names = list(manifest.aliases[0]) if manifest.aliases else manifest.parameter_names
            found[manifest.name] = (names, version)
    for path in folder.glob("*.json.gz"):
        doc = json.loads(gzip.decompress(path.read_bytes()))
        if doc.get("format") != SHARD_FORMAT:
            continue
        for key, entry in doc["models"].items():
            version = entry.get("alias_versions", {}).get("transformers")
            if version is None:
                continue
            names = (entry["aliases"][0] if entry.get("aliases")
                     else decode(doc["nodes"], entry["root"], key, {}).parameter_names)
            found[key] = (list(names), version)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m freezelint.models.zoo_generator",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True,
                        help="folder for the shards (finished shards are kept and skipped)")
    parser.add_argument("--libraries", default=",".join(LIBRARIES),
                        help=f"comma-separated subset of {', '.join(LIBRARIES)}")
    parser.add_argument("--only", help="regular expression: build only matching ids")
    parser.add_argument("--types", help="transformers model types to build (comma-separated)")
    parser.add_argument("--install", action="store_true",
                        help="copy the finished shards into --out and write its index")
    parser.add_argument("--out", type=Path, default=ZOO_DIR, help="the package's zoo folder")
    parser.add_argument("--legacy", type=Path,
                        help="folder of previous one-file manifests (their 4.x alias names)")
    parser.add_argument("--families", help="only these families, in this order "
                        "(comma-separated shard prefixes such as timm-resnet)")
    parser.add_argument("--reverse", action="store_true",
                        help="build the shards in reverse order (a second process)")
    parser.add_argument("--tied", action="store_true",
                        help="record the tied parameters of the transformers models in --out "
                        "(a zoo generated before they were recorded)")
    parser.add_argument("--patch-variants", action="store_true",
                        help="add the timm variants the installed zoo in --out lacks "
                        "(a zoo made with fewer), building only those")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.patch_variants:
        print(f"zoo: {patch_variants(args.out, args.only)} timm variant labels added")
        return 0
    if args.install:
        install(args.work, args.out, args.legacy)
        return 0
    if args.tied:
        chosen = tuple(x for x in args.libraries.split(",")
                       if x in {"transformers", "timm", "torchvision"})
        print(f"zoo: {patch_tied(args.out, args.only, chosen)} models with tied parameters")
        return 0
    libraries = [x for x in args.libraries.split(",") if x]
    unknown = sorted(set(libraries) - set(LIBRARIES))
    if unknown:
        parser.error(f"unknown libraries: {', '.join(unknown)}")
    types = args.types.split(",") if args.types else None
    families = args.families.split(",") if args.families else None
    generate(args.work, libraries, args.only, types, args.reverse, families)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


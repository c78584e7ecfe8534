"""The built-in model zoo: shipped manifests looked up by id, without importing torch.

`zoo/index.json.gz` lists every model (torchvision builders, timm architectures,
transformers classes, Hugging Face checkpoints) with the shard that holds it; a shard
(`zoo_store`) is read only when one of its models is asked for, and cached, because the
linter and the language server resolve the same few models over and over. Looking one id
up reads one part of a lookup derived from the index (`zoo_lookup`), not the index; only
listings, case-insensitive matching and the suggestions for an unknown id read it whole.

`load_zoo("resnet50", {"num_classes": 10})` applies what the generator measured about each
keyword argument (`zoo_generator`): class counts resize the axes that follow them,
`num_hidden_layers` the repeated layers, and arguments with a stored variant (`weights=`,
`aux_logits=False`, timm's `num_classes=0`) select it. Anything else raises ValueError:
guessing would report wrong names. `load_zoo("ast", {...})` computes the AST manifest
(`ast_arch`).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from freezelint.models.ast_arch import ast_manifest
from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo
from freezelint.models.zoo_lookup import BUCKETS, Lookup, bucket
from freezelint.models.zoo_store import decode

ZOO_DIR = Path(__file__).parent / "zoo"
INDEX_FILE = "index.json.gz"
HF_FILE = "hf.json.gz"
# Ids of checkpoints read from the local Hugging Face cache (`hf_cache`).
CACHE_PREFIX = "hf-cache:"


class _Unevaluated:
    """A keyword argument whose value the analysis could not evaluate (`weights=args.w`)."""

    def __repr__(self) -> str:
        return "<unevaluated>"


UNEVALUATED: Any = _Unevaluated()

# Arguments that never change a name or a shape, per library.
_IGNORED_KWARGS: dict[str, frozenset[str]] = {
    "torchvision": frozenset({"progress"}),
    # (not pretrained_cfg_overlay: its num_classes, global_pool, input_size change the model)
    "timm": frozenset({"pretrained", "checkpoint_path", "scriptable", "exportable", "no_jit"}),
    "transformers": frozenset(),
}
# Models the zoo shipped first: listed first, and named when nothing close matches.
FEATURED = (
    "ast", "resnet18", "resnet34", "resnet50", "resnet101", "vgg16", "densenet121",
    "efficientnet_b0", "mobilenet_v2", "mobilenet_v3_large", "vit_b_16",
    "timm/vit_base_patch16_224", "timm/deit_base_distilled_patch16_384", "timm/resnet50",
    "transformers/BertModel", "transformers/BertForSequenceClassification",
    "transformers/ViTForImageClassification", "transformers/ASTForAudioClassification",
)


class UnknownModelError(LookupError):
    """A zoo id that names no model; the message lists the closest known ids."""

    def __init__(self, model_id: str, known: list[str], canonical: list[str]) -> None:
        self.model_id = model_id
        self.suggestions = _close_ids(model_id, known)
        if self.suggestions:
            hint = f"did you mean {', '.join(self.suggestions)}?"
        else:
            shown = ", ".join(canonical[:8])
            hint = (f"known models: {shown}, ... ({len(canonical)} models; "
                    f"`freezelint models` lists them)")
        super().__init__(f"unknown zoo model {model_id!r}; {hint}")


def _close_ids(model_id: str, known: list[str]) -> list[str]:
    """Up to five known spellings close to `model_id`, best first; case is ignored, and a
    known id containing what was typed counts (`bert` -> `transformers/BertModel`)."""
    lowered = {k.lower(): k for k in known}
    needle = model_id.lower()
    if not needle:
        return []
    # What was typed begins the model's own name (`bert` -> transformers/BertModel): those
    # first, shortest first; then spellings close to it; then names containing it.
    starting = sorted((k for k in lowered if _own_name(k).startswith(needle)),
                      key=lambda k: (len(_own_name(k)), _own_name(k).count("-"), k))[:2]
    close = [lowered[k] for k in starting]
    import difflib  # (an unknown id only)

    for key in difflib.get_close_matches(needle, list(lowered), n=5, cutoff=0.6):
        if lowered[key] not in close:
            close.append(lowered[key])
    containing = sorted((k for k in lowered if needle in k), key=len)
    for key in containing:
        if lowered[key] not in close:
            close.append(lowered[key])
    return close[:5]


def _own_name(model_id: str) -> str:
    """`transformers/bertmodel` -> `bertmodel`; `org/name:class` -> `name`."""
    return model_id.partition(":")[0].rpartition("/")[2]


@cache
def _index() -> dict[str, Any]:
    return _read(INDEX_FILE)


@cache
def _hf() -> dict[str, Any]:
    """The Hugging Face id table and the auto mappings (read only for transformers ids)."""
    return _read(HF_FILE)


def _read(name: str) -> dict[str, Any]:
    """A gzip-compressed JSON file of the zoo (zlib reads gzip without the gzip module)."""
    data = (ZOO_DIR / name).read_bytes()
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    text = inflate.decompress(data) + inflate.flush()
    if inflate.unused_data or not inflate.eof:  # several gzip members: not what we write
        import gzip

        text = gzip.decompress(data)
    doc: dict[str, Any] = json.loads(text)
    return doc


def _models() -> dict[str, list[Any]]:
    models: dict[str, list[Any]] = _index()["models"]
    return models


def _entry(model_id: str) -> dict[str, Any]:
    """One index row as a dict: shard, library, parameters, head (+ description, aliases).
    KeyError for an id the zoo does not have."""
    row = _row(model_id)
    if row is None:
        raise KeyError(model_id)
    shard, library, parameters, head, extra = row
    return {"shard": shard, "library": library, "parameters": parameters, "head": head,
            **extra}


def _lookup_parts() -> dict[str, Any]:
    """The lookup's parts (zoo_lookup), from the indexes: per bucket the spellings of ids
    (`_names`), the rows with their shard and library by name, and the Hugging Face ids;
    each library's names (`library_names`); the Auto classes and each one's mapping."""
    index = _index()
    shards, libraries = index["shards"], index["libraries"]
    parts: dict[str, Any] = {name: {"names": {}, "rows": {}, "hf": {}} for name in BUCKETS}
    for name, target in _names().items():
        parts[bucket(name)]["names"][name] = target
    for model_id, (shard, library, parameters, head, extra) in _models().items():
        parts[bucket(model_id)]["rows"][model_id] = [shards[shard], libraries[library],
                                                     parameters, head, extra]
    for library in libraries:
        parts[f"library:{library}"] = sorted(_index_library_names(library))
    for hf_id, entry in _hf()["hf"].items():
        parts[bucket(hf_id)]["hf"][hf_id] = entry
    parts["auto-classes"] = list(_auto())
    for auto_class, mapping in _auto().items():
        parts[f"auto:{auto_class}"] = mapping
    return parts


_LOOKUP = Lookup([ZOO_DIR / INDEX_FILE, ZOO_DIR / HF_FILE], _lookup_parts)


def _row(model_id: str) -> list[Any] | None:
    """The index row of canonical id `model_id`, shard and library by name; None if none."""
    row: list[Any] | None = _LOOKUP.part(bucket(model_id))["rows"].get(model_id)
    return row


def _canonical(name: str) -> str | None:
    """The canonical id a spelling names exactly (an id, an alias, `torchvision/` + id)."""
    target: str | None = _LOOKUP.part(bucket(name))["names"].get(name)
    return target


def _hf_entry(hf_id: str) -> dict[str, Any] | None:
    entry: dict[str, Any] | None = _LOOKUP.part(bucket(hf_id))["hf"].get(hf_id)
    return entry


@cache
def _names() -> dict[str, str]:
    """Every spelling of every id (the id, its aliases) -> the id."""
    names: dict[str, str] = {}
    libraries = _index()["libraries"]
    for model_id, row in _models().items():
        names[model_id] = model_id
        if libraries[row[1]] == "torchvision":
            names.setdefault(f"torchvision/{model_id}", model_id)
        for alias in row[4].get("aliases", []):
            names.setdefault(alias, model_id)
    return names


@cache
def _folded() -> dict[str, set[str]]:
    folded: dict[str, set[str]] = {}
    for name, target in _names().items():
        folded.setdefault(name.lower(), set()).add(target)
    for hf_id in _hf()["hf"]:
        base = hf_model_id(hf_id, "AutoModel")
        if base is not None:
            folded.setdefault(hf_id.lower(), set()).add(base)
    return folded


@cache
def _shard(name: str) -> dict[str, Any]:
    return _read(f"{name}.json.gz")


def zoo_ids() -> list[str]:
    """The canonical zoo ids: the featured ones first, then by library and name."""
    return list(_models())


def zoo_entries() -> list[dict[str, Any]]:
    """One summary per model for listings: id, description, library, parameter count,
    aliases and head. Reads only the index."""
    entries = []
    for model_id in _models():
        entry = _entry(model_id)
        aliases = list(entry.get("aliases", []))
        if entry["library"] == "torchvision":
            aliases.insert(0, f"torchvision/{model_id}")
        entries.append({"id": model_id, "description": _description(model_id, entry),
                        "library": entry["library"], "parameters": entry["parameters"],
                        "aliases": aliases, "head": entry.get("head")})
    return entries


def _description(model_id: str, entry: dict[str, Any]) -> str:
    """The index's description, or one made from how the model is built."""
    if entry.get("description"):
        return str(entry["description"])
    library = entry["library"]
    if library == "torchvision":
        return f"torchvision.models.{model_id}()"
    if library == "timm":
        return f"timm.create_model({model_id.removeprefix('timm/')!r})"
    if ":" in model_id:
        hf_id, _, cls = model_id.rpartition(":")
        return f"transformers {cls}.from_pretrained({hf_id!r})"
    return f"transformers {model_id.removeprefix('transformers/')} (default configuration)"


def hf_ids() -> list[str]:
    """The Hugging Face checkpoint ids the zoo knows exactly."""
    return list(_hf()["hf"])


def hf_model_id(hf_id: str, auto_class: str | None = None,
                class_name: str | None = None) -> str | None:
    """The zoo id of checkpoint `hf_id` loaded through `auto_class` (`AutoModel`,
    `AutoModelForSequenceClassification`...) or through the concrete `class_name`, or None
    when the id is not shipped or that class is not built for it. The Auto class decides
    the head, from the auto mappings of the transformers version the zoo was made with."""
    entry = _hf_entry(hf_id)
    if entry is None:
        return None
    if class_name is None:
        mapping = _auto_mapping(auto_class or "")
        class_name = mapping.get(entry["model_type"])
        if class_name is None:
            return None
    found = entry["classes"].get(class_name)
    if found is None and all(v.startswith("transformers/") for v in entry["classes"].values()):
        # The id's configuration is its config class's defaults: every class of that model
        # type built from the defaults is exactly what from_pretrained builds.
        candidate = f"transformers/{class_name}"
        if _row(candidate) is not None and _stored_model_type(candidate) == entry["model_type"]:
            found = candidate
    return str(found) if found is not None else None


def _stored_model_type(model_id: str) -> str | None:
    stored = _shard(_entry(model_id)["shard"])["models"][model_id]
    model_type = stored.get("model_type")
    return str(model_type) if model_type is not None else None


def class_model_type(model_id: str) -> str | None:
    """The model type a zoo transformers class was built for (None: not a zoo id, or
    not a transformers model), without decoding the model."""
    canonical = _canonical(model_id)
    if canonical is None or _entry(canonical)["library"] != "transformers":
        return None
    return _stored_model_type(canonical)


def hf_model_type(hf_id: str) -> str | None:
    """The model type (`config.json`'s `model_type`) of a shipped Hugging Face id."""
    entry = _hf_entry(hf_id)
    return str(entry["model_type"]) if entry is not None else None


def model_library(model_id: str) -> str | None:
    """The library of zoo id `model_id` (exact spelling, aliases included), or None."""
    canonical = _canonical(model_id)
    return _entry(canonical)["library"] if canonical is not None else None


@cache
def library_names(library: str) -> frozenset[str]:
    """The names a script writes for the models of `library`: torchvision builder names,
    timm architecture names, transformers class names."""
    return frozenset(_LOOKUP.part(f"library:{library}") or ())


def _index_library_names(library: str) -> set[str]:
    libraries = _index()["libraries"]
    names = set()
    for model_id, row in _models().items():
        if libraries[row[1]] != library or ":" in model_id:
            continue
        names.add(model_id.rpartition("/")[2])
    return names


def stored_knob(model_id: str, name: str) -> dict[str, Any] | None:
    """What the generator measured about argument `name` of zoo model `model_id` (the
    repeated blocks of `num_hidden_layers`, the class axes of `num_labels`), or None."""
    canonical = _canonical(model_id)
    if canonical is None or canonical == "ast":
        return None
    knob = _shard(_entry(canonical)["shard"])["models"][canonical].get("knobs", {}).get(name)
    return knob if isinstance(knob, dict) else None


def timm_tag_classes(model_id: str, tag: str) -> int | None:
    """The class count timm gives `arch.tag` (its pretrained weights' head), when that tag
    differs from the architecture's default only in the class count; else None."""
    if _row(model_id) is None:
        return None
    stored = _shard(_entry(model_id)["shard"])["models"][model_id]
    classes = stored.get("tags", {}).get(tag)
    return int(classes) if isinstance(classes, int) else None


def auto_class_target(auto_class: str, model_type: str) -> str | None:
    """The concrete class `auto_class` builds for `model_type`, or None."""
    return _auto_mapping(auto_class).get(model_type)


def is_auto_class(name: str) -> bool:
    auto_classes: list[str] = _LOOKUP.part("auto-classes")
    return name in auto_classes


def _auto() -> dict[str, dict[str, str]]:
    auto: dict[str, dict[str, str]] = _hf()["auto"]
    return auto


def _auto_mapping(auto_class: str) -> dict[str, str]:
    """Model type -> the class `auto_class` builds for it (empty for no Auto class)."""
    mapping: dict[str, str] | None = _LOOKUP.part(f"auto:{auto_class}")
    return mapping or {}


def has_model(model_id: str) -> bool:
    """Whether `model_id` is a zoo id or alias (exact spelling)."""
    return _canonical(model_id) is not None


def resolve_zoo_id(model_id: str) -> str:
    """The canonical id for `model_id`: an id, an alias (`bert-base-uncased`,
    `torchvision/resnet50`), or either spelled with different case if that is unambiguous.

    Raises UnknownModelError when nothing matches."""
    canonical = _canonical(model_id)
    if canonical is not None:
        return canonical
    if "/" in model_id or "-" in model_id:  # a Hugging Face id: its AutoModel class
        base = hf_model_id(model_id, "AutoModel")
        if base is not None:
            return base
        if _hf_entry(model_id) is None:
            from freezelint.models.hf_cache import cache_id

            cached = cache_id(model_id, "AutoModel", None)
            if cached is not None:
                return cached  # load_zoo reads it, or says why it cannot
    targets = _folded().get(model_id.lower(), set())
    if len(targets) == 1:
        return next(iter(targets))
    known = [name for name in _names()
             if not name.startswith("torchvision/") and ":" not in name]
    raise UnknownModelError(model_id, [*known, *_hf()["hf"]], zoo_ids())


def load_zoo(model_id: str, kwargs: dict[str, Any] | None = None) -> Manifest:
    """The manifest of zoo model `model_id`, built as if with constructor `kwargs`.

    `ast` takes `ASTModel`'s keyword arguments. torchvision and timm models take
    `num_classes`, transformers models `num_labels` and `num_hidden_layers`, each where the
    generator measured what it changes; `weights=` (torchvision), `aux_logits`, timm's
    `num_classes=0`, `global_pool=''` and `add_pooling_layer` select a stored variant.
    Arguments that never change names (`progress`, `pretrained`) are ignored; any other
    raises ValueError, since guessing would report wrong names. A value the analysis could
    not evaluate (`UNEVALUATED`) is accepted only where every value gives the same names."""
    kwargs = dict(kwargs or {})
    canonical = model_id if model_id.startswith(CACHE_PREFIX) else resolve_zoo_id(model_id)
    if canonical.startswith(CACHE_PREFIX):  # a checkpoint of the local Hugging Face cache
        from freezelint.models.hf_cache import cached_manifest, with_arguments

        return with_arguments(cached_manifest(canonical), kwargs)
    entry = _entry(canonical)
    if canonical == "ast":
        return _with_head(ast_manifest(**kwargs), entry)
    shard = _shard(entry["shard"])
    stored = shard["models"][canonical]
    ignored = _IGNORED_KWARGS.get(entry["library"], frozenset()) | set(stored["accepted"])
    kwargs = {k: v for k, v in kwargs.items() if k not in ignored}
    class_kwarg = stored.get("class_kwarg")
    knobs: dict[str, Any] = stored.get("knobs", {})
    variant, kwargs = _variant(canonical, entry, stored, kwargs)
    unexpected = sorted(k for k in kwargs if k not in knobs)
    if unexpected:
        accepted = sorted({*knobs, *ignored, *_variant_kwargs(stored)})
        accepted_text = ", ".join(accepted) if accepted else "none"
        raise ValueError(f"zoo model {canonical!r}: unexpected argument(s) "
                         f"{', '.join(unexpected)} (accepted: {accepted_text})")
    if variant:
        knobs = shard["models"][variant].get("knobs", {})
        if any(k not in knobs for k in kwargs):
            raise ValueError(f"zoo model {canonical!r}: {', '.join(sorted(kwargs))} together "
                             f"with {variant.partition('@')[2]} is not in the zoo")
    counts: dict[tuple[str, int], int] = {}
    layers = kwargs.get("num_hidden_layers")
    if layers is not None:
        layers = _check_int(canonical, "num_hidden_layers", layers, 1)
        for path, first, offset in knobs["num_hidden_layers"]["runs"]:
            if layers - offset < 0:
                raise ValueError(f"zoo model {canonical!r}: num_hidden_layers must be at "
                                 f"least {offset}")
            counts[(path, first)] = layers - offset
    key = variant or canonical
    meta = _meta(canonical, entry, shard, stored)
    manifest = decode(shard["nodes"], shard["models"][key]["root"], canonical, meta, counts)
    manifest = _with_tied(canonical, manifest, shard["models"][key], counts)
    if stored.get("aliases") and not variant and not counts:
        manifest = replace(manifest, aliases=tuple(tuple(a) for a in stored["aliases"]))
    if class_kwarg and kwargs.get(class_kwarg) is UNEVALUATED:
        # `num_labels=len(labels)`: every name is known but the heads' class axes are not,
        # so the heads are holes (rules say nothing about names under them).
        heads = _class_heads(knobs[class_kwarg])
        if not variant and not _zero_class_variant_inside(shard, stored, heads, manifest):
            raise ValueError(f"zoo model {canonical!r}: {class_kwarg} could not be evaluated")
        return _with_head(replace(manifest, holes=tuple(heads)), entry)
    if class_kwarg and class_kwarg in kwargs:
        classes = _check_int(canonical, class_kwarg, kwargs[class_kwarg],
                             0 if entry["library"] == "timm" else 1)
        manifest = _resize(manifest, knobs[class_kwarg], classes)
    return _with_head(manifest, entry)


def _with_tied(model_id: str, manifest: Manifest, stored: dict[str, Any],
               counts: dict[tuple[str, int], int]) -> Manifest:
    """Record the tied parameters the generator found (`lm_head.weight` shares
    `transformer.wte.weight`, which `named_parameters()` lists instead). A tie inside a
    repeated layer whose count was changed is refused rather than guessed."""
    pairs = stored.get("tied")
    if not pairs:
        return manifest
    if counts:
        runs = [f"{path}." if path else "" for path, _first in counts]
        for pair in pairs:
            for name in pair:
                if any(name.startswith(run) and name[len(run):].partition(".")[0].isdigit()
                       for run in runs):
                    raise ValueError(f"zoo model {model_id!r}: num_hidden_layers changes "
                                     f"layers with tied parameters ({name})")
    return replace(manifest, tied=tuple((str(a), str(b)) for a, b in pairs))


def _class_heads(knob: dict[str, Any]) -> list[str]:
    """The modules whose tensors carry the class count (cls_score and bbox_pred...)."""
    heads: list[str] = []
    for _kind, name, _axis, _factor in knob["tensors"]:
        owner = name.rpartition(".")[0]
        if owner not in heads:
            heads.append(owner)
    return heads


def _zero_class_variant_inside(shard: dict[str, Any], stored: dict[str, Any],
                               heads: list[str], manifest: Manifest) -> bool:
    """Whether timm's `num_classes=0` variant (an unevaluated count may be 0) differs from
    the model only under `heads`; True when there is no such variant."""
    key = stored.get("variants", {}).get("num_classes=0")
    if not key:
        return True
    zero = decode(shard["nodes"], shard["models"][key]["root"], manifest.name, {})

    def outside(m: Manifest) -> set[str]:
        return {n for n in (*m.parameter_names, *(b.name for b in m.buffers), *m.module_paths)
                if not any(n == h or n.startswith(h + ".") for h in heads)}

    return outside(zero) == outside(manifest)


def _variant_kwargs(stored: dict[str, Any]) -> set[str]:
    return {label.partition("=")[0].partition(">")[0] for label in stored.get("variants", {})}


def _variant(model_id: str, entry: dict[str, Any], stored: dict[str, Any],
             kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The stored variant the arguments select ('' for the model itself), and the
    arguments left for the knobs."""
    variants: dict[str, str] = stored.get("variants", {})
    if not variants:
        return "", kwargs
    chosen: list[str] = []
    rest: dict[str, Any] = {}
    if entry["library"] == "torchvision" and kwargs.get("weights", "") is None:
        kwargs = {k: v for k, v in kwargs.items() if k != "weights"}  # the default value
    explicit: list[str] = []  # variant arguments given a value other than their default
    for key, value in kwargs.items():
        labels = [label for label in variants if _variant_key(label) == key]
        if not labels:
            rest[key] = value
            continue
        if value is UNEVALUATED and key == "num_classes":
            rest[key] = value  # timm: the heads become holes (load_zoo checks the 0 variant)
            continue
        if value is UNEVALUATED:
            # Any value: fine only if every stored value and the default agree.
            if all(variants[label] == "" for label in labels) and key != "num_classes":
                explicit.append(key)
                continue
            raise ValueError(f"zoo model {model_id!r}: {key} could not be evaluated and "
                             f"changes the model's names")
        label = _label_for(key, value, labels)
        if label is None:
            if key == "num_classes":  # timm: a class count other than 0 is a knob
                rest[key] = value
                continue
            raise ValueError(f"zoo model {model_id!r}: {key}={value!r} is not in the zoo")
        if label == "":
            continue
        explicit.append(key)
        if variants[label]:
            chosen.append(variants[label])
    if len(explicit) > 1:
        # Each variant was built alone: googlenet(weights=..., aux_logits=True) was not.
        raise ValueError(f"zoo model {model_id!r}: {', '.join(explicit)} together are not in "
                         f"the zoo")
    return (chosen[0] if chosen else ""), rest


def _variant_key(label: str) -> str:
    for separator in ("=", ">"):
        if separator in label:
            return label.partition(separator)[0]
    return label


def _label_for(key: str, value: Any, labels: list[str]) -> str | None:
    """The variant label for `key=value`: '' when the value is the default."""
    if key == "weights":
        return "" if value is None else "weights"
    if key == "weights_backbone":
        return "weights_backbone=None" if value is None else ""
    if key in {"drop_path_rate", "drop_rate"}:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # 0 is the default unless a `=0` variant was stored (Swin's own default is 0.1)
            label = f"{key}=0" if value == 0 else f"{key}>0"
            return label if label in labels else "" if value == 0 else None
        return None
    if key == "global_pool":
        return f"global_pool={value!r}" if f"global_pool={value!r}" in labels else None
    if key == "num_classes":
        return "num_classes=0" if value == 0 and not isinstance(value, bool) else None
    label = f"{key}={value}"
    return label if label in labels else None


def _meta(model_id: str, entry: dict[str, Any], shard: dict[str, Any],
          stored: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"library": entry["library"], "constructor": stored["constructor"],
                            "description": _description(model_id, entry),
                            "versions": dict(shard["versions"])}
    if entry["library"] == "transformers":
        meta["transformers_major"] = int(str(shard["versions"]["transformers"]).split(".")[0])
        if "alias_versions" in stored:
            meta["alias_versions"] = stored["alias_versions"]
            meta["aliases_differ"] = bool(stored.get("aliases_differ", "aliases" in stored))
    if stored.get("hf_id"):
        meta["hf_id"] = stored["hf_id"]
    if stored.get("model_type"):
        meta["model_type"] = stored["model_type"]  # PEFT's default targets are per type
    return meta


def _with_head(manifest: Manifest, entry: dict[str, Any]) -> Manifest:
    """Record the index's classifier head, which knows better than the last-Linear guess
    (BertModel has none; a distilled DeiT's is `head`, not `head_dist`)."""
    return replace(manifest, meta={**manifest.meta, "head": entry.get("head")})


def _check_int(model_id: str, key: str, value: Any, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"zoo model {model_id!r}: {key} must be an int; got {value!r}")
    if value < lowest:
        raise ValueError(f"zoo model {model_id!r}: {key} must be at least {lowest}; got {value}")
    return value


def _resize(manifest: Manifest, knob: dict[str, Any], classes: int) -> Manifest:
    """Give the class-count axes `classes`, as the constructor argument would (the axes and
    factors were measured by building the model with two class counts)."""
    default = knob["default"]
    if classes == default:
        return manifest
    axes: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for kind, name, axis, factor in knob["tensors"]:
        axes.setdefault((kind, name), []).append((axis, factor))

    def resized(kind: str, tensor: TensorInfo) -> TensorInfo:
        changes = axes.get((kind, tensor.name))
        if not changes:
            return tensor
        shape = list(tensor.shape)
        for axis, factor in changes:
            shape[axis] = factor * classes
        return replace(tensor, shape=tuple(shape))

    attrs: dict[str, dict[str, int]] = {}
    for path, key, factor in knob["attrs"]:
        attrs.setdefault(path, {})[key] = factor * classes
    modules = tuple(ModuleInfo(m.path, m.type, {**m.attrs, **attrs[m.path]})
                    if m.path in attrs else m for m in manifest.modules)
    return replace(manifest,
                   parameters=tuple(resized("p", p) for p in manifest.parameters),
                   buffers=tuple(resized("b", b) for b in manifest.buffers),
                   modules=modules, meta={**manifest.meta, "num_classes": classes})

"""Hugging Face checkpoint ids -> models, exactly: the zoo's table first, then the local
cache, otherwise unknown.

`from_pretrained("roberta-base")` builds what the checkpoint's `config.json` says. An id in
the zoo's table of popular checkpoints resolves from the table; if the local Hugging Face
cache (`$HF_HUB_CACHE`, `$HF_HOME/hub`, or `~/.cache/huggingface/hub`) holds it, its
`config.json` must agree with the table (same model type), else it is unknown.

Any other id resolves from the cache alone, never the network. The cache holds, under
`models--org--name/snapshots/<refs/main>/`, the `config.json` (model type, the class it was
saved from: `architectures`) and the weights, whose headers give the stored keys and shapes
(`model.safetensors`, or the shards a `model.safetensors.index.json` or
`pytorch_model.bin.index.json` lists, or `pytorch_model.bin`; only headers and pickles are
read, with the bounded readers of `checkpoint.py`). The model is then:

- the zoo's class that `from_pretrained` builds (the Auto class used picks it from the model
  type), with the layer count the stored keys show;
- checked against the checkpoint: the zoo's class the checkpoint was saved from
  (`architectures`), at that layer count, must have exactly the stored keys (a tied tensor
  is stored once; buffers that are not persistent may be stored or not). Anything else
  (other configuration values changing names, keys of another transformers version, a
  class the zoo does not have) leaves the model unknown: never guessed;
- with the checkpoint's shapes. The names and shapes of what the checkpoint does not hold
  (the fresh head `AutoModelForSequenceClassification` puts on a base checkpoint: `score`,
  `classifier`, BERT's `pooler`) are not known exactly, so those modules are holes (rules
  say nothing about names under them). The checkpoint's own names are mapped through the
  base model prefix as `from_pretrained` does (`bert.encoder...` <-> `encoder...`).

Buffers the checkpoint does not store (RoPE's `inv_freq`) keep the zoo's default shapes.

A local folder (`from_pretrained("./out/checkpoint-500")`, a Trainer's `output_dir`) is read
the same way: transformers loads a path that is a directory from that directory, before any
Hugging Face id (even `bert-base-uncased` if such a folder exists). A relative path is
relative to the working directory of the run, which the linter does not know: it is looked
for next to the linted file and under the linter's working directory, and read where it
exists; where both exist and are different folders, they must give the same model, else it
is unknown. A folder that does not exist when linting is not a local folder (the id rules
above apply, and a path is no id: unknown). A PEFT adapter (`adapter_config.json`, in a
folder or a cached snapshot) is not followed: transformers then adds the adapter's layers.
Local folders can change between runs, so what is read is remembered with the files'
sizes and times.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo
from freezelint.models.zoo import (
    CACHE_PREFIX,
    UNEVALUATED,
    auto_class_target,
    class_model_type,
    hf_model_id,
    hf_model_type,
    load_zoo,
    stored_knob,
)

# Bounds on what is read from a cache folder (anyone can put files there).
MAX_CONFIG_BYTES = 8 * 2**20  # a config with 21k id2label entries is ~1 MB
MAX_INDEX_BYTES = 32 * 2**20  # the index of a 400B-parameter model is ~3 MB
MAX_SHARDS = 2048
MAX_JSON_DEPTH = 64
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")


class CacheError(ValueError):
    """A cached checkpoint that cannot be used exactly; the message is one line."""


def hub_cache() -> Path:
    """The hub cache folder, by huggingface_hub's own precedence of variables."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = os.environ.get(variable)
        if value:
            return Path(value).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def snapshot(repo_id: str, revision: str = "main") -> Path | None:
    """The cached snapshot folder `refs/<revision>` points at, or None."""
    if not _REPO_ID.fullmatch(repo_id) or ".." in repo_id:
        return None
    folder = hub_cache() / ("models--" + repo_id.replace("/", "--"))
    try:
        commit = _read_bounded(folder / "refs" / revision, 256).decode("ascii").strip()
    except (OSError, CacheError, UnicodeDecodeError):
        return None
    if not re.fullmatch(r"[0-9a-zA-Z._-]{1,128}", commit) or ".." in commit:
        return None
    found = folder / "snapshots" / commit
    return found if found.is_dir() else None


def cached_config(repo_id: str, revision: str = "main") -> dict[str, Any] | None:
    """The `config.json` of `repo_id` in the local cache, or None (not cached, unreadable,
    too large or too deeply nested)."""
    folder = snapshot(repo_id, revision)
    if folder is None:
        return None
    try:
        doc = _read_json(folder / "config.json", MAX_CONFIG_BYTES)
    except (OSError, CacheError):
        return None
    return doc if isinstance(doc, dict) else None


def resolve_checkpoint(checkpoint: str, auto_class: str | None,
                       class_name: str | None, elsewhere: bool = False,
                       base_dir: Path | None = None,
                       reads: list[Path] | None = None) -> str | None:
    """The zoo id `Class.from_pretrained(checkpoint)` builds, or None when not known
    exactly. Give the Auto class used (`AutoModel...`) or the concrete class name.
    `elsewhere`: the code names another revision or cache folder (`revision=`,
    `cache_dir=`), so the default cache's `refs/main` snapshot is not the one loaded.
    `base_dir`: the linted file's folder, where a relative local folder is looked for
    (besides the working directory); the files the answer depends on are added to
    `reads` (a folder appearing later changes it too)."""
    folders = local_folders(checkpoint, base_dir, reads)
    if folders:
        return _local_id(folders, auto_class, class_name)
    cached = cached_config(checkpoint)
    shipped_type = hf_model_type(checkpoint)
    if shipped_type is not None:
        if cached is not None and cached.get("model_type") != shipped_type:
            return None  # a local checkpoint of that name that the zoo does not describe
        return hf_model_id(checkpoint, auto_class, class_name)
    if elsewhere:
        return None
    model_id = cache_id(checkpoint, auto_class, class_name, cached)
    if model_id is None:
        return None
    try:
        cached_manifest(model_id)
    except (LookupError, ValueError):  # CacheError is a ValueError
        return None
    return model_id


def cache_id(checkpoint: str, auto_class: str | None, class_name: str | None,
             config: dict[str, Any] | None = None) -> str | None:
    """`hf-cache:org/name:Class` for a checkpoint of the local cache that the zoo's table
    does not list, whether or not it can be known exactly (`load_zoo` says why not)."""
    if hf_model_type(checkpoint) is not None:
        return None
    config = config if config is not None else cached_config(checkpoint)
    if config is None:
        return None
    target = class_name or _target(config, auto_class)
    return f"{CACHE_PREFIX}{checkpoint}:{target}" if target else None


def _target(config: dict[str, Any], auto_class: str | None) -> str | None:
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or auto_class is None:
        return None
    return auto_class_target(auto_class, model_type)


def cached_manifest(model_id: str) -> Manifest:
    """The manifest of `hf-cache:org/name:ClassName` (or `hf-cache:/abs/folder:ClassName`):
    what `ClassName.from_pretrained` builds from the cached checkpoint (the local folder).
    Raises CacheError (one line) when it is not known exactly."""
    repo_id, _, class_name = model_id.removeprefix(CACHE_PREFIX).rpartition(":")
    if os.path.isabs(repo_id):
        folder = Path(repo_id)
        if not folder.is_dir():
            raise CacheError(f"{repo_id} is not a folder")
        return _cached_manifest(repo_id, class_name, folder, _stamps(folder))
    found = snapshot(repo_id)
    if found is None:
        raise CacheError(f"{repo_id} is not in the local Hugging Face cache ({hub_cache()})")
    return _cached_manifest(repo_id, class_name, found, ())


@lru_cache(maxsize=32)
def _cached_manifest(repo_id: str, class_name: str, folder: Path,
                     stamps: tuple[Any, ...]) -> Manifest:
    """`stamps`: the sizes and times of a local folder's files (a cached snapshot never
    changes), so that a checkpoint written again is read again."""
    if (folder / "adapter_config.json").exists():
        raise CacheError(f"{repo_id}: a PEFT adapter (adapter_config.json): from_pretrained "
                         f"adds its layers to the base model; not followed")
    config = _read_json(folder / "config.json", MAX_CONFIG_BYTES)
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        raise CacheError(f"{repo_id}: its config.json has no model_type")
    model_type = config["model_type"]
    architectures = config.get("architectures")
    if not (isinstance(architectures, list) and len(architectures) == 1
            and isinstance(architectures[0], str)):
        raise CacheError(f"{repo_id}: its config.json does not name the one class it was "
                         f"saved from (architectures)")
    stored_class = architectures[0]
    tensors = stored_tensors(folder, repo_id)
    saved_id = _zoo_class(stored_class, model_type, repo_id)
    layers = _layers_shown(saved_id, tensors, config, repo_id)
    saved = _at_layers(saved_id, layers, repo_id)
    _check_ties(saved, config, repo_id)
    shapes = _verified(saved, tensors, repo_id, stored_class)
    target = saved
    if class_name != stored_class:
        # Same configuration class: its defaults, checked on the saved class, tie the same.
        target = _at_layers(_zoo_class(class_name, model_type, repo_id), layers, repo_id)
    manifest = _with_shapes(target, shapes, _prefix_map(target, saved))
    where = ({"folder": str(folder)} if stamps
             else {"hf_id": repo_id, "cache": str(folder)})
    meta = {**manifest.meta, **where, "layers": layers,
            "description": f"transformers {class_name}.from_pretrained({repo_id!r}) "
                           f"({'local folder' if stamps else 'local cache'})",
            "constructor": f"transformers.{class_name}.from_pretrained({repo_id!r})"}
    return replace(manifest, name=f"{CACHE_PREFIX}{repo_id}:{class_name}", meta=meta)


# -- local folders ---------------------------------------------------------------------------

# The files of a checkpoint folder the answer depends on (shards are listed by an index,
# which is written again with them).
_FOLDER_FILES = ("config.json", "adapter_config.json", "model.safetensors",
                 "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")
MAX_PATH_CHARS = 4096


def local_folders(checkpoint: str, base_dir: Path | None,
                  reads: list[Path] | None = None) -> list[Path]:
    """The existing folders `from_pretrained(checkpoint)` may load from: an absolute path,
    or a relative one next to the linted file (`base_dir`) and under the working
    directory, each once. Every place looked at is added to `reads`."""
    if not checkpoint or len(checkpoint) > MAX_PATH_CHARS or "\0" in checkpoint:
        return []
    path = Path(checkpoint)
    bases = [] if path.is_absolute() else [b for b in (base_dir, Path.cwd()) if b is not None]
    candidates: list[Path] = []
    for place in ([path] if path.is_absolute() else [b / path for b in bases]):
        place = Path(os.path.abspath(place))
        if place not in candidates:
            candidates.append(place)
    found = []
    for place in candidates:
        if reads is not None:
            reads.append(place)
        try:
            if place.is_dir():
                found.append(place)
        except OSError:
            continue
    if reads is not None:
        reads.extend(folder / name for folder in found for name in _FOLDER_FILES)
    return found


def _stamps(folder: Path) -> tuple[Any, ...]:
    stamps: list[Any] = []
    for name in _FOLDER_FILES:
        try:
            status = (folder / name).stat()
        except OSError:
            stamps.append((name, None))
            continue
        stamps.append((name, status.st_size, status.st_mtime_ns))
    return tuple(stamps)


def folder_id(folder: Path, auto_class: str | None, class_name: str | None) -> str | None:
    """`hf-cache:/abs/folder:Class` for a local checkpoint folder, whether or not it can be
    known exactly (`cached_manifest` says why not); None without a readable `config.json`
    naming a class for `auto_class`."""
    try:
        config = _read_json(folder / "config.json", MAX_CONFIG_BYTES)
    except CacheError:
        return None
    if not isinstance(config, dict):
        return None
    target = class_name or _target(config, auto_class)
    return f"{CACHE_PREFIX}{os.path.abspath(folder)}:{target}" if target else None


def folder_manifest(folder: Path, class_name: str | None = None) -> Manifest:
    """What `from_pretrained(folder)` builds for `class_name` (default: the class the
    folder was saved from, its `architectures`). Raises CacheError (one line)."""
    config = _read_json(folder / "config.json", MAX_CONFIG_BYTES)
    architectures = config.get("architectures") if isinstance(config, dict) else None
    if class_name is None:
        if not (isinstance(architectures, list) and len(architectures) == 1
                and isinstance(architectures[0], str)):
            raise CacheError(f"{folder}: its config.json does not name the one class it was "
                             f"saved from (architectures)")
        class_name = architectures[0]
    return cached_manifest(f"{CACHE_PREFIX}{os.path.abspath(folder)}:{class_name}")


def _local_id(folders: list[Path], auto_class: str | None, class_name: str | None) -> str | None:
    """The id of the model the local folders give, when every one gives the same exactly."""
    found: list[tuple[str, Manifest]] = []
    for folder in folders:
        model_id = folder_id(folder, auto_class, class_name)
        if model_id is None:
            return None
        try:
            manifest = cached_manifest(model_id)
        except (LookupError, ValueError):  # CacheError is a ValueError
            return None
        found.append((model_id, manifest))
    first = found[0][1]
    if any(_names_and_shapes(m) != _names_and_shapes(first) for _, m in found[1:]):
        return None
    return found[0][0]


def _names_and_shapes(manifest: Manifest) -> tuple[Any, ...]:
    return (manifest.parameters, manifest.buffers, manifest.module_paths, manifest.holes,
            manifest.tied)


# -- reading, bounded ------------------------------------------------------------------------


def _read_bounded(path: Path, limit: int) -> bytes:
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        raise CacheError(f"{path} is not a regular file")
    if status.st_size > limit:
        raise CacheError(f"{path} is {status.st_size} bytes, more than the {limit} read")
    with open(path, "rb") as handle:
        return handle.read(limit + 1)[:limit]


def _read_json(path: Path, limit: int) -> Any:
    try:
        raw = _read_bounded(path, limit)
    except OSError as error:
        raise CacheError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise CacheError(f"{path} is not valid JSON: {error}") from None
    except RecursionError:
        raise CacheError(f"{path} is JSON nested too deeply") from None
    if _depth(doc) > MAX_JSON_DEPTH:
        raise CacheError(f"{path} is JSON nested more than {MAX_JSON_DEPTH} levels")
    return doc


def _depth(doc: Any) -> int:
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


def stored_tensors(folder: Path, repo_id: str = "") -> dict[str, TensorInfo]:
    """The tensors the cached checkpoint stores, by key, from the weight files' headers."""
    from freezelint.models.checkpoint import CheckpointError, read_checkpoint

    label = repo_id or str(folder)
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (folder / index_name).exists():
            files = _index_files(folder / index_name, label)
            break
    else:
        single = [name for name in ("model.safetensors", "pytorch_model.bin")
                  if (folder / name).exists()]
        if not single:
            raise CacheError(f"{label}: no model.safetensors or pytorch_model.bin in the cache "
                             f"(only the configuration was downloaded)")
        files = single[:1]
    tensors: dict[str, TensorInfo] = {}
    for name in files:
        try:
            manifest = read_checkpoint(folder / name)
        except CheckpointError as error:
            raise CacheError(f"{label}: {error}") from None
        for tensor in manifest.parameters:
            tensors[tensor.name] = tensor
    return tensors


def _index_files(path: Path, label: str) -> list[str]:
    doc = _read_json(path, MAX_INDEX_BYTES)
    weight_map = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise CacheError(f"{label}: {path.name} has no weight_map")
    files = list(dict.fromkeys(weight_map.values()))
    if len(files) > MAX_SHARDS:
        raise CacheError(f"{label}: {path.name} lists {len(files)} files, more than "
                         f"{MAX_SHARDS}")
    for name in files:
        if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
            raise CacheError(f"{label}: {path.name} names a weight file outside the "
                             f"snapshot: {str(name)[:80]!r}")
    return files


# -- the zoo's classes, checked against the checkpoint -----------------------------------


def _zoo_class(class_name: str, model_type: str, repo_id: str) -> str:
    """The zoo id of transformers class `class_name`, built for `model_type`."""
    model_id = f"transformers/{class_name}"
    found = class_model_type(model_id)
    if found is None:
        raise CacheError(f"{repo_id}: the zoo has no transformers class {class_name}")
    if found != model_type:
        raise CacheError(f"{repo_id}: the zoo builds {class_name} for model type "
                         f"{found!r}, not {model_type!r}")
    return model_id


def _at_layers(model_id: str, layers: int | None, repo_id: str) -> Manifest:
    knob = stored_knob(model_id, "num_hidden_layers")
    default = knob["default"] if knob else None
    try:
        return load_zoo(model_id, {"num_hidden_layers": layers}
                        if layers is not None and layers != default else {})
    except (LookupError, ValueError) as error:
        raise CacheError(f"{repo_id}: {error}") from None


def _layers_shown(model_id: str, tensors: dict[str, TensorInfo], config: dict[str, Any],
                  repo_id: str) -> int | None:
    """The layer count the stored keys show for the repeated blocks the zoo measured
    (every block must agree, and the configuration too when it states one)."""
    knob = stored_knob(model_id, "num_hidden_layers")
    if not knob:
        return None
    counts = set()
    for path, first, offset in knob["runs"]:
        prefix = f"{path}." if path else ""
        indices = {int(part) for key in tensors if key.startswith(prefix)
                   and (part := key[len(prefix):].partition(".")[0]).isdigit()}
        counts.add((max(indices) + 1 - first if indices else 0) + offset)
    stated = {config[k] for k in _LAYER_KEYS if isinstance(config.get(k), int)}
    if len(counts) != 1 or (stated and not counts <= stated):
        raise CacheError(f"{repo_id}: the layer count of the stored keys ({sorted(counts)}) is "
                         f"not one the configuration states ({sorted(stated)})")
    return counts.pop()


def _check_ties(manifest: Manifest, config: dict[str, Any], repo_id: str) -> None:
    """The zoo's ties are those of the default configuration. A checkpoint that unties them
    (`tie_word_embeddings: false` where the default ties), or says it ties where the zoo's
    class ties nothing (LLaMA-3.2-1B: the default does not tie, and which names would is not
    recorded), is not followed. Checked on the class the checkpoint was saved from: the
    configuration then ties as the zoo's defaults do, for every class of that type."""
    tie = config.get("tie_word_embeddings")
    if manifest.tied and tie is False:
        raise CacheError(f"{repo_id}: tie_word_embeddings is false where the zoo's "
                         f"{manifest.name} ties {manifest.tied[0][0]}")
    if not manifest.tied and tie is True:
        raise CacheError(f"{repo_id}: tie_word_embeddings is true where the zoo's "
                         f"{manifest.name} ties nothing")


def _verified(saved: Manifest, tensors: dict[str, TensorInfo], repo_id: str,
              stored_class: str) -> dict[str, tuple[int, ...]]:
    """The shape of every state-dict key of `saved`, from the checkpoint, once the
    checkpoint's keys are exactly that class's (tied tensors stored under either name,
    buffers that are not persistent stored or not). Raises CacheError otherwise."""
    params = {p.name for p in saved.parameters}
    persistent = {b.name for b in saved.buffers if b.persistent}
    volatile = {b.name for b in saved.buffers if not b.persistent}
    tied = dict(saved.tied)
    keys = set(tensors)
    extra = keys - params - persistent - volatile - set(tied)
    missing = {p for p in params if p not in keys
               and not any(other == p and name in keys for name, other in tied.items())}
    if extra or missing:
        sample = sorted(extra)[:2] + sorted(missing)[:2]
        raise CacheError(f"{repo_id}: the stored keys are not those of the zoo's {stored_class}"
                         f" ({len(extra)} unexpected, {len(missing)} missing: "
                         f"{', '.join(sample)}); the model is left unknown")
    shapes = {name: tensors[name].shape for name in keys if name not in volatile}
    for name, other in tied.items():
        source = shapes.get(name, shapes.get(other))
        if source is not None:
            shapes.setdefault(name, source)
            shapes.setdefault(other, source)
    return shapes


def _prefix_map(target: Manifest, saved: Manifest) -> tuple[str, str]:
    """How `from_pretrained` maps the target class's names onto the checkpoint's: the
    (target prefix, saved prefix) pair under which most names agree (`("", "bert.")` for
    BertModel from a BertForMaskedLM checkpoint)."""
    target_names = {*target.parameter_names, *(b.name for b in target.buffers)}
    saved_names = {*saved.parameter_names, *(b.name for b in saved.buffers)}
    candidates = [("", "")]
    candidates += [("", child + ".") for child in _children(saved)]
    candidates += [(child + ".", "") for child in _children(target)]

    def overlap(pair: tuple[str, str]) -> int:
        mine, theirs = pair
        return sum(1 for n in target_names
                   if n.startswith(mine) and theirs + n[len(mine):] in saved_names)

    return max(candidates, key=overlap)  # the first wins ties: the identity


def _children(manifest: Manifest) -> list[str]:
    return [m.path for m in manifest.modules if m.path and "." not in m.path]


def _with_shapes(target: Manifest, shapes: dict[str, tuple[int, ...]],
                 prefixes: tuple[str, str]) -> Manifest:
    """`target` with the checkpoint's shapes; the tensors the checkpoint does not give
    (a fresh head) are removed and their modules become holes."""
    mine, theirs = prefixes

    def stored(name: str) -> tuple[int, ...] | None:
        if not name.startswith(mine):
            return None
        return shapes.get(theirs + name[len(mine):])

    params: list[TensorInfo] = []
    unknown: list[str] = []
    for tensor in target.parameters:
        shape = stored(tensor.name)
        if shape is None:
            unknown.append(tensor.name)
        else:
            params.append(replace(tensor, shape=shape))
    buffers: list[TensorInfo] = []
    for tensor in target.buffers:
        shape = stored(tensor.name)
        if shape is not None:
            buffers.append(replace(tensor, shape=shape))
        elif tensor.persistent:
            unknown.append(tensor.name)
        else:
            buffers.append(tensor)  # not stored: its default shape (documented above)
    holes = _covering(target, unknown)
    by_name = {p.name: p for p in params}
    modules = tuple(ModuleInfo(m.path, m.type, _attrs(m, by_name)) for m in target.modules)
    tied = tuple((a, b) for a, b in target.tied if b in by_name)
    return replace(target, parameters=tuple(params), buffers=tuple(buffers), modules=modules,
                   holes=(*target.holes, *holes), tied=tied)


def _covering(target: Manifest, unknown: list[str]) -> list[str]:
    """The fewest module paths (or tensor names) that cover the `unknown` tensors and
    nothing known: `classifier` rather than `classifier.weight`, `classifier.bias`."""
    if not unknown:
        return []
    missing = set(unknown)
    names = [*target.parameter_names, *(b.name for b in target.buffers)]
    holes: list[str] = []
    for name in unknown:
        path = name
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            owner = ".".join(parts[:cut])
            under = [n for n in names if n.startswith(owner + ".")]
            if all(n in missing for n in under):
                path = owner
            else:
                break
        if not any(path == h or path.startswith(h + ".") for h in holes):
            holes.append(path)
    return holes


def _attrs(module: ModuleInfo, params: dict[str, TensorInfo]) -> dict[str, int]:
    """The module's integer attributes as the checkpoint's shapes give them; an attribute
    the weight does not state (a grouped convolution's in_channels) is dropped."""
    if not module.attrs:
        return module.attrs
    prefix = f"{module.path}." if module.path else ""
    weight = params.get(prefix + "weight")
    if weight is None:
        return {}
    shape = weight.shape
    derived: dict[str, int] = {}
    if module.type == "Linear" and len(shape) == 2:
        derived = {"out_features": shape[0], "in_features": shape[1]}
    elif module.type == "Embedding" and len(shape) == 2:
        derived = {"num_embeddings": shape[0], "embedding_dim": shape[1]}
    elif module.type.startswith("Conv") and "Transpose" not in module.type and len(shape) >= 3:
        derived = {"out_channels": shape[0]}
    elif "Norm" in module.type and len(shape) == 1:
        derived = {"num_features": shape[0]}
    return {k: v for k, v in derived.items() if k in module.attrs}


def with_arguments(manifest: Manifest, kwargs: dict[str, Any]) -> Manifest:
    """`from_pretrained(id, **kwargs)` of a cached checkpoint: `num_labels` gives the class
    axes the zoo measured that many classes (a head the checkpoint holds, loaded with
    `ignore_mismatched_sizes`); a layer count other than the checkpoint's, or any other
    argument, is not followed (CacheError)."""
    kwargs = dict(kwargs)
    layers = kwargs.pop("num_hidden_layers", manifest.meta.get("layers"))
    if layers != manifest.meta.get("layers"):
        raise CacheError(f"{manifest.name}: num_hidden_layers={layers!r} differs from the "
                         f"checkpoint's layers; not followed")
    labels = kwargs.pop("num_labels", None)
    if kwargs:
        raise CacheError(f"{manifest.name}: argument(s) {', '.join(sorted(kwargs))} not "
                         f"followed for a cached checkpoint")
    if labels is None:
        return manifest
    class_name = manifest.name.rpartition(":")[2]
    knob = stored_knob(f"transformers/{class_name}", "num_labels")
    if knob is None:
        return manifest  # the class has no class axes (BertModel)
    slots = [(name, axis, factor) for kind, name, axis, factor in knob["tensors"]
             if kind == "p" and not manifest.in_hole(name)]
    if not slots:
        return manifest  # a fresh head: already holes
    if labels is UNEVALUATED:
        heads = list(dict.fromkeys(name.rpartition(".")[0] for name, _, _ in slots))
        return replace(manifest, holes=(*manifest.holes, *heads))
    if isinstance(labels, bool) or not isinstance(labels, int) or labels < 1:
        raise CacheError(f"{manifest.name}: num_labels must be a positive int; got {labels!r}")
    axes: dict[str, list[tuple[int, int]]] = {}
    for name, axis, factor in slots:
        axes.setdefault(name, []).append((axis, factor))

    def resized(tensor: TensorInfo) -> TensorInfo:
        shape = list(tensor.shape)
        for axis, factor in axes.get(tensor.name, []):
            shape[axis] = factor * labels
        return replace(tensor, shape=tuple(shape))

    params = {p.name: resized(p) for p in manifest.parameters}
    modules = tuple(ModuleInfo(m.path, m.type, _attrs(m, params)) for m in manifest.modules)
    return replace(manifest, parameters=tuple(params.values()), modules=modules)

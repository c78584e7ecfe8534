"""Recognise a model constructor in the code and name the zoo model it builds, exactly.

`ASTModel(label_dim=10)`, `torchvision.models.resnet152()`, `get_model('swin_t')`,
`torch.hub.load('pytorch/vision', 'resnet50')`, `timm.create_model('convnext_tiny')`,
`AutoModelForSequenceClassification.from_pretrained('roberta-base')`: with no `--model`,
these tell the linter which real names to check against. Only shipped data is used here
(the zoo's index, the local Hugging Face cache): nothing the user wrote is executed.

Identity is exact or unknown. A checkpoint id resolves only through the zoo's table of
Hugging Face ids or the local cache (a local checkpoint folder first, as transformers
does: `hf_cache.local_folders`), never by a substring (`roberta-base` is not BERT); the
Auto class then decides the head. An argument whose value could not be evaluated reaches the
zoo as `UNEVALUATED`, which accepts it only where every value gives the same names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AST_KWARGS = ("label_dim", "fstride", "tstride", "input_fdim", "input_tdim", "model_size")


# torchvision namespaces whose attributes are model builders.
_TORCHVISION_PACKAGES = frozenset({
    "torchvision.models", "torchvision.models.detection", "torchvision.models.segmentation",
    "torchvision.models.video", "torchvision.models.optical_flow",
    "torchvision.models.quantization",
})
_TORCH_HUB_VISION = re.compile(r"^pytorch/vision(?::[\w.\-]+)?$")

# from_pretrained / model-class arguments that never change names or shapes.
_TRANSFORMERS_NEUTRAL = frozenset({
    "cache_dir", "revision", "force_download", "resume_download", "proxies", "token",
    "use_auth_token", "local_files_only", "subfolder", "use_safetensors", "variant",
    "torch_dtype", "dtype", "device_map", "max_memory", "offload_folder", "offload_state_dict",
    "low_cpu_mem_usage", "attn_implementation", "ignore_mismatched_sizes", "output_attentions",
    "output_hidden_states", "return_dict", "use_cache", "problem_type", "finetuning_task",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "dropout",
    "attention_dropout", "hidden_dropout", "activation_dropout", "layerdrop", "mask_time_prob",
    "mask_feature_prob", "pad_token_id", "bos_token_id", "eos_token_id", "config",
    "_fast_init", "from_tf", "from_flax", "mirror", "tp_plan", "key_mapping", "gguf_file",
})
_TRANSFORMERS_KNOBS = frozenset({"num_labels", "num_hidden_layers", "add_pooling_layer"})


_WORD = re.compile(r"[A-Za-z_]\w*")
_LITERAL = re.compile(r"""['"]([\w.\-]+)['"]""")
_PREPROCESSING = ("Tokenizer", "TokenizerFast", "Config", "Processor", "Extractor")
# `X.from_pretrained` / `X.from_config`: the method is found first, then the name before it
# (a pattern that starts with `\w+` is tried at every character: 6 ms on a 100 KB file).
_FROM = re.compile(r"from_(?:pretrained|config)\b")
_CLASS_BEFORE = re.compile(r"(\w+)\s*\.\s*$")
_LOOK_BACK = 200


def _from_classes(text: str) -> set[str]:
    """The names `.from_pretrained` and `.from_config` are called on."""
    found = set()
    for match in _FROM.finditer(text):
        before = _CLASS_BEFORE.search(text, max(0, match.start() - _LOOK_BACK), match.start())
        if before is not None:
            found.add(before.group(1))
    return found


def names_a_zoo_model(text: str) -> bool:
    """Whether `text` may build a library model this module recognises: the pre-filter's
    test (prefilter.py), cheap on files that never do. Names come from the zoo's index, so
    the two never disagree."""
    from freezelint.models.zoo import library_names

    if "torchvision" in text or "pytorch/vision" in text:
        words = set(_WORD.findall(text))
        if words & library_names("torchvision") or "get_model" in words:
            return True
    if "timm" in text and "create_model" in text:
        literals = {m.partition(".")[0] for m in _LITERAL.findall(text)}
        if literals & library_names("timm"):
            return True
    if "from_pretrained" in text:
        classes = _from_classes(text)
        # An Auto class, or a name one was imported as; AutoTokenizer, AutoConfig,
        # AutoImageProcessor, AutoFeatureExtractor... build no model.
        if classes & library_names("transformers") or any(
                c.startswith("Auto") and not c.endswith(_PREPROCESSING) for c in classes):
            return True
    return False


@dataclass(frozen=True)
class ModelRequest:
    """A zoo model and the constructor arguments that change its shapes."""

    model_id: str
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)


# -- values that name a model later: argparse defaults, Hugging Face configs -------------------

@dataclass(eq=False)
class ArgParser:
    """`argparse.ArgumentParser()`: the defaults its `add_argument` calls declare. A
    script's model name often arrives as `args.model`; without a command line, the value the
    script runs with is the declared default (`default='resnet50'`)."""

    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ArgNamespace:
    """`parser.parse_args()`: each option's declared default (UNKNOWN when it has none)."""

    defaults: dict[str, Any]


@dataclass(frozen=True)
class HFConfig:
    """`AutoConfig.from_pretrained('roberta-base', num_labels=3)`: a checkpoint's configuration,
    turned into a model by `AutoModel...from_config(config)`."""

    checkpoint: str
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)


def library_value(qualified: str, args: list[Any], kwargs: dict[str, Any]) -> Any | None:
    """A value this module follows (an argument parser, a Hugging Face config), or None."""
    if qualified == "argparse.ArgumentParser":
        return ArgParser()
    parts = qualified.split(".")
    if parts[0] == "transformers" and len(parts) >= 3 and parts[-1] == "from_pretrained" \
            and parts[-2].endswith("Config"):
        checkpoint = _text(kwargs.get("pretrained_model_name_or_path", args[0] if args else None))
        if checkpoint is not None:
            return HFConfig(checkpoint, {k: v for k, v in kwargs.items()
                                         if k != "pretrained_model_name_or_path"})
    return None


def parser_method(parser: ArgParser, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """`add_argument`, `add_argument_group`, `parse_args`, `parse_known_args`, `set_defaults`."""
    from freezelint.analysis.values import UNKNOWN

    if name == "add_argument":
        dest = kwargs.get("dest")
        if not isinstance(dest, str):
            flags = [str(a) for a in args if isinstance(a, str)]
            longs = [f for f in flags if f.startswith("--")]
            chosen = longs[0] if longs else (flags[0] if flags else None)
            dest = chosen.lstrip("-").replace("-", "_") if chosen else None
        if isinstance(dest, str):
            # A required option or a positional has no value without a command line.
            given = "default" in kwargs and kwargs.get("required") is not True
            parser.defaults[str(dest)] = kwargs["default"] if given else UNKNOWN
        return None
    if name in {"add_argument_group", "add_mutually_exclusive_group"}:
        return parser  # options of a group land in the same namespace
    if name == "set_defaults":
        parser.defaults.update({str(k): v for k, v in kwargs.items()})
        return None
    if name == "parse_args":
        return ArgNamespace(dict(parser.defaults)) if not args and "args" not in kwargs \
            else UNKNOWN
    if name == "parse_known_args":
        return (ArgNamespace(dict(parser.defaults)), UNKNOWN) if not args else UNKNOWN
    return UNKNOWN


def namespace_attribute(namespace: ArgNamespace, attr: str) -> Any:
    from freezelint.analysis.values import UNKNOWN

    return namespace.defaults.get(attr, UNKNOWN)


def _plain(value: Any) -> Any:
    """A literal the zoo can read (str, int, float, bool, None), else UNEVALUATED."""
    from freezelint.models.zoo import UNEVALUATED

    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    return UNEVALUATED


def _literal_kwargs(kwargs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items()
            if k in keys and isinstance(v, (int, str)) and not isinstance(v, bool)}


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) else None


def detect_constructor(qualified: str, args: list[Any], kwargs: dict[str, Any], *,
                       base_dir: Path | None = None,
                       reads: list[Path] | None = None) -> ModelRequest | None:
    """The zoo model `qualified(*args, **kwargs)` builds, or None when it is not a known
    constructor or the model it builds cannot be named exactly. `base_dir`: the linted
    file's folder, where `from_pretrained` looks for a relative checkpoint folder (besides
    the working directory); the files that decided it are added to `reads`."""
    parts = qualified.split(".")
    last = parts[-1]
    if last == "ASTModel":
        return ModelRequest("ast", _literal_kwargs(kwargs, AST_KWARGS))
    if parts[0] == "torchvision":
        return _torchvision(qualified, args, kwargs)
    if qualified == "torch.hub.load":
        repo = _text(kwargs.get("repo_or_dir", args[0] if args else None))
        name = _text(kwargs.get("model", args[1] if len(args) > 1 else None))
        if repo and name and _TORCH_HUB_VISION.match(repo):
            extra = {k: v for k, v in kwargs.items()
                     if k not in {"repo_or_dir", "model", "source", "trust_repo",
                                  "force_reload", "verbose", "skip_validation"}}
            return _torchvision_builder(name, extra)
        return None
    if qualified in {"timm.create_model", "timm.models.create_model",
                     "timm.models._factory.create_model"}:
        return _timm(args, kwargs)
    if parts[0] == "transformers":
        return _transformers(parts, args, kwargs, base_dir, reads)
    return None


# -- torchvision ---------------------------------------------------------------------------

def _torchvision(qualified: str, args: list[Any], kwargs: dict[str, Any]) -> ModelRequest | None:
    package, _, name = qualified.rpartition(".")
    if name == "get_model" and package in {"torchvision.models", "torchvision.models._api"}:
        builder = _text(kwargs.get("name", args[0] if args else None))
        if builder is None:
            return None
        return _torchvision_builder(builder, {k: v for k, v in kwargs.items() if k != "name"})
    if package not in _TORCHVISION_PACKAGES or args:
        return None
    return _torchvision_builder(name, kwargs)


def _torchvision_builder(name: str, kwargs: dict[str, Any]) -> ModelRequest | None:
    from freezelint.models.zoo import model_library

    if model_library(name) != "torchvision":
        return None
    if "pretrained" in kwargs:  # the pre-0.13 spelling: True means the default weights
        pretrained = kwargs.pop("pretrained")
        if pretrained is not False:
            kwargs = {**kwargs, "weights": "DEFAULT" if pretrained is True else pretrained}
    return ModelRequest(name, {k: _plain(v) for k, v in kwargs.items()})


# -- timm ----------------------------------------------------------------------------------

def _timm(args: list[Any], kwargs: dict[str, Any]) -> ModelRequest | None:
    from freezelint.models.zoo import model_library, timm_tag_classes

    name = _text(kwargs.get("model_name", args[0] if args else None))
    if name is None or ":" in name:  # hf-hub:..., local-dir:...: not in the zoo
        return None
    arch, _, tag = name.partition(".")
    model_id = f"timm/{arch}"
    if model_library(model_id) != "timm":
        return None
    extra = {k: _plain(v) for k, v in kwargs.items() if k != "model_name"}
    if len(args) > 1:
        return None  # positional pretrained/pretrained_cfg: not followed
    if tag and "num_classes" not in extra:
        # A pretrained tag sets the class count of its weights (in21k: 21843).
        classes = timm_tag_classes(model_id, tag)
        if classes is None:
            return None
        extra["num_classes"] = classes
    return ModelRequest(model_id, extra)


# -- transformers --------------------------------------------------------------------------

def _transformers(parts: list[str], args: list[Any], kwargs: dict[str, Any],
                  base_dir: Path | None, reads: list[Path] | None) -> ModelRequest | None:
    from freezelint.models.zoo import is_auto_class

    if len(parts) >= 3 and parts[-1] in {"from_pretrained", "from_config"}:
        cls = parts[-2]
        if cls.endswith("Config"):
            return None
        source = kwargs.get("pretrained_model_name_or_path", kwargs.get("config",
                                                                        args[0] if args else None))
        if parts[-1] == "from_config":
            if not isinstance(source, HFConfig):
                return None
            checkpoint: str | None = source.checkpoint
            kwargs = {**source.kwargs, **{k: v for k, v in kwargs.items() if k != "config"}}
        else:
            checkpoint = _text(source)
        if checkpoint is None:
            return None
        extra = _transformers_kwargs(kwargs, skip={"pretrained_model_name_or_path"})
        if extra is None:
            return None
        if "subfolder" in kwargs:
            return None  # the configuration and weights of another folder of the repository
        from freezelint.models.hf_cache import resolve_checkpoint

        model_id = resolve_checkpoint(checkpoint, cls if is_auto_class(cls) else None,
                                      None if is_auto_class(cls) else cls,
                                      elsewhere="cache_dir" in kwargs
                                      or kwargs.get("revision", "main") != "main",
                                      base_dir=base_dir, reads=reads)
        return ModelRequest(model_id, extra) if model_id else None
    # `BertModel(config)`: which configuration is not known here, so neither is the model.
    return None


def _transformers_kwargs(kwargs: dict[str, Any], skip: set[str]) -> dict[str, Any] | None:
    """The arguments that matter to the zoo (num_labels, from id2label too), or None when
    one could change names in a way the zoo does not know."""
    from freezelint.models.zoo import UNEVALUATED

    if kwargs.get("trust_remote_code") not in (None, False):
        return None  # the checkpoint's own code may build anything
    extra: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in skip or key in _TRANSFORMERS_NEUTRAL or key == "trust_remote_code":
            continue
        if key in {"id2label", "label2id"}:
            if isinstance(value, dict):
                extra.setdefault("num_labels", len(value))
            else:
                extra.setdefault("num_labels", UNEVALUATED)
            continue
        if key in _TRANSFORMERS_KNOBS:
            extra[key] = _plain(value)
            continue
        return None
    return extra


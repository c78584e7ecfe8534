"""PEFT configs and the models they adapt: which real modules each entry of
`target_modules` and `modules_to_save` reaches, matched the way PEFT matches them.

`LoraConfig(target_modules=[...], modules_to_save=[...])` only becomes a question about real
names when it meets a model: `get_peft_model(model, config)` (or `LoraModel`, `PeftModel`,
`inject_adapter_in_model`). At that call the entries are matched against the model's
`named_modules()` as PEFT 0.21 does (`peft.tuners.tuners_utils.check_target_module_exists`
and `peft.utils.other._set_trainable`):
- a `target_modules` list entry matches a module whose name is the entry or ends with
  `.entry`; a `target_modules` string is a regular expression that must match a whole name;
  `"all-linear"` is PEFT's own shorthand;
- a `modules_to_save` entry matches a module whose name ends with the entry (no dot needed);
- `task_type="SEQ_CLS"` adds `classifier` and `score` to `modules_to_save`.
What PEFT does to the model afterwards (new names, what stays trainable) is models/peft.py's:
`get_peft_model` with a LoraConfig returns the wrapped model with PEFT's names and
trainability; the model handed to PEFT (changed in place) becomes unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis.values import (
    UNKNOWN,
    LitStr,
    ModelState,
    ModuleObj,
    Qualified,
    is_unknown,
)

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator

ALL_LINEAR = "all-linear"
SEQ_CLS_HEADS = ("classifier", "score")
# The config arguments that name modules.
NAME_LISTS = ("target_modules", "modules_to_save", "exclude_modules")
# List methods that change the list in place and return None.
LIST_MUTATORS = frozenset({"append", "extend", "insert", "remove", "sort", "reverse", "clear"})
# Calls that apply a config to a model: qualified name -> (model position, config position).
_APPLY = {
    "peft.get_peft_model": (0, 1),
    "peft.mapping.get_peft_model": (0, 1),
    "peft.mapping_func.get_peft_model": (0, 1),
    "peft.LoraModel": (0, 1),
    "peft.tuners.LoraModel": (0, 1),
    "peft.PeftModel": (0, 1),
    "peft.PeftModelForSequenceClassification": (0, 1),
    "peft.PeftModelForCausalLM": (0, 1),
    "peft.PeftModelForSeq2SeqLM": (0, 1),
    "peft.PeftModelForTokenClassification": (0, 1),
    "peft.PeftModelForQuestionAnswering": (0, 1),
    "peft.PeftModelForFeatureExtraction": (0, 1),
    "peft.inject_adapter_in_model": (1, 0),
}
_KEYWORDS = {"model": 0, "peft_config": 1, "config": 1}


@dataclass(eq=False)
class PeftConfig:
    """One `LoraConfig(...)` (or another PEFT config) as the script wrote it."""

    node: cst.Call
    kind: str  # "LoraConfig"
    arguments: dict[str, Any]  # evaluated keyword arguments
    argument_nodes: dict[str, cst.BaseExpression]  # keyword -> the argument's expression
    # Used after it was built (an attribute set or read, a method such as
    # `_register_custom_module`, handed to code not followed): what PEFT will see is not
    # only its arguments, so neither its wrapping nor the rules judge it.
    changed: bool = False

    def entries(self, keyword: str) -> list[Any] | str | Any | None:
        """The list's entries, a regex string, None (not given) or UNKNOWN."""
        value = self.arguments.get(keyword)
        if value is None or isinstance(value, str) or is_unknown(value):
            return value
        if isinstance(value, (list, tuple, set)):
            return list(value)
        return UNKNOWN

    def names(self, keyword: str) -> list[str] | None:
        """The entries of a list of names, or None (not given, a pattern, unknown)."""
        entries = self.entries(keyword)
        if isinstance(entries, list) and all(isinstance(e, str) for e in entries):
            return entries
        return None

    @property
    def task_type(self) -> str | Any | None:
        value = self.arguments.get("task_type")
        if isinstance(value, Qualified):
            return value.last
        if value is None or isinstance(value, str):
            return value
        return UNKNOWN


@dataclass(eq=False)
class PeftApplied:
    """A config applied to a model whose names are known."""

    node: cst.Call
    config: PeftConfig
    module: ModuleObj
    # Whether the model's names were all known when PEFT was applied (afterwards they are
    # not: PEFT changes the model it is given in place).
    names_known: bool = True


@dataclass(eq=False)
class NoneArgument:
    """`modules_to_save=targets.append("score")`: a config argument that is None because it
    is the result of a list method."""

    node: cst.CSTNode  # the argument's value expression
    keyword: str
    method: str


@dataclass
class PeftFacts:
    applied: list[PeftApplied] = field(default_factory=list)
    none_arguments: list[NoneArgument] = field(default_factory=list)


def handles(name: str) -> bool:
    last = name.rpartition(".")[2]
    return name.startswith("peft.") and (name in _APPLY or _is_config(last))


def _is_config(last: str) -> bool:
    return last.endswith("Config") and last not in {"PeftConfig", "PeftConfigMixin"}


def call(it: Evaluator, name: str, args: list[Any], kwargs: dict[str, Any],
         node: cst.Call) -> Any:
    if name in _APPLY:
        applied = _apply(it, name, args, kwargs, node)
        result = _wrapped(it, applied) if applied is not None and name in _WRAPPERS \
            else UNKNOWN
        # PEFT injects its layers into the model it is given: that object's names are no
        # longer the base model's (`model.named_parameters()` after get_peft_model(model)).
        for value in [*args, *kwargs.values()]:
            if isinstance(value, ModuleObj):
                value.model.opaque.add(value.path)
        return result
    nodes = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    for keyword in NAME_LISTS:
        value_node = nodes.get(keyword)
        if kwargs.get(keyword) is None and isinstance(value_node, cst.Call) \
                and isinstance(value_node.func, cst.Attribute) \
                and value_node.func.attr.value in LIST_MUTATORS:
            it.facts.peft.none_arguments.append(
                NoneArgument(value_node, keyword, value_node.func.attr.value))
    return PeftConfig(node, name.rpartition(".")[2], dict(kwargs), nodes)


def _apply(it: Evaluator, name: str, args: list[Any], kwargs: dict[str, Any],
           node: cst.Call) -> PeftApplied | None:
    model_at, config_at = _APPLY[name]
    found: dict[int, Any] = {}
    for position, value in enumerate(args):
        found[position] = value
    for keyword, position in _KEYWORDS.items():
        if keyword in kwargs:
            found[position if name != "peft.inject_adapter_in_model" else 1 - position] = \
                kwargs[keyword]
    model, config = found.get(model_at), found.get(config_at)
    if isinstance(model, ModuleObj) and isinstance(config, PeftConfig) and not model.prefix:
        applied = PeftApplied(node, config, model, not model.model.opaque)
        it.facts.peft.applied.append(applied)
        return applied
    return None


# The calls that return the wrapped PeftModel (`base_model.model.` + the adapted names).
_WRAPPERS = frozenset(n for n in _APPLY if "LoraModel" not in n and "inject" not in n)
# LoraConfig arguments that change no name, shape or trainability.
_NEUTRAL = frozenset({"lora_alpha", "init_lora_weights", "use_rslora", "fan_in_fan_out",
                      "inference_mode", "revision", "base_model_name_or_path"})


def _wrapped(it: Evaluator, applied: PeftApplied) -> Any:
    """The PeftModel `get_peft_model(model, LoraConfig(...))` returns, with PEFT's names and
    trainability (models/peft.py), or UNKNOWN when the config is not modelled exactly. The
    model handed in is changed in place by PEFT: it becomes unknown either way."""
    from freezelint.analysis import modules, trainable
    from freezelint.models.peft import LoraSpec, PeftUnsupported, apply_lora

    trainable.escape([applied.module])
    config = applied.config
    if config.kind != "LoraConfig" or config.changed or applied.module.path \
            or applied.module.model.opaque:
        return UNKNOWN
    spec: dict[str, Any] = {}
    for key, value in config.arguments.items():
        if key in _NEUTRAL:
            continue
        if key in {"target_modules", "modules_to_save"}:
            entries = config.entries(key)
            if entries is None or isinstance(entries, str):
                spec[key] = str(entries) if entries is not None else None
            elif isinstance(entries, list) and all(isinstance(e, str) for e in entries):
                spec[key] = tuple(str(e) for e in entries)
            else:
                return UNKNOWN
        elif key == "task_type":
            task = config.task_type
            if task is not None and not isinstance(task, str):
                return UNKNOWN
            spec[key] = str(task) if task is not None else None
        elif key in {"r", "lora_dropout", "use_dora", "bias"} and \
                isinstance(value, (int, float, str)):
            spec[key] = str(value) if isinstance(value, str) else value
        else:
            return UNKNOWN
    if spec.get("modules_to_save") is None:
        spec.pop("modules_to_save", None)
    manifest = applied.module.model.manifest
    try:
        wrapped = apply_lora(manifest, LoraSpec(**spec), manifest.meta.get("model_type"))
    except (PeftUnsupported, TypeError):
        return UNKNOWN
    model = modules.new_model(it, wrapped.manifest, applied.node)
    model.trainable = {p.name: p.name in wrapped.trainable for p in wrapped.manifest.parameters}
    return ModuleObj(model, "")


# -- matching, as PEFT does it ------------------------------------------------------------------
def target_matches(entry: str, keys: list[str]) -> list[str]:
    """The module names a `target_modules` list entry reaches."""
    from freezelint.models.peft import is_target  # PEFT's test, written once

    return [k for k in keys if is_target(k, entry)]


def pattern_matches(pattern: str, keys: list[str]) -> list[str] | None:
    """The module names a `target_modules` string reaches (None: not a valid pattern)."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    return [k for k in keys if compiled.fullmatch(k)]


def save_matches(entry: str, keys: list[str]) -> list[str]:
    """The module names a `modules_to_save` entry reaches (a plain suffix test)."""
    from freezelint.models.peft import is_saved  # PEFT's test, written once

    return [k for k in keys if is_saved(k, entry)]


def saved_by(modules_to_save: list[str], key: str) -> bool:
    """PEFT keeps adapters off what matches this test (`check_target_module_exists`, peft
    0.21.2: each entry an unescaped regular expression between dots; an invalid one raises
    there, so nothing is said here)."""
    try:
        return any(re.match(rf"(^|.*\.){m}($|\..*)", key) for m in modules_to_save)
    except re.error:
        return True


def literal_node(value: Any, fallback: cst.CSTNode) -> cst.CSTNode:
    return value.node if isinstance(value, LitStr) else fallback


@dataclass(frozen=True)
class EntryMatch:
    """One literal entry of a config and the real modules PEFT reaches with it (for hover)."""

    node: cst.CSTNode
    literal: str
    kind: str  # "suffix" (a list entry) or "regex" (a target_modules string)
    model: ModelState
    matched: tuple[str, ...]
    tested: tuple[str, ...]


def entry_matches(facts: PeftFacts) -> list[EntryMatch]:
    """What each literal of `target_modules` / `modules_to_save` reaches in the model it was
    applied to, as full module paths of that model."""
    found: list[EntryMatch] = []
    for applied in facts.applied:
        module = applied.module
        manifest = module.model.manifest
        if manifest.hole_under(module.path) or not applied.names_known:
            continue
        base = module.path + "." if module.path else ""
        paths = [m.path for m in manifest.modules if m.path.startswith(base) and m.path]
        keys = [p[len(base):] for p in paths]
        for keyword in ("target_modules", "modules_to_save"):
            value = applied.config.entries(keyword)
            items = [value] if isinstance(value, str) else value \
                if isinstance(value, list) else []
            for item in items:
                if not isinstance(item, LitStr):
                    continue
                if keyword == "modules_to_save":
                    reached, kind = save_matches(item, keys), "suffix"
                elif isinstance(value, str):
                    if value.lower() == ALL_LINEAR:
                        continue
                    reached, kind = pattern_matches(item, keys) or [], "regex"
                else:
                    reached, kind = target_matches(item, keys), "suffix"
                found.append(EntryMatch(item.node, str(item), kind, module.model,
                                        tuple(base + k for k in reached), tuple(paths)))
    return found

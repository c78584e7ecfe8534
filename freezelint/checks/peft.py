"""FZL401-FZL404: PEFT configs checked against the real modules of the model they adapt."""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.analysis.peft_configs import (
    ALL_LINEAR,
    SEQ_CLS_HEADS,
    PeftApplied,
    literal_node,
    pattern_matches,
    save_matches,
    saved_by,
    target_matches,
)
from freezelint.checks.base import Context, Finding, examples, plural, rule
from freezelint.models import nn_table
from freezelint.models.manifest import Manifest, derived_module_paths

# What LoRA can wrap (peft.tuners.lora.model.LoraModel._create_new_module's dispatchers):
# these classes, their subclasses and the quantized linears of bitsandbytes, GPTQ, HQQ...
LORA_TYPES = frozenset({
    "Linear", "Embedding", "Conv1d", "Conv2d", "Conv3d", "Conv1D", "MultiheadAttention",
    "NonDynamicallyQuantizableLinear",
})
LORA_CONFIGS = frozenset({"LoraConfig"})
# Attention projections by role, as architectures name them: a name for one role suggests
# this model's names for the same role.
_ROLES = (
    frozenset({"q_proj", "query", "q", "q_lin", "wq", "to_q", "query_proj", "Wq"}),
    frozenset({"k_proj", "key", "k", "k_lin", "wk", "to_k", "key_proj", "Wk"}),
    frozenset({"v_proj", "value", "v", "v_lin", "wv", "to_v", "value_proj", "Wv"}),
)
_FUSED = frozenset({"c_attn", "query_key_value", "qkv", "Wqkv", "W_pack", "qkv_proj",
                    "in_proj"})


def _modules(applied: PeftApplied) -> list[tuple[str, str]] | None:
    """(name relative to the adapted module, type) for every submodule, or None when some
    names are unknown."""
    module = applied.module
    model = module.model
    manifest = model.manifest
    if manifest.hole_under(module.path) or not applied.names_known or not manifest.modules \
            or applied.config.changed:  # used after it was built: not only its arguments
        return None
    base = module.path + "." if module.path else ""
    return [(m.path[len(base):], m.type) for m in manifest.modules
            if m.path.startswith(base) and m.path != module.path]


def _leaf_names(modules: list[tuple[str, str]], types: frozenset[str]) -> list[str]:
    seen: dict[str, None] = {}
    for path, type_name in modules:
        if type_name in types:
            seen.setdefault(path.rpartition(".")[2], None)
    return list(seen)


def _quoted(names: list[str], limit: int = 6) -> str:
    return examples(names, limit)


@rule("FZL401", reads=("peft",))
def peft_target_matches_nothing(ctx: Context) -> Iterator[Finding]:
    for applied in ctx.facts.peft.applied:
        modules = _modules(applied)
        entries = applied.config.entries("target_modules")
        if modules is None or entries is None or not isinstance(entries, (list, str)):
            continue
        keys = [path for path, _ in modules]
        label = applied.module.model.label
        fallback = applied.config.argument_nodes.get("target_modules", applied.config.node)
        if isinstance(entries, str):
            if entries.lower() == ALL_LINEAR:
                continue
            reached = pattern_matches(entries, keys)
            if reached is None or reached:
                continue
            yield Finding(literal_node(entries, fallback),
                          f"the pattern '{entries}' matches no module name of `{label}` "
                          f"(PEFT matches a string against whole names, "
                          f"e.g. `{keys[0] if keys else ''}`); {_alternatives(modules)}",
                          related=((applied.node, "applied to the model here"),))
            continue
        if not all(isinstance(e, str) for e in entries):
            continue
        found = {e for e in entries if target_matches(e, keys)}
        earlier = _other_naming(applied)
        for entry in entries:
            if entry in found or _role_covered(entry, found):
                continue
            if target_matches(entry, earlier):
                # A name of the model's other naming (transformers 4.x `query` where 5.x
                # has `q_proj`): PEFT rewrites such targets for the model it adapts
                # (tuners_utils: convert_peft_config_for_transformers), issue 13.
                continue
            yield Finding(literal_node(entry, fallback),
                          f"'{entry}' names no module of `{label}`, so PEFT adapts nothing "
                          f"there; {_suggest(entry, modules)}",
                          related=((applied.node, "applied to the model here"),))


def _other_naming(applied: PeftApplied) -> list[str]:
    """Module names, relative to the adapted module, under the manifest's other names."""
    module = applied.module
    base = module.path + "." if module.path else ""
    paths = [p for alias in module.model.manifest.aliases for p in derived_module_paths(alias)]
    return [p[len(base):] for p in paths if p.startswith(base) and p != module.path]


def _role_covered(entry: str, matched: set[str]) -> bool:
    """A list written for several architectures (`["q_proj", "query", ...]`): an entry whose
    role another entry fills on this model is the other architectures' spelling."""
    return any(entry in role and matched & role for role in (*_ROLES, _FUSED))


def _suggest(entry: str, modules: list[tuple[str, str]]) -> str:
    leaves = _leaf_names(modules, LORA_TYPES)
    for role in _ROLES:
        if entry in role:
            same = [n for n in leaves if n in role]
            if same:
                return f"its layers for that role are named {_quoted(same)}"
            fused = [n for n in leaves if n in _FUSED]
            if fused:
                return (f"its attention computes query, key and value in one layer, "
                        f"{_quoted(fused)}")
    return _alternatives(modules)


def _alternatives(modules: list[tuple[str, str]]) -> str:
    leaves = _leaf_names(modules, LORA_TYPES)
    if not leaves:
        return "it has no layer LoRA can wrap"
    return f"the layers LoRA can wrap are named {_quoted(leaves)}"


@rule("FZL402", reads=("peft",))
def peft_target_unsupported(ctx: Context) -> Iterator[Finding]:
    for applied in ctx.facts.peft.applied:
        config = applied.config
        modules = _modules(applied)
        entries = config.names("target_modules")
        if config.kind not in LORA_CONFIGS or modules is None or entries is None:
            continue
        if config.arguments.get("exclude_modules") is not None:
            continue
        saved = config.entries("modules_to_save")
        if not isinstance(saved, list) and saved is not None:
            continue
        saved = [s for s in (saved or []) if isinstance(s, str)]
        types = dict(modules)
        children = _children(modules)
        fallback = config.argument_nodes.get("target_modules", config.node)
        for entry in entries:
            reached = [k for k in target_matches(entry, list(types)) if not saved_by(saved, k)]
            bad = [k for k in reached if _unsupported(types[k], k, children, applied)]
            if not bad:
                continue
            kinds = sorted({types[k] for k in bad})
            yield Finding(literal_node(entry, fallback),
                          f"'{entry}' reaches {plural(len(bad), 'module')} of "
                          f"`{applied.module.model.label}` that LoRA cannot wrap "
                          f"({', '.join(kinds)}: {examples(bad, 2)}): get_peft_model raises "
                          f"ValueError \"Target module ... is not supported\"; LoRA wraps "
                          f"Linear, Embedding, Conv and Conv1D layers",
                          related=((applied.node, "applied to the model here"),))


def _children(modules: list[tuple[str, str]]) -> set[str]:
    """Module names that have submodules."""
    parents: set[str] = set()
    for path, _ in modules:
        parents.add(path.rpartition(".")[0])
    return parents


def _unsupported(type_name: str, key: str, parents: set[str], applied: PeftApplied) -> bool:
    """Only what is certainly not a LoRA-wrappable layer: a torch.nn class outside the
    supported ones, a normalization layer, or a container that owns no parameter itself
    (a Linear, or a subclass of one, owns its weight)."""
    if type_name in LORA_TYPES:
        return False
    if nn_table.known_class(type_name) or type_name.endswith("Norm"):
        return True
    if key in parents:
        manifest: Manifest = applied.module.model.manifest
        base = applied.module.path + "." if applied.module.path else ""
        own = f"{base}{key}"
        return not any(p.module == own for p in manifest.parameters)
    return False


@rule("FZL403", reads=("peft",))
def peft_modules_to_save_matches_nothing(ctx: Context) -> Iterator[Finding]:
    for applied in ctx.facts.peft.applied:
        config = applied.config
        modules = _modules(applied)
        entries = config.names("modules_to_save")
        if modules is None or entries is None:
            continue
        task = config.task_type
        seq_cls = task == "SEQ_CLS" or (task is not None and not isinstance(task, str))
        keys = [path for path, _ in modules]
        label = applied.module.model.label
        head = _head(applied)
        covered = head is not None and (
            any(save_matches(e, [head]) for e in entries)
            or (seq_cls and any(save_matches(e, [head]) for e in SEQ_CLS_HEADS)))
        fallback = config.argument_nodes.get("modules_to_save", config.node)
        saved = {e for e in entries if save_matches(e, keys)}
        for entry in entries:
            if entry in saved or (seq_cls and entry in SEQ_CLS_HEADS) \
                    or (entry in _NEW_HEADS and saved & _NEW_HEADS):
                continue
            message = f"'{entry}' names no module of `{label}`: PEFT saves and trains nothing there"
            if head is not None and not covered:
                message += (f", and the model's head `{head}` is in no entry, so it stays "
                            f"frozen; did you mean '{head.rpartition('.')[2]}'?")
            yield Finding(literal_node(entry, fallback), message,
                          related=((applied.node, "applied to the model here"),))


# Heads a task adds on top of a pretrained body (a causal LM's pretrained `lm_head` is not one).
_NEW_HEADS = frozenset({"classifier", "score", "fc", "head", "classification_head",
                        "qa_outputs", "mlp_head"})


def _head(applied: PeftApplied) -> str | None:
    """The model's freshly initialised task head, relative to the adapted module."""
    head = applied.module.model.manifest.head
    if head is None or (head.split(".")[-1] not in _NEW_HEADS and \
            head.split(".")[0] not in _NEW_HEADS):
        return None
    base = applied.module.path + "." if applied.module.path else ""
    return head[len(base):] if head.startswith(base) else None


# `modules_to_save=targets.append("score")`, the form FZL404 reports.
_LIST_METHOD_ARGUMENT = r"_(?:modules|save)\s*=\s*[\w.]+\.(?:append|extend)\("


@rule("FZL404", reads=("peft",), triggers=(_LIST_METHOD_ARGUMENT,))
def list_method_result_passed(ctx: Context) -> Iterator[Finding]:
    for argument in ctx.facts.peft.none_arguments:
        yield Finding(argument.node,
                      f"`{argument.method}` changes the list in place and returns None, so "
                      f"`{argument.keyword}` is None here (and the list itself now holds the "
                      f"new entry); pass a list literal instead")

"""FZL301-FZL307: loading checkpoints into the model."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from freezelint.analysis.facts import Load
from freezelint.analysis.values import StateDict
from freezelint.analysis.walk import walk
from freezelint.checks.base import (
    Context,
    Finding,
    FixSpec,
    Lines,
    examples,
    fix,
    plural,
    rule,
)
from freezelint.checks.key_prefixes import strip_advice, strip_prefix
from freezelint.checks.saved_checkpoints import flow_of
from freezelint.common.diagnostics import Safety
from freezelint.common.torch_api import STACKED_PREFIXES


def _prefix_of(keys: list[str], reference: set[str]) -> tuple[str, list[str]] | None:
    """The wrapper prefix most of `keys` carry in front of a name in `reference`."""
    best: tuple[str, list[str]] | None = None
    for prefix in STACKED_PREFIXES:
        hits = [k for k in keys if k.startswith(prefix) and k[len(prefix):] in reference]
        if hits and (best is None or len(hits) > len(best[1])):
            best = (prefix, hits)
    return best


# A checkpoint whose keys come from its file or from a save in the same script: its rules can
# report with no model given.
CHECKPOINT_IO = r"torch\.(?:save|load\(\s*['\"])"


@rule("FZL301", reads=("loads", "checkpoints", "models"), triggers=(CHECKPOINT_IO,))
def state_dict_prefix_mismatch(ctx: Context) -> Iterator[Finding]:
    # A load whose save the script shows is FZL308/FZL309's: they say which wrapper added
    # the prefix, and their fix is certain.
    flow = flow_of(ctx)
    followed = {id(n) for load in (flow.loads if flow else ())
                for n in (load.node, *walk(load.argument))}
    for load in ctx.facts.loads.values():
        finding = None if id(load.node) in followed else _load_mismatch(load, ctx)
        if finding is not None:
            yield finding
    for node, state in ctx.facts.checkpoints:
        finding = None if id(node) in followed else _checkpoint_mismatch(ctx, node, state)
        if finding is not None:
            yield finding


def _checkpoint_mismatch(ctx: Context, node: cst.CSTNode, state: StateDict) -> Finding | None:
    """A checkpoint read from a file whose keys carry a wrapper prefix the script's model
    lacks, which reaches the model without the prefix ever being stripped."""
    if state.stripped or not state.reached_model or not ctx.facts.models:
        return None
    if any(load.state_dict is not None and load.state_dict.root is state.root
           for load in ctx.facts.loads.values()):
        return None  # judged where it is loaded, against the (maybe wrapped) module's keys
    expected = set(ctx.facts.models[0].manifest.state_dict_keys)
    keys = list(state)
    if not keys or len(set(keys) & expected) >= len(keys) / 2:
        return None
    carried = _prefix_of(keys, expected)
    if carried is None or len(carried[1]) < len(keys) / 2:
        return None
    prefix, hits = carried
    return Finding(node, (
        f"{len(hits)} of the {len(keys)} keys of this checkpoint carry `{prefix}` "
        f"({examples(hits, 2)}; saved from a wrapped model) and "
        f"`{ctx.facts.models[0].label}`'s keys do not, and nothing strips it before the keys "
        f"reach the model; use {strip_advice(prefix, ctx)}"))


def _load_mismatch(load: Load, ctx: Context) -> Finding | None:
    state = load.state_dict
    if state is None or not state:
        return None
    keys = list(state)
    expected = set(load.expected)
    if len(set(keys) & expected) >= len(keys) / 2:
        return None
    carried = _prefix_of(keys, expected)
    if carried is not None and len(carried[1]) >= len(keys) / 2:
        prefix, hits = carried
        return Finding(load.node, (
            f"{plural(len(hits), 'key')} of this state dict carry the wrapper prefix "
            f"`{prefix}` ({examples(hits, 2)}) that `{load.model.label}`'s own keys lack: "
            f"{_consequence(load)}; strip it with {strip_advice(prefix, ctx)}"))
    lacking = _prefix_of(list(expected), set(keys))
    if lacking is not None and len(lacking[1]) >= len(expected) / 2:
        prefix, hits = lacking
        return Finding(load.node, (
            f"the model is wrapped: its keys start with `{prefix}` ({examples(hits, 2)}) but "
            f"the state dict's do not: {_consequence(load)}; load into the unwrapped model "
            f"(`model.module.load_state_dict(...)`)"))
    return None


def _consequence(load: Load) -> str:
    if load.strict is False:
        return "with strict=False nothing is loaded and the model keeps its random weights"
    return "strict loading fails with missing and unexpected keys"


@rule("FZL302", reads=("syntax",), triggers=(r"\[\s*(?:6|7|8|9|10|len\(\s*['\"])\s*:\s*\]",))
def unguarded_prefix_slice(ctx: Context) -> Iterator[Finding]:
    names = _example_names(ctx)
    for node, prefix in ctx.facts.syntax.prefix_slices:
        cut = len(prefix)
        damage = ""
        if names:
            sample = next((n for n in names if len(n) > cut), names[0])
            damage = f" (`{sample}` becomes `{sample[cut:]}`)"
        title, replacement = strip_prefix(node.value, prefix, ctx)
        message = (f"`[{cut}:]` strips `{prefix}` without checking that the key has it: a key "
                   f"saved without the prefix loses {cut} real characters{damage} and no "
                   f"longer matches; use {title}")
        yield Finding(node, message, fixes=(fix(f"Use {title}", Safety.SAFE,
                                                (node, replacement)),))


def _example_names(ctx: Context) -> list[str]:
    for model in ctx.facts.models:
        return model.manifest.state_dict_keys
    return []


@rule("FZL303", reads=("syntax",), triggers=(r"\.(?:replace|lstrip)\(\s*['\"]\w+\.['\"]",))
def prefix_replace(ctx: Context) -> Iterator[Finding]:
    names = _example_names(ctx)
    for node, prefix, method in ctx.facts.syntax.prefix_strips:
        assert isinstance(node.func, cst.Attribute)
        title, replacement = strip_prefix(node.func.value, prefix, ctx)
        if method == "lstrip":
            hurt = next((n for n in names if (prefix + n).lstrip(prefix) != n), None)
            sample = f": `{prefix}{hurt}` becomes `{(prefix + hurt).lstrip(prefix)}`" if hurt else ""
            message = (f"`lstrip('{prefix}')` strips any of the characters "
                       f"{''.join(sorted(set(prefix)))!r} from the left, not the prefix"
                       f"{sample}; use {title}")
            # The prefix is plainly what was meant: the fix keeps the intent.
            safety = Safety.SAFE
        else:
            inner = next((n for n in names if prefix in n[1:]), f"head.original_{prefix}weight")
            message = (f"`replace('{prefix}', '')` removes `{prefix}` wherever it occurs in the "
                       f"key, not only in front: also from the end of a longer name (`{inner}` "
                       f"becomes `{inner.replace(prefix, '')}`); use {title}")
            # Unsafe: code that means to drop an inner wrapper (a submodule wrapped in
            # DataParallel: `encoder.module.`) too would keep it.
            safety = Safety.UNSAFE
        yield Finding(node, message, fixes=(fix(f"Use {title}", safety, (node, replacement)),))


_STRICT_FALSE = re.compile(r"strict\s*=\s*False")


def _nonstrict_load(text: str) -> bool:
    """Both sources of FZL304 are a `load_state_dict(...)` call (a `strict=False` of `zip`,
    `json.loads` or a comment is not a load)."""
    return "load_state_dict" in text and _STRICT_FALSE.search(text) is not None


@rule("FZL304", reads=("loads",), triggers=(_nonstrict_load,))
def strict_false_unchecked(ctx: Context) -> Iterator[Finding]:
    for load in ctx.facts.loads.values():
        if load.strict is not False or not load.result_discarded:
            continue
        message = ("`strict=False` with the result thrown away: keys that do not match are "
                   "skipped without a word")
        state = load.state_dict
        if state is not None and load.expected:
            loaded = [k for k in state if k in load.expected]
            missing = [k for k in load.expected if k not in state]
            message += (f"; here {len(loaded)} of {len(load.expected)} keys of "
                        f"`{load.model.label}` would load ({plural(len(missing), 'missing key')}"
                        + (f": {examples(missing, 2)}" if missing else "") + ")")
        message += "; check `missing_keys` and `unexpected_keys` of the result"
        yield Finding(load.node, message, fixes=_report_fix(load.node, load.statement))
    # Without the model: the discarded result is the same bug on every model.
    flow = flow_of(ctx)
    for node, statement in flow.discarded_nonstrict if flow else ():
        if node not in ctx.facts.loads:
            yield Finding(node, "`strict=False` with the result thrown away: keys that do not "
                                "match are skipped without a word; check `missing_keys` and "
                                "`unexpected_keys` of the result",
                          fixes=_report_fix(node, statement))


def _report_fix(node: cst.Call, statement: cst.CSTNode | None) -> tuple:  # type: ignore[type-arg]
    if not isinstance(statement, cst.Expr):
        return ()
    assigned = cst.Assign(targets=[cst.AssignTarget(cst.Name("load_result"))], value=node)
    report = ("print('missing keys:', load_result.missing_keys, "
              "'unexpected keys:', load_result.unexpected_keys)")
    return (fix("Report missing and unexpected keys", Safety.SAFE,
                (statement, Lines((assigned, report)))),)


@rule("FZL305", reads=("empty_filters", "merges"), triggers=(CHECKPOINT_IO,))
def state_dict_merge_mismatch(ctx: Context) -> Iterator[Finding]:
    for empty in ctx.facts.empty_filters.values():
        source = empty.source
        if _keys_guessed(source):
            continue
        yield Finding(empty.node, f"this filter keeps none of the {len(source)} keys of "
                                  f"`{source.label}`: nothing will be loaded")
    for merge in ctx.facts.merges.values():
        if merge.overwritten or not merge.added or _keys_guessed(merge.source):
            continue
        source = merge.source
        node = source.node if isinstance(source.node, cst.DictComp) else merge.node
        message = (f"the merged state dict has {plural(len(merge.added), 'key')} the model "
                   f"does not have ({examples(merge.added, 2)}) and overwrites none of its "
                   f"{merge.target_size}: `update()` adds them instead of loading them")
        fixes: tuple[FixSpec, ...] = ()
        if isinstance(node, cst.DictComp):
            from freezelint.analysis.checkpoint_syntax import tested_key  # (a merge only)

            tested = tested_key(node)
            if tested is not None:
                message += f"; the filter tests `{ctx.module.code_for_node(tested)}` but keeps `{ctx.module.code_for_node(node.key)}`"
                fixes = (fix("Keep the key that was tested", Safety.SAFE, (node.key, tested)),)
        yield Finding(node, message, fixes=fixes)
    # Without the model: a filter that tests `k[7:]` but keeps `k`, whose result is merged
    # into the dict it tested or loaded into its model, keeps only keys that cannot match.
    reported = {id(e.node) for e in ctx.facts.empty_filters.values()} | {
        id(m.source.node) for m in ctx.facts.merges.values()}
    flow = flow_of(ctx)
    for comp, tested in flow.tested_not_kept if flow else ():
        if id(comp) in reported:
            continue
        code = ctx.module.code_for_node
        yield Finding(comp, (
            f"the filter tests `{code(tested)}` but keeps `{code(comp.key)}`, which still has what "
            f"the test took off: no kept key matches the model's, strict loading fails with "
            f"unexpected keys and with strict=False nothing is loaded"), fixes=(fix("Keep the key that was tested", Safety.SAFE,
                                   (comp.key, tested)),))


@rule("FZL306", reads=("loads",), triggers=(CHECKPOINT_IO,))
def shape_mismatch(ctx: Context) -> Iterator[Finding]:
    for load in ctx.facts.loads.values():
        state = load.state_dict
        if state is None:
            continue
        mismatched = [k for k, v in state.items() if k in load.expected and v.shape is not None
                      and tuple(v.shape) != tuple(load.expected[k])]
        if not mismatched:
            continue
        first = mismatched[0]
        message = (f"size mismatch for {plural(len(mismatched), 'key')}: `{first}` is "
                   f"{list(state[first].shape or ())} in the state dict but "
                   f"{list(load.expected[first])} in `{load.model.label}`"
                   + (f" (also {examples(mismatched[1:], 2)})" if len(mismatched) > 1 else "")
                   + "; this raises even with strict=False: drop those keys before loading"
                   + ("" if load.strict is False else
                      ", with strict=False and a check that only they are missing"))
        yield Finding(load.node, message, fixes=_drop_fix(load, mismatched))


def _drop_fix(load: Load, keys: list[str]) -> tuple:  # type: ignore[type-arg]
    """Drop the mismatched keys. A strict load would then raise on them as missing keys, so
    it becomes non-strict, followed by a check that nothing else is missing or unexpected
    (the idiom of MAE's and DeiT's fine-tuning scripts)."""
    if not load.node.args:
        return ()
    arg = load.node.args[0].value
    if not isinstance(arg, cst.Name):
        return ()
    excluded = "{" + ", ".join(repr(k) for k in keys) + "}"
    kept = cst.parse_expression(f"{{k: v for k, v in {arg.value}.items() if k not in {excluded}}}")
    title = "Drop the mismatched keys"
    if load.strict is False:
        return (fix(title, Safety.UNSAFE, (arg, kept)),)
    if load.strict is not True or not isinstance(load.statement, cst.Expr):
        return ()  # strictness unknown, or the result is used: a rewrite would change meaning
    strict = cst.Arg(keyword=cst.Name("strict"), value=cst.Name("False"),
                     equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                           whitespace_after=cst.SimpleWhitespace("")))
    args = [a for a in load.node.args[1:] if not (a.keyword and a.keyword.value == "strict")]
    call = load.node.with_changes(args=[load.node.args[0].with_changes(
        value=kept, comma=cst.MaybeSentinel.DEFAULT), *args, strict])
    assigned = cst.Assign(targets=[cst.AssignTarget(cst.Name("load_result"))], value=call)
    check = (f"assert set(load_result.missing_keys) == {excluded} "
             "and not load_result.unexpected_keys, load_result")
    return (fix(title + " and check what is missing", Safety.UNSAFE,
                (load.statement, Lines((assigned, check)))),)


@rule("FZL307", reads=("key_lookups",), triggers=(CHECKPOINT_IO,))
def key_not_found(ctx: Context) -> Iterator[Finding]:
    for lookup in ctx.facts.key_lookups.values():
        if lookup.found or _keys_guessed(lookup.state_dict):
            continue
        state: StateDict = lookup.state_dict
        keys = list(state)
        options = _close_keys(lookup.key, keys)
        message = f"'{lookup.key}' is not a key of {_describe(state)} ({plural(len(keys), 'key')})"
        fixes: tuple[FixSpec, ...] = ()
        if options:
            message += f"; did you mean '{options[0]}'?"
            if isinstance(lookup.node, cst.SimpleString):
                node = lookup.node
                fixes = (fix(f"Replace with '{options[0]}'", Safety.UNSAFE,
                             (node, f"{node.prefix}{node.quote}{options[0]}{node.quote}")),)
        yield Finding(lookup.node, message, fixes=fixes)


def _keys_guessed(state: StateDict) -> bool:
    """Whether the state dict's keys were guessed from one plain key the code names (a
    loaded checkpoint taken for the model's whose names that key matches, with no wrapper
    prefix to say so: state_dicts.infer), or derived from such a one: that a key is not
    among them is no proof that the checkpoint lacks it (diffusers' conversion scripts read
    the original checkpoint's keys, a few of which a converted model shares)."""
    return state.origin == "one key" or state.root.origin == "one key"


def _describe(state: StateDict) -> str:
    if state.origin == "model":
        return f"`{state.label}`'s state dict"
    if state.origin == "checkpoint":
        return f"the checkpoint `{state.label}`"
    return f"this state dict ({state.label})" if state.label else "this state dict"


def _close_keys(key: str, keys: list[str]) -> list[str]:
    options: list[str] = []
    for prefix in STACKED_PREFIXES:  # the same name with or without a wrapper prefix
        for candidate in (prefix + key, key.removeprefix(prefix)):
            if candidate != key and candidate in keys and candidate not in options:
                options.append(candidate)
    import difflib  # (a finding only)

    for candidate in difflib.get_close_matches(key, keys, n=3, cutoff=0.7):
        if candidate not in options:
            options.append(candidate)
    return options[:3]

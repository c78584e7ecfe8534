"""FZL308-FZL309: a checkpoint the script saves, loaded back in a format that cannot fit.

The key format comes from the code (analysis/checkpoint_flow.py), not from the model's names:
these rules work when the model is unknown. Where they report a load, FZL301 (which needs the
model's keys) leaves it to them: they name the wrapper and their fix is certain.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from freezelint.checks.base import Context, Finding, FixSpec, fix, rule
from freezelint.checks.key_prefixes import strip_advice, strip_prefix
from freezelint.common.diagnostics import Safety

if TYPE_CHECKING:
    from freezelint.analysis.checkpoint_values import CheckpointFlow, PrefixLoad

_MAX_SIBLINGS = 200
_MAX_SIBLING_BYTES = 1_000_000


def flow_of(ctx: Context) -> CheckpointFlow | None:
    """The checkpoint flow of the file, followed once per lint run, with what the scripts
    beside it save; None for a file that never calls `load_state_dict`, where the flow has
    no fact (every fact of the flow is about a load): its modules are not even imported."""
    if "load_state_dict" not in ctx.text:
        return None
    from freezelint.analysis.checkpoint_values import CheckpointFlow

    flow = ctx.data.get("checkpoint_flow")
    if not isinstance(flow, CheckpointFlow):
        from freezelint.analysis.checkpoint_flow import follow

        path = ctx.data.get("path")
        flow = follow(ctx.module, (lambda needed: _siblings(ctx, path, needed))
                      if isinstance(path, Path) else None)
        for node, top in flow.owner.items():
            ctx.facts.owner.setdefault(node, top)
        ctx.data["checkpoint_flow"] = flow
    return flow


def _siblings(ctx: Context, path: Path, needed: set[str]) -> Iterator[tuple[str, cst.Module]]:
    """The other scripts in the file's directory that may save one of the `needed` paths
    (they name its file and call a save; read, never run); each one read is a dependency of
    the result."""
    names = {p.replace("\\", "/").rpartition("/")[2] for p in needed}
    try:
        candidates = sorted(path.parent.glob("*.py"))[:_MAX_SIBLINGS]
    except OSError:
        return
    for candidate in candidates:
        if candidate.name == path.name or not candidate.is_file():
            continue
        try:
            if candidate.stat().st_size > _MAX_SIBLING_BYTES:
                continue
            text = candidate.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        ctx.facts.files_read.append(candidate)
        if "save" not in text or not any(name in text for name in names):
            continue
        try:
            yield candidate.name, cst.parse_module(text)
        except (cst.ParserSyntaxError, ValueError, RecursionError):
            continue


def _related(load: PrefixLoad) -> tuple[tuple[cst.CSTNode, str], ...]:
    return () if load.saved.elsewhere else ((load.saved.node, "saved here"),)


def _saved_by(load: PrefixLoad) -> str:
    return f" by `{load.saved.elsewhere}`" if load.saved.elsewhere else ""


def _strict(load: PrefixLoad) -> bool:
    for position, arg in enumerate(load.node.args):
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword == "strict" or (keyword is None and position == 1):
            return not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
    return True


def _consequence(load: PrefixLoad, what: str = "nothing is loaded") -> str:
    if _strict(load):
        return "strict loading fails with missing and unexpected keys"
    return f"with strict=False {what} and the model keeps its initial weights, silently"


@rule("FZL308")
def saved_prefix_mismatch(ctx: Context) -> Iterator[Finding]:
    flow = flow_of(ctx)
    for load in flow.loads if flow else ():
        if load.kind == "container":
            continue
        receiver = ctx.module.code_for_node(load.receiver)
        argument = ctx.module.code_for_node(load.argument)
        related = _related(load)
        if load.kind == "carry":
            message = (f"every key of this state dict starts with `{load.prefix}` (it was saved"
                       f"{_saved_by(load)} from `{load.cause}(...)`) and `{receiver}` is the "
                       f"model without the wrapper: {_consequence(load)}; strip it with "
                       f"{strip_advice(load.prefix, ctx)}")
            yield Finding(load.node, message, related, (_strip(ctx, load, argument, filtered=False),))
        elif load.kind == "lack":
            attr = load.prefix.rstrip(".")
            message = (f"`{receiver}` is wrapped in `{load.cause}(...)`, so its keys start with "
                       f"`{load.prefix}`, and this state dict was saved{_saved_by(load)} from "
                       f"the model without the wrapper: {_consequence(load)}; load into "
                       f"`{receiver}.{attr}`")
            yield Finding(load.node, message, related, (
                fix(f"Load into {receiver}.{attr}", Safety.SAFE,
                    (load.receiver, f"{receiver}.{attr}")),))
        elif load.kind == "lightning":
            message = (f"this state dict holds the keys of the whole LightningModule "
                       f"`{load.cause}`, and `{receiver}` is its submodule at `{load.prefix}`: "
                       f"its weights are saved as `{load.prefix}...`, "
                       f"{_consequence(load)}; keep the keys under `{load.prefix}` without "
                       f"the prefix")
            yield Finding(load.node, message, related, (_strip(ctx, load, argument, filtered=True),))
        elif load.kind == "compiled":
            paths = ", ".join(f"`{p}`" for p in load.paths)
            sample = load.paths[0]
            if load.cause == "saved":
                how = (f"{paths} had been compiled in place when this state dict was saved: "
                       f"its keys read `{sample}._orig_mod.*`, and `{receiver}` has `{sample}.*`")
            else:
                how = (f"{paths} of `{receiver}` is compiled in place: its keys read "
                       f"`{sample}._orig_mod.*`, and this state dict has `{sample}.*`")
            message = (f"{how}: {_consequence(load, 'those weights are skipped')}; "
                       f"compile the submodule with `.compile()`, which keeps its names")
            yield Finding(load.node, message, related)


def _strip(ctx: Context, load: PrefixLoad, argument: str, filtered: bool) -> FixSpec:
    prefix = load.prefix
    condition = f" if k.startswith('{prefix}')" if filtered else ""
    stripped = ctx.module.code_for_node(strip_prefix(cst.Name("k"), prefix, ctx)[1])
    text = f"{{{stripped}: v for k, v in {argument}.items(){condition}}}"
    return fix(f"Strip '{prefix}' from the keys", Safety.SAFE, (load.argument, text))


@rule("FZL309")
def checkpoint_dict_loaded_whole(ctx: Context) -> Iterator[Finding]:
    flow = flow_of(ctx)
    for load in flow.loads if flow else ():
        if load.kind != "container":
            continue
        argument = ctx.module.code_for_node(load.argument)
        entries = ", ".join(f"'{k}'" for k in load.paths)
        message = (f"the file holds a dict with the entries {entries}, not a state dict: "
                   f"{_consequence(load)}; the model's state dict is "
                   f"`{argument}['{load.key}']`")
        yield Finding(load.node, message, _related(load), (
            fix(f"Load {argument}['{load.key}']", Safety.SAFE,
                (load.argument, f"{argument}[{load.key!r}]")),))

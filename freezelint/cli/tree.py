"""A model's module tree, drawn for a person: `freezelint params` and `freezelint explain`.

A flat list of 159 names hides what matters when fine-tuning: which blocks there are, how
big each part is, and (for `explain`) which parts a script leaves trainable. The tree groups
parameters under their modules, gives every module its type and its total parameter count
and elements, and collapses runs of identical numbered siblings (`v.blocks.0-11  Block x12`)
so that a transformer fits on one screen. With a trainable state (from `lint.analyze`), each
module also says whether it trains, is frozen, or partly either, and a run of blocks is
collapsed only where the blocks are frozen alike.

This module only draws: the names come from a Manifest and the state from the analysis.
Colour is for terminals; the text is the same without it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.text import Text
from rich.tree import Tree

from freezelint.common.words import human, plural
from freezelint.models.manifest import Manifest, TensorInfo

if TYPE_CHECKING:
    from freezelint.common.diagnostics import Span
    from freezelint.engine.lint import Analysis, OptimizerSummary

# A parameter's state after the script: True trains, False frozen, None unknown.
State = bool | None

_TRAINS = "bold green"
_FROZEN = "dim"
_UNKNOWN = "yellow"
_TYPE = "cyan"


@dataclass
class Node:
    """One module (or a run of identical sibling modules, `repeat` > 1)."""

    name: str  # the last component of its path ('' for the root), or "0-11" for a run
    type: str
    params: list[TensorInfo] = field(default_factory=list)  # its own, not its children's
    buffers: list[TensorInfo] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    repeat: int = 1


@dataclass(frozen=True)
class Counts:
    """Parameters (tensors) and elements under a node, and how many of them train."""

    tensors: int = 0
    elements: int = 0
    trains: int = 0
    trains_elements: int = 0
    unknown: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tensors + other.tensors, self.elements + other.elements,
                      self.trains + other.trains, self.trains_elements + other.trains_elements,
                      self.unknown + other.unknown)

    def times(self, factor: int) -> Counts:
        return Counts(self.tensors * factor, self.elements * factor, self.trains * factor,
                      self.trains_elements * factor, self.unknown * factor)


def build(manifest: Manifest) -> Node:
    """The module tree of `manifest`, in registration order (a module's own parameters
    before its children's, as `named_parameters()` lists them)."""
    types = {m.path: m.type for m in manifest.modules}
    root = Node("", types.get("", manifest.meta.get("architecture") or ""))
    nodes: dict[str, Node] = {"": root}

    def node(path: str) -> Node:
        if path not in nodes:
            parent_path, _, name = path.rpartition(".")
            created = Node(name, types.get(path, ""))
            node(parent_path).children.append(created)
            nodes[path] = created
        return nodes[path]

    for path in manifest.module_paths:
        node(path)
    for tensor in manifest.parameters:
        node(tensor.module).params.append(tensor)
    for tensor in manifest.buffers:
        node(tensor.module).buffers.append(tensor)
    return _prune(root)


def _prune(node: Node) -> Node:
    """Drop modules without parameters or buffers anywhere below them (dropout,
    activations): they cannot be frozen and only lengthen the tree."""
    node.children = [_prune(c) for c in node.children if _holds_tensors(c)]
    return node


def _holds_tensors(node: Node) -> bool:
    return bool(node.params or node.buffers or any(_holds_tensors(c) for c in node.children))


def collapse(node: Node, state: dict[str, State] | None) -> Node:
    """A copy where each run of two or more consecutive numbered siblings that are alike
    (same types, names, shapes and, with `state`, the same trainable state) becomes one
    node `first-last` with `repeat` set. A run keeps its first module's tensors, whose
    names are real ones."""
    children = [collapse(c, state) for c in node.children]
    merged: list[Node] = []
    index = 0
    while index < len(children):
        first = children[index]
        end = index + 1
        if first.name.isdigit():
            signature = _signature(first, state)
            while (end < len(children) and children[end].name.isdigit()
                   and int(children[end].name) == int(first.name) + (end - index)
                   and _signature(children[end], state) == signature):
                end += 1
        if end - index > 1:
            last = children[end - 1].name
            merged.append(Node(f"{first.name}-{last}", first.type, first.params,
                               first.buffers, first.children, repeat=end - index))
        else:
            merged.append(first)
        index = end
    return Node(node.name, node.type, node.params, node.buffers, merged, node.repeat)


def _signature(node: Node, state: dict[str, State] | None) -> tuple[object, ...]:
    """What must be equal for two sibling modules to be drawn as one."""
    def own(tensor: TensorInfo) -> tuple[object, ...]:
        short = tensor.name.rpartition(".")[2]
        return (short, tensor.shape, tensor.dtype,
                state.get(tensor.name) if state is not None else None)

    return (node.type, node.repeat, tuple(own(p) for p in node.params),
            tuple((b.name.rpartition(".")[2], b.shape, b.dtype) for b in node.buffers),
            tuple((c.name, _signature(c, state)) for c in node.children))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def counts(node: Node, state: dict[str, State] | None) -> Counts:
    """Totals under one module of `node` (multiply by `repeat` for a whole run)."""
    total = Counts()
    for tensor in node.params:
        trains = state.get(tensor.name) if state is not None else None
        total = total + Counts(1, tensor.numel, int(trains is True), tensor.numel if trains
                               else 0, int(state is not None and trains is None))
    for child in node.children:
        total = total + counts(child, state).times(child.repeat)
    return total






def draw(manifest: Manifest, state: dict[str, State] | None = None) -> Tree:
    """The rich Tree of `manifest`; with `state`, what trains after the script, where a
    module that trains or is frozen as a whole is one line: only the modules where the
    script draws a line between training and frozen are opened."""
    root = collapse(build(manifest), state)
    tree = Tree(_module_label(root, manifest.name, state), guide_style="dim")
    _add_children(tree, root, "", state)
    return tree


def _add_children(tree: Tree, node: Node, path: str, state: dict[str, State] | None) -> None:
    """`path` is the node's path as drawn (`v.blocks.0-11` for a run)."""
    for tensor in node.params:
        tree.add(_tensor_label(tensor, state))
    for child in node.children:
        child_path = _join(path, child.name)
        branch = tree.add(_module_label(child, child_path, state))
        if state is None or not _uniform(counts(child, state)):
            _add_children(branch, child, child_path, state)


def _module_label(node: Node, shown: str, state: dict[str, State] | None) -> Text:
    each = counts(node, state)
    total = each.times(node.repeat)
    label = Text()
    label.append(shown or "(root)", style="bold")
    if node.type:
        label.append("  ")
        label.append(node.type, style=_TYPE)
    if node.repeat > 1:
        label.append(f" x{node.repeat}", style=_TYPE)
    label.append(f"  {human(total.elements)} in {plural(total.tensors, 'tensor')}")
    if node.repeat > 1:
        label.append(f" ({human(each.elements)} each)")
    if node.buffers:  # running statistics: listed by --flat, counted here
        label.append(f"  +{plural(len(node.buffers), 'buffer')}", style=_FROZEN)
    if state is not None and total.tensors:
        label.append("  ")
        label.append_text(_state_text(total))
    return label


def _uniform(total: Counts) -> bool:
    """Every tensor trains, or every one is frozen, or every one is unknown."""
    return total.trains == total.tensors or total.unknown == total.tensors or (
        total.trains == 0 and total.unknown == 0)


def _state_text(total: Counts) -> Text:
    if total.unknown == total.tensors:
        return Text("unknown", style=_UNKNOWN)
    if total.trains == total.tensors:
        return Text("trains", style=_TRAINS)
    if total.trains == 0 and not total.unknown:
        return Text("frozen", style=_FROZEN)
    text = Text(f"trains {human(total.trains_elements)} of {human(total.elements)} "
                f"({total.trains} of {total.tensors} tensors)", style=_TRAINS)
    if total.unknown:
        text.append(f", {total.unknown} unknown", style=_UNKNOWN)
    return text


def _tensor_label(tensor: TensorInfo, state: dict[str, State] | None) -> Text:
    label = Text(tensor.name.rpartition(".")[2])
    if tensor.sized:
        label.append(f"  [{', '.join(str(s) for s in tensor.shape)}]  {human(tensor.numel)}")
    else:
        label.append("  [shape unknown]")
    if tensor.dtype != "float32":
        label.append(f"  {tensor.dtype}")
    if state is not None:
        trains = state.get(tensor.name)
        label.append("  ")
        label.append(*(("trains", _TRAINS) if trains else ("frozen", _FROZEN)
                       if trains is False else ("unknown", _UNKNOWN)))
    return label


def render(renderable: object, color: bool, ascii_only: bool = False) -> str:
    """Render to a string: ANSI colour only when `color`; box-drawing guides unless the
    output cannot encode them. Wide enough that lines never wrap."""
    buffer = _Buffer(ascii_only)
    console = Console(file=buffer, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, highlight=False,
                      width=10_000, soft_wrap=True, legacy_windows=False)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").split("\n"))


class _Buffer(io.StringIO):
    """A StringIO whose `encoding` tells rich whether it may draw box characters."""

    def __init__(self, ascii_only: bool) -> None:
        super().__init__()
        self._encoding = "ascii" if ascii_only else "utf-8"

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def explanation(analysis: Analysis, locate: Callable[[Span], str], path: str,
                problems: int) -> Group:
    """`freezelint explain`: one tree per model and scope it was analysed in (the script's
    top level, a function, a method), labelled with both: the tree after the code, the totals
    ("0 of 87.7M parameters train") and what each of its optimizers gets. Trees that are
    the same (same model, same names, same state) are drawn once, with every scope they
    stand for: the same tree is never printed twice."""
    parts: list[object] = []
    scopes = analysis.scopes or [""] * len(analysis.models)
    for manifest, state, where in _folded(analysis.models, analysis.trainable, scopes):
        if parts:
            parts.append(Text())
        title = Text(f"{path}: ")
        title.append(manifest.name, style="bold")
        kind = manifest.meta.get("architecture") or (manifest.modules[0].type
                                                      if manifest.modules else "")
        if kind:
            title.append(f" ({kind})")
        title.append(f" {_where(where)}")
        parts.extend([title, draw(manifest, state), _totals(manifest, state)])
        for optimizer in analysis.optimizers:
            if optimizer.model == manifest.name:
                parts.append(_optimizer_line(optimizer, locate))
    if problems:
        parts.append(Text(f"{plural(problems, 'problem')} found: freezelint check {path}",
                          style=_UNKNOWN))
    return Group(*parts)  # type: ignore[arg-type]


def _folded(models: list[Manifest], states: list[dict[str, State]], scopes: list[str]
            ) -> list[tuple[Manifest, dict[str, State], list[str]]]:
    """Each distinct (model, state) once, in first-seen order, with the scopes it stands
    for (in order, each once)."""
    found: dict[tuple[object, ...], tuple[Manifest, dict[str, State], list[str]]] = {}
    for manifest, state, scope in zip(models, states, scopes, strict=True):
        key = (manifest.name, tuple(p.name for p in manifest.parameters),
               tuple(sorted(state.items())))
        entry = found.setdefault(key, (manifest, state, []))
        if scope not in entry[2]:
            entry[2].append(scope)
    return list(found.values())


def _where(scopes: list[str]) -> str:
    """`after the script`, `in main()`, `in FineTuner.configure_optimizers()`, or several."""
    named = [f"{s}()" for s in scopes if s]
    places = (["the script's top level"] if "" in scopes else []) + named
    if scopes == [""]:
        return "after the script"
    if len(places) == 1:
        return f"in {places[0]}"
    return f"in {', '.join(places[:-1])} and {places[-1]} (the same tree)"


def _totals(manifest: Manifest, state: dict[str, State]) -> Text:
    total = counts(collapse(build(manifest), state), state)
    text = Text()
    certain = " for certain" if total.unknown else ""
    text.append(f"{human(total.trains_elements)} of {human(total.elements)} parameters "
                f"train{certain}", style=_TRAINS if total.trains else "bold")
    text.append(f" ({total.trains} of {plural(total.tensors, 'tensor')})")
    if total.unknown:
        text.append(f"; {total.unknown} of {plural(total.tensors, 'tensor')} unknown: decided "
                    "by something freezelint cannot evaluate", style=_UNKNOWN)
    return text


def _optimizer_line(optimizer: OptimizerSummary, locate: Callable[[Span], str]) -> Text:
    text = Text(f"optimizer at {locate(optimizer.span)}: ")
    if optimizer.trained is None or optimizer.trained_numel is None:
        text.append("what it updates is unknown", style=_UNKNOWN)
        return text
    text.append(f"updates {human(optimizer.trained_numel)} of {human(optimizer.total_numel)} "
                f"parameters ({optimizer.trained} of {plural(optimizer.total, 'tensor')})",
                style=_TRAINS if optimizer.trained else "bold red")
    return text

"""A name test that spells a layer's type instead of its name: `"LayerNorm.weight"` in a
weight-decay list on GPT-2, whose LayerNorm layers are named `ln_1`, `ln_2` and `ln_f`.

BERT happens to name its norms after their class, so recipes written for BERT test for the
class name; on other architectures the same string matches nothing and every norm silently
gets weight decay. FZL101 uses this module to say so with the model's real names, and to
offer them all (one suggestion would leave the others out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from freezelint.analysis.facts import NameTest
from freezelint.analysis.walk import walk
from freezelint.models.manifest import Manifest

_LEAVES = ("weight", "bias")


@dataclass(frozen=True)
class KindSpelling:
    """What a literal spelling a layer type stands for in this model."""

    types: tuple[str, ...]  # the model's classes the literal spells (`LayerNorm`)
    layers: int  # how many layers of those types own parameters
    names: tuple[str, ...]  # their attribute names, in model order (`ln_1`, `ln_2`, `ln_f`)
    entries: tuple[str, ...] | None  # strings that catch exactly them, for a fix


def kind_spelling(literal: str, manifest: Manifest) -> KindSpelling | None:
    """The layers `literal` names by type (`LayerNorm`, `LayerNorm.weight`, `layer_norm`), or
    None when it does not read as a type of this model. A spelling of a normalization type
    (`LayerNorm` on LLaMA, whose norms are `LlamaRMSNorm`) stands for the model's norms."""
    stem, _, leaf = literal.strip(".").partition(".")
    if (leaf and leaf not in _LEAVES) or not stem or not manifest.modules or manifest.holes:
        return None
    spelled = _fold(stem)
    types = {m.type for m in manifest.modules}
    chosen = sorted(t for t in types if _fold(t) == spelled)
    if not chosen and spelled.endswith("norm") and spelled != "norm":
        chosen = sorted(t for t in types if is_norm(t))
    if not chosen:
        return None
    owners = {p.module for p in manifest.parameters if not leaf or p.name.endswith("." + leaf)}
    layers = [m.path for m in manifest.modules if m.type in chosen and m.path in owners]
    if not layers or any(not path for path in layers):
        return None
    names = tuple(dict.fromkeys(_attribute(path) for path in layers))
    entries = tuple(_entry(name, leaf, layers, manifest) for name in names)
    return KindSpelling(tuple(chosen), len(layers), names,
                        None if any(e is None for e in entries) else entries)  # type: ignore[arg-type]


def message(spelling: KindSpelling) -> str:
    kinds = "/".join(f"`{t}`" for t in spelling.types)
    shown = ", ".join(f"`{n}`" for n in spelling.names[:6])
    more = f" and {len(spelling.names) - 6} more" if len(spelling.names) > 6 else ""
    return (f": {kinds} is the class of its {spelling.layers} normalization layers, not their "
            f"name; they are named {shown}{more}" if any(is_norm(t) for t in spelling.types)
            else f": {kinds} is the class of {spelling.layers} of its layers, not their name; "
                 f"they are named {shown}{more}")


def in_collection(module: cst.Module, node: cst.CSTNode,
                  owner: Mapping[cst.CSTNode, int] | None = None) -> bool:
    """Whether `node` is an element of a list, tuple or set literal (several strings may then
    replace it). `owner`: the top-level statement of each node the analysis placed."""
    return _collection_of(module, node, owner) is not None


def other_architectures_norm(module: cst.Module, node: cst.CSTNode, literal: str,
                             tests: Mapping[cst.CSTNode, NameTest], manifest: Manifest,
                             owner: Mapping[cst.CSTNode, int] | None = None) -> bool:
    """A norm's name for another architecture in a list that names this model's norms too:
    DeepSpeed-Chat's `["bias", "layer_norm.weight", "layernorm.weight", "norm.weight",
    "ln_f.weight"]` on GPT-2, where `ln_f.weight` is GPT-2's. The list is written for several
    models; what it misses of this one is FZL206's to say."""
    lowered = literal.lower()
    if "norm" not in lowered and not lowered.startswith("ln"):
        return False
    collection = _collection_of(module, node, owner)
    if collection is None:
        return False
    norms = {m.path for m in manifest.modules if is_norm(m.type)}
    for element in collection.elements:
        test = tests.get(element.value)
        if test is not None and test.matched and all(
                name.rpartition(".")[0] in norms for name in test.matched):
            return True
    return False


def _collection_of(module: cst.Module, node: cst.CSTNode,
                   owner: Mapping[cst.CSTNode, int] | None = None
                   ) -> cst.List | cst.Tuple | cst.Set | None:
    """The list, tuple or set literal `node` is an element of, read without rebuilding the
    tree: in the top-level statement `owner` places it in, or the whole module when it is
    not placed there (or not found under that statement)."""
    body = module.body
    top = owner.get(node) if owner is not None else None
    if top is not None and 0 <= top < len(body):
        found, seen = _element_of(body[top], node)
        if seen:
            return found
    return _element_of(module, node)[0]


def _element_of(root: cst.CSTNode, node: cst.CSTNode
                ) -> tuple[cst.List | cst.Tuple | cst.Set | None, bool]:
    """The collection under `root` that holds `node` as an element, and whether `node` is
    under `root` at all."""
    for sub in walk(root):
        if sub is node:
            return None, True
        if isinstance(sub, (cst.List, cst.Tuple, cst.Set)) \
                and any(e.value is node for e in sub.elements):
            return sub, True
    return None, False


def _attribute(path: str) -> str:
    """The name a layer is known by: its attribute, or `downsample.1` inside a Sequential."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if parts[-1].isdigit() and len(parts) > 1 else parts[-1]


def _entry(name: str, leaf: str, layers: list[str], manifest: Manifest) -> str | None:
    """A string that occurs in the parameter names of these layers only at a name-part
    boundary: `ln_1.weight`, or `.norm.weight` where `norm` also ends `input_layernorm`."""
    entry = f"{name}.{leaf}" if leaf else name
    inside = any(_occurs_inside(entry, p.name) for p in manifest.parameters)
    if not inside:
        return entry
    if all(path != name for path in layers if path.endswith(name)):
        return "." + entry
    return None


def _occurs_inside(entry: str, name: str) -> bool:
    start = name.find(entry)
    while start != -1:
        if start > 0 and name[start - 1] != ".":
            return True
        start = name.find(entry, start + 1)
    return False


def _fold(text: str) -> str:
    return text.lower().replace("_", "")


def is_norm(type_name: str) -> bool:
    return "Norm" in type_name and "Normal" not in type_name

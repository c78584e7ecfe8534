"""Did-you-mean for names that match nothing: the real name the author most likely meant.

A recipe written for one architecture names that architecture's classifier (`fc` on ResNet);
on another model the right answer is that model's own head (`mlp_head.1` on AST), which no
string-distance measure would find. So heads are mapped first, then difflib does the rest.
"""

from __future__ import annotations

import difflib
import re

from freezelint.common.torch_api import MEMORY_WRAPPER_PREFIXES
from freezelint.models.manifest import Manifest

# Classifier-head module names across torchvision, timm and transformers recipes.
_HEAD_NAME = re.compile(
    r"^(fc|classifier|head|heads|heads\.head|mlp_head|last_linear|logits|score|classif|"
    r"fc_out|output_layer|linear_head|cls_head)(\.\d+)?$")


def head_suggestion(literal: str, manifest: Manifest, names: list[str]) -> str | None:
    """Map another architecture's head name onto this model's head, keeping the suffix."""
    head = manifest.head
    if head is None:
        return None
    stem, dot, leaf = literal.rpartition(".")
    if dot and leaf in {"weight", "bias"} and _HEAD_NAME.match(stem):
        candidate = f"{head}.{leaf}"
        return candidate if candidate in names else None
    if _HEAD_NAME.match(literal.rstrip(".")):
        return head + ("." if literal.endswith(".") else "")
    return None


def suggestions(literal: str, names: list[str], manifest: Manifest, kind: str) -> list[str]:
    """Up to three real names close to `literal`, best first."""
    found: list[str] = []
    # Names seen through a wrapper (`module.` after DataParallel) carry its prefix.
    wrapper = _wrapper_prefix(names)
    head = head_suggestion(literal.removeprefix(wrapper), manifest,
                           [n.removeprefix(wrapper) for n in names])
    if head is not None:
        found.append(wrapper + head)
    pool = names
    if kind in {"substring", "prefix", "suffix"}:
        # A fragment is compared with fragments: module paths and dotted components.
        pool = sorted({*manifest.module_paths, *_components(names)} - {""})
    for candidate in difflib.get_close_matches(literal, pool, n=4, cutoff=0.6):
        if candidate not in found:
            found.append(candidate)
    return [f for f in found if f != literal][:3]


def _wrapper_prefix(names: list[str]) -> str:
    for prefix in MEMORY_WRAPPER_PREFIXES:
        if names and all(n.startswith(prefix) for n in names):
            return prefix
    return ""


def _components(names: list[str]) -> set[str]:
    parts: set[str] = set()
    for name in names:
        pieces = name.split(".")
        parts.update(pieces)
        parts.update(".".join(pieces[i:]) for i in range(1, len(pieces)))
    return parts

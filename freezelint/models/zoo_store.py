"""Compact storage of many manifests: module trees whose identical blocks are stored once.

A manifest lists every parameter of every layer; twelve identical transformer layers repeat
the same names and shapes twelve times, and a timm family repeats the same stages across
its sizes. A *shard* therefore stores a table of module nodes, each node once:

    node = [type, attrs, params, buffers, children]
    params   = [[name, shape] | [name, shape, dtype], ...]
    buffers  = [[name, shape, dtype, persistent], ...]
    children = [[name, node] | [first, count, node], ...]

where `node` is an index into the table and `[first, count, node]` stands for the children
named `first`, `first+1`, ... `first+count-1` (a ModuleList of identical layers). A model is
its root node; `decode` walks it back into the exact `named_parameters()` /
`named_buffers()` / `named_modules()` order (module pre-order, each module's own tensors
first), which is how torch itself orders them.

A repeat's count can be overridden at decode time (`counts`): that is how
`num_hidden_layers=6` becomes configuration instead of another stored manifest.

`encode` refuses (returns None) what the format cannot state exactly, e.g. a tensor whose
owning module is not listed; the generator checks every encoded model decodes back equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo

Node = list[Any]
# (parent module path, first index of the run) -> count to use instead of the stored one.
Counts = Mapping[tuple[str, int], int]


class NodeTable:
    """Nodes of one shard, deduplicated by content (children refer to earlier nodes)."""

    def __init__(self, nodes: list[Node] | None = None) -> None:
        self.nodes: list[Node] = list(nodes or [])
        self._ids: dict[str, int] = {_key(n): i for i, n in enumerate(self.nodes)}

    def add(self, node: Node) -> int:
        key = _key(node)
        found = self._ids.get(key)
        if found is not None:
            return found
        self.nodes.append(node)
        self._ids[key] = len(self.nodes) - 1
        return len(self.nodes) - 1


def _key(node: Node) -> str:
    return json.dumps(node, separators=(",", ":"))


def encode(manifest: Manifest, table: NodeTable) -> int | None:
    """Add `manifest`'s module tree to `table`; return the root node, or None when the
    manifest cannot be stated as a tree (no module list, orphan tensors)."""
    if not manifest.modules or manifest.modules[0].path != "":
        return None
    children: dict[str, list[str]] = {m.path: [] for m in manifest.modules}
    for info in manifest.modules[1:]:
        parent = info.path.rpartition(".")[0]
        if parent not in children:
            return None
        children[parent].append(info.path)
    own_params: dict[str, list[TensorInfo]] = {path: [] for path in children}
    own_buffers: dict[str, list[TensorInfo]] = {path: [] for path in children}
    for tensors, owners in ((manifest.parameters, own_params), (manifest.buffers, own_buffers)):
        for tensor in tensors:
            owner = owners.get(tensor.module)
            if owner is None:
                return None
            owner.append(tensor)
    infos = {m.path: m for m in manifest.modules}

    def node(path: str) -> int:
        info = infos[path]
        params = [_param(t) for t in own_params[path]]
        buffers = [[_local(t.name), list(t.shape), t.dtype, int(t.persistent)]
                   for t in own_buffers[path]]
        refs = [(_local(child), node(child)) for child in children[path]]
        return table.add([info.type, info.attrs or 0, params, buffers, _runs(refs)])

    return node("")


def _local(name: str) -> str:
    return name.rpartition(".")[2]


def _param(tensor: TensorInfo) -> list[Any]:
    item: list[Any] = [_local(tensor.name), list(tensor.shape)]
    if tensor.dtype != "float32":
        item.append(tensor.dtype)
    return item


def _runs(refs: list[tuple[str, int]]) -> list[list[Any]]:
    """Collapse consecutive children `k, k+1, ...` that are the same node into one run."""
    out: list[list[Any]] = []
    for name, ref in refs:
        last = out[-1] if out else None
        if (name.isdigit() and last is not None and len(last) == 3 and last[2] == ref
                and last[0] + last[1] == int(name)):
            last[1] += 1
        elif name.isdigit() and str(int(name)) == name:
            out.append([int(name), 1, ref])
        else:
            out.append([name, ref])
    return out


def decode(nodes: list[Node], root: int, name: str, meta: dict[str, Any],
           counts: Counts | None = None) -> Manifest:
    """The manifest whose tree is `root` in `nodes` (with repeat `counts` overridden)."""
    params: list[TensorInfo] = []
    buffers: list[TensorInfo] = []
    modules: list[ModuleInfo] = []
    counts = counts or {}

    def walk(ref: int, path: str) -> None:
        kind, attrs, own_params, own_buffers, children = nodes[ref]
        modules.append(ModuleInfo(path, kind, dict(attrs) if attrs else {}))
        prefix = f"{path}." if path else ""
        for item in own_params:
            dtype = item[2] if len(item) > 2 else "float32"
            params.append(TensorInfo(prefix + item[0], tuple(item[1]), dtype))
        for local, shape, dtype, persistent in own_buffers:
            buffers.append(TensorInfo(prefix + local, tuple(shape), dtype, bool(persistent)))
        for child in children:
            if len(child) == 2:
                walk(child[1], prefix + child[0])
                continue
            first, count, sub = child
            count = counts.get((path, first), count)
            for index in range(first, first + count):
                walk(sub, f"{prefix}{index}")

    walk(root, "")
    return Manifest(name=name, parameters=tuple(params), buffers=tuple(buffers),
                    modules=tuple(modules), source="zoo", meta=meta)


def runs_of(nodes: list[Node], root: int) -> dict[tuple[str, int], int]:
    """Every repeat in the tree: (parent path, first index) -> count, in walk order."""
    found: dict[tuple[str, int], int] = {}

    def walk(ref: int, path: str) -> None:
        prefix = f"{path}." if path else ""
        for child in nodes[ref][4]:
            if len(child) == 2:
                walk(child[1], prefix + child[0])
                continue
            first, count, sub = child
            found[(path, first)] = count
            for index in range(first, first + count):
                walk(sub, f"{prefix}{index}")

    walk(root, "")
    return found

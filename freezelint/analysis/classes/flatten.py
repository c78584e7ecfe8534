"""Between the reader's module objects and manifests.

`to_manifest` lists what torch's `named_modules()`, `named_parameters()` and `named_buffers()`
would yield for a built module: depth first in registration order, each module or tensor
once (a module registered twice, or a tied weight, appears under its first name only).
`built_from_manifest` goes the other way, for a library trunk spliced in from the zoo.
"""

from __future__ import annotations

from typing import Any

from freezelint.analysis.classes import objects as O
from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo


def to_manifest(root: O.Built, name: str, source: str, meta: dict[str, Any]) -> Manifest:
    params: list[TensorInfo] = []
    buffers: list[TensorInfo] = []
    modules: list[ModuleInfo] = []
    holes: list[str] = []
    aliases: list[tuple[str, ...]] = []
    seen_modules: set[int] = set()
    seen_tensors: dict[int, str] = {}
    tied: list[tuple[str, str]] = []

    def join(prefix: str, leaf: str) -> str:
        return f"{prefix}.{leaf}" if prefix and leaf else prefix or leaf

    def shared(module: O.Built, prefix: str) -> None:
        """A module registered a second time: torch lists it once, under its first name;
        its parameters are tied to the names listed there."""
        for leaf, param in module.params.items():
            if param is not None and id(param) in seen_tensors:
                tied.append((join(prefix, leaf), seen_tensors[id(param)]))
        for leaf, child in module.children.items():
            if child is not None:
                shared(child, join(prefix, leaf))

    def walk(module: O.Built, prefix: str) -> None:
        if id(module) in seen_modules:
            shared(module, prefix)
            return
        seen_modules.add(id(module))
        modules.append(ModuleInfo(prefix, module.type, dict(module.sizes)))
        for leaf, param in module.params.items():
            if param is None:
                continue
            if id(param) in seen_tensors:
                tied.append((join(prefix, leaf), seen_tensors[id(param)]))
                continue
            seen_tensors[id(param)] = join(prefix, leaf)
            # a shape the reader could not evaluate: the name is known, the shape is not
            params.append(TensorInfo(join(prefix, leaf), tuple(param.shape or ()),
                                     sized=param.shape is not None))
        for leaf, (tensor, persistent) in module.buffers.items():
            if tensor is None or id(tensor) in seen_tensors:
                continue
            seen_tensors[id(tensor)] = join(prefix, leaf)
            buffers.append(TensorInfo(join(prefix, leaf), tuple(tensor.shape or ()),
                                      persistent=persistent, sized=tensor.shape is not None))
        holes.extend(join(prefix, hole) for hole in sorted(module.holes))
        for alias in module.aliases:
            aliases.append(tuple(join(prefix, n) for n in alias))
        for leaf, child in module.children.items():
            if child is not None:
                walk(child, join(prefix, leaf))

    walk(root, "")
    return Manifest(name=name, parameters=tuple(params), buffers=tuple(buffers),
                    modules=tuple(modules), source=source, meta=meta,
                    aliases=tuple(aliases), holes=tuple(dict.fromkeys(holes)), tied=tuple(tied))


def built_from_manifest(manifest: Manifest, path: str = "") -> O.Built:
    """The module at `path` of a known model (the zoo's, or one the script already built),
    as a module object the reader can register."""
    base = path + "." if path else ""

    def relative(name: str) -> str | None:
        if not path:
            return name
        if name == path:
            return ""
        return name[len(base):] if name.startswith(base) else None

    by_path: dict[str, O.Built] = {}
    infos = list(manifest.modules) or [ModuleInfo(p, "?") for p in manifest.module_paths]
    for info in infos:
        rel = relative(info.path)
        if rel is None:
            continue
        built = O.Built(info.type, sizes=dict(info.attrs), base=info.type)
        by_path[rel] = built
        if rel:
            parent, _, leaf = rel.rpartition(".")
            owner = by_path.get(parent)
            if owner is not None:
                owner.register_child(leaf, built)
    root = by_path.setdefault("", O.Built("?"))
    for tensor in manifest.parameters:
        rel = relative(tensor.name)
        if rel:
            owner_path, _, leaf = rel.rpartition(".")
            _owner(by_path, owner_path).params[leaf] = O.Param(tensor.known_shape)
    for tensor in manifest.buffers:
        rel = relative(tensor.name)
        if rel:
            owner_path, _, leaf = rel.rpartition(".")
            _owner(by_path, owner_path).buffers[leaf] = (O.Tensor(tensor.known_shape),
                                                         tensor.persistent)
    for hole in manifest.holes:
        rel = relative(hole)
        if rel is not None:
            owner_path, _, leaf = rel.rpartition(".")
            _owner(by_path, owner_path).hole(leaf)
        elif path.startswith(hole + ".") or not hole:
            root.hole("")
    if manifest.aliases and not path:
        root.aliases = manifest.aliases
    return root


def _owner(by_path: dict[str, O.Built], path: str) -> O.Built:
    if path not in by_path:
        parent, _, leaf = path.rpartition(".")
        built = O.Built("?")
        by_path[path] = built
        if path:
            _owner(by_path, parent).register_child(leaf, built)
    return by_path[path]


def copy_built(value: O.Built, memo: dict[int, Any] | None = None) -> O.Built:
    """`copy.deepcopy(module)`: new objects throughout, sharing kept inside the copy."""
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]  # type: ignore[no-any-return]
    copied = O.Built(value.type, value.cls, attrs=dict(value.attrs), sizes=dict(value.sizes),
                     holes=set(value.holes), aliases=value.aliases, base=value.base)
    memo[id(value)] = copied
    for name, param in value.params.items():
        if param is not None and id(param) not in memo:
            memo[id(param)] = O.Param(param.shape)
        copied.params[name] = None if param is None else memo[id(param)]
    for name, (tensor, persistent) in value.buffers.items():
        if tensor is not None and id(tensor) not in memo:
            memo[id(tensor)] = O.Tensor(tensor.shape)
        copied.buffers[name] = (None if tensor is None else memo[id(tensor)], persistent)
    for name, child in value.children.items():
        copied.children[name] = None if child is None else copy_built(child, memo)
    return copied

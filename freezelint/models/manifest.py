"""A model's names as data: what `named_parameters()`, `named_buffers()` and
`named_modules()` would return, without the model.

Everything that needs to know a model's real names reads a Manifest, so that linting
against the zoo, a checkpoint or a saved manifest never imports torch. A Manifest is plain
JSON on disk (``freezelint params --model X --json``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

FORMAT = "freezelint-manifest/1"


class ManifestError(ValueError):
    """A manifest file or document that does not follow the format."""


@dataclass(frozen=True)
class TensorInfo:
    """One parameter or buffer: its dotted name, shape and dtype.

    `persistent` only matters for buffers: a non-persistent buffer is not in `state_dict()`.
    `sized` is False when the name is known but the shape is not (the static class reader on
    a layer built from a size it could not evaluate: `nn.Linear(width, n)` with `width` from
    the command line). `shape` is then `()` and means nothing: what compares, prints or
    computes with shapes reads `known_shape` (None) and says nothing about it.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    persistent: bool = True
    sized: bool = True

    @property
    def known_shape(self) -> tuple[int, ...] | None:
        return self.shape if self.sized else None

    @property
    def numel(self) -> int:
        """The element count (0 when the shape is unknown: see `Manifest.sized`)."""
        if not self.sized:
            return 0
        count = 1
        for size in self.shape:
            count *= size
        return count

    @property
    def module(self) -> str:
        """The dotted path of the module that owns this tensor ('' for the root)."""
        return self.name.rpartition(".")[0]


@dataclass(frozen=True)
class ModuleInfo:
    """One entry of `named_modules()`: its path ('' for the root), class name and the
    integer attributes a fix or a structural edit may need (in_features, out_features...)."""

    path: str
    type: str
    attrs: dict[str, int] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Manifest:
    """The names of one model, in registration order.

    `name` is what messages call the model (``ast``, ``resnet50``); `source` says where the
    names came from (zoo, checkpoint, json, user); `aliases` holds other parameter-name sets
    the same model is known by (transformers 4.x vs 5.x names), used only to avoid calling a
    real name unknown.

    `holes` are module paths whose contents could not be worked out (a layer built from
    arguments the static reader could not evaluate, a module of unknown class); '' is the
    whole model (names registered under names it could not compute). Names under a hole are
    unknown: whatever a rule would say about a name that could fall into one, it must not say.
    A manifest without holes is complete.

    `tied` pairs a name with the name it shares its tensor with (`lm_head.weight` tied to
    `transformer.wte.weight`): `named_parameters()` lists the shared tensor once, under the
    second name, but the first is real (a name test may use it, and the module owning it has
    a parameter that `parameters()` of the whole model lists under the other name).
    """

    name: str
    parameters: tuple[TensorInfo, ...]
    buffers: tuple[TensorInfo, ...] = ()
    modules: tuple[ModuleInfo, ...] = ()
    source: str = "zoo"
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    aliases: tuple[tuple[str, ...], ...] = ()
    holes: tuple[str, ...] = ()
    tied: tuple[tuple[str, str], ...] = ()

    # -- holes ---------------------------------------------------------------------------
    def in_hole(self, name: str) -> bool:
        """Whether `name` (a parameter, buffer or module path) is, or may be, under a hole."""
        return any(not hole or name == hole or name.startswith(hole + ".")
                   for hole in self.holes)

    def hole_under(self, path: str) -> bool:
        """Whether the module at `path` has a hole in or above it: its `parameters()`,
        `named_modules()`, `state_dict()` are not fully known. A tied tensor whose other name
        lies outside `path` counts (this manifest lists it under the other name only)."""
        prefix = path + "." if path else ""
        if any(name.startswith(prefix) and not other.startswith(prefix)
               for name, other in self.tied):
            return True
        if not path:
            return bool(self.holes)
        return any(not hole or hole == path or hole.startswith(prefix)
                   or path.startswith(hole + ".") for hole in self.holes)

    def could_match(self, literal: str, kind: str) -> bool:
        """Whether some name inside a hole could pass the name test `kind` (equal, prefix,
        suffix, substring, regex) against `literal`: then the test's outcome is unknown."""
        if any(_passes(name, literal, kind) for name, _ in self.tied):
            return True
        if not self.holes:
            return False
        if kind == "equal":
            return self.in_hole(literal)
        if kind == "prefix":
            return any(not hole or literal.startswith(hole + ".")
                       or (hole + ".").startswith(literal) for hole in self.holes)
        return True  # a suffix, a substring or a pattern may occur in any name under a hole

    # -- queries -------------------------------------------------------------------------
    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def state_dict_keys(self) -> list[str]:
        """Keys of `state_dict()`: parameters then persistent buffers, in module order."""
        return [t.name for t in self.state_dict_tensors()]

    def state_dict_tensors(self) -> list[TensorInfo]:
        """`state_dict()`'s tensors. Unlike `named_parameters()`, `state_dict()` keeps a tied
        tensor under each of its names (`lm_head.weight` and `transformer.wte.weight`)."""
        persistent = [b for b in self.buffers if b.persistent]
        shared = self._tied_tensors()
        if not persistent and not shared:
            return list(self.parameters)
        order = {path: i for i, path in enumerate(self.module_paths)}
        ranked = [(order.get(t.module, len(order)), kind, index, t)
                  for kind, group in enumerate((self.parameters, persistent))
                  for index, t in enumerate(group)]
        # A module's own parameters come in registration order, which the manifest no longer
        # has for a tied one: it goes after its module's listed parameters.
        ranked.extend((order.get(t.module, len(order)), 0, len(self.parameters) + i, t)
                      for i, t in enumerate(shared))
        return [t for *_, t in sorted(ranked, key=lambda r: r[:3])]

    def _tied_tensors(self) -> list[TensorInfo]:
        """The tied names as tensors (the shape and dtype of the tensor they share)."""
        if not self.tied:
            return []
        by_name = {p.name: p for p in self.parameters}
        return [replace(by_name[other], name=name) for name, other in self.tied
                if other in by_name]

    @property
    def module_paths(self) -> list[str]:
        if self.modules:
            return [m.path for m in self.modules]
        return derived_module_paths(self.parameter_names)

    def module(self, path: str) -> ModuleInfo | None:
        for info in self.modules:
            if info.path == path:
                return info
        return None

    def has_module(self, path: str) -> bool:
        if self.modules:
            return any(m.path == path for m in self.modules)
        return path in set(derived_module_paths(self.parameter_names))

    def shared_module(self, path: str) -> str | None:
        """The listed path of a module registered a second time at `path` (CoaT's
        `serial_blocks1.0.cpe` is `cpe1`): `named_modules()` lists it once, under its
        first name, and every parameter under `path` is tied to the same name under that
        one. None when `path` is no such module."""
        prefix = path + "."
        found: set[str] = set()
        for name, other in self.tied:
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if not other.endswith("." + rest):
                return None
            found.add(other[:-len(rest) - 1])
        if len(found) != 1:
            return None
        listed = found.pop()
        if not self.has_module(listed):
            return None
        under = {p.name[len(listed) + 1:] for p in self.parameters
                 if p.name.startswith(listed + ".")}
        mine = {name[len(prefix):] for name, _ in self.tied if name.startswith(prefix)}
        return listed if under == mine else None

    def parameters_under(self, path: str) -> list[TensorInfo]:
        """Parameters of the module at `path` and its children (`module.parameters()`)."""
        if not path:
            return list(self.parameters)
        prefix = path + "."
        under = [p for p in self.parameters if p.name.startswith(prefix)]
        # A tied tensor is this module's parameter too, listed under its other name.
        shared = {other for name, other in self.tied
                  if name.startswith(prefix) and not other.startswith(prefix)}
        under.extend(p for p in self.parameters if p.name in shared)
        return under

    def all_known_names(self) -> set[str]:
        """Every parameter, buffer and module name under any alias set."""
        names = {*self.parameter_names, *(b.name for b in self.buffers), *self.module_paths}
        for alias in self.aliases:
            names.update(alias)
            names.update(derived_module_paths(alias))
        names.update(name for name, _ in self.tied)
        names.discard("")
        return names

    @property
    def head(self) -> str | None:
        """The classifier head: the module owning the last parameter when it is a Linear.

        Used to suggest the real head when code names another architecture's (`fc`). A zoo
        manifest names its head in `meta["head"]` (None when the model has none)."""
        if "head" in self.meta:
            head = self.meta["head"]
            return head if isinstance(head, str) else None
        if not self.parameters:
            return None
        owner = self.parameters[-1].module
        if not owner or owner.isdigit():
            # The model is the layer itself (`nn.Linear(20, 1)`), or a Sequential whose head
            # is its index (`3`): no name a test could use without matching others too
            # (`mlp_head.1` is a name).
            return None
        info = self.module(owner)
        if info is None or info.type in {"Linear", "?"}:
            return owner
        return None

    @property
    def total_numel(self) -> int:
        return sum(p.numel for p in self.parameters)

    @property
    def sized(self) -> bool:
        """Whether every parameter's and buffer's shape is known (element counts are)."""
        return all(t.sized for t in (*self.parameters, *self.buffers))

    # -- edits ---------------------------------------------------------------------------
    def replace_module(self, path: str, new_params: Iterable[TensorInfo],
                       new_modules: Iterable[ModuleInfo],
                       new_buffers: Iterable[TensorInfo] = ()) -> Manifest:
        """A copy where the module at `path` (and its children) is swapped for a new one.

        The new module's tensors keep the old one's position in registration order, as
        `setattr` on an existing attribute does in torch. A new attribute goes last."""
        prefix = path + "."
        new_params = list(new_params)
        params: list[TensorInfo] = []
        inserted = False
        for p in self.parameters:
            if p.name.startswith(prefix):
                if not inserted:
                    params.extend(new_params)
                    inserted = True
                continue
            params.append(p)
        if not inserted:
            params.extend(new_params)
        modules = [m for m in self.modules
                   if m.path != path and not m.path.startswith(prefix)]
        position = next((i for i, m in enumerate(self.modules) if m.path == path), len(modules))
        modules[position:position] = list(new_modules)
        buffers = [b for b in self.buffers if not b.name.startswith(prefix)]
        at = next((i for i, b in enumerate(self.buffers) if b.name.startswith(prefix)), None)
        at = len(buffers) if at is None else sum(
            1 for b in self.buffers[:at] if not b.name.startswith(prefix))
        buffers[at:at] = list(new_buffers)
        holes = tuple(h for h in self.holes if h != path and not h.startswith(prefix))
        tied = tuple((a, b) for a, b in self.tied
                     if not a.startswith(prefix) and not b.startswith(prefix))
        return replace(self, parameters=tuple(params), buffers=tuple(buffers),
                       modules=tuple(modules), holes=holes, tied=tied)

    # -- JSON ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "name": self.name,
            "source": self.source,
            "parameters": [_tensor_json(p) for p in self.parameters],
            "buffers": [{**_tensor_json(b), "persistent": b.persistent} for b in self.buffers],
            "modules": [{"path": m.path, "type": m.type, **({"attrs": m.attrs} if m.attrs else {})}
                        for m in self.modules],
            "meta": self.meta,
        }
        if self.aliases:
            doc["aliases"] = [list(a) for a in self.aliases]
        if self.holes:
            doc["holes"] = list(self.holes)
        if self.tied:
            doc["tied"] = [list(pair) for pair in self.tied]
        return doc

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1) + "\n"

    def identity(self) -> str:
        """Everything about the model, compactly: what a cache key needs. (`dumps` indents,
        which makes json use its pure-Python encoder: four times slower.)"""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, doc: Any) -> Manifest:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ManifestError(f"not a freezelint manifest (expected \"format\": \"{FORMAT}\")")
        try:
            return cls(
                name=str(doc["name"]),
                source=str(doc.get("source", "json")),
                parameters=tuple(_tensor_from(p) for p in doc["parameters"]),
                buffers=tuple(_tensor_from(b) for b in doc.get("buffers", [])),
                modules=tuple(ModuleInfo(m["path"], m["type"], dict(m.get("attrs", {})))
                              for m in doc.get("modules", [])),
                meta=dict(doc.get("meta", {})),
                aliases=tuple(tuple(a) for a in doc.get("aliases", [])),
                holes=tuple(str(h) for h in doc.get("holes", [])),
                tied=tuple((str(a), str(b)) for a, b in doc.get("tied", [])),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ManifestError(f"malformed manifest: {error!r}") from error

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ManifestError(f"cannot read {path}: {error.strerror}") from error
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as error:
            raise ManifestError(f"{path} is not JSON: {error}") from error
        return cls.from_json(doc)


def _passes(name: str, literal: str, kind: str) -> bool:
    """Whether `name` passes the name test `kind` against `literal`."""
    if kind == "equal":
        return name == literal
    if kind == "prefix":
        return name.startswith(literal)
    if kind == "suffix":
        return name.endswith(literal)
    if kind == "substring":
        return literal in name
    try:
        return re.search(literal, name) is not None
    except re.error:
        return True


def derived_module_paths(parameter_names: Iterable[str]) -> list[str]:
    """Module paths implied by dotted parameter names, root first, in first-seen order.

    Used where only names are known (a checkpoint)."""
    seen: dict[str, None] = {"": None}
    for name in parameter_names:
        parts = name.split(".")[:-1]
        for i in range(1, len(parts) + 1):
            seen.setdefault(".".join(parts[:i]), None)
    return list(seen)


def iter_children(manifest: Manifest, path: str) -> Iterator[str]:
    """Direct child module paths of `path` (what `module.children()` yields)."""
    depth = 0 if not path else path.count(".") + 1
    prefix = path + "." if path else ""
    for child in manifest.module_paths:
        if child and child.startswith(prefix) and child.count(".") == depth:
            yield child


def _tensor_json(t: TensorInfo) -> dict[str, Any]:
    return {"name": t.name, "shape": list(t.shape) if t.sized else None, "dtype": t.dtype}


def _tensor_from(doc: dict[str, Any]) -> TensorInfo:
    shape = doc["shape"]  # null: the name is known, the shape is not
    return TensorInfo(str(doc["name"]), () if shape is None else tuple(int(s) for s in shape),
                      str(doc.get("dtype", "float32")), bool(doc.get("persistent", True)),
                      sized=shape is not None)

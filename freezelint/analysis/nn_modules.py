"""The `torch.nn` layers a script builds (a new head, or a whole `nn.Sequential` model), as
manifest entries.

`model.mlp_head[1] = nn.Linear(model.mlp_head[1].in_features, 10)` is a structural edit:
the interpreter evaluates the constructor and swaps the module in the manifest, so later
name tests and optimizers see the new parameters. Every layer comes from the table
generated from torch (models/nn_table.py), the one the static class reader uses; the
containers (`Sequential`, `ModuleList`, `ModuleDict`) are built here from their children. A
size the script cannot evaluate (`nn.Linear(n, args.num_classes)`) leaves the names known and
that shape unknown; a layer or argument the table does not know gives None (unknown).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from freezelint.analysis.values import is_unknown
from freezelint.models import nn_table


@dataclass
class NewModule:
    """A module built in the script: its type, own parameters (relative name, shape; None
    when a size could not be evaluated) and children, in registration order."""

    type: str
    params: list[tuple[str, tuple[int, ...] | None]] = field(default_factory=list)
    children: list[tuple[str, NewModule]] = field(default_factory=list)
    attrs: dict[str, int] = field(default_factory=dict)
    buffers: list[tuple[str, tuple[int, ...] | None, bool]] = field(default_factory=list)
    # Once the script uses it as a model (`model.parameters()`): that model, the same one at
    # every later use (analysis/modules.adopt_new). `escaped`: handed to code not followed
    # before that, which may have set requires_grad on it.
    adopted: Any = field(default=None, repr=False, compare=False)
    escaped: bool = False

    def flatten(self, path: str) -> tuple[list[tuple[str, tuple[int, ...] | None]],
                                          list[tuple[str, str, dict[str, int]]]]:
        """(parameters, modules) under `path`, as named_parameters/named_modules order them."""
        params = [(f"{path}.{name}" if path else name, shape) for name, shape in self.params]
        modules = [(path, self.type, self.attrs)]
        for child_name, child in self.children:
            child_params, child_modules = child.flatten(
                f"{path}.{child_name}" if path else child_name)
            params.extend(child_params)
            modules.extend(child_modules)
        return params, modules


    def flat_buffers(self, path: str) -> list[tuple[str, tuple[int, ...] | None, bool]]:
        """(name, shape, persistent) of the buffers under `path`, in module order."""
        found = [(f"{path}.{name}" if path else name, shape, persistent)
                 for name, shape, persistent in self.buffers]
        for child_name, child in self.children:
            found.extend(child.flat_buffers(f"{path}.{child_name}" if path else child_name))
        return found


def build_nn_module(qualified: str, args: list[Any], kwargs: dict[str, Any]) -> NewModule | None:
    """The NewModule for `torch.nn.<Layer>(...)`, or None when it cannot be evaluated."""
    if not qualified.startswith("torch.nn."):
        return None
    layer = qualified.rpartition(".")[2]
    if layer in CONTAINERS:
        return _container(layer, args, kwargs)
    records = nn_table.layer(layer, [_table_arg(a) for a in args],
                             {k: _table_arg(v) for k, v in kwargs.items()}, unsized=True)
    return None if records is None else _from_records(records)


def _table_arg(value: Any) -> Any:
    return nn_table.UNKNOWN_ARG if is_unknown(value) else value


def _from_records(records: list[nn_table.Record]) -> NewModule | None:
    by_path: dict[str, NewModule] = {}
    for record in records:
        if isinstance(record, nn_table.Module):
            module = NewModule(record.type, attrs=dict(record.attrs))
            by_path[record.path] = module
            if record.path:
                parent, _, child = record.path.rpartition(".")
                by_path[parent].children.append((child, module))
        elif isinstance(record, nn_table.Splice):
            if not isinstance(record.value, NewModule):
                return None  # a module argument the script did not build here: unknown
            parent, _, child = record.path.rpartition(".")
            spliced = copy.deepcopy(record.value)  # TransformerEncoder deep-copies its layer
            by_path[parent].children.append((child, spliced))
            by_path[record.path] = spliced
        else:
            owner, _, leaf = record.name.rpartition(".")
            if record.buffer:
                by_path[owner].buffers.append((leaf, record.shape, record.persistent))
            else:
                by_path[owner].params.append((leaf, record.shape))
    return by_path.get("")


CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


def _container(kind: str, args: list[Any], kwargs: dict[str, Any]) -> NewModule | None:
    """`nn.Sequential(a, b)`, `nn.Sequential(OrderedDict(...))`, `nn.ModuleList([a, b])`,
    `nn.ModuleDict({'a': a})`: every child must be a module built here."""
    if kwargs:
        return None
    children: list[tuple[str, Any]]
    if kind == "Sequential" and len(args) == 1 and isinstance(args[0], dict):
        children = list(args[0].items())
    elif kind == "Sequential":
        children = [(str(i), a) for i, a in enumerate(args)]
    elif kind == "ModuleList" and len(args) <= 1:
        items = args[0] if args else []
        if not isinstance(items, (list, tuple)):
            return None
        children = [(str(i), a) for i, a in enumerate(items)]
    elif kind == "ModuleDict" and len(args) <= 1:
        items = args[0] if args else {}
        if not isinstance(items, dict):
            return None
        children = list(items.items())
    else:
        return None
    if not all(isinstance(name, str) and isinstance(child, NewModule)
               for name, child in children):
        return None
    shared = [c for _, c in children if sum(1 for _, o in children if o is c) > 1]
    if any(c.flatten("")[0] for c in shared):
        return None  # torch lists a shared parameter once, under its first name: unknown
    return NewModule(kind, children=children)


# isinstance() against a torch.nn class: which module type names count as instances.
SUBCLASSES: dict[str, set[str]] = {
    "_BatchNorm": {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"},
    "_NormBase": {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm",
                  "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"},
    "Linear": {"Linear", "NonDynamicallyQuantizableLinear", "LazyLinear"},
    "_ConvNd": {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                "ConvTranspose3d"},
    "Module": set(),  # everything: handled by the caller
}

BATCHNORM_TYPES = SUBCLASSES["_BatchNorm"]


def is_instance(type_name: str, class_name: str) -> bool:
    if class_name == "Module":
        return True
    return type_name in SUBCLASSES.get(class_name, {class_name})

"""The `torch.nn` layers a script builds to replace a head, as manifest entries.

`model.mlp_head[1] = nn.Linear(model.mlp_head[1].in_features, 10)` is a structural edit:
the interpreter evaluates the constructor with this table and swaps the module in the
manifest, so later name tests and optimizers see the new parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Layers without parameters: their only effect on names is that they exist.
_PARAMETERLESS = {
    "Identity", "Dropout", "Dropout1d", "Dropout2d", "ReLU", "GELU", "SiLU", "Tanh", "Sigmoid",
    "Softmax", "LogSoftmax", "Flatten", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool2d",
    "MaxPool2d", "LeakyReLU", "ELU", "Hardswish", "Mish",
}


@dataclass
class NewModule:
    """A module built in the script: its type, own parameters (relative name, shape) and
    children, in registration order."""

    type: str
    params: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    children: list[tuple[str, NewModule]] = field(default_factory=list)
    attrs: dict[str, int] = field(default_factory=dict)

    def flatten(self, path: str) -> tuple[list[tuple[str, tuple[int, ...]]],
                                          list[tuple[str, str, dict[str, int]]]]:
        """(parameters, modules) under `path`, as named_parameters/named_modules order them."""
        params = [(f"{path}.{name}", shape) for name, shape in self.params]
        modules = [(path, self.type, self.attrs)]
        for child_name, child in self.children:
            child_params, child_modules = child.flatten(f"{path}.{child_name}")
            params.extend(child_params)
            modules.extend(child_modules)
        return params, modules


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _linear(args: list[Any], kwargs: dict[str, Any]) -> NewModule | None:
    in_f = _int(kwargs.get("in_features", args[0] if args else None))
    out_f = _int(kwargs.get("out_features", args[1] if len(args) > 1 else None))
    if in_f is None or out_f is None:
        return None
    bias = kwargs.get("bias", args[2] if len(args) > 2 else True)
    params: list[tuple[str, tuple[int, ...]]] = [("weight", (out_f, in_f))]
    if bias is not False:
        params.append(("bias", (out_f,)))
    return NewModule("Linear", params, attrs={"in_features": in_f, "out_features": out_f})


def _conv(dims: int) -> Callable[[list[Any], dict[str, Any]], NewModule | None]:
    def build(args: list[Any], kwargs: dict[str, Any]) -> NewModule | None:
        in_c = _int(kwargs.get("in_channels", args[0] if args else None))
        out_c = _int(kwargs.get("out_channels", args[1] if len(args) > 1 else None))
        kernel = kwargs.get("kernel_size", args[2] if len(args) > 2 else None)
        groups = _int(kwargs.get("groups", 1)) or 1
        if isinstance(kernel, int):
            kernel = (kernel,) * dims
        if in_c is None or out_c is None or not isinstance(kernel, tuple) \
                or not all(_int(k) for k in kernel):
            return None
        params = [("weight", (out_c, in_c // groups, *kernel))]
        if kwargs.get("bias", True) is not False:
            params.append(("bias", (out_c,)))
        return NewModule(f"Conv{dims}d", params,
                         attrs={"in_channels": in_c, "out_channels": out_c})
    return build


def _norm(type_name: str) -> Callable[[list[Any], dict[str, Any]], NewModule | None]:
    def build(args: list[Any], kwargs: dict[str, Any]) -> NewModule | None:
        first = kwargs.get("num_features", kwargs.get("normalized_shape", args[0] if args else None))
        size = _int(first)
        if size is None:
            return None
        affine = kwargs.get("affine", kwargs.get("elementwise_affine", True))
        params: list[tuple[str, tuple[int, ...]]] = \
            [("weight", (size,)), ("bias", (size,))] if affine is not False else []
        return NewModule(type_name, params, attrs={"num_features": size})
    return build


def _embedding(args: list[Any], kwargs: dict[str, Any]) -> NewModule | None:
    num = _int(kwargs.get("num_embeddings", args[0] if args else None))
    dim = _int(kwargs.get("embedding_dim", args[1] if len(args) > 1 else None))
    if num is None or dim is None:
        return None
    return NewModule("Embedding", [("weight", (num, dim))],
                     attrs={"num_embeddings": num, "embedding_dim": dim})


def _sequential(args: list[Any], kwargs: dict[str, Any]) -> NewModule | None:
    if kwargs or not all(isinstance(a, NewModule) for a in args):
        return None
    return NewModule("Sequential", children=[(str(i), a) for i, a in enumerate(args)])


_BUILDERS: dict[str, Callable[[list[Any], dict[str, Any]], NewModule | None]] = {
    "Linear": _linear,
    "Conv1d": _conv(1),
    "Conv2d": _conv(2),
    "Conv3d": _conv(3),
    "BatchNorm1d": _norm("BatchNorm1d"),
    "BatchNorm2d": _norm("BatchNorm2d"),
    "BatchNorm3d": _norm("BatchNorm3d"),
    "LayerNorm": _norm("LayerNorm"),
    "Embedding": _embedding,
    "Sequential": _sequential,
}


def build_nn_module(qualified: str, args: list[Any], kwargs: dict[str, Any]) -> NewModule | None:
    """The NewModule for `torch.nn.<Layer>(...)`, or None when it cannot be evaluated."""
    if not qualified.startswith("torch.nn."):
        return None
    layer = qualified.rpartition(".")[2]
    if layer in _PARAMETERLESS:
        return NewModule(layer)
    builder = _BUILDERS.get(layer)
    return builder(args, kwargs) if builder else None


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

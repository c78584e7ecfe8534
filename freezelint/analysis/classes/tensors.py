"""Tensors an `__init__` builds for buffers and parameters, by shape only: the factories
(`torch.zeros(3, 4)`, `torch.arange(n)`), shape-keeping operations (`.float()`, `torch.tril`)
and reshapes (`.view(1, 1, n, n)`, `.unsqueeze(0)`). An operation it does not know gives a
tensor of unknown shape (its name becomes a hole)."""

from __future__ import annotations

from typing import Any

from freezelint.analysis.classes import objects as O

FACTORIES = frozenset({"zeros", "ones", "randn", "rand", "empty", "full", "eye",
                               "randint", "arange", "tensor", "Tensor", "FloatTensor"})

def factory_shape(factory: str, args: list[Any], kwargs: dict[str, Any]) -> tuple[int, ...] | None:
    if factory in {"tensor", "arange", "randint", "full", "eye"}:
        if factory == "full" and args and isinstance(args[0], (tuple, list)):
            dims = list(args[0])
        elif factory == "eye" and args and all(isinstance(a, int) for a in args[:2]):
            dims = [args[0], args[1] if len(args) > 1 else args[0]]
        elif factory == "arange" and args and all(isinstance(a, int) and not isinstance(a, bool)
                                                  for a in args) and len(args) <= 3:
            return (len(range(*args)),)
        elif factory == "tensor" and args and isinstance(args[0], (int, float)):
            return ()
        else:
            return None
    else:
        size = kwargs.get("size")
        dims = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else \
            list(size) if isinstance(size, (tuple, list)) else list(args)
    if all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims):
        return tuple(dims)
    return None


SAME_SHAPE = frozenset({
    "float", "half", "double", "bfloat16", "to", "clone", "detach", "contiguous", "fill_",
    "zero_", "normal_", "uniform_", "requires_grad_", "mul_", "add_", "tril", "triu", "exp",
    "log", "sqrt", "abs", "neg", "sigmoid", "tanh", "mul", "add", "div", "cos", "sin",
    "long", "int", "bool", "cuda", "cpu"})
RESHAPES = frozenset({"view", "reshape", "unsqueeze", "squeeze"})
# Tensor methods whose result is no tensor.
NOT_TENSORS = frozenset({"item", "tolist", "size", "numel", "dim", "ndimension", "nelement",
                         "element_size", "data_ptr", "is_contiguous", "is_floating_point",
                         "is_complex", "numpy", "storage", "untyped_storage", "stride",
                         "get_device", "equal", "allclose", "any", "all", "__len__",
                         "register_hook", "backward", "copy_", "fill_", "zero_", "normal_",
                         "uniform_"})


def tensor_method(tensor: O.Tensor, name: str, args: list[Any]) -> Any:
    """Tensor operations a buffer's construction uses: shape-keeping ones, view/reshape."""
    shape = tensor.shape
    if name in SAME_SHAPE:
        return O.Tensor(shape)
    if name not in RESHAPES or shape is None:
        return O.Tensor(None)
    dims = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        return O.Tensor(None)
    if name == "unsqueeze" and len(dims) == 1:
        at = dims[0] if dims[0] >= 0 else len(shape) + 1 + dims[0]
        return O.Tensor((*shape[:at], 1, *shape[at:]))
    if name == "squeeze":
        kept = [d for i, d in enumerate(shape) if d != 1 or (dims and i not in dims)]
        return O.Tensor(tuple(kept))
    total = 1
    for size in shape:
        total *= size
    known = 1
    for d in dims:
        if d != -1:
            known *= d
    if dims.count(-1) > 1 or known == 0 or total % known:
        return O.Tensor(None)
    return O.Tensor(tuple(total // known if d == -1 else d for d in dims))

"""Turn a live `torch.nn.Module` into a Manifest. Imports torch: only the zoo generator,
the user-model builder and the runtime audit call it."""

from __future__ import annotations

from typing import Any

from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo

# Integer attributes worth keeping: structural edits and fixes read them
# (`nn.Linear(model.fc.in_features, 10)`).
_KEPT_ATTRS = ("in_features", "out_features", "in_channels", "out_channels",
               "num_features", "embedding_dim", "num_embeddings")


def manifest_from_module(module: Any, name: str, source: str,
                         meta: dict[str, Any] | None = None) -> Manifest:
    """Read names, shapes, dtypes and module types off `module` (meta device is fine)."""
    persistent = set(module.state_dict(keep_vars=True).keys())
    parameters = tuple(TensorInfo(n, tuple(p.shape), _dtype(p)) for n, p in module.named_parameters())
    buffers = tuple(TensorInfo(n, tuple(b.shape), _dtype(b), n in persistent)
                    for n, b in module.named_buffers())
    modules = tuple(ModuleInfo(path, type(m).__name__, _attrs(m)) for path, m in module.named_modules())
    return Manifest(name=name, parameters=parameters, buffers=buffers, modules=modules,
                    source=source, meta=dict(meta or {}))


def _dtype(tensor: Any) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _attrs(module: Any) -> dict[str, int]:
    attrs: dict[str, int] = {}
    for key in _KEPT_ATTRS:
        value = getattr(module, key, None)
        if isinstance(value, int) and not isinstance(value, bool):
            attrs[key] = value
    return attrs

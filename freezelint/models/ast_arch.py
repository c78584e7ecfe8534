"""The `ast` zoo entry, computed in pure Python.

The Audio Spectrogram Transformer of the AST paper's reference code (`ASTModel`) changes its
parameter shapes with its constructor arguments (`label_dim`, strides, input size, width),
so one shipped JSON file cannot describe every variant a training script builds. This module
writes the same Manifest that `manifest_from_module(ASTModel(...))` reads off a live model,
for any arguments, without importing torch. `freezelint.models.architectures.ast_model`
imports the size table and the argument checks from here, so that both agree by construction;
a test compares the two on the meta device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from freezelint.models.manifest import Manifest, ModuleInfo, TensorInfo

# model_size -> (embedding width D, attention heads). All four variants have 12 blocks; the
# 224/384 suffix names the ImageNet resolution of the DeiT the reference code starts from,
# which does not change any shape once the positional embedding is resized.
AST_SIZES: dict[str, tuple[int, int]] = {
    "tiny224": (192, 3),
    "small224": (384, 6),
    "base224": (768, 12),
    "base384": (768, 12),
}
AST_DEPTH = 12
AST_PATCH = 16
AST_MLP_RATIO = 4
# The DeiT classifier heads `v.head` and `v.head_dist` keep their ImageNet size: the
# reference code never replaces them (forward does not use them).
AST_IMAGENET_CLASSES = 1000

# Constructor flags that only decide which weights the reference code downloads; they never
# change a name or a shape, so they are accepted and ignored.
AST_WEIGHT_FLAGS = frozenset({"imagenet_pretrain", "audioset_pretrain", "verbose"})

AST_DEFAULTS: dict[str, Any] = {
    "label_dim": 527,
    "fstride": 10,
    "tstride": 10,
    "input_fdim": 128,
    "input_tdim": 1024,
    "model_size": "base384",
}


@dataclass(frozen=True)
class ASTShape:
    """The numbers every AST shape derives from, after the arguments are checked."""

    label_dim: int
    fstride: int
    tstride: int
    input_fdim: int
    input_tdim: int
    model_size: str
    dim: int
    heads: int

    @property
    def f_patches(self) -> int:
        return (self.input_fdim - AST_PATCH) // self.fstride + 1

    @property
    def t_patches(self) -> int:
        return (self.input_tdim - AST_PATCH) // self.tstride + 1

    @property
    def num_patches(self) -> int:
        return self.f_patches * self.t_patches

    def kwargs(self) -> dict[str, Any]:
        return {"label_dim": self.label_dim, "fstride": self.fstride, "tstride": self.tstride,
                "input_fdim": self.input_fdim, "input_tdim": self.input_tdim,
                "model_size": self.model_size}


def ast_shape(label_dim: Any = 527, fstride: Any = 10, tstride: Any = 10, input_fdim: Any = 128,
              input_tdim: Any = 1024, model_size: Any = "base384") -> ASTShape:
    """Check `ASTModel` arguments and derive its sizes.

    Raises ValueError for a value the reference code would reject or crash on, so that the
    linter reports a bad `--model ast` argument instead of inventing a model."""
    if not isinstance(model_size, str) or model_size not in AST_SIZES:
        known = ", ".join(AST_SIZES)
        raise ValueError(f"ast: model_size must be one of {known}; got {model_size!r}")
    ints = {"label_dim": label_dim, "fstride": fstride, "tstride": tstride,
            "input_fdim": input_fdim, "input_tdim": input_tdim}
    for key, value in ints.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"ast: {key} must be an int; got {value!r}")
        if value < 1:
            raise ValueError(f"ast: {key} must be positive; got {value}")
    for key in ("input_fdim", "input_tdim"):
        if ints[key] < AST_PATCH:
            raise ValueError(f"ast: {key} must be at least the patch size {AST_PATCH}; "
                             f"got {ints[key]}")
    dim, heads = AST_SIZES[model_size]
    return ASTShape(label_dim=label_dim, fstride=fstride, tstride=tstride,
                    input_fdim=input_fdim, input_tdim=input_tdim, model_size=model_size,
                    dim=dim, heads=heads)


def ast_manifest(label_dim: Any = 527, fstride: Any = 10, tstride: Any = 10,
                 input_fdim: Any = 128, input_tdim: Any = 1024, model_size: Any = "base384",
                 **ignored: Any) -> Manifest:
    """The Manifest of `ASTModel(...)` for these arguments, without torch.

    `ignored` takes the weight-choosing flags (imagenet_pretrain, audioset_pretrain,
    verbose); any other keyword is a ValueError, since it would be a TypeError in the real
    constructor."""
    unknown = sorted(set(ignored) - AST_WEIGHT_FLAGS)
    if unknown:
        raise ValueError(f"ast: unexpected argument(s) {', '.join(unknown)}; expected "
                         f"{', '.join([*AST_DEFAULTS, *sorted(AST_WEIGHT_FLAGS)])}")
    shape = ast_shape(label_dim, fstride, tstride, input_fdim, input_tdim, model_size)
    builder = _Builder()
    _build(builder, shape)
    meta = {"architecture": "ASTModel", "kwargs": shape.kwargs(),
            "f_patches": shape.f_patches, "t_patches": shape.t_patches,
            "description": "Audio Spectrogram Transformer (AST paper reference code)"}
    return Manifest(name="ast", parameters=tuple(builder.parameters), buffers=(),
                    modules=tuple(builder.modules), source="zoo", meta=meta)


class _Builder:
    """Collects modules and parameters in `named_modules()` / `named_parameters()` order.

    Both orders are the same walk here: every AST module registers its own parameters before
    its children, so emitting a module, then its tensors, then its children reproduces
    torch's pre-order traversal."""

    def __init__(self) -> None:
        self.parameters: list[TensorInfo] = []
        self.modules: list[ModuleInfo] = []

    def module(self, path: str, type_name: str, **attrs: int) -> None:
        self.modules.append(ModuleInfo(path, type_name, dict(attrs)))

    def param(self, name: str, *shape: int) -> None:
        self.parameters.append(TensorInfo(name, tuple(shape)))

    def linear(self, path: str, in_features: int, out_features: int) -> None:
        self.module(path, "Linear", in_features=in_features, out_features=out_features)
        self.param(f"{path}.weight", out_features, in_features)
        self.param(f"{path}.bias", out_features)

    def layer_norm(self, path: str, dim: int) -> None:
        self.module(path, "LayerNorm")
        self.param(f"{path}.weight", dim)
        self.param(f"{path}.bias", dim)


def _build(b: _Builder, s: ASTShape) -> None:
    """Mirror `ASTModel.__init__` (architectures/ast_model.py) attribute by attribute."""
    d = s.dim
    b.module("", "ASTModel")
    b.module("v", "DistilledVisionTransformer")
    # The ViT's own parameters come first, in the order the DeiT registers them.
    b.param("v.cls_token", 1, 1, d)
    b.param("v.pos_embed", 1, s.num_patches + 2, d)
    b.param("v.dist_token", 1, 1, d)
    b.module("v.patch_embed", "PatchEmbed")
    b.module("v.patch_embed.proj", "Conv2d", in_channels=1, out_channels=d)
    b.param("v.patch_embed.proj.weight", d, 1, AST_PATCH, AST_PATCH)
    b.param("v.patch_embed.proj.bias", d)
    b.module("v.pos_drop", "Dropout")
    b.module("v.blocks", "Sequential")
    for i in range(AST_DEPTH):
        block = f"v.blocks.{i}"
        b.module(block, "Block")
        b.layer_norm(f"{block}.norm1", d)
        b.module(f"{block}.attn", "Attention")
        b.linear(f"{block}.attn.qkv", d, 3 * d)
        b.module(f"{block}.attn.attn_drop", "Dropout")
        b.linear(f"{block}.attn.proj", d, d)
        b.module(f"{block}.attn.proj_drop", "Dropout")
        b.module(f"{block}.drop_path", "Identity")
        b.layer_norm(f"{block}.norm2", d)
        b.module(f"{block}.mlp", "Mlp")
        b.linear(f"{block}.mlp.fc1", d, AST_MLP_RATIO * d)
        b.module(f"{block}.mlp.act", "GELU")
        b.linear(f"{block}.mlp.fc2", AST_MLP_RATIO * d, d)
        b.module(f"{block}.mlp.drop", "Dropout")
    b.layer_norm("v.norm", d)
    b.module("v.pre_logits", "Identity")
    b.linear("v.head", d, AST_IMAGENET_CLASSES)
    b.linear("v.head_dist", d, AST_IMAGENET_CLASSES)
    b.module("mlp_head", "Sequential")
    b.layer_norm("mlp_head.0", d)
    b.linear("mlp_head.1", d, s.label_dim)

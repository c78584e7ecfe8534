"""The AST architecture: the pure-Python manifest (`ast_arch`) states the measured facts the
design lists, and matches the torch model (`architectures.ast_model`) built on the meta device."""

from __future__ import annotations

import pytest

from freezelint.models.ast_arch import AST_SIZES, ast_manifest
from freezelint.models.manifest import Manifest

BLOCK_PARTS = ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2")


def expected_names() -> list[str]:
    names = ["v.cls_token", "v.pos_embed", "v.dist_token",
             "v.patch_embed.proj.weight", "v.patch_embed.proj.bias"]
    for i in range(12):
        for part in BLOCK_PARTS:
            names += [f"v.blocks.{i}.{part}.weight", f"v.blocks.{i}.{part}.bias"]
    for module in ("v.norm", "v.head", "v.head_dist", "mlp_head.0", "mlp_head.1"):
        names += [f"{module}.weight", f"{module}.bias"]
    return names


def shapes(manifest: Manifest) -> dict[str, tuple[int, ...]]:
    return {p.name: p.shape for p in manifest.parameters}


def test_default_matches_design_facts() -> None:
    manifest = ast_manifest()
    assert manifest.name == "ast"
    assert manifest.source == "zoo"
    assert len(manifest.parameters) == 159
    assert manifest.buffers == ()
    assert manifest.parameter_names == expected_names()
    assert manifest.parameter_names[:5] == [
        "v.cls_token", "v.pos_embed", "v.dist_token",
        "v.patch_embed.proj.weight", "v.patch_embed.proj.bias"]
    assert manifest.parameter_names[-4:] == [
        "mlp_head.0.weight", "mlp_head.0.bias", "mlp_head.1.weight", "mlp_head.1.bias"]
    s = shapes(manifest)
    assert s["v.cls_token"] == (1, 1, 768)
    assert s["v.dist_token"] == (1, 1, 768)
    assert s["v.pos_embed"] == (1, 1214, 768)
    assert s["v.patch_embed.proj.weight"] == (768, 1, 16, 16)
    assert s["v.patch_embed.proj.bias"] == (768,)
    for i in range(12):
        block = f"v.blocks.{i}"
        assert s[f"{block}.attn.qkv.weight"] == (2304, 768)
        assert s[f"{block}.attn.qkv.bias"] == (2304,)
        assert s[f"{block}.attn.proj.weight"] == (768, 768)
        assert s[f"{block}.mlp.fc1.weight"] == (3072, 768)
        assert s[f"{block}.mlp.fc2.weight"] == (768, 3072)
        assert s[f"{block}.norm1.weight"] == s[f"{block}.norm2.bias"] == (768,)
    assert s["v.norm.weight"] == (768,)
    assert s["v.head.weight"] == s["v.head_dist.weight"] == (1000, 768)
    assert s["mlp_head.0.weight"] == s["mlp_head.0.bias"] == (768,)
    assert s["mlp_head.1.weight"] == (527, 768)
    assert s["mlp_head.1.bias"] == (527,)
    assert manifest.meta["kwargs"]["model_size"] == "base384"


def test_default_module_types_and_head() -> None:
    manifest = ast_manifest()
    assert manifest.module("") is not None and manifest.module("").type == "ASTModel"
    head = manifest.module("mlp_head.1")
    assert head is not None
    assert (head.type, head.attrs) == ("Linear", {"in_features": 768, "out_features": 527})
    proj = manifest.module("v.patch_embed.proj")
    assert proj is not None
    assert (proj.type, proj.attrs) == ("Conv2d", {"in_channels": 1, "out_channels": 768})
    assert manifest.module("mlp_head.0").type == "LayerNorm"
    assert manifest.head == "mlp_head.1"


def test_label_dim_and_input_tdim_change_shapes() -> None:
    s = shapes(ast_manifest(label_dim=10, input_tdim=512))
    # f = (128-16)//10+1 = 12, t = (512-16)//10+1 = 50 -> 600 patches + 2 tokens
    assert s["v.pos_embed"] == (1, 602, 768)
    assert s["mlp_head.1.weight"] == (10, 768)
    assert s["mlp_head.1.bias"] == (10,)


def test_strides_change_pos_embed_only() -> None:
    manifest = ast_manifest(fstride=16, tstride=16)
    assert shapes(manifest)["v.pos_embed"] == (1, 8 * 64 + 2, 768)
    assert shapes(manifest)["v.patch_embed.proj.weight"] == (768, 1, 16, 16)


@pytest.mark.parametrize(("size", "dim"), [("tiny224", 192), ("small224", 384),
                                           ("base224", 768), ("base384", 768)])
def test_model_size_sets_width(size: str, dim: int) -> None:
    manifest = ast_manifest(model_size=size)
    s = shapes(manifest)
    assert len(manifest.parameters) == 159
    assert s["v.cls_token"] == (1, 1, dim)
    assert s["v.blocks.0.attn.qkv.weight"] == (3 * dim, dim)
    assert s["v.blocks.11.mlp.fc1.weight"] == (4 * dim, dim)
    assert s["mlp_head.1.weight"] == (527, dim)
    assert AST_SIZES[size][0] == dim


def test_weight_flags_are_ignored() -> None:
    plain = ast_manifest()
    flagged = ast_manifest(imagenet_pretrain=False, audioset_pretrain=True, verbose=False)
    assert flagged.parameters == plain.parameters


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"model_size": "huge"}, "model_size must be one of"),
    ({"model_size": 384}, "model_size must be one of"),
    ({"label_dim": "10"}, "label_dim must be an int"),
    ({"label_dim": 10.0}, "label_dim must be an int"),
    ({"fstride": True}, "fstride must be an int"),
    ({"tstride": 0}, "tstride must be positive"),
    ({"input_fdim": 8}, "input_fdim must be at least"),
    ({"num_classes": 10}, "unexpected argument"),
])
def test_bad_arguments_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ast_manifest(**kwargs)


# -- against the torch implementation ---------------------------------------------------

TORCH_CASES = [
    {},
    {"label_dim": 10, "input_tdim": 512},
    {"label_dim": 35, "fstride": 16, "tstride": 16, "input_fdim": 128, "input_tdim": 128},
    {"model_size": "tiny224", "input_fdim": 32, "input_tdim": 32, "label_dim": 10},
    {"model_size": "small224", "fstride": 12, "tstride": 8, "audioset_pretrain": True},
    {"model_size": "base224", "imagenet_pretrain": False, "verbose": False},
]


def full(manifest: Manifest) -> tuple[object, ...]:
    """Everything two manifests must share (ModuleInfo.attrs is excluded from ==)."""
    return (manifest.parameters, manifest.buffers,
            [(m.path, m.type, m.attrs) for m in manifest.modules])


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", TORCH_CASES)
def test_manifest_matches_torch_model(kwargs: dict[str, object]) -> None:
    torch = pytest.importorskip("torch")
    from freezelint.models.architectures import ASTModel
    from freezelint.models.introspect import manifest_from_module

    with torch.device("meta"):
        model = ASTModel(**kwargs)
    live = manifest_from_module(model, name="ast", source="zoo")
    assert full(ast_manifest(**kwargs)) == full(live)


@pytest.mark.torch
def test_torch_model_rejects_what_the_manifest_rejects() -> None:
    pytest.importorskip("torch")
    from freezelint.models.architectures import ASTModel

    with pytest.raises(ValueError, match="model_size"):
        ASTModel(model_size="huge")


@pytest.mark.torch
def test_tiny_forward_runs_on_cpu() -> None:
    torch = pytest.importorskip("torch")
    from freezelint.models.architectures import ASTModel

    torch.manual_seed(0)
    model = ASTModel(label_dim=10, input_fdim=32, input_tdim=32, model_size="tiny224",
                     imagenet_pretrain=False).eval()
    x = torch.randn(3, 32, 32)  # [batch, time, freq]
    with torch.no_grad():
        out = model(x)
    assert out.shape == (3, 10)
    assert torch.isfinite(out).all()


@pytest.mark.torch
def test_tiny_forward_backward_with_overlapping_patches() -> None:
    torch = pytest.importorskip("torch")
    from freezelint.models.architectures import ASTModel

    model = ASTModel(label_dim=4, fstride=6, tstride=10, input_fdim=40, input_tdim=50,
                     model_size="tiny224")
    out = model(torch.randn(2, 50, 40))
    assert out.shape == (2, 4)
    out.sum().backward()
    assert model.mlp_head[1].weight.grad is not None
    assert model.v.pos_embed.grad is not None
    assert model.v.head.weight.grad is None  # kept but unused, as in the reference

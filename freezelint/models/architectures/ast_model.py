"""`ASTModel`: the Audio Spectrogram Transformer with the constructor, parameter names and
forward of the AST paper's reference code, written from its description.

Why it exists: fine-tuning scripts in the wild build `ASTModel(...)` from the reference
repository, which needs an old timm and downloads ImageNet/AudioSet weights at construction.
freezelint needs the model's exact names and shapes (and tests need a runnable model) with
neither, so this version builds the same module tree from plain torch and loads no weights.

The module tree mirrors the reference: `v` is a distilled DeiT (cls and distillation tokens,
patch embedding, 12 pre-norm blocks, final norm, the two unused ImageNet heads) whose patch
embedding is a 1-channel Conv2d with strides (fstride, tstride) and whose positional
embedding has one entry per spectrogram patch plus the two tokens; `mlp_head` is the new
classifier. `freezelint.models.ast_arch` writes the same names without torch.
"""

from __future__ import annotations

import torch
from torch import nn

from freezelint.models.ast_arch import (
    AST_DEPTH,
    AST_IMAGENET_CLASSES,
    AST_MLP_RATIO,
    AST_PATCH,
    ast_shape,
)


class PatchEmbed(nn.Module):
    """Cuts the spectrogram into (possibly overlapping) 16x16 patches and embeds each one."""

    def __init__(self, dim: int, fstride: int, tstride: int, num_patches: int) -> None:
        super().__init__()
        self.num_patches = num_patches
        self.proj = nn.Conv2d(1, dim, kernel_size=(AST_PATCH, AST_PATCH),
                              stride=(fstride, tstride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # [B, 1, F, T] -> [B, D, f, t] -> [B, f*t, D]
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with one fused qkv projection, as in timm's ViT."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(batch, tokens, dim)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):
    """The transformer block's feed-forward part: Linear, GELU, Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Block(nn.Module):
    """A pre-norm transformer block. `drop_path` is an Identity: the reference trains AST
    without stochastic depth, and keeping the attribute keeps the module tree identical."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.drop_path = nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * AST_MLP_RATIO)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class DistilledVisionTransformer(nn.Module):
    """The DeiT backbone `ASTModel.v`, already adapted to 1-channel spectrogram patches.

    Parameter registration order matters (freezelint reports names in that order, and
    `named_parameters()` yields a module's own parameters first): cls_token, pos_embed,
    dist_token, then the children."""

    def __init__(self, dim: int, num_heads: int, fstride: int, tstride: int,
                 num_patches: int) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(dim, fstride, tstride, num_patches)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 2, dim))
        self.pos_drop = nn.Dropout(0.0)
        self.blocks = nn.Sequential(*(Block(dim, num_heads) for _ in range(AST_DEPTH)))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pre_logits = nn.Identity()
        self.head = nn.Linear(dim, AST_IMAGENET_CLASSES)
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.head_dist = nn.Linear(dim, AST_IMAGENET_CLASSES)
        for token in (self.cls_token, self.pos_embed, self.dist_token):
            nn.init.trunc_normal_(token, std=0.02)


class ASTModel(nn.Module):
    """Audio Spectrogram Transformer: input [batch, time, freq] log-mel frames, output
    [batch, label_dim] logits.

    `imagenet_pretrain`, `audioset_pretrain` and `verbose` are accepted for signature
    compatibility with the reference code and ignored: they only choose which weights the
    reference downloads (never a name or a shape), and this model never downloads."""

    def __init__(self, label_dim: int = 527, fstride: int = 10, tstride: int = 10,
                 input_fdim: int = 128, input_tdim: int = 1024, imagenet_pretrain: bool = True,
                 audioset_pretrain: bool = False, model_size: str = "base384",
                 verbose: bool = True) -> None:
        super().__init__()
        del imagenet_pretrain, audioset_pretrain, verbose
        shape = ast_shape(label_dim, fstride, tstride, input_fdim, input_tdim, model_size)
        self.f_dim = shape.f_patches
        self.t_dim = shape.t_patches
        self.v = DistilledVisionTransformer(shape.dim, shape.heads, fstride, tstride,
                                            shape.num_patches)
        self.mlp_head = nn.Sequential(nn.LayerNorm(shape.dim), nn.Linear(shape.dim, label_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(1).transpose(2, 3)  # [B, T, F] -> [B, 1, F, T]
        batch = x.shape[0]
        x = self.v.patch_embed(x)
        cls_tokens = self.v.cls_token.expand(batch, -1, -1)
        dist_token = self.v.dist_token.expand(batch, -1, -1)
        x = torch.cat((cls_tokens, dist_token, x), dim=1)
        x = self.v.pos_drop(x + self.v.pos_embed)
        x = self.v.blocks(x)
        x = self.v.norm(x)
        x = (x[:, 0] + x[:, 1]) / 2
        return self.mlp_head(x)

"""Known public checkpoints, shipped as data: what their keys and head shapes are, without
downloading them.

- torchvision's weight enums (`ResNet50_Weights.IMAGENET1K_V2.get_state_dict()`, or the
  enum's `.url` handed to `load_state_dict_from_url`): the state dict of the architecture as
  built with those weights, ImageNet-1k's 1000 classes. Only the families whose released
  keys are the model's own keys are listed (densenet's old `norm.1` keys are remapped by
  torchvision on load, googlenet and inception carry aux heads, ViT's SWAG weights use
  another image size: those are left unknown).
- the AST releases (YuanGongND/ast): the AudioSet checkpoints `audioset_{s}_{s}_0.xxxx.pth`
  of its README (the best single model and the ensemble's), each ASTModel(label_dim=527, fstride=s, tstride=s, input_fdim=128, input_tdim=1024,
  model_size='base384'), saved under DataParallel: every key carries `module.`.

A checkpoint that exists on disk is read from its header instead (models/checkpoint.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from freezelint.models.manifest import Manifest

# torchvision families whose ImageNet-1k weights hold exactly the model's keys.
_TORCHVISION_FAMILIES = re.compile(
    r"(resnet\d+|resnext\d+_\w+|wide_resnet\d+_\d|vgg\d+(_bn)?|mobilenet_v2|mobilenet_v3_\w+"
    r"|efficientnet_(b\d|v2_[sml])|convnext_\w+|alexnet|squeezenet1_[01]|shufflenet_v2_\w+"
    r"|vit_[bl]_(16|32))")
# The enum members whose weights are ImageNet-1k at the default image size, per family.
_MEMBERS = frozenset({"IMAGENET1K_V1", "IMAGENET1K_V2", "DEFAULT"})
_VIT_MEMBERS = frozenset({"IMAGENET1K_V1", "DEFAULT"})  # DEFAULT is V1 for b/l 16/32

# The AST AudioSet releases (the README's best model and its ensemble), by file name: stride.
AST_AUDIOSET_RELEASES = {
    "audioset_10_10_0.4593.pth": 10, "audioset_10_10_0.4495.pth": 10,
    "audioset_10_10_0.4483.pth": 10, "audioset_10_10_0.4475.pth": 10,
    "audioset_12_12_0.4467.pth": 12, "audioset_14_14_0.4431.pth": 14,
    "audioset_16_16_0.4422.pth": 16,
}
AST_RELEASE_PREFIX = "module."


@dataclass(frozen=True)
class PublicCheckpoint:
    """A known checkpoint's keys: `manifest`'s state dict behind `prefix`."""

    manifest: Manifest
    prefix: str
    label: str


def torchvision_weights(qualified: str) -> PublicCheckpoint | None:
    """`torchvision.models.ResNet50_Weights.IMAGENET1K_V2` (the enum member's qualified name,
    as the code names it) -> the keys its `get_state_dict()` returns."""
    parts = qualified.split(".")
    if len(parts) < 3 or parts[0] != "torchvision" or not parts[-2].endswith("_Weights"):
        return None
    arch, member = parts[-2].removesuffix("_Weights").lower(), parts[-1]
    members = _VIT_MEMBERS if arch.startswith("vit_") else _MEMBERS
    if member not in members or not _TORCHVISION_FAMILIES.fullmatch(arch):
        return None
    from freezelint.models.zoo import load_zoo

    try:
        manifest = load_zoo(arch, {"weights": member})
    except (LookupError, ValueError):
        return None
    return PublicCheckpoint(manifest, "", f"{parts[-2]}.{member}")


def by_file_name(path: str) -> PublicCheckpoint | None:
    """A released checkpoint named by its file (the AST AudioSet models)."""
    name = path.replace("\\", "/").rpartition("/")[2]
    stride = AST_AUDIOSET_RELEASES.get(name)
    if stride is None:
        return None
    from freezelint.models.ast_arch import ast_manifest

    manifest = ast_manifest(label_dim=527, fstride=stride, tstride=stride, input_fdim=128,
                            input_tdim=1024, model_size="base384")
    return PublicCheckpoint(manifest, AST_RELEASE_PREFIX, f"the AST AudioSet release {name}")

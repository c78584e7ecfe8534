"""Issue 17: known public checkpoints shipped as data, so a head-size or prefix mismatch with
them is found before anything is downloaded.

The AST AudioSet releases are checked against the real ASTModel (built on the meta device,
wrapped in DataParallel as the release was saved): the keys and shapes the data claims are
the real ones, and a script loading a release into another head fails in real torch exactly
where freezelint says. torchvision's weight enums are the zoo's architectures built with
those weights (1000 classes); the comparison with a live torchvision build runs where
torchvision is installed.
"""

from __future__ import annotations

import sys
import textwrap
import types

import pytest

from freezelint.engine.lint import LintConfig, lint
from freezelint.models.ast_arch import ast_manifest
from freezelint.models.public_checkpoints import (
    AST_AUDIOSET_RELEASES,
    by_file_name,
    torchvision_weights,
)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(AST_AUDIOSET_RELEASES))
def test_ast_release_keys_are_the_real_model_saved_under_data_parallel(name):
    torch = pytest.importorskip("torch")
    from freezelint.models.architectures.ast_model import ASTModel

    stride = AST_AUDIOSET_RELEASES[name]
    with torch.device("meta"):
        model = ASTModel(label_dim=527, fstride=stride, tstride=stride, input_fdim=128,
                         input_tdim=1024, imagenet_pretrain=False, audioset_pretrain=False,
                         model_size="base384")
    real = {k: tuple(v.shape) for k, v in torch.nn.DataParallel(model).state_dict().items()}
    public = by_file_name(f"../../pretrained_models/{name}")
    assert public is not None
    shipped = {public.prefix + t.name: tuple(t.shape)
               for t in public.manifest.state_dict_tensors()}
    assert shipped == real


def test_unknown_file_names_are_not_guessed():
    assert by_file_name("audioset_10_10_0.4594.pth") is None
    assert by_file_name("speechcommands_10_10_0.9812.pth") is None
    assert torchvision_weights("torchvision.models.DenseNet121_Weights.IMAGENET1K_V1") is None
    assert torchvision_weights("torchvision.models.ViT_H_14_Weights.DEFAULT") is None
    assert torchvision_weights("torchvision.models.ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1") \
        is None


RELEASE_SCRIPT = """
import torch

from src.models import ASTModel

with torch.device('meta'):
    model = ASTModel(label_dim=35, input_tdim=128, imagenet_pretrain=False,
                     audioset_pretrain=False)
state = torch.load('pretrained_models/audioset_10_10_0.4593.pth', map_location='cpu')
model.load_state_dict(state)
"""


@pytest.fixture
def ast_project(tmp_path, monkeypatch):
    """The AST recipe's `src.models`, and the release file saved as the authors saved it
    (meta tensors: the keys and shapes without 88M parameters)."""
    torch = pytest.importorskip("torch")
    from freezelint.models.architectures.ast_model import ASTModel

    package, models = types.ModuleType("src"), types.ModuleType("src.models")
    models.ASTModel = ASTModel
    monkeypatch.setitem(sys.modules, "src", package)
    monkeypatch.setitem(sys.modules, "src.models", models)
    monkeypatch.chdir(tmp_path)
    with torch.device("meta"):
        released = ASTModel(label_dim=527, imagenet_pretrain=False, audioset_pretrain=False)
    (tmp_path / "pretrained_models").mkdir()
    release = tmp_path / "pretrained_models" / "audioset_10_10_0.4593.pth"
    torch.save(torch.nn.DataParallel(released).state_dict(), release)
    return release


def _lint_without_the_file(text: str, release) -> list:
    """Lint as a user who has not downloaded the release yet: the file is absent."""
    moved = release.with_suffix(".away")
    release.rename(moved)
    try:
        config = LintConfig(model=ast_manifest(label_dim=35, input_tdim=128), prefilter=False)
        return lint(text, config)
    finally:
        moved.rename(release)


def _run(text: str) -> None:
    exec(compile(text, "train.py", "exec"), {"__name__": "__main__"})


@pytest.mark.torch
def test_ast_release_loaded_into_another_head(ast_project):
    flagged = textwrap.dedent(RELEASE_SCRIPT)
    with pytest.raises(RuntimeError, match=r'Unexpected key.*"module.v.cls_token"'):
        _run(flagged)
    assert [d.rule for d in _lint_without_the_file(flagged, ast_project)] == ["FZL301"]

    stripped = flagged.replace("model.load_state_dict(state)", "model.load_state_dict("
                               "{k.removeprefix('module.'): v for k, v in state.items()})")
    with pytest.raises(RuntimeError, match=r"size mismatch for v\.pos_embed"):
        _run(stripped)
    diagnostics = _lint_without_the_file(stripped, ast_project)
    assert [d.rule for d in diagnostics] == ["FZL306"]
    assert "`mlp_head.1.weight` is [527, 768]" in diagnostics[0].message \
        or "`v.pos_embed` is [1, 1214, 768]" in diagnostics[0].message


@pytest.mark.torch
def test_ast_release_loaded_into_its_own_architecture_is_quiet(ast_project):
    text = textwrap.dedent(RELEASE_SCRIPT).replace(
        "label_dim=35, input_tdim=128", "label_dim=527").replace(
        "model.load_state_dict(state)",
        "model.load_state_dict({k.removeprefix('module.'): v for k, v in state.items()})")
    _run(text)
    config = LintConfig(model=ast_manifest(label_dim=527), prefilter=False)
    ast_project.rename(ast_project.with_suffix(".away"))
    assert lint(text, config) == []


def test_torchvision_weights_into_another_class_count():
    """`ResNet50_Weights.IMAGENET1K_V2.get_state_dict()` is a 1000-class state dict: loaded
    into resnet50(num_classes=10), fc does not fit (torch: size mismatch for fc.weight)."""
    flagged = textwrap.dedent("""
        from torchvision.models import ResNet50_Weights, resnet50

        model = resnet50(num_classes=10)
        model.load_state_dict(ResNet50_Weights.IMAGENET1K_V2.get_state_dict(progress=True))
        """)
    diagnostics = lint(flagged)
    assert [d.rule for d in diagnostics] == ["FZL306"]
    assert "`fc.weight` is [1000, 2048]" in diagnostics[0].message
    fixed = flagged.replace("resnet50(num_classes=10)", "resnet50()") + \
        "model.fc = torch.nn.Linear(2048, 10)\n"
    assert lint("import torch\n" + fixed) == []


def test_torchvision_weights_url():
    text = textwrap.dedent("""
        import torch
        import torchvision

        weights = torchvision.models.ViT_B_16_Weights.DEFAULT
        model = torchvision.models.vit_b_16(num_classes=37)
        model.load_state_dict(torch.hub.load_state_dict_from_url(weights.url))
        """)
    diagnostics = lint(text)
    assert [d.rule for d in diagnostics] == ["FZL306"]
    assert "`heads.head.weight` is [1000, 768]" in diagnostics[0].message


def test_torchvision_weights_match_a_live_build():
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    for arch in ("resnet50", "vit_b_16", "efficientnet_b0", "mobilenet_v3_large"):
        weights = torchvision.models.get_model_weights(arch).DEFAULT
        enum = type(weights).__name__
        public = torchvision_weights(f"torchvision.models.{enum}.{weights.name}")
        assert public is not None
        with torch.device("meta"):
            live = torchvision.models.get_model(arch, weights=None,
                                                num_classes=len(weights.meta["categories"]))
        assert {t.name: tuple(t.shape) for t in public.manifest.state_dict_tensors()} == \
            {k: tuple(v.shape) for k, v in live.state_dict().items()}

"""Issue 13, class 9 and its neighbours, from real code: FZL109 and FZL103 only where the
harm is real and the code surely runs.

- a branch taken only for other architectures (pytorch/examples imagenet: `if
  args.arch.startswith('alexnet') or args.arch.startswith('vgg'): model.features = ...`);
- `DataParallel(Net())` of a Net the analysis cannot read, with --model: `.module` is the
  wrapper's, not a missing submodule;
- a parameterless module assigned as a no-op (Lightning tutorials: `model.classifier =
  nn.Sequential()` next to `model.fc = nn.Sequential()`);
- a batch moved with `.to(device)` is not the model (only module-only methods make an
  unknown name the model);
- a model frozen whole and never trained is a feature extractor, a teacher or an EMA copy
  (FZL103's end-of-script count needs `model.train()` or a trainer after the freeze).
"""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import LintConfig, lint
from freezelint.models.zoo import load_zoo


def rules(code: str, config: LintConfig | None = None) -> list[str]:
    return [d.rule for d in lint(textwrap.dedent(code), config)]


IMAGENET = """\
    import torch
    import torchvision.models as models

    model = models.resnet50(weights=None)
    if args.arch.startswith('alexnet') or args.arch.startswith('vgg'):
        model.features = torch.nn.DataParallel(model.features)
    else:
        model = torch.nn.DataParallel(model)
    """


def test_a_branch_for_other_architectures_is_not_reported() -> None:
    assert rules(IMAGENET) == []
    # Unconditional, the same assignment is reported (ResNet has no `features`).
    assert rules(IMAGENET.replace("if args.arch.startswith('alexnet') or "
                                  "args.arch.startswith('vgg'):", "if True:")) == ["FZL109"]


def test_module_of_an_unseen_wrapper_is_unknown() -> None:
    code = """\
        import torch
        from mypackage import Net

        model = torch.nn.DataParallel(Net())
        model.train()
        model.module.fc.requires_grad_(False)
        """
    assert rules(code, LintConfig(model=load_zoo("resnet18", {}))) == []


def test_a_parameterless_module_assigned_as_a_no_op_is_not_reported() -> None:
    code = """\
        import torch.nn as nn
        import torchvision

        pretrained_model = torchvision.models.resnet34(weights=None)
        pretrained_model.fc = nn.Sequential()
        pretrained_model.classifier = nn.Sequential()
        """
    assert rules(code) == []
    assert rules(code.replace("pretrained_model.classifier = nn.Sequential()",
                              "pretrained_model.classifier = nn.Linear(512, 10)")) == ["FZL109"]


def test_a_batch_moved_to_the_device_is_not_the_model() -> None:
    code = """\
        import torch

        def evaluate(loader, device):
            inp_data, labels = next(iter(loader))
            inp_data = inp_data.to(device)
            return inp_data.shape[1], labels.float()
        """
    assert rules(code, LintConfig(model=load_zoo("resnet18", {}))) == []


FEATURES = """\
    import torchvision

    pretrained_model = torchvision.models.resnet34(weights=None)
    pretrained_model.eval()
    for p in pretrained_model.parameters():
        p.requires_grad = False
    """


def test_a_frozen_feature_extractor_or_teacher_is_not_reported() -> None:
    assert rules(FEATURES) == []
    assert rules(FEATURES.replace("    pretrained_model.eval()\n", "")) == []
    # Frozen whole and then trained, with no optimizer in sight: reported as before.
    trained = FEATURES + "    pretrained_model.train()\n"
    assert rules(trained) == ["FZL103"]
    assert rules(trained + "    pretrained_model.eval()\n") == []


def test_an_attribute_set_on_a_config_or_a_mock_is_not_a_module() -> None:
    """minGPT: `model_hf.config.pad_token_id = ...` (a transformers model's config is not a
    submodule); litgpt: `model.reset_parameters = Mock()` (not a module at all)."""
    assert rules("""\
        from transformers import GPT2LMHeadModel

        model_hf = GPT2LMHeadModel.from_pretrained("gpt2")
        model_hf.config.pad_token_id = model_hf.config.eos_token_id
        """) == []
    assert rules("""\
        from unittest.mock import Mock
        import torchvision

        model = torchvision.models.resnet18(weights=None)
        model.reset_parameters = Mock()
        """) == []


NVFP4_LINEAR = """\
    import torch
    from torch import nn

    def base_linear(scale):
        w0 = torch.randn(32, 64)
        base = nn.Linear(64, 32, bias=False)
        base.weight = nn.Parameter(w0 * scale, requires_grad=False)
        base.{attr} = {value}
        return base
    """


def test_a_tensor_kept_as_an_attribute_is_not_a_module() -> None:
    """axolotl's tests: `base._nvfp4_pts = pts.reshape(())` keeps a tensor on a Linear, a
    plain attribute; a value the analysis does not know may be a tensor or a number, so
    only a value known to be a module is a submodule added. (The pre-filter is off: the
    file it comes from passes it for its other code.)"""
    unfiltered = LintConfig(prefilter=False)
    assert rules(NVFP4_LINEAR.format(attr="_nvfp4_pts", value="w0.abs().amax().reshape(())"),
                 unfiltered) == []
    assert rules(NVFP4_LINEAR.format(attr="_scale", value="torch.tensor(scale)"),
                 unfiltered) == []
    # a module it surely is: reported, built from the table or of unknown names
    assert rules(NVFP4_LINEAR.format(attr="extra", value="nn.Linear(4, 4)"),
                 unfiltered) == ["FZL109"]
    assert rules(NVFP4_LINEAR.format(attr="extra", value="nn.DataParallel(make())"),
                 unfiltered) == ["FZL109"]

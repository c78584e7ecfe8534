"""The product's reason to exist: the silent fine-tuning failures of issue #2, on real
architectures (manifests generated from torchvision, timm, transformers and the AST code)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from freezelint.common.diagnostics import Severity
from freezelint.engine.lint import LintConfig, lint

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(code: str, config: LintConfig | None = None):
    return lint(textwrap.dedent(code), config)


def rules(diagnostics) -> list[str]:
    return [d.rule for d in diagnostics]


# -- scenario 1: a ResNet freeze loop on the Audio Spectrogram Transformer ----------------------
def test_ast_head_only_recipe_with_resnet_names_is_caught_without_model_flag():
    text = (EXAMPLES / "ast_head_finetune.py").read_text()
    diagnostics = lint(text)
    assert rules(diagnostics) == ["FZL101", "FZL101", "FZL103"]
    weight, bias, empty = diagnostics
    assert "'fc.weight'" in weight.message and "did you mean 'mlp_head.1.weight'" in weight.message
    assert "'fc.bias'" in bias.message and "did you mean 'mlp_head.1.bias'" in bias.message
    assert "159" in weight.message
    # FZL103 points at the optimizer and at the loop that froze everything.
    optimizer_line = next(i for i, line in enumerate(text.splitlines(), 1) if "optim.SGD" in line)
    freeze_line = next(i for i, line in enumerate(text.splitlines(), 1)
                       if "requires_grad = False" in line)
    assert empty.span.start.line == optimizer_line
    assert empty.severity is Severity.ERROR
    assert "empty parameter list" in empty.message
    assert [r.span.start.line for r in empty.related] == [freeze_line]


def test_ast_explicit_model_gives_the_same_findings(zoo):
    text = (EXAMPLES / "ast_head_finetune.py").read_text()
    assert rules(lint(text, LintConfig(model=zoo("ast")))) == ["FZL101", "FZL101", "FZL103"]


def test_ast_recipe_with_the_real_head_names_is_clean():
    text = (EXAMPLES / "ast_head_finetune.py").read_text()
    fixed = text.replace("'fc.weight'", "'mlp_head.1.weight'").replace("'fc.bias'",
                                                                     "'mlp_head.1.bias'")
    assert lint(fixed) == []


def test_fix_span_covers_exactly_the_literal():
    text = (EXAMPLES / "ast_head_finetune.py").read_text()
    weight = lint(text)[0]
    line = text.splitlines()[weight.span.start.line - 1]
    assert line[weight.span.start.column:weight.span.end.column] == "'fc.weight'"
    assert weight.fixes[0].edits[0].text == "'mlp_head.1.weight'"


# -- scenario 2: freezing after the optimizer (PyTorch tutorials do it harmlessly) ----------------
def test_freeze_after_optimizer_is_information_only():
    diagnostics = run("""
        import torch
        import torchvision

        model = torchvision.models.resnet50(weights=None)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for name, param in model.named_parameters():
            if 'layer4' in name:
                param.requires_grad = False
    """)
    assert rules(diagnostics) == ["FZL201"]
    assert diagnostics[0].severity is Severity.INFO
    assert "30 parameters" in diagnostics[0].message
    assert "layer4.0.conv1.weight" in diagnostics[0].message


def test_official_finetuning_tutorial_pattern_has_no_error():
    # torchvision "Finetuning Torchvision Models" tutorial, feature extraction mode.
    diagnostics = run("""
        import torch.nn as nn
        import torch.optim as optim
        from torchvision import models

        def set_parameter_requires_grad(model, feature_extracting):
            if feature_extracting:
                for param in model.parameters():
                    param.requires_grad = False

        model_ft = models.resnet18(pretrained=True)
        set_parameter_requires_grad(model_ft, True)
        num_ftrs = model_ft.fc.in_features
        model_ft.fc = nn.Linear(num_ftrs, 2)

        params_to_update = []
        for name, param in model_ft.named_parameters():
            if param.requires_grad == True:
                params_to_update.append(param)
        optimizer_ft = optim.SGD(params_to_update, lr=0.001, momentum=0.9)
    """)
    assert diagnostics == []


def test_official_transfer_learning_tutorial_is_silent():
    # "Transfer Learning for Computer Vision": frozen backbone, BatchNorm left in train mode.
    diagnostics = run("""
        import torch.nn as nn
        import torch.optim as optim
        import torchvision

        model_conv = torchvision.models.resnet18(weights='IMAGENET1K_V1')
        for param in model_conv.parameters():
            param.requires_grad = False
        num_ftrs = model_conv.fc.in_features
        model_conv.fc = nn.Linear(num_ftrs, 2)
        optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.001, momentum=0.9)

        def train_model(model, optimizer, num_epochs=25):
            for epoch in range(num_epochs):
                model.train()
                optimizer.step()

        train_model(model_conv, optimizer_conv)
    """)
    assert diagnostics == []


# -- scenario 3: tests that match more than they say ---------------------------------------------
def test_bert_layer_one_also_matches_layers_ten_and_eleven():
    diagnostics = run("""
        from transformers import BertModel
        model = BertModel.from_pretrained('bert-base-uncased')
        for name, param in model.named_parameters():
            if 'encoder.layer.1' in name:
                param.requires_grad = False
    """)
    assert rules(diagnostics) == ["FZL102"]
    message = diagnostics[0].message
    assert "matches 48 parameters" in message
    assert "16 where it is a whole name part" in message
    assert "32 more inside longer names" in message
    assert "encoder.layer.10." in message


def test_norm_on_a_vit_hits_every_block_norm():
    diagnostics = run("""
        import timm
        model = timm.create_model('vit_base_patch16_224', pretrained=True)
        for name, param in model.named_parameters():
            if 'norm' in name:
                param.requires_grad = False
    """)
    assert rules(diagnostics) == ["FZL102"]
    assert "blocks.0.norm1.weight" in diagnostics[0].message


def test_fc_not_in_name_on_resnet_is_silent():
    assert run("""
        from torchvision import models
        model = models.resnet50(pretrained=True)
        for name, param in model.named_parameters():
            if 'fc' not in name:
                param.requires_grad = False
    """) == []


def test_head_not_in_name_on_timm_vit_is_silent():
    assert run("""
        import timm
        model = timm.create_model('vit_base_patch16_224', pretrained=True, num_classes=10)
        for name, param in model.named_parameters():
            if 'head' not in name:
                param.requires_grad = False
    """) == []


def test_layer_prefix_without_overmatch_is_silent():
    assert run("""
        from torchvision import models
        model = models.resnet50()
        for name, param in model.named_parameters():
            if not name.startswith('layer4') and not name.startswith('fc'):
                param.requires_grad = False
    """) == []


# -- scenario 4: statements that freeze nothing ---------------------------------------------------
def test_module_requires_grad_attribute_freezes_nothing():
    diagnostics = run("""
        from torchvision import models
        model = models.resnet18()
        model.fc.requires_grad = False
    """)
    assert rules(diagnostics) == ["FZL104"]
    assert "`fc.weight`, `fc.bias`" in diagnostics[0].message


def test_requires_grad_on_a_parameter_is_not_module_attribute():
    assert run("""
        from torchvision import models
        model = models.resnet18()
        model.fc.weight.requires_grad = False
    """) == []


def test_typo_and_comparison_statement_without_a_model():
    diagnostics = run("""
        def freeze(net):
            for p in net.parameters():
                p.require_grad = False
                p.requires_grad == False
    """)
    assert rules(diagnostics) == ["FZL105", "FZL106"]


def test_assert_of_requires_grad_is_fine():
    diagnostics = run("""
        for p in params:
            assert p.requires_grad == False
    """)
    assert diagnostics == []


# -- the rest of the engine ---------------------------------------------------------------------
def test_unknown_model_stays_silent_on_name_rules():
    assert run("""
        model = MyCustomNet()
        for name, p in model.named_parameters():
            if name != 'fc.weight':
                p.requires_grad = False
        optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=1)
    """) == []


def test_helper_function_called_with_the_model_is_followed():
    diagnostics = run("""
        import torch
        from src.models import ASTModel

        def freeze_all_but_head(net, head_names=('fc.weight', 'fc.bias')):
            for name, p in net.named_parameters():
                p.requires_grad = name in head_names

        def main():
            model = ASTModel(label_dim=10)
            freeze_all_but_head(model)
            return torch.optim.Adam([p for p in model.parameters() if p.requires_grad])

        if __name__ == '__main__':
            main()
    """)
    assert rules(diagnostics) == ["FZL101", "FZL101", "FZL103"]


def test_condition_on_an_unknown_flag_does_not_claim_nothing_trains():
    diagnostics = run("""
        import torch
        from src.models import ASTModel
        model = ASTModel(label_dim=10)
        if args.freeze:
            for p in model.parameters():
                p.requires_grad = False
        optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=1)
    """)
    assert diagnostics == []


def test_structural_edit_is_replayed_on_the_manifest():
    # The new head's names exist only after the edit: the test against them is not FZL101,
    # and the optimizer receives exactly the two new parameters.
    diagnostics = run("""
        import torch
        import torch.nn as nn
        from src.models import ASTModel
        model = ASTModel(label_dim=527)
        model.mlp_head = nn.Sequential(nn.Dropout(0.1), nn.Linear(768, 10))
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith('mlp_head.1.')
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    """)
    assert rules(diagnostics) == ["FZL201"]
    assert "155 frozen parameters" in diagnostics[0].message
    assert "`v.cls_token`, `v.pos_embed`" in diagnostics[0].message


def test_directive_names_the_model():
    diagnostics = run("""
        # freezelint: model=ast
        def freeze(model):
            for name, p in model.named_parameters():
                if name.startswith('fc'):
                    p.requires_grad = True
    """)
    assert rules(diagnostics) == ["FZL101"]


def test_linting_without_a_model_does_not_import_torch():
    code = textwrap.dedent("""
        import sys
        from freezelint.engine.lint import lint
        text = open(sys.argv[1]).read()
        assert [d.rule for d in lint(text)] == ['FZL101', 'FZL101', 'FZL103']
        assert lint('for p in net.parameters():\\n    p.require_grad = False\\n')
        assert 'torch' not in sys.modules, 'torch was imported'
        print('ok')
    """)
    out = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "ast_head_finetune.py")],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

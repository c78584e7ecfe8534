"""Trainers that build the optimizer and run the loop for the script (issue 16): the Hugging
Face `Trainer` reads the model as the script left it, uses an optimizer handed to it as is,
and calls `model.train()` at every training step, which undoes BatchNorm layers put in eval
mode. Each reported script has a corrected twin that is quiet."""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import lint

BERT = "transformers/BertForSequenceClassification"


def _rules(diagnostics: list) -> list[str]:
    return sorted(d.rule for d in diagnostics)


def test_trainer_over_a_model_with_nothing_trainable(config_for):
    text = textwrap.dedent("""\
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        for param in model.parameters():
            param.requires_grad = False
        trainer = Trainer(model=model, args=TrainingArguments(output_dir="out"))
        trainer.train()
    """)
    diagnostics = lint(text, config_for(BERT))
    assert _rules(diagnostics) == ["FZL103"]
    assert diagnostics[0].message == ("after this, none of the 201 parameters of "
                                      "`transformers/BertForSequenceClassification` is trainable")
    fixed = text.replace("model.parameters()", "model.bert.parameters()")
    assert lint(fixed, config_for(BERT)) == []


def test_trainer_given_an_optimizer_over_frozen_parameters(config_for):
    text = textwrap.dedent("""\
        import torch
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        for param in model.bert.parameters():
            param.requires_grad = False
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        trainer = Trainer(model=model, args=TrainingArguments(output_dir="out"),
                          optimizers=(optimizer, None))
        trainer.train()
    """)
    diagnostics = lint(text, config_for(BERT))
    assert _rules(diagnostics) == ["FZL201"]
    assert "199 frozen parameters" in diagnostics[0].message
    fixed = text.replace("AdamW(model.parameters()", "AdamW(model.classifier.parameters()")
    assert lint(fixed, config_for(BERT)) == []


FROZEN_BATCHNORM = textwrap.dedent("""\
    import torchvision
    from torch import nn
    from transformers import Trainer, TrainingArguments

    model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
    trainer = Trainer(model=model, args=TrainingArguments(output_dir="out"))
    trainer.train()
""")


def test_trainer_puts_frozen_batchnorm_back_in_training_mode(config_for):
    diagnostics = lint(FROZEN_BATCHNORM, config_for("resnet50"))
    assert _rules(diagnostics) == ["FZL108"]
    assert diagnostics[0].span.start.line == 12
    assert diagnostics[0].message.startswith(
        "the Trainer calls `model.train()` at every training step: it puts the 53 BatchNorm "
        "layers frozen earlier (`bn1`, `layer1.0.bn1` and 51 more) back in training mode")
    assert "torchvision.ops.FrozenBatchNorm2d" in diagnostics[0].message


def test_trainer_over_a_backbone_frozen_as_a_whole_is_quiet(config_for):
    """The transfer-learning tutorial's freeze (every parameter but the new head's), which
    FZL108 does not report after an explicit train() either."""
    text = textwrap.dedent("""\
        import torchvision
        from torch import nn
        from transformers import Trainer, TrainingArguments

        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        for param in model.parameters():
            param.requires_grad = False
        model.fc = nn.Linear(model.fc.in_features, 10)
        trainer = Trainer(model=model, args=TrainingArguments(output_dir="out"))
        trainer.train()
    """)
    assert lint(text, config_for("resnet50")) == []


# -- Lightning's finetuning helpers -----------------------------------------------------------------
def _lightning_freeze(call: str) -> str:
    return textwrap.dedent(f"""\
        import torch
        import torchvision
        from lightning.pytorch.callbacks import BaseFinetuning

        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        {call}
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    """)


def test_lightning_freeze_without_batchnorm_leaves_nothing_trainable(config_for):
    diagnostics = lint(_lightning_freeze("BaseFinetuning.freeze(model, train_bn=False)"),
                       config_for("resnet50"))
    assert _rules(diagnostics) == ["FZL103"]
    assert "all 161 parameters of `resnet50` are frozen" in diagnostics[0].message
    assert diagnostics[0].related[0].span.start.line == 6


def test_lightning_freeze_keeps_batchnorm_trainable_by_default(config_for):
    """`train_bn=True` (the default) makes the BatchNorm layers trainable: 106 parameters."""
    assert lint(_lightning_freeze("BaseFinetuning.freeze(model)"), config_for("resnet50")) == []
    partial = "BaseFinetuning.freeze([model.conv1, model.layer1], train_bn=False)"
    assert lint(_lightning_freeze(partial), config_for("resnet50")) == []
